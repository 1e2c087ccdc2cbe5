#include "CaptureWriter.h"

namespace socktap::capture {

namespace {

constexpr size_t FlushMessages = 16384;
constexpr qsizetype FlushBytes = 8 << 20;

} // namespace

MessageFacts factsOf(const ws::MessageAssembler::Message &m, quint16 flags)
{
    MessageFacts f;
    f.opcode = m.opcode;
    f.payload = m.payload;
    f.wirePayload = m.wirePayload;
    f.payloadSize = m.payloadSize;
    f.wireSize = m.wireSize;
    f.frameCount = m.frameCount;
    f.frames = m.frames;
    f.compressed = m.compressed;
    f.truncated = m.truncated;
    f.incomplete = m.incomplete;
    f.violations = m.violations;
    f.firstFrameTime = m.firstFrameTime;
    f.lastFrameTime = m.lastFrameTime;
    f.note = m.note;
    if (m.opcode == quint8(ws::Opcode::Close))
        f.closeCode = m.close.code;
    f.flags = flags;
    return f;
}

MessageRecord makeRecord(Direction direction, const MessageFacts &m)
{
    MessageRecord r;
    r.time = m.firstFrameTime;
    r.duration = quint32(std::clamp<qint64>(m.lastFrameTime - m.firstFrameTime, 0, 0xffffffff));
    r.payloadSize = m.payloadSize;
    r.capturedSize = quint32(m.payload.size());
    r.wireSize = m.wireSize;
    r.frameCount = quint32(std::min<quint64>(m.frameCount, 0xffffffff));
    r.violations = m.violations.toInt();
    r.opcode = m.opcode;
    if (!m.frames.empty()) {
        r.maskKey = m.frames.front().maskKey;
        r.firstFrameBits = m.frames.front().bits;
        r.firstHeaderSize = m.frames.front().headerSize;
    }
    quint16 flags = m.flags;
    if (direction == Direction::ServerToClient)
        flags |= MessageFlag::ServerToClient;
    if (m.compressed)
        flags |= MessageFlag::Compressed;
    if (m.truncated)
        flags |= MessageFlag::Truncated;
    if (m.incomplete)
        flags |= MessageFlag::Incomplete;
    r.flags = flags;
    r.closeCode = m.closeCode.value_or(0);
    return r;
}

CaptureWriter::CaptureWriter(CaptureStore &store)
    : m_store(store)
    , m_batch(std::make_shared<CaptureBatch>())
{ }

void CaptureWriter::session(const SessionInfo &info)
{
    const auto [it, inserted] = m_sessionSlot.try_emplace(info.id, m_batch->sessions.size());
    if (inserted)
        m_batch->sessions.push_back(info);
    else
        m_batch->sessions[it->second] = info;
}

void CaptureWriter::message(SessionId session, Direction direction, const ws::MessageAssembler::Message &m,
                            quint16 extraFlags)
{
    message(session, direction, factsOf(m, extraFlags));
}

BatchMessage &CaptureBatch::add(SessionId session, const MessageRecord &record, QByteArrayView payload,
                                QByteArrayView wirePayload, QByteArrayView original, const QString &note,
                                std::span<const ws::FrameInfo> frames, bool withDetail)
{
    BatchMessage entry;
    entry.session = session;
    entry.record = record;
    entry.batchOffset = quint64(payloads.size());
    payloads.append(payload);
    if (withDetail) {
        MessageDetail d;
        d.frames.assign(frames.begin(), frames.end());
        d.wirePayloadRef = quint64(payloads.size());
        d.wirePayloadSize = quint32(wirePayload.size());
        payloads.append(wirePayload);
        d.originalRef = quint64(payloads.size());
        d.originalSize = quint32(original.size());
        payloads.append(original);
        d.note = note;
        entry.batchDetail = qint32(details.size());
        details.push_back(std::move(d));
    }
    messages.push_back(entry);
    return messages.back();
}

void CaptureWriter::message(SessionId session, Direction direction, const MessageFacts &m)
{
    // What the record cannot hold goes into a detail: every frame of a fragmented or compressed message
    // (a compressed one keeps its wire payload too), an edited message's original, Socktap's note.
    const bool detail = m.frames.size() > 1 || !m.wirePayload.isEmpty() || !m.original.isEmpty()
        || !m.note.isEmpty() || (m.flags & MessageFlag::Edited);
    m_batch->add(session, makeRecord(direction, m), m.payload, m.wirePayload, m.original, m.note, m.frames,
                 detail);
}

bool CaptureWriter::wantsFlush() const
{
    return m_batch->messages.size() >= FlushMessages || m_batch->payloads.size() >= FlushBytes;
}

void CaptureWriter::flush()
{
    if (m_batch->isEmpty()) {
        m_store.makeRoomForMessagesInProgress();
        return;
    }
    auto full = std::exchange(m_batch, std::make_shared<CaptureBatch>());
    m_sessionSlot.clear();
    // Keep the next batch's buffers about as large as this one's, so a steady stream reallocates rarely.
    m_batch->messages.reserve(full->messages.size());
    m_store.apply(std::move(full));
}

} // namespace socktap::capture
