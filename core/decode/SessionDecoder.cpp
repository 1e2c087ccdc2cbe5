#include "SessionDecoder.h"

namespace socktap::decode {

SessionDecoder::SessionDecoder(const FormatRegistry &registry, SessionHints hints, const QString &chosen)
    : m_registry(registry)
    , m_hints(std::move(hints))
{
    if (!chosen.isEmpty()) {
        m_format = registry.find(chosen);
        m_chosen = m_format != nullptr;
    }
    if (!m_format)
        m_format = registry.fromHandshake(m_hints);
    if (m_format)
        m_state = m_format->newState(m_hints);
}

Decoded SessionDecoder::decode(quint64 index, const Message &message, qint64 time)
{
    if (!m_format && m_seen < DetectionMessages) {
        if ((m_format = m_registry.fromContent(message)))
            m_state = m_format->newState(m_hints);
    }
    ++m_seen;
    Decoded d;
    if (m_format) {
        d = m_format->decode(message, m_state.get());
        if (d.decoded()) {
            pair(index, time, d, message.fromServer);
            return d;
        }
    }
    // Not the session's format (or none): JSON when it is JSON; the bytes are always there to see.
    static const Decoder *const json = FormatRegistry::builtin().find(QStringLiteral("json"));
    if (!message.binary && json && m_format != json) {
        Decoded fallback = json->decode(message, nullptr);
        if (fallback.decoded()) {
            fallback.error = d.error;
            return fallback;
        }
    }
    return d;
}

void SessionDecoder::pair(quint64 index, qint64 time, const Decoded &d, bool fromServer)
{
    const int dir = fromServer ? 1 : 0;
    if (d.attachments > 0)
        m_binaryPacket[dir] = {index, time};
    if (d.attachment > 0) {
        m_pairs[index] = {m_binaryPacket[dir].index, time - m_binaryPacket[dir].micros};
        return;
    }
    if (d.pairKey.isEmpty() || d.role == PairRole::None)
        return;
    if (d.role == PairRole::Request) {
        m_open[dir].insert(d.pairKey, {index, time});
        return;
    }
    // An answer comes the other way; a cancel (a GraphQL client's complete) the same way as its request.
    for (const int side : {1 - dir, dir}) {
        const auto it = m_open[side].constFind(d.pairKey);
        if (it == m_open[side].constEnd())
            continue;
        const qint64 micros = time - it->micros; // m_open keeps the request's time in `micros`
        m_pairs[index] = {it->index, micros};
        m_pairs.emplace(it->index, Pair {index, micros}); // the first answer only
        if (d.role == PairRole::Reply)
            m_open[side].erase(it);
        return;
    }
}

std::optional<Pair> SessionDecoder::pairOf(quint64 index) const
{
    const auto it = m_pairs.find(index);
    if (it == m_pairs.end())
        return std::nullopt;
    return it->second;
}

} // namespace socktap::decode
