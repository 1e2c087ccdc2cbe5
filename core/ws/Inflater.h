// Decompresses permessage-deflate messages (RFC 7692 7.2.2) for one direction, fed compressed bytes in any
// chunking. Honours the negotiated window and context takeover. Output beyond maxOutput is inflated into
// a scratch area and counted, so the shared window stays right and memory flat; inflating stops once a
// message passes stopAfter: a deflate bomb (2 MB inflating to 2 GiB) costs a bounded amount of CPU. The
// price: with context takeover the shared window is then unknown, so the direction's later messages
// cannot be inflated (windowLost()); without it the next message starts afresh.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <functional>
#include <memory>
#include <optional>

namespace socktap::ws {

class Inflater
{
public:
    // maxOutput: inflated bytes kept per message (more are inflated and counted, not kept). stopAfter:
    // inflating stops once a message passes it (a bomb); at least maxOutput, 64 MiB by default.
    explicit Inflater(int windowBits = 15, bool noContextTakeover = false,
                      qsizetype maxOutput = 64 * 1024 * 1024, qsizetype stopAfter = 0);
    ~Inflater();
    Inflater(const Inflater &) = delete;
    Inflater &operator=(const Inflater &) = delete;

    // Decides how many more bytes `out` may take, up to wanted, making its capacity ready for them (so
    // out never reallocates beyond what was granted); 0 from then on: the rest of the message is counted,
    // not kept. Without one, out takes everything up to maxOutput.
    using Grant = std::function<qsizetype(QByteArray &out, qsizetype wanted)>;
    void setGrant(Grant grant) { m_grant = std::move(grant); }

    // Inflates the next compressed bytes of the current message, appending to out (up to maxOutput
    // bytes per message). Returns false on corrupt data; error() says why.
    bool feed(QByteArrayView compressed, QByteArray &out);
    // Ends the message (appends the 00 00 ff ff tail of 7.2.2) and prepares for the next one.
    bool finishMessage(QByteArray &out);

    // Inflated bytes of the current (or just finished) message; when stopped(), where inflating stopped.
    qint64 messageSize() const { return m_messageSize; }
    bool overLimit() const { return m_messageSize > m_maxOutput; }
    bool stopped() const { return m_messageSize > m_stopAfter; }
    // An earlier message passed maxOutput under context takeover: nothing more can be inflated.
    bool windowLost() const { return m_windowLost; }
    qsizetype maxOutput() const { return m_maxOutput; }
    // Bytes inflated over the inflater's life: how much work decoding has done (for time slicing).
    quint64 totalInflated() const { return m_totalInflated; }
    bool failed() const { return m_failed; }
    QString error() const { return m_error; }

    // Convenience: one whole message.
    static std::optional<QByteArray> inflate(QByteArrayView compressed, int windowBits = 15,
                                             qsizetype maxOutput = 64 * 1024 * 1024,
                                             QString *error = nullptr);

private:
    bool run(QByteArrayView in, QByteArray &out);

    struct Stream;
    std::unique_ptr<Stream> m_stream;
    Grant m_grant;
    bool m_keeping = true; // the current message's output still goes to out
    bool m_noContextTakeover;
    qsizetype m_maxOutput;
    qsizetype m_stopAfter;
    qint64 m_messageSize = 0;
    quint64 m_totalInflated = 0;
    bool m_failed = false;
    bool m_windowLost = false;
    bool m_messageFailed = false;
    bool m_messageDone = false;
    QString m_error;
};

} // namespace socktap::ws
