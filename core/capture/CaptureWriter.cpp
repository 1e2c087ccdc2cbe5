#include "CaptureWriter.h"

#include "RecyclingPool.h"

namespace socktap::capture {

namespace {

constexpr size_t FlushMessages = 16384;
constexpr qsizetype FlushBytes = 8 << 20;

// Spent batches' message vectors and payload buffers (unadopted ones, and the store's once they left
// memory), for the next batches. A worker flushes every 5 ms, so without this each batch grew fresh vectors
// from nothing: reallocation copies and the kernel zeroing new pages cost about a fifth of the relay's CPU
// at 64-byte messages. Bounded: at most PoolBuffers of each, message vectors of up to 2 full batches
// (3.5 MiB) and payload buffers of up to PoolPayloadCapacity (9 MiB): at most about 100 MiB, outside the
// capture's budget, and in practice the few MB the traffic's batch sizes need, kept while Socktap runs.
constexpr size_t PoolBuffers = 8;
constexpr qsizetype MinReusedCapacity = 64 * 1024; // a batch flushes early rather than grow past this
constexpr size_t MinReusedMessages = 256; // (and never reserves fewer: a batch of 1 stays a batch of 1)
constexpr qsizetype PoolPayloadCapacity = FlushBytes + (1 << 20);

RecyclingPool<std::vector<BatchMessage>> &messagePool()
{
    // Never destroyed (both pools): a batch may die after static destructors ran (a file's flusher
    // finishing late).
    static auto *pool = new RecyclingPool<std::vector<BatchMessage>>(PoolBuffers, FlushMessages * 2);
    return *pool;
}

RecyclingPool<QByteArray> &payloadPool()
{
    static auto *pool = new RecyclingPool<QByteArray>(PoolBuffers, PoolPayloadCapacity);
    return *pool;
}

void recycle(CaptureBatch *batch)
{
    messagePool().give(std::move(batch->messages));
    payloadPool().give(std::move(batch->payloads)); // (one the store adopted is still shared: kept there)
    delete batch;
}

std::shared_ptr<CaptureBatch> newBatch(size_t expectedMessages, qsizetype expectedBytes)
{
    std::shared_ptr<CaptureBatch> batch(new CaptureBatch, &recycle);
    batch->messages = messagePool().take();
    batch->payloads = payloadPool().take();
    // Room for about as much as the last batch held, so a steady stream does not grow its buffers by
    // reallocation (each step a copy of everything so far). A fifth more for a rate that rises; the store
    // trims a buffer it keeps that is much larger than its bytes.
    batch->messages.reserve(std::max<size_t>(expectedMessages + expectedMessages / 5, MinReusedMessages));
    batch->payloads.reserve(std::min(FlushBytes, expectedBytes + expectedBytes / 5));
    return batch;
}

// A batch that is full to its buffers' capacity goes now rather than grow them: growing copies all it holds
// into fresh memory, where a new batch reuses a recycled buffer. (Small buffers just grow.)
bool wouldGrow(const CaptureBatch &batch, qsizetype incoming)
{
    if (batch.messages.empty() || batch.payloads.capacity() < MinReusedCapacity)
        return false;
    const bool bytesFull = batch.payloads.size() + incoming > batch.payloads.capacity();
    const bool messagesFull =
        batch.messages.size() == batch.messages.capacity() && batch.messages.capacity() >= MinReusedMessages;
    return bytesFull || messagesFull;
}

} // namespace

void recyclePayloads(QByteArray bytes)
{
    payloadPool().give(std::move(bytes));
}

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
    , m_batch(newBatch(0, 0))
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
    if (wouldGrow(*m_batch, m.payload.size() + m.wirePayload.size() + m.original.size()))
        flush();
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
    auto full = std::exchange(m_batch, newBatch(m_batch->messages.size(), m_batch->payloads.size()));
    m_sessionSlot.clear();
    m_store.apply(std::move(full));
}

} // namespace socktap::capture
