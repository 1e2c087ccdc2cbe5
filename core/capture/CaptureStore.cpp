#include "CaptureStore.h"

#include <algorithm>
#include <cstring>

namespace socktap::capture {

namespace {

// Payload blocks are 1 MiB, smaller for small budgets so the newest block never dominates the budget.
qsizetype blockSizeFor(quint64 budget)
{
    return qsizetype(std::clamp<quint64>(budget / 64, 64 * 1024, 1 << 20));
}
constexpr qsizetype SubscriptionByteLimit = 256 << 20;
constexpr size_t SubscriptionBatchLimit = 4096;
constexpr size_t RecordEvictionStep = 4096;
constexpr qsizetype AdoptBytes = 256 * 1024;

} // namespace

// --- Subscription ---

void CaptureStore::Subscription::push(BatchPtr batch)
{
    std::function<void()> wake;
    {
        std::lock_guard lock(m_mutex);
        m_queuedBytes += batch->payloads.size() + qsizetype(batch->messages.size() * sizeof(BatchMessage));
        m_queue.push_back(std::move(batch));
        while (m_queue.size() > 1
               && (m_queue.size() > SubscriptionBatchLimit || m_queuedBytes > SubscriptionByteLimit)) {
            m_queuedBytes -= m_queue.front()->payloads.size()
                + qsizetype(m_queue.front()->messages.size() * sizeof(BatchMessage));
            m_queue.pop_front();
            ++m_dropped;
        }
        if (!m_woken) {
            m_woken = true;
            wake = m_wake;
        }
    }
    if (wake)
        wake();
}

std::vector<BatchPtr> CaptureStore::Subscription::take()
{
    std::lock_guard lock(m_mutex);
    std::vector<BatchPtr> out(std::make_move_iterator(m_queue.begin()),
                              std::make_move_iterator(m_queue.end()));
    m_queue.clear();
    m_queuedBytes = 0;
    m_woken = false;
    return out;
}

quint64 CaptureStore::Subscription::droppedBatches() const
{
    std::lock_guard lock(m_mutex);
    return m_dropped;
}

// --- Store ---

CaptureStore::CaptureStore()
    : CaptureStore(Limits {})
{ }

CaptureStore::CaptureStore(Limits limits)
    : m_limits(limits)
    , m_blockSize(blockSizeFor(limits.maxMemory))
{ }

std::shared_ptr<CaptureStore::Subscription> CaptureStore::subscribe(std::function<void()> wake)
{
    auto s = std::make_shared<Subscription>();
    s->m_wake = std::move(wake);
    std::lock_guard lock(m_subscribersMutex);
    m_subscribers.push_back(s);
    return s;
}

void CaptureStore::unsubscribe(const std::shared_ptr<Subscription> &subscription)
{
    std::lock_guard lock(m_subscribersMutex);
    std::erase(m_subscribers, subscription);
}

quint64 CaptureStore::detailBytes(const MessageDetail &d)
{
    return sizeof(MessageDetail) + d.frames.size() * sizeof(ws::FrameInfo) + quint64(d.note.size()) * 2;
}

quint64 CaptureStore::sessionBytes(const SessionInfo &info)
{
    // An estimate: the struct plus the heads and bodies it holds.
    return sizeof(SessionEntry)
        + quint64(info.request.raw.size() * 2 + info.response.raw.size() * 2 + info.responseBody.size())
        + 256;
}

quint64 CaptureStore::memoryUsed() const
{
    return m_blockBytes + m_recordCount * sizeof(MessageRecord) + m_detailBytes + m_sessionBytes;
}

quint64 CaptureStore::appendPayload(QByteArrayView bytes)
{
    if (bytes.isEmpty())
        return m_logEnd;
    const bool own = bytes.size() > m_blockSize / 16; // larger payloads get a block of their own
    if (own || m_blocks.empty() || m_blocks.back().closed
        || m_blocks.back().data.size() + bytes.size() > m_blockSize) {
        // A payload never straddles blocks, so it can be read back with one lookup.
        PayloadBlock block;
        block.start = m_logEnd;
        block.data.reserve(own ? bytes.size() : m_blockSize);
        block.closed = own; // the next small payload starts a fresh shared block
        m_blockBytes += quint64(block.data.capacity());
        m_blocks.push_back(std::move(block));
    }
    PayloadBlock &b = m_blocks.back();
    const quint64 ref = b.start + quint64(b.data.size());
    b.data.append(bytes);
    ++b.payloads;
    m_logEnd = ref + quint64(bytes.size());
    return ref;
}

quint64 CaptureStore::adoptBlock(QByteArray &bytes, quint64 payloads)
{
    if (bytes.capacity() > bytes.size() + bytes.size() / 4)
        bytes.squeeze(); // realloc of a large block is a remap, not a copy
    PayloadBlock block;
    block.start = m_logEnd;
    block.data = bytes;
    block.payloads = payloads;
    block.closed = true;
    m_blockBytes += quint64(block.data.capacity());
    m_logEnd += quint64(bytes.size());
    m_blocks.push_back(std::move(block));
    return m_blocks.back().start;
}

QByteArrayView CaptureStore::payloadView(quint64 ref, quint32 size) const
{
    if (size == 0 || ref < m_logStart || m_blocks.empty())
        return {};
    auto it = std::upper_bound(m_blocks.begin(), m_blocks.end(), ref,
                               [](quint64 r, const PayloadBlock &b) { return r < b.start; });
    --it;
    return QByteArrayView(it->data).sliced(qsizetype(ref - it->start), size);
}

QByteArray CaptureStore::readPayload(quint64 ref, quint32 size, bool *evicted) const
{
    if (evicted)
        *evicted = size > 0 && (ref < m_logStart || m_blocks.empty());
    return payloadView(ref, size).toByteArray();
}

void CaptureStore::visitPayloads(const std::vector<const MessageRecord *> &records, qsizetype maxBytes,
                                 const std::function<void(size_t, QByteArrayView)> &visit) const
{
    std::shared_lock lock(m_mutex);
    for (size_t i = 0; i < records.size(); ++i) {
        const MessageRecord &r = *records[i];
        visit(i, payloadView(r.payloadRef, quint32(std::min<qsizetype>(maxBytes, r.capturedSize))));
    }
}

void CaptureStore::apply(std::shared_ptr<CaptureBatch> batch)
{
    if (!batch || batch->isEmpty())
        return;
    {
        std::unique_lock lock(m_mutex);
        for (const SessionInfo &info : batch->sessions) {
            auto [it, inserted] = m_sessions.try_emplace(info.id);
            if (inserted)
                ++m_stats.sessions;
            m_sessionBytes -= it->second.infoBytes;
            it->second.info = info;
            it->second.infoBytes = sessionBytes(info);
            m_sessionBytes += it->second.infoBytes;
        }
        // A large batch's payload buffer becomes a block of the log as it is (shared, not copied): at high
        // rates this saves a copy of every payload byte.
        const bool adopt = batch->payloads.size() >= AdoptBytes;
        const quint64 base = adopt ? adoptBlock(batch->payloads, batch->messages.size()) : 0;
        for (BatchMessage &m : batch->messages) {
            SessionEntry &s = m_sessions[m.session];
            MessageRecord &r = m.record;
            r.payloadRef = adopt ? base + m.batchOffset : appendPayload(batch->payload(m));
            if (const MessageDetail *d = batch->detail(m)) {
                MessageDetail copy = *d;
                const auto place = [&](quint64 ref, quint32 size) {
                    return adopt
                        ? base + ref
                        : appendPayload(QByteArrayView(batch->payloads).sliced(qsizetype(ref), size));
                };
                copy.wirePayloadRef = place(d->wirePayloadRef, d->wirePayloadSize);
                copy.originalRef = place(d->originalRef, d->originalSize);
                m_detailBytes += detailBytes(copy);
                s.details.push_back(std::move(copy));
                r.detail = quint32(s.details.size());
            } else {
                r.detail = 0;
            }
            m.index = s.firstIndex + s.records.size();
            s.records.push_back(r);
            ++m_recordCount;
            const int d = directionIndex(r.direction());
            ++s.counters.messages[d];
            s.counters.wireBytes[d] += r.wireSize;
            s.counters.payloadBytes[d] += r.payloadSize;
            ++m_stats.messages;
        }
        enforceBudget();
    }
    BatchPtr published = std::move(batch);
    std::vector<std::shared_ptr<Subscription>> subscribers;
    {
        std::lock_guard lock(m_subscribersMutex);
        subscribers = m_subscribers;
    }
    for (const auto &s : subscribers)
        s->push(published);
}

void CaptureStore::evictOldestBlock()
{
    const PayloadBlock &b = m_blocks.front();
    m_stats.evictedPayloadBytes += quint64(b.data.size());
    m_stats.evictedPayloads += b.payloads;
    m_blockBytes -= quint64(b.data.capacity());
    m_blocks.pop_front();
    m_logStart = m_blocks.empty() ? m_logEnd : m_blocks.front().start;
}

void CaptureStore::enforceBudget()
{
    // Oldest payloads go first; then finished sessions' records and the sessions themselves, oldest first;
    // then open sessions' oldest records; the newest payloads last of all. What is left is the open
    // sessions' own state.
    while (memoryUsed() > m_limits.maxMemory) {
        if (m_blocks.size() > 1)
            evictOldestBlock();
        else if (!evictOldestRecords(true) && !evictOldestSession() && !evictOldestRecords(false)) {
            if (m_blocks.empty())
                break;
            evictOldestBlock();
        }
    }
}

namespace {

bool isFinished(SessionState st)
{
    return st != SessionState::Open && st != SessionState::Connecting && st != SessionState::Closing;
}

} // namespace

bool CaptureStore::evictOldestRecords(bool finishedOnly)
{
    for (auto &[id, s] : m_sessions) {
        if (s.records.empty() || (finishedOnly && !isFinished(s.info.state)))
            continue;
        const size_t n = std::min(s.records.size(), RecordEvictionStep);
        s.records.erase(s.records.begin(), s.records.begin() + qsizetype(n));
        s.firstIndex += n;
        s.counters.evictedRecords += n;
        m_recordCount -= n;
        m_stats.evictedRecords += n;
        return true;
    }
    return false;
}

bool CaptureStore::evictOldestSession()
{
    for (auto it = m_sessions.begin(); it != m_sessions.end(); ++it) {
        if (!isFinished(it->second.info.state))
            continue;
        m_sessionBytes -= it->second.infoBytes;
        for (const MessageDetail &d : it->second.details)
            m_detailBytes -= detailBytes(d);
        m_sessions.erase(it);
        ++m_stats.evictedSessions;
        return true;
    }
    return false;
}

void CaptureStore::clear()
{
    std::unique_lock lock(m_mutex);
    m_sessions.clear();
    m_blocks.clear();
    m_logStart = m_logEnd;
    m_blockBytes = m_recordCount = m_detailBytes = m_sessionBytes = 0;
    m_stats = Stats();
}

void CaptureStore::setMemoryLimit(quint64 bytes)
{
    std::unique_lock lock(m_mutex);
    m_limits.maxMemory = bytes;
    m_blockSize = blockSizeFor(bytes);
    enforceBudget();
}

CaptureStore::Stats CaptureStore::stats() const
{
    std::shared_lock lock(m_mutex);
    Stats s = m_stats;
    s.memoryUsed = memoryUsed();
    s.memoryLimit = m_limits.maxMemory;
    s.payloadBytesHeld = m_logEnd - m_logStart;
    return s;
}

std::vector<SessionId> CaptureStore::sessionIds() const
{
    std::shared_lock lock(m_mutex);
    std::vector<SessionId> out;
    out.reserve(m_sessions.size());
    for (const auto &entry : m_sessions)
        out.push_back(entry.first);
    return out;
}

std::optional<SessionInfo> CaptureStore::session(SessionId id) const
{
    std::shared_lock lock(m_mutex);
    const auto it = m_sessions.find(id);
    if (it == m_sessions.end())
        return std::nullopt;
    return it->second.info;
}

SessionCounters CaptureStore::counters(SessionId id) const
{
    std::shared_lock lock(m_mutex);
    const auto it = m_sessions.find(id);
    return it == m_sessions.end() ? SessionCounters() : it->second.counters;
}

quint64 CaptureStore::messageCount(SessionId id) const
{
    std::shared_lock lock(m_mutex);
    const auto it = m_sessions.find(id);
    return it == m_sessions.end() ? 0 : it->second.firstIndex + it->second.records.size();
}

quint64 CaptureStore::firstRetainedMessage(SessionId id) const
{
    std::shared_lock lock(m_mutex);
    const auto it = m_sessions.find(id);
    return it == m_sessions.end() ? 0 : it->second.firstIndex;
}

std::optional<MessageView> CaptureStore::message(SessionId id, quint64 index, bool withPayload) const
{
    std::shared_lock lock(m_mutex);
    const auto it = m_sessions.find(id);
    if (it == m_sessions.end())
        return std::nullopt;
    const SessionEntry &s = it->second;
    if (index < s.firstIndex || index >= s.firstIndex + s.records.size())
        return std::nullopt;
    MessageView v;
    v.session = id;
    v.index = index;
    v.record = s.records[size_t(index - s.firstIndex)];
    const MessageRecord &r = v.record;
    if (withPayload)
        v.payload = readPayload(r.payloadRef, r.capturedSize, &v.payloadEvicted);
    else
        v.payloadEvicted = r.capturedSize > 0 && r.payloadRef < m_logStart;
    const MessageDetail *d = r.detail > 0 ? &s.details[r.detail - 1] : nullptr;
    if (d) {
        v.frames = d->frames;
        v.note = d->note;
        if (withPayload) {
            v.wirePayload = readPayload(d->wirePayloadRef, d->wirePayloadSize, nullptr);
            v.original = readPayload(d->originalRef, d->originalSize, nullptr);
        }
    }
    if (v.frames.empty()) {
        // A single-frame message: its one frame is fully described by the record.
        ws::FrameInfo f;
        f.length = r.wireSize - r.firstHeaderSize;
        f.maskKey = r.maskKey;
        f.opcode = r.opcode;
        f.bits = r.firstFrameBits;
        f.headerSize = r.firstHeaderSize;
        v.frames.push_back(f);
    }
    return v;
}

std::vector<MessageRecord> CaptureStore::records(SessionId id, quint64 from, quint64 count) const
{
    std::shared_lock lock(m_mutex);
    std::vector<MessageRecord> out;
    const auto it = m_sessions.find(id);
    if (it == m_sessions.end())
        return out;
    const SessionEntry &s = it->second;
    const quint64 begin = std::max(from, s.firstIndex);
    const quint64 end = std::min(from + count, s.firstIndex + s.records.size());
    if (begin >= end)
        return out;
    out.assign(s.records.begin() + qsizetype(begin - s.firstIndex),
               s.records.begin() + qsizetype(end - s.firstIndex));
    return out;
}

QByteArray CaptureStore::payload(const MessageRecord &record, bool *evicted, qsizetype maxBytes) const
{
    std::shared_lock lock(m_mutex);
    const quint32 size =
        maxBytes < 0 ? record.capturedSize : quint32(std::min<qsizetype>(maxBytes, record.capturedSize));
    return readPayload(record.payloadRef, size, evicted);
}

} // namespace socktap::capture
