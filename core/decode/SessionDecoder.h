// One session's decoding: its format (chosen by the user, named by the handshake, or recognised in its
// first messages), the format's state, and the pairing of requests with their answers. Messages go in in
// capture order (stateful formats need it); decoding is done only for what is shown, filtered or matched,
// never on the relay's path.
#pragma once

#include "Decoder.h"
#include "FormatRegistry.h"

#include <QHash>

#include <optional>
#include <unordered_map>

namespace socktap::decode {

// The other message of a pair and the time between them (the answer's time less the request's).
struct Pair
{
    quint64 index = 0;
    qint64 micros = 0;

    bool operator==(const Pair &) const = default;
};

class SessionDecoder
{
public:
    // `chosen`: a format name the user picked for this session; empty to detect.
    SessionDecoder(const FormatRegistry &registry, SessionHints hints, const QString &chosen = {});

    // The session's format; null while it is not known yet.
    const Decoder *format() const { return m_format; }
    // Decodes message `index` (capture order, both directions). A message the session's format does not
    // explain keeps the reason in `error` and is decoded as JSON when it is JSON, or not at all.
    // `time`: the message's capture time (µs), for the time between a request and its answer.
    Decoded decode(quint64 index, const Message &message, qint64 time = 0);
    // The other message of a pair (request and answer, a binary packet and its attachment), when seen. A
    // request points at its first answer.
    std::optional<Pair> pairOf(quint64 index) const;

    // Content detection gives up after this many messages; the session stays plain then.
    static constexpr int DetectionMessages = 16;

private:
    void pair(quint64 index, qint64 time, const Decoded &d, bool fromServer);

    const FormatRegistry &m_registry;
    SessionHints m_hints;
    const Decoder *m_format = nullptr;
    std::unique_ptr<DecoderState> m_state;
    bool m_chosen = false;
    int m_seen = 0;
    // Open requests by direction and key: the request's index and time.
    QHash<QString, Pair> m_open[2];
    std::unordered_map<quint64, Pair> m_pairs;
    Pair m_binaryPacket[2]; // the packet whose attachments come next, per direction
};

} // namespace socktap::decode
