// Decompresses permessage-deflate messages (RFC 7692 7.2.2) for one direction, fed compressed bytes in any
// chunking. Honours the negotiated window and context takeover. Output beyond maxOutput is inflated into
// a fixed scratch area and discarded, so the shared window stays right and memory stays flat.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <memory>
#include <optional>

namespace socktap::ws {

class Inflater
{
public:
    explicit Inflater(int windowBits = 15, bool noContextTakeover = false,
                      qsizetype maxOutput = 64 * 1024 * 1024);
    ~Inflater();
    Inflater(const Inflater &) = delete;
    Inflater &operator=(const Inflater &) = delete;

    // Inflates the next compressed bytes of the current message, appending to out (up to maxOutput
    // bytes per message). Returns false on corrupt data; error() says why.
    bool feed(QByteArrayView compressed, QByteArray &out);
    // Ends the message (appends the 00 00 ff ff tail of 7.2.2) and prepares for the next one.
    bool finishMessage(QByteArray &out);

    // Inflated bytes of the current (or just finished) message, including discarded ones.
    qint64 messageSize() const { return m_messageSize; }
    bool overLimit() const { return m_messageSize > m_maxOutput; }
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
    bool m_noContextTakeover;
    qsizetype m_maxOutput;
    qint64 m_messageSize = 0;
    bool m_failed = false;
    bool m_messageFailed = false;
    bool m_messageDone = false;
    QString m_error;
};

} // namespace socktap::ws
