#include "MessageDecoding.h"

#include <QElapsedTimer>
#include <QTimer>

#include <algorithm>

namespace socktap::ui {

namespace MessageFlag = capture::MessageFlag;
using capture::MessageRecord;

namespace {

constexpr qsizetype MaxDecodeBytes = 1 << 20; // larger messages are not decoded in the list
constexpr int DecodeSliceMs = 20; // decoding in the list never holds the event loop longer than this

} // namespace

MessageDecoding::MessageDecoding(capture::CaptureStore &store, const std::deque<MessageRecord> &records)
    : m_store(store)
    , m_records(records)
{ }

void MessageDecoding::setSession(capture::SessionId id, quint64 firstIndex)
{
    m_session = id;
    m_firstIndex = firstIndex;
    m_briefs.clear();
    m_decodeTarget = 0;
    m_hints = {};
    if (const auto info = id ? m_store.session(id) : std::nullopt) {
        m_hints.subprotocol = info->subprotocol;
        m_hints.path = info->path;
    }
    m_chosenFormat = id && m_formatChoice ? m_formatChoice(id) : QString();
    m_decoder =
        std::make_unique<decode::SessionDecoder>(decode::FormatRegistry::current(), m_hints, m_chosenFormat);
    m_queryDecoder.reset();
    m_queryMatches.clear();
}

QString MessageDecoding::formatName() const
{
    return m_decoder && m_decoder->format() ? m_decoder->format()->name() : QString();
}

void MessageDecoding::decodeRange(decode::SessionDecoder &decoder, size_t from, size_t to,
                                  const std::function<void(const decode::Decoded *)> &each) const
{
    std::vector<const MessageRecord *> records;
    for (size_t i = from; i < to; ++i)
        records.push_back(&m_records[i]);
    // Copied out: the store's lock is not held while decoding, and payloads read from disk come after
    // those in memory, not in order.
    std::vector<QByteArray> payloads(records.size());
    m_store.visitPayloads(records, MaxDecodeBytes,
                          [&](size_t k, QByteArrayView p) { payloads[k] = p.toByteArray(); });
    for (size_t k = 0; k < records.size(); ++k) {
        const MessageRecord &r = *records[k];
        const bool data = r.opcode == quint8(ws::Opcode::Text) || r.opcode == quint8(ws::Opcode::Binary);
        // A cut or evicted payload is not the message: decoding it would misread it.
        const bool whole = !r.has(MessageFlag::Truncated) && r.payloadSize == r.capturedSize
            && qsizetype(r.payloadSize) <= MaxDecodeBytes && payloads[k].size() == qsizetype(r.capturedSize);
        if (!data || !whole) {
            each(nullptr);
            continue;
        }
        const decode::Decoded d = decoder.decode(m_firstIndex + from + k,
                                                 {payloads[k], r.opcode == quint8(ws::Opcode::Binary),
                                                  r.direction() == capture::Direction::ServerToClient},
                                                 r.time);
        each(&d);
    }
}

void MessageDecoding::decodeUpTo(size_t last, int budgetMs)
{
    if (!m_decoder || m_briefs.size() > last || m_records.empty())
        return;
    last = std::min(last, m_records.size() - 1);
    QElapsedTimer timer;
    timer.start();
    constexpr size_t Chunk = 1024;
    while (m_briefs.size() <= last) {
        const size_t from = m_briefs.size();
        decodeRange(*m_decoder, from, std::min(last + 1, from + Chunk), [this](const decode::Decoded *d) {
            Brief brief;
            if (d && d->decoded()) {
                brief.summary = d->summary;
                brief.bits |= DecodedBit;
            }
            if (d && d->chatter)
                brief.bits |= ChatterBit;
            m_briefs.push_back(std::move(brief));
        });
        if (budgetMs >= 0 && timer.elapsed() >= budgetMs)
            break;
    }
    if (m_briefs.size() <= last) {
        m_decodeTarget = std::max(m_decodeTarget, last);
        if (!m_decodeScheduled) {
            m_decodeScheduled = true;
            QTimer::singleShot(0, this, &MessageDecoding::continueDecoding);
        }
    }
}

void MessageDecoding::setQuery(std::optional<decode::DecodedQuery> query)
{
    m_query = std::move(query);
    m_queryDecoder.reset();
    m_queryMatches.clear();
}

void MessageDecoding::matchQueryUpTo(size_t end)
{
    // A second pass of its own: the query needs every decoded value, which the first does not keep.
    if (!m_query)
        return;
    if (!m_queryDecoder)
        m_queryDecoder = std::make_unique<decode::SessionDecoder>(decode::FormatRegistry::current(), m_hints,
                                                                  m_chosenFormat);
    while (m_queryMatches.size() < end) {
        const size_t from = m_queryMatches.size();
        decodeRange(*m_queryDecoder, from, std::min(end, from + 1024), [this](const decode::Decoded *d) {
            m_queryMatches.push_back(d && m_query->matches(*d));
        });
    }
}

bool MessageDecoding::matchesQuery(size_t position) const
{
    return !m_query || (position < m_queryMatches.size() && m_queryMatches[position]);
}

void MessageDecoding::continueDecoding()
{
    m_decodeScheduled = false;
    if (m_briefs.size() > m_decodeTarget || m_records.empty())
        return;
    decodeUpTo(m_decodeTarget, DecodeSliceMs);
    emit advanced();
}

void MessageDecoding::decodeAll()
{
    if (!m_records.empty())
        decodeUpTo(m_records.size() - 1, -1);
}

void MessageDecoding::decodeThrough(quint64 index)
{
    if (index >= m_firstIndex && !m_records.empty())
        decodeUpTo(size_t(index - m_firstIndex), -1);
}

QString MessageDecoding::summary(size_t pos)
{
    // While a pass continues from the event loop, rows past it wait for it rather than each taking a slice.
    if (pos >= m_briefs.size() && !m_decodeScheduled)
        decodeUpTo(pos, DecodeSliceMs);
    return pos < m_briefs.size() ? m_briefs[pos].summary : QStringLiteral("…");
}

bool MessageDecoding::isChatter(size_t position) const
{
    return position < m_briefs.size() && (m_briefs[position].bits & ChatterBit);
}

quint64 MessageDecoding::chatterFrom(size_t position) const
{
    quint64 count = 0;
    for (size_t i = position; i < m_briefs.size(); ++i)
        count += (m_briefs[i].bits & ChatterBit) != 0;
    return count;
}

std::optional<decode::Decoded> MessageDecoding::decodedMessage(quint64 index) const
{
    const auto m = m_store.message(m_session, index);
    if (!m || m->payloadEvicted || m->record.has(MessageFlag::Truncated)
        || (m->record.opcode != quint8(ws::Opcode::Text) && m->record.opcode != quint8(ws::Opcode::Binary)))
        return std::nullopt;
    // On its own, with fresh state: the pass's state belongs to the pass (a stream format would lose its
    // place). What needs the messages before it (an operation's name, an attachment) comes from the pass.
    decode::SessionDecoder alone(decode::FormatRegistry::current(), m_hints, formatName());
    decode::Decoded d = alone.decode(index,
                                     {m->payload, m->record.opcode == quint8(ws::Opcode::Binary),
                                      m->record.direction() == capture::Direction::ServerToClient},
                                     m->record.time);
    if (index >= m_firstIndex && index - m_firstIndex < m_briefs.size())
        d.summary = m_briefs[size_t(index - m_firstIndex)].summary;
    return d;
}

std::optional<quint64> MessageDecoding::latestDecoded(bool fromServer, size_t within)
{
    if (m_records.empty())
        return std::nullopt;
    // At most 50 ms on the GUI thread: a million-message session is decoded by the pass in the background,
    // and until it gets to the end the latest message found so far is the one offered.
    decodeUpTo(m_records.size() - 1, 50);
    const size_t stop = m_briefs.size() > within ? m_briefs.size() - within : 0;
    const auto way = fromServer ? capture::Direction::ServerToClient : capture::Direction::ClientToServer;
    for (size_t i = m_briefs.size(); i-- > stop;)
        if ((m_briefs[i].bits & DecodedBit) && !(m_briefs[i].bits & ChatterBit)
            && m_records[i].direction() == way)
            return m_firstIndex + i;
    return std::nullopt;
}

std::optional<decode::Pair> MessageDecoding::pairOf(quint64 index)
{
    if (index >= m_firstIndex && !m_records.empty())
        decodeUpTo(size_t(index - m_firstIndex), -1); // an answer's request comes before it
    return m_decoder ? m_decoder->pairOf(index) : std::nullopt;
}

} // namespace socktap::ui
