#include "CaptureWriter.h"

namespace socktap::capture {

namespace {

constexpr size_t FlushMessages = 16384;
constexpr qsizetype FlushBytes = 8 << 20;

} // namespace

MessageRecord makeRecord(Direction direction, const ws::MessageAssembler::Message &m, quint16 extraFlags)
{
    MessageRecord r;
    r.time = m.firstFrameTime;
    r.duration = quint32(std::min<qint64>(m.lastFrameTime - m.firstFrameTime, 0xffffffff));
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
    quint16 flags = extraFlags;
    if (direction == Direction::ServerToClient)
        flags |= MessageFlag::ServerToClient;
    if (m.compressed)
        flags |= MessageFlag::Compressed;
    if (m.truncated)
        flags |= MessageFlag::Truncated;
    if (m.incomplete)
        flags |= MessageFlag::Incomplete;
    r.flags = flags;
    if (m.opcode == quint8(ws::Opcode::Close))
        r.closeCode = m.close.code.value_or(0);
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
    CaptureBatch &b = *m_batch;
    BatchMessage entry;
    entry.session = session;
    entry.record = makeRecord(direction, m, extraFlags);
    entry.batchOffset = quint64(b.payloads.size());
    b.payloads.append(m.payload);
    // Fragmented or compressed messages keep what the record cannot hold: every frame, the wire payload.
    if (m.frames.size() > 1 || !m.wirePayload.isEmpty()) {
        MessageDetail d;
        if (m.frames.size() > 1)
            d.frames.assign(m.frames.begin(), m.frames.end());
        d.wirePayloadRef = quint64(b.payloads.size());
        d.wirePayloadSize = quint32(m.wirePayload.size());
        b.payloads.append(m.wirePayload);
        entry.batchDetail = qint32(b.details.size());
        b.details.push_back(std::move(d));
    }
    b.messages.push_back(entry);
}

bool CaptureWriter::wantsFlush() const
{
    return m_batch->messages.size() >= FlushMessages || m_batch->payloads.size() >= FlushBytes;
}

void CaptureWriter::flush()
{
    if (m_batch->isEmpty())
        return;
    auto full = std::exchange(m_batch, std::make_shared<CaptureBatch>());
    m_sessionSlot.clear();
    // Keep the next batch's buffers about as large as this one's, so a steady stream reallocates rarely.
    m_batch->messages.reserve(full->messages.size());
    m_store.apply(std::move(full));
}

} // namespace socktap::capture
