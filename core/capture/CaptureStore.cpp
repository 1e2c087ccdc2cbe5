#include "CaptureStore.h"

#include "BatchJournal.h"
#include "LogRanges.h"
#include "NativeFormat.h"
#include "PayloadSpill.h"

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
// The newest payloads kept in memory when the crash journal holds them all (older ones are read back from
// it): first-touch memory costs this virtual machine 1.7-2.7 s per GB, more than relaying the bytes.
constexpr quint64 JournaledInMemory = 64ull << 20;
// Where the journal holds each batch's payloads: 24 bytes a batch, at most 24 MiB (about 80 minutes of a
// worker flushing every 5 ms without a pause; then the capture works as without the journal).
constexpr size_t MaxJournalRanges = size_t(1) << 20;
// The newest message records kept in memory when the crash journal holds the older ones (72 bytes each in
// memory, 8 once they left): at a million small messages a second, keeping every record in fresh pages
// cost more CPU than relaying them (docs/performance.md, issue 19).
constexpr quint64 JournaledRecordsInMemory = 16ull << 20;
// A session's records leave memory in whole chunks of its log, and only from sessions with at least one.
constexpr size_t MinRecordsToMove = 256;
// A journal locator: the batch's number above, the message's position in the batch below.
constexpr int LocatorPositionBits = 24;
constexpr quint64 LocatorPositionMask = (quint64(1) << LocatorPositionBits) - 1;

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
    , m_inProgress(std::make_shared<ws::BufferBudget>(qint64(limits.maxMemory / 4)))
{ }

CaptureStore::~CaptureStore() = default;

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
    return m_blockBytes + m_recordBytes + m_diskRecordCount * sizeof(quint64) + m_detailBytes + m_sessionBytes
        + m_journalRanges.size() * sizeof(JournalRange) + m_journalChunks.size() * sizeof(ChunkPlacement);
}

quint64 CaptureStore::inProgress() const
{
    return quint64(std::max<qint64>(0, m_inProgress->used()));
}

void CaptureStore::makeRoomForMessagesInProgress()
{
    if (m_memoryUsedSnapshot.load(std::memory_order_relaxed) + inProgress() <= m_limits.maxMemory)
        return;
    std::unique_lock lock(m_mutex);
    enforceBudget();
}

quint64 CaptureStore::appendPayload(QByteArrayView bytes, bool onDisk)
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
    b.onDisk = b.onDisk && onDisk;
    m_logEnd = ref + quint64(bytes.size());
    return ref;
}

quint64 CaptureStore::adoptBlock(QByteArray &bytes, quint64 payloads, bool onDisk)
{
    // Trimmed when much larger than its bytes (realloc of a large block is a remap, not a copy); the
    // slack a worker reserves for a steady stream stays, so the buffer can be reused as it is.
    if (bytes.capacity() > bytes.size() * 2)
        bytes.squeeze();
    PayloadBlock block;
    block.start = m_logEnd;
    block.data = bytes;
    block.payloads = payloads;
    block.closed = true;
    block.onDisk = onDisk;
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

bool CaptureStore::inMemory(quint64 ref, quint32 size) const
{
    // (ref may be UINT64_MAX, "never in memory": no sum that could wrap.)
    return size == 0 || (ref >= m_logStart && ref <= m_logEnd && size <= m_logEnd - ref && !m_blocks.empty());
}

std::optional<CaptureStore::DiskRecord> CaptureStore::onDisk(const SessionEntry &s, quint64 index) const
{
    const quint64 first = s.firstIndex - s.diskOffsets.size();
    if (index < first || index >= s.firstIndex)
        return std::nullopt;
    return diskRecord(s.diskFile, s.diskOffsets[size_t(index - first)]);
}

std::optional<CaptureStore::DiskRecord> CaptureStore::diskRecord(quint8 file, quint64 offset) const
{
    DiskRecord d;
    d.fileIndex = file;
    d.offset = offset;
    if (file == CrashJournalFile) {
        const ChunkPlacement *chunk = journalChunk(offset);
        if (!chunk || !m_crashJournalFile)
            return std::nullopt;
        d.file = m_crashJournalFile;
        d.chunk = *chunk;
        d.position = quint32(offset & LocatorPositionMask);
        return d;
    }
    if (!file || file > m_files.size() || !m_files[file - 1])
        return std::nullopt;
    d.file = m_files[file - 1];
    return d;
}

const ChunkPlacement *CaptureStore::journalChunk(quint64 locator) const
{
    const quint64 batch = locator >> LocatorPositionBits;
    if (batch < m_chunkBase || batch - m_chunkBase >= m_journalChunks.size())
        return nullptr;
    const ChunkPlacement &chunk = m_journalChunks[size_t(batch - m_chunkBase)];
    return chunk.end ? &chunk : nullptr;
}

namespace {

// A message record rebuilt from its line (for records that left memory): its bytes come from the line.
MessageRecord recordFromLine(const native::DecodedMessage &m, quint8 file, quint64 offset)
{
    MessageRecord r = m.record;
    r.payloadRef = std::numeric_limits<quint64>::max(); // never in memory
    r.detail = 0;
    r.file = file;
    r.fileOffset = offset;
    return r;
}

} // namespace

namespace {

// Reads a message record's line back from its file: for payloads that left memory.
std::optional<native::DecodedMessage> fetchMessage(const std::shared_ptr<CaptureFile> &file, quint64 offset)
{
    if (!file)
        return std::nullopt;
    QString error;
    const QByteArray line = file->lineAt(offset, &error);
    if (line.isEmpty())
        return std::nullopt;
    auto record = native::decodeLine(line, &error);
    if (!record || !std::holds_alternative<native::DecodedMessage>(*record))
        return std::nullopt;
    return std::get<native::DecodedMessage>(std::move(*record));
}

} // namespace

std::optional<native::DecodedMessage> CaptureStore::DiskRecord::read(bool withDetail) const
{
    return chunk ? readJournaled(file, *chunk, position, withDetail) : fetchMessage(file, offset);
}

MessageRecord CaptureStore::DiskRecord::record(const native::DecodedMessage &m) const
{
    return chunk ? journaledRecord(m.record, offset) : recordFromLine(m, fileIndex, offset);
}

MessageRecord CaptureStore::journaledRecord(MessageRecord r, quint64 locator)
{
    // The journal holds the record as this store numbered it: its payload may still be in memory or in
    // the journal's ranges (read in spans by a search), else it is read from its chunk; its detail left
    // memory with it.
    r.detail = 0;
    r.file = CrashJournalFile;
    r.fileOffset = locator;
    return r;
}

// Where one of a message's byte strings is (part: 0 payload, 1 wire payload, 2 original): located under
// the store's lock, read after it is released, so a disk read never holds up the writers.
struct CaptureStore::Fetch
{
    enum class From { Nothing, Memory, Spill, Line };
    From from = From::Nothing;
    QByteArray bytes; // Memory: copied under the lock
    std::shared_ptr<CaptureFile> file;
    quint64 offset = 0;
    quint32 size = 0;
    int part = 0;
    DiskRecord disk; // From::Line: the record's line, or its place in the crash journal

    // The bytes, reading the record's line at most once (line caches it); false when they are gone.
    bool resolve(QByteArray &out, std::optional<native::DecodedMessage> &line) const
    {
        switch (from) {
        case From::Nothing:
            out.clear();
            return false;
        case From::Memory:
            out = bytes;
            return true;
        case From::Spill:
            out = file->read(offset, size);
            return out.size() == size;
        case From::Line:
            if (!line)
                line = disk.read(part != 0); // (a journal's payload alone needs no detail)
            if (!line)
                return false;
            out = part == 0 ? line->payload : part == 1 ? line->wirePayload : line->original;
            out.truncate(size);
            return true;
        }
        return false;
    }
};

CaptureStore::Fetch CaptureStore::locate(quint64 ref, quint32 size, const MessageRecord &r, int part) const
{
    Fetch f;
    f.size = size;
    f.part = part;
    if (inMemory(ref, size)) {
        f.from = Fetch::From::Memory;
        f.bytes = payloadView(ref, size).toByteArray();
    } else if (const auto at = m_crashJournalFile ? crashJournalOffset(ref) : std::nullopt;
               at && size <= m_logEnd - ref) {
        f.from = Fetch::From::Spill;
        f.file = m_crashJournalFile;
        f.offset = *at;
    } else if (const auto at = m_spill ? m_spill->locate(ref) : std::nullopt) {
        f.from = Fetch::From::Spill;
        f.file = at->file;
        f.offset = at->offset;
    } else if (const auto at = r.file ? diskRecord(r.file, r.fileOffset) : std::nullopt) {
        f.from = Fetch::From::Line;
        f.disk = *at;
    }
    return f;
}

void CaptureStore::visitPayloads(const std::vector<const MessageRecord *> &records, qsizetype maxBytes,
                                 const std::function<void(size_t, QByteArrayView)> &visit) const
{
    std::vector<std::pair<size_t, Fetch>> fromDisk;
    {
        std::shared_lock lock(m_mutex);
        for (size_t i = 0; i < records.size(); ++i) {
            const MessageRecord &r = *records[i];
            const quint32 size = quint32(std::min<qsizetype>(maxBytes, r.capturedSize));
            if (inMemory(r.payloadRef, size))
                visit(i, payloadView(r.payloadRef, size)); // no copy: a million payloads, one lock
            else
                fromDisk.emplace_back(i, locate(r.payloadRef, size, r, 0));
        }
    }
    // Payloads that left memory are read from disk without holding the store's lock; raw ones (spill,
    // crash journal) a span at a time, as a search over a whole capture reads them in order.
    constexpr quint64 SpanBytes = 256 * 1024;
    const auto raw = [](const Fetch &f) { return f.from == Fetch::From::Spill; };
    // How far the raw fetches from fromDisk[k] on reach in one read of at most SpanBytes: a search over
    // one session among many reads its payloads, not everything between them.
    const auto spanEnd = [&](size_t k) {
        const Fetch &first = fromDisk[k].second;
        quint64 end = first.offset + first.size;
        for (size_t j = k + 1; j < fromDisk.size(); ++j) {
            const Fetch &next = fromDisk[j].second;
            if (!raw(next) || next.file != first.file || next.offset < first.offset
                || next.offset + next.size > first.offset + SpanBytes)
                break;
            end = std::max(end, next.offset + next.size);
        }
        return end;
    };
    std::shared_ptr<CaptureFile> spanFile;
    quint64 spanAt = 0;
    QByteArray span;
    for (size_t k = 0; k < fromDisk.size(); ++k) {
        const auto &[i, fetch] = fromDisk[k];
        QByteArray bytes;
        if (!raw(fetch)) {
            std::optional<native::DecodedMessage> line;
            fetch.resolve(bytes, line);
            visit(i, bytes);
            continue;
        }
        if (fetch.file != spanFile || fetch.offset < spanAt
            || fetch.offset + fetch.size > spanAt + quint64(span.size())) {
            spanFile = fetch.file;
            spanAt = fetch.offset;
            span = fetch.file->read(fetch.offset, qsizetype(spanEnd(k) - fetch.offset));
        }
        const quint64 at = fetch.offset - spanAt;
        visit(i,
              QByteArrayView(span).sliced(
                  qsizetype(at), qsizetype(std::min<quint64>(fetch.size, quint64(span.size()) - at))));
    }
}

void CaptureStore::apply(std::shared_ptr<CaptureBatch> batch)
{
    if (!batch || batch->isEmpty())
        return;
    quint64 logStart = 0;
    bool contiguous = false;
    quint64 number = 0; // in the crash journal's chunks, once it is appended there
    // Live traffic (not read from a file). With --record and --control both, a live batch goes to the
    // record file and to the crash journal as well (the journal is what --control streams).
    const bool live = batch->file == 0;
    // Written to the journal before the store takes its lock, on the writer's own thread: encoding runs
    // in parallel on every worker, and the lines are on their way to disk before anyone can evict them.
    if (batch->file == 0 && m_journal)
        journalBatch(*batch);
    {
        std::unique_lock lock(m_mutex);
        if (batch->file && !m_files[batch->file - 1])
            batch->file = 0; // its segment was dropped meanwhile (only under a tiny disk budget)
        for (size_t i = 0; i < batch->sessions.size(); ++i) {
            const SessionInfo &info = batch->sessions[i];
            auto [it, inserted] = m_sessions.try_emplace(info.id);
            if (inserted) {
                ++m_stats.sessions;
                it->second.idInFile =
                    i < batch->sessionIdsInFile.size() ? batch->sessionIdsInFile[i] : info.id;
            }
            const bool written = batch->file && i < batch->sessionOffsets.size();
            if (written)
                it->second.lines.emplace_back(batch->file, batch->sessionOffsets[i]);
            it->second.infoWritten = written;
            m_sessionBytes -= it->second.infoBytes;
            it->second.info = info;
            it->second.infoBytes = sessionBytes(info) + it->second.lines.size() * 16;
            m_sessionBytes += it->second.infoBytes;
        }
        // A large batch's payload buffer becomes a block of the log as it is (shared, not copied): at high
        // rates this saves a copy of every payload byte.
        const bool onDisk = batch->file != 0;
        logStart = m_logEnd;
        const bool adopt = batch->payloads.size() >= AdoptBytes;
        const quint64 base = adopt ? adoptBlock(batch->payloads, batch->messages.size(), onDisk) : 0;
        // A batch the crash journal will hold gets a number: its records carry a locator (number and
        // position) in fileOffset, which is unused while they have no file, to be found in the journal
        // once they leave memory.
        if (!batch->file && m_crashJournal && !batch->messages.empty()
            && m_journalChunks.size() < MaxJournalRanges && batch->messages.size() <= LocatorPositionMask
            && m_crashJournal->error().isEmpty()) {
            number = m_chunkBase + m_journalChunks.size();
            m_journalChunks.emplace_back();
        }
        const quint64 locator = number << LocatorPositionBits;
        for (BatchMessage &m : batch->messages) {
            const auto found = m_sessions.find(m.session);
            if (found == m_sessions.end()) {
                // Its session was evicted under the budget between two batches: counted, never a ghost.
                ++m_stats.evictedRecords;
                continue;
            }
            SessionEntry &s = found->second;
            MessageRecord &r = m.record;
            r.file = batch->file;
            r.fileOffset = number ? locator + quint64(&m - batch->messages.data())
                : batch->file     ? m.fileOffset
                                  : 0;
            r.payloadRef = adopt ? base + m.batchOffset : appendPayload(batch->payload(m), onDisk);
            if (const MessageDetail *d = batch->detail(m)) {
                MessageDetail copy = *d;
                const auto place = [&](quint64 ref, quint32 size) {
                    return adopt
                        ? base + ref
                        : appendPayload(QByteArrayView(batch->payloads).sliced(qsizetype(ref), size), onDisk);
                };
                copy.wirePayloadRef = place(d->wirePayloadRef, d->wirePayloadSize);
                copy.originalRef = place(d->originalRef, d->originalSize);
                m_detailBytes += detailBytes(copy);
                s.details.push_back(std::move(copy));
                r.detail = s.detailBase + quint32(s.details.size());
            } else {
                r.detail = 0;
            }
            m.index = s.firstIndex + s.records.size();
            m_recordBytes += s.records.push_back(r);
            ++m_recordCount;
            const int d = directionIndex(r.direction());
            ++s.counters.messages[d];
            s.counters.wireBytes[d] += r.wireSize;
            s.counters.payloadBytes[d] += r.payloadSize;
            ++m_stats.messages;
        }
        // Every byte of the batch's buffer is now at logStart.. in the log (in order), unless messages of
        // an evicted session were left out: then the journal's copy cannot stand in for those blocks.
        contiguous = m_logEnd - logStart == quint64(batch->payloads.size());
        enforceBudget();
        if (batch->file && batch->file == m_journal)
            checkJournalBudget();
    }
    BatchPtr published = std::move(batch);
    // After the store is done with it the batch is immutable: the journal writes its payload buffer as
    // it is (no copy) while readers read it.
    if ((live || published->file == 0) && m_crashJournal) {
        const auto placed = m_crashJournal->append(published);
        const bool payloadsPlaced = contiguous && !published->payloads.isEmpty();
        if (placed && (number || payloadsPlaced)) {
            std::unique_lock lock(m_mutex);
            if (number >= m_chunkBase && number - m_chunkBase < m_journalChunks.size()) // (not cleared since)
                m_journalChunks[size_t(number - m_chunkBase)] = *placed;
            if (payloadsPlaced)
                noteJournaled(logStart, quint64(published->payloads.size()), placed->payloads);
            enforceBudget();
        }
    }
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
    PayloadBlock &b = m_blocks.front();
    const quint64 size = quint64(b.data.size());
    m_blockBytes -= quint64(b.data.capacity());
    if (inCrashJournal(b.start, size, true)) {
        m_stats.payloadBytesOnDisk += size;
        m_stats.payloadsOnDisk += b.payloads;
        recyclePayloads(std::move(b.data)); // the next batch fills it: no fresh memory
    } else if (b.onDisk || (m_spill && m_spill->spill(b.start, std::move(b.data), b.payloads))) {
        m_stats.payloadBytesOnDisk += size;
        m_stats.payloadsOnDisk += b.payloads;
    } else {
        m_stats.evictedPayloadBytes += size;
        m_stats.evictedPayloads += b.payloads;
    }
    m_blocks.pop_front();
    m_logStart = m_blocks.empty() ? m_logEnd : m_blocks.front().start;
}

void CaptureStore::noteJournaled(quint64 start, quint64 size, quint64 offset)
{
    if (!m_crashJournalFile || !m_crashJournalFile->writeError().isEmpty())
        return; // a journal that failed holds nothing more: those blocks stay, or are spilled
    // Bounded (24 bytes a batch): once full, later blocks stay in memory and go to the spill past the
    // memory budget as without a journal; what the ranges map stays readable. Nothing is lost either way.
    if (m_journalRanges.size() >= MaxJournalRanges)
        return;
    // Workers journal in parallel: a range may come in after a later one (rarely more than a few back).
    auto at = m_journalRanges.end();
    while (at != m_journalRanges.begin() && std::prev(at)->start > start)
        --at;
    m_journalRanges.insert(at, JournalRange {start, size, offset});
}

std::optional<quint64> CaptureStore::crashJournalOffset(quint64 ref) const
{
    const auto it = rangeContaining(m_journalRanges, ref);
    if (it == m_journalRanges.end())
        return std::nullopt;
    return it->offset + (ref - it->start);
}

bool CaptureStore::inCrashJournal(quint64 start, quint64 size, bool waitForDisk) const
{
    // Wholly covered by consecutive ranges (a block of small payloads may hold several batches), and
    // those bytes already written: memory is the only copy until the disk has them, and a journal whose
    // writes fail holds nothing more.
    if (!m_crashJournalFile)
        return false;
    quint64 at = start;
    const quint64 end = start + size;
    quint64 fileEnd = 0;
    for (auto it = rangeContaining(m_journalRanges, start); at < end; ++it) {
        if (it == m_journalRanges.end() || it->start > at)
            return false; // a gap: part of the block is not in the journal
        at = it->start + it->size; // (the first range may begin before the block)
        fileEnd = std::max(fileEnd, it->offset + it->size);
    }
    if (fileEnd > m_crashJournalFile->written() && waitForDisk)
        m_crashJournalFile->flush(); // over the memory budget: wait for the disk rather than lose or spill
    return fileEnd <= m_crashJournalFile->written() && m_crashJournalFile->writeError().isEmpty();
}

void CaptureStore::enforceBudget()
{
    // Oldest payloads go first; then finished sessions' records and the sessions themselves, oldest first;
    // then open sessions' oldest records; the newest payloads last of all. What is left is the open
    // sessions' own state.
    // Payloads the crash journal holds leave memory once the newer ones fill JournaledInMemory: read back
    // from the journal when asked for, and their buffers reused for the next batches.
    while (m_blocks.size() > 1 && m_blockBytes > std::min(JournaledInMemory, m_limits.maxMemory / 2)
           && inCrashJournal(m_blocks.front().start, quint64(m_blocks.front().data.size()), false))
        evictOldestBlock();
    // So do records (a few steps per batch at most: a batch adds at most four steps' worth).
    const quint64 recordsHot = std::min(JournaledRecordsInMemory, m_limits.maxMemory / 8);
    for (int step = 0; step < 8 && m_recordBytes > recordsHot && evictJournaledRecords(); ++step) { }
    while (memoryUsed() + inProgress() > m_limits.maxMemory) {
        // What is also on disk loses nothing by leaving memory: payloads, then records. Then the oldest
        // payloads go, even the newest batch's that the crash journal does not hold yet.
        const PayloadBlock *front = m_blocks.empty() ? nullptr : &m_blocks.front();
        if (front && (front->onDisk || inCrashJournal(front->start, quint64(front->data.size()), true)))
            evictOldestBlock();
        else if (moveOldestRecordsToDisk(true) || moveOldestRecordsToDisk(false))
            continue;
        else if (m_blocks.size() > 1 || (!m_blocks.empty() && (m_blocks.front().onDisk || m_spill)))
            evictOldestBlock();
        else if (!evictOldestRecords(true) && !evictOldestSession() && !evictOldestRecords(false)) {
            if (m_blocks.empty())
                break;
            evictOldestBlock();
        }
    }
    m_memoryUsedSnapshot.store(memoryUsed(), std::memory_order_relaxed);
}

namespace {

bool isFinished(SessionState st)
{
    return st != SessionState::Open && st != SessionState::Connecting && st != SessionState::Closing;
}

} // namespace

const MessageDetail *CaptureStore::detailOf(const SessionEntry &s, const MessageRecord &r)
{
    if (r.detail <= s.detailBase || r.detail - s.detailBase > s.details.size())
        return nullptr;
    return &s.details[r.detail - s.detailBase - 1];
}

// Takes the n oldest records out of memory, with the details only they used.
void CaptureStore::dropRecords(SessionEntry &s, size_t n)
{
    quint32 lastDetail = 0;
    for (size_t i = 0; i < n; ++i)
        lastDetail = std::max(lastDetail, s.records[i].detail);
    while (s.detailBase < lastDetail && !s.details.empty()) {
        m_detailBytes -= detailBytes(s.details.front());
        s.details.pop_front();
        ++s.detailBase;
    }
    m_recordBytes -= s.records.dropFront(n);
    s.firstIndex += n;
    m_recordCount -= n;
}

std::optional<std::pair<quint8, quint64>> CaptureStore::placeOnDisk(const MessageRecord &r,
                                                                    quint64 journalWritten) const
{
    if (r.file)
        return std::pair(r.file, r.fileOffset);
    // Memory is the only copy until the disk has the record's chunk.
    const ChunkPlacement *chunk = journalChunk(r.fileOffset);
    if (!chunk || chunk->end > journalWritten)
        return std::nullopt;
    return std::pair(CrashJournalFile, r.fileOffset);
}

bool CaptureStore::moveRecordsToDisk(SessionEntry &s, size_t n, bool waitForDisk)
{
    // Records in one file leave memory and stay readable (8 bytes each instead of a record), as long as
    // those already on disk are in the same file: they are the indices just before the first in memory.
    // Those of the batch being applied are not in the journal yet: the ones before them go.
    // Of the crash journal: what is on disk, read before its error (a failed write still counts as
    // written), and nothing once its writes failed.
    const auto journalWritten = [this] {
        const quint64 written = m_crashJournalFile->written();
        return m_crashJournalFile->writeError().isEmpty() ? written : 0;
    };
    quint64 written = m_crashJournalFile ? journalWritten() : 0;
    if (m_crashJournalFile && waitForDisk && written) {
        quint64 needed = 0;
        for (size_t i = 0; i < n; ++i)
            if (const ChunkPlacement *c = s.records[i].file ? nullptr : journalChunk(s.records[i].fileOffset))
                needed = std::max(needed, c->end);
        if (needed > written) {
            m_crashJournalFile->flush(); // over the memory budget: wait for the disk rather than lose
            written = journalWritten();
        }
    }
    std::vector<quint64> offsets;
    offsets.reserve(n);
    quint8 file = s.diskOffsets.empty() ? 0 : s.diskFile;
    for (size_t i = 0; i < n; ++i) {
        const auto place = placeOnDisk(s.records[i], written);
        if (!place || (file && place->first != file))
            break;
        file = place->first;
        offsets.push_back(place->second);
    }
    if (offsets.empty())
        return false;
    s.diskFile = file;
    s.diskOffsets.insert(s.diskOffsets.end(), offsets.begin(), offsets.end());
    m_diskRecordCount += offsets.size();
    m_stats.recordsOnDisk += offsets.size();
    dropRecords(s, offsets.size());
    return true;
}

bool CaptureStore::evictJournaledRecords()
{
    // Sessions take turns (from where the last move stopped), a few looked at per step: with thousands
    // of sessions this runs per batch, under the writers' lock.
    auto it = m_sessions.upper_bound(m_recordCursor);
    for (size_t looked = 0; looked < std::min<size_t>(m_sessions.size(), 64); ++looked, ++it) {
        if (it == m_sessions.end())
            it = m_sessions.begin();
        SessionEntry &s = it->second;
        if (s.records.size() < MinRecordsToMove || s.records.front().file)
            continue; // (records of a file are read back from it under the budget, not before)
        if (moveRecordsToDisk(s, std::min(s.records.size(), RecordEvictionStep), false)) {
            m_recordCursor = it->first;
            return true;
        }
    }
    return false;
}

bool CaptureStore::moveOldestRecordsToDisk(bool finishedOnly)
{
    for (auto &[id, s] : m_sessions)
        if (!s.records.empty() && (!finishedOnly || isFinished(s.info.state))
            && moveRecordsToDisk(s, std::min(s.records.size(), RecordEvictionStep), true))
            return true;
    return false;
}

bool CaptureStore::evictOldestRecords(bool finishedOnly)
{
    // Records on disk leave memory and stay readable, from any session, before any is lost.
    if (moveOldestRecordsToDisk(finishedOnly))
        return true;
    for (auto &[id, s] : m_sessions) {
        if ((s.records.empty() && s.diskOffsets.empty()) || (finishedOnly && !isFinished(s.info.state)))
            continue;
        // Gone, counted: the oldest first, a step at a time (the 8 bytes left of those on disk count too).
        if (!s.diskOffsets.empty()) {
            const size_t n = std::min(s.diskOffsets.size(), RecordEvictionStep);
            s.diskOffsets.erase(s.diskOffsets.begin(), s.diskOffsets.begin() + qsizetype(n));
            m_diskRecordCount -= n;
            m_stats.recordsOnDisk -= n;
            s.counters.evictedRecords += n;
            m_stats.evictedRecords += n;
            return true;
        }
        const size_t n = std::min(s.records.size(), RecordEvictionStep);
        s.counters.evictedRecords += n;
        m_stats.evictedRecords += n;
        dropRecords(s, n);
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
        m_diskRecordCount -= it->second.diskOffsets.size();
        m_stats.recordsOnDisk -= std::min<quint64>(m_stats.recordsOnDisk, it->second.diskOffsets.size());
        m_recordCount -= it->second.records.size();
        m_recordBytes -= it->second.records.allocatedBytes();
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
    m_journalRanges.clear();
    m_chunkBase += m_journalChunks.size(); // (a batch numbered before is not placed after)
    m_journalChunks.clear();
    m_logStart = m_logEnd;
    m_blockBytes = m_recordCount = m_recordBytes = m_diskRecordCount = m_detailBytes = m_sessionBytes = 0;
    m_stats = Stats();
}

void CaptureStore::setMemoryLimit(quint64 bytes)
{
    std::unique_lock lock(m_mutex);
    m_limits.maxMemory = bytes;
    m_blockSize = blockSizeFor(bytes);
    m_inProgress->setLimit(qint64(bytes / 4));
    enforceBudget();
}

void CaptureStore::setCrashJournal(std::shared_ptr<BatchJournal> journal)
{
    std::unique_lock lock(m_mutex);
    m_crashJournal = std::move(journal);
    m_crashJournalFile = m_crashJournal ? m_crashJournal->file() : nullptr;
    m_journalRanges.clear(); // (set before traffic: nothing has left memory for an earlier journal)
    m_chunkBase += m_journalChunks.size();
    m_journalChunks.clear();
}

CaptureStore::Stats CaptureStore::stats() const
{
    std::shared_lock lock(m_mutex);
    Stats s = m_stats;
    if (m_recordFile) {
        const auto &journal = m_files[m_recordFile - 1];
        s.journalPath = journal->path();
        s.journalBytes = journal->size();
        s.journalError = journal->writeError();
    }
    if (!m_recordingStopped.isEmpty())
        s.journalError = m_recordingStopped;
    if (m_crashJournal) {
        s.crashJournalPath = m_crashJournal->path();
        s.crashJournalBytes = m_crashJournal->size();
        s.crashJournalError = m_crashJournal->error();
    }
    if (m_spill) {
        s.spillDirectory = m_spill->directory();
        s.spillBytes = m_spill->diskBytes();
        s.droppedSegments = m_spill->droppedSegments();
        s.evictedPayloads += m_spill->droppedPayloads();
        s.evictedPayloadBytes += m_spill->droppedBytes();
        s.payloadsOnDisk -= std::min(s.payloadsOnDisk, m_spill->droppedPayloads());
        s.payloadBytesOnDisk -= std::min(s.payloadBytesOnDisk, m_spill->droppedBytes());
    }
    s.memoryUsed = memoryUsed();
    s.memoryLimit = m_limits.maxMemory;
    s.inProgressBytes = inProgress();
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
    return it == m_sessions.end() ? 0 : it->second.firstIndex - it->second.diskOffsets.size();
}

std::optional<MessageView> CaptureStore::message(SessionId id, quint64 index, bool withPayload) const
{
    MessageView v;
    v.session = id;
    v.index = index;
    Fetch parts[3];
    std::optional<DiskRecord> diskLine;
    {
        std::shared_lock lock(m_mutex);
        const auto it = m_sessions.find(id);
        if (it == m_sessions.end())
            return std::nullopt;
        const SessionEntry &s = it->second;
        if (index >= s.firstIndex + s.records.size())
            return std::nullopt;
        if (index < s.firstIndex) {
            diskLine = onDisk(s, index);
            if (!diskLine)
                return std::nullopt;
        } else {
            v.record = s.records[size_t(index - s.firstIndex)];
            const MessageRecord &r = v.record;
            const MessageDetail *d = detailOf(s, r);
            if (d) {
                v.frames = d->frames;
                v.note = d->note;
            }
            if (withPayload) {
                parts[0] = locate(r.payloadRef, r.capturedSize, r, 0);
                if (d) {
                    parts[1] = locate(d->wirePayloadRef, d->wirePayloadSize, r, 1);
                    parts[2] = locate(d->originalRef, d->originalSize, r, 2);
                }
            } else {
                v.payloadEvicted = r.capturedSize > 0 && !inMemory(r.payloadRef, r.capturedSize)
                    && !(m_spill && m_spill->locate(r.payloadRef)) && !r.file
                    && !(m_crashJournalFile && crashJournalOffset(r.payloadRef));
            }
        }
    }
    if (diskLine) {
        // A record that left memory: everything comes from its line or its journal chunk.
        auto m = diskLine->read();
        if (!m)
            return std::nullopt;
        v.record = diskLine->record(*m);
        v.payload = std::move(m->payload);
        v.wirePayload = std::move(m->wirePayload);
        v.original = std::move(m->original);
        v.note = std::move(m->note);
        v.frames = std::move(m->frames);
    } else if (withPayload) {
        std::optional<native::DecodedMessage> line;
        v.payloadEvicted = !parts[0].resolve(v.payload, line) && v.record.capturedSize > 0;
        parts[1].resolve(v.wirePayload, line);
        parts[2].resolve(v.original, line);
    }
    const MessageRecord &r = v.record;
    if (v.frames.empty() && r.frameCount >= 1 && r.firstHeaderSize) {
        // A single-frame message: its one frame is fully described by the record. (An imported message
        // whose frames are unknown has none.)
        v.frames.push_back(r.firstFrame());
    }
    return v;
}

std::vector<MessageRecord> CaptureStore::records(SessionId id, quint64 from, quint64 count) const
{
    std::vector<MessageRecord> out;
    std::shared_ptr<CaptureFile> file;
    // Records on disk in the range, read after the lock: their line's offset, or in the crash journal
    // their locator and where their BatchMessage is (Unreadable: its chunk is unknown).
    constexpr quint64 Unreadable = std::numeric_limits<quint64>::max();
    std::vector<std::pair<quint64, quint64>> disk;
    quint8 fileIndex = 0;
    {
        std::shared_lock lock(m_mutex);
        const auto it = m_sessions.find(id);
        if (it == m_sessions.end())
            return out;
        const SessionEntry &s = it->second;
        const quint64 diskFirst = s.firstIndex - s.diskOffsets.size();
        fileIndex = s.diskFile;
        const bool journal = fileIndex == CrashJournalFile;
        for (quint64 i = std::max(from, diskFirst); i < std::min(from + count, s.firstIndex); ++i) {
            const quint64 offset = s.diskOffsets[size_t(i - diskFirst)];
            const ChunkPlacement *chunk = journal ? journalChunk(offset) : nullptr;
            disk.emplace_back(offset,
                              !journal ? offset
                                  : chunk
                                  ? chunk->messages + (offset & LocatorPositionMask) * sizeof(BatchMessage)
                                  : Unreadable);
        }
        if (!disk.empty())
            file = journal                                 ? m_crashJournalFile
                : fileIndex && fileIndex <= m_files.size() ? m_files[fileIndex - 1]
                                                           : nullptr;
        const quint64 begin = std::max(from, s.firstIndex);
        const quint64 end = std::min(from + count, s.firstIndex + s.records.size());
        if (begin < end)
            s.records.copyTo(size_t(begin - s.firstIndex), size_t(end - s.firstIndex), out);
    }
    if (disk.empty())
        return out;
    std::vector<MessageRecord> fromDisk;
    fromDisk.reserve(disk.size() + out.size());
    // A record that cannot be read (the file changed under us) keeps its place: positions are indices.
    MessageRecord unreadable;
    unreadable.payloadRef = Unreadable;
    if (fileIndex != CrashJournalFile) {
        for (const auto &[offset, at] : disk) {
            const auto m = fetchMessage(file, offset);
            fromDisk.push_back(m ? recordFromLine(*m, fileIndex, offset) : unreadable);
        }
    } else {
        // A session's records in the journal are runs of 112-byte structs, read a span at a time.
        constexpr quint64 SpanBytes = 256 * 1024;
        QByteArray span;
        quint64 spanAt = 0;
        for (size_t k = 0; k < disk.size(); ++k) {
            const quint64 at = disk[k].second;
            if (at == Unreadable || !file) {
                fromDisk.push_back(unreadable);
                continue;
            }
            if (at < spanAt || at + sizeof(BatchMessage) > spanAt + quint64(span.size())) {
                quint64 end = at + sizeof(BatchMessage);
                for (size_t j = k + 1; j < disk.size(); ++j) {
                    const quint64 next = disk[j].second;
                    if (next == Unreadable || next < at || next + sizeof(BatchMessage) > at + SpanBytes)
                        break;
                    end = std::max<quint64>(end, next + sizeof(BatchMessage));
                }
                spanAt = at;
                span = file->read(at, qsizetype(end - at));
            }
            if (at + sizeof(BatchMessage) > spanAt + quint64(span.size())) {
                fromDisk.push_back(unreadable);
                continue;
            }
            BatchMessage m;
            std::memcpy(&m, span.constData() + (at - spanAt), sizeof m);
            fromDisk.push_back(journaledRecord(m.record, disk[k].first));
        }
    }
    fromDisk.insert(fromDisk.end(), out.begin(), out.end());
    return fromDisk;
}

QByteArray CaptureStore::payload(const MessageRecord &record, bool *evicted, qsizetype maxBytes) const
{
    const quint32 size =
        maxBytes < 0 ? record.capturedSize : quint32(std::min<qsizetype>(maxBytes, record.capturedSize));
    Fetch fetch;
    {
        std::shared_lock lock(m_mutex);
        fetch = locate(record.payloadRef, size, record, 0);
    }
    QByteArray out;
    std::optional<native::DecodedMessage> line;
    const bool ok = fetch.resolve(out, line);
    if (evicted)
        *evicted = !ok && size > 0;
    return out;
}

SessionId CaptureStore::reserveSessionIds(SessionId next)
{
    SessionId current = m_nextSession.load();
    while (current < next - 1 && !m_nextSession.compare_exchange_weak(current, next - 1)) { }
    return m_nextSession.load() + 1;
}

quint8 CaptureStore::addFileLocked(std::shared_ptr<CaptureFile> file)
{
    // Record lines are addressed by a byte-sized index: a dropped segment's slot is reused.
    size_t slot = 0;
    while (slot < m_files.size() && m_files[slot])
        ++slot;
    if (slot >= 255)
        return 0;
    if (slot == m_files.size()) {
        m_files.emplace_back();
        m_fileOrder.emplace_back();
    }
    m_files[slot] = std::move(file);
    m_fileOrder[slot] = m_nextFileOrder++;
    return quint8(slot + 1);
}

quint8 CaptureStore::addFile(std::shared_ptr<CaptureFile> file)
{
    std::unique_lock lock(m_mutex);
    return addFileLocked(std::move(file));
}

quint8 CaptureStore::attachJournal(std::shared_ptr<CaptureFile> journal)
{
    std::unique_lock lock(m_mutex);
    const quint8 index = addFileLocked(std::move(journal));
    m_journal = index;
    m_recordFile = index;
    return index;
}

void CaptureStore::setSpill(SegmentFactory nextSegment)
{
    std::unique_lock lock(m_mutex);
    m_spill = std::make_unique<PayloadSpill>(std::move(nextSegment), m_limits.maxDisk);
}

void CaptureStore::checkJournalBudget()
{
    const quint8 current = m_journal;
    if (!current)
        return;
    if (const QString failed = m_files[current - 1]->writeError(); !failed.isEmpty()) {
        // Disk full, or gone: what follows stays in memory (and is counted when evicted), and saving
        // reports what the file lost.
        m_journal = 0;
        m_recordingStopped =
            QStringLiteral("%1; recording stopped, the capture goes on in memory").arg(failed);
        return;
    }
    if (m_files[current - 1]->size() <= m_limits.maxDisk)
        return;
    // The user's --record file is theirs: never cut. Stop writing to it and say so.
    m_journal = 0;
    m_recordingStopped = QStringLiteral("%1 reached the disk budget (--max-capture-disk, %2 MiB): recording "
                                        "stopped there; the capture goes on in memory")
                             .arg(m_files[current - 1]->path())
                             .arg(m_limits.maxDisk >> 20);
}

std::shared_ptr<CaptureFile> CaptureStore::file(quint8 index) const
{
    std::shared_lock lock(m_mutex);
    return index >= 1 && index <= m_files.size() ? m_files[index - 1] : nullptr;
}

std::shared_ptr<CaptureFile> CaptureStore::journal() const
{
    // Even after recording stopped at the disk budget: it still needs flushing.
    return file(m_recordFile);
}

void CaptureStore::journalBatch(CaptureBatch &batch)
{
    quint8 index = 0;
    std::shared_ptr<CaptureFile> journal;
    {
        std::shared_lock lock(m_mutex);
        index = m_journal;
        journal = index ? m_files[index - 1] : nullptr;
    }
    if (!journal)
        return;
    // The batch's own order: sessions first, so a session's record always precedes its messages.
    QByteArray lines = journal->takeBuffer();
    lines.reserve(batch.payloads.size() * 4 / 3 + qsizetype(batch.messages.size()) * 160
                  + qsizetype(batch.sessions.size()) * 4096);
    // A session's first record comes before its first message; its later states come after the batch's
    // messages, in the order things happened (a closed state after the Close frames).
    std::vector<quint64> sessionAt(batch.sessions.size());
    std::vector<quint64> messageAt;
    messageAt.reserve(batch.messages.size());
    std::vector<bool> later(batch.sessions.size());
    {
        std::lock_guard lock(m_journaledMutex);
        for (size_t i = 0; i < batch.sessions.size(); ++i)
            later[i] = !m_journaled.insert(batch.sessions[i].id).second;
    }
    const auto sessions = [&](bool whichLater) {
        for (size_t i = 0; i < batch.sessions.size(); ++i) {
            if (later[i] != whichLater)
                continue;
            sessionAt[i] = quint64(lines.size());
            native::appendSession(lines, batch.sessions[i]);
        }
    };
    sessions(false);
    for (const BatchMessage &m : batch.messages) {
        messageAt.push_back(quint64(lines.size()));
        native::MessageParts parts;
        parts.session = m.session;
        parts.record = m.record;
        parts.payload = batch.payload(m);
        if (const MessageDetail *d = batch.detail(m)) {
            const QByteArrayView all(batch.payloads);
            parts.wirePayload = all.sliced(qsizetype(d->wirePayloadRef), d->wirePayloadSize);
            parts.original = all.sliced(qsizetype(d->originalRef), d->originalSize);
            parts.note = d->note;
            parts.frames = d->frames;
        }
        native::appendMessage(lines, parts);
    }
    sessions(true);
    const quint64 base = journal->append(std::move(lines)); // may wait for the disk: backpressure
    batch.sessionOffsets.clear();
    for (const quint64 at : sessionAt)
        batch.sessionOffsets.push_back(base + at);
    for (size_t i = 0; i < batch.messages.size(); ++i)
        batch.messages[i].fileOffset = base + messageAt[i];
    batch.file = index;
}

std::vector<CaptureStore::LineRef> CaptureStore::lines(const std::vector<SessionId> &sessions) const
{
    std::shared_lock lock(m_mutex);
    std::vector<LineRef> out;
    std::vector<LineRef>
        unwritten; // records with no line anywhere: encoded from the store, session by session
    const auto add = [&](SessionId id, const SessionEntry &s) {
        for (const auto &[file, offset] : s.lines)
            out.push_back(LineRef {m_fileOrder[file - 1], file, offset, true, 0, id, s.idInFile});
        if (!s.infoWritten) // (its latest state, after recording stopped, or never recorded)
            unwritten.push_back(LineRef {0, 0, unwritten.size(), true, 0, id, id});
        if (s.diskFile == CrashJournalFile) {
            // Records in the crash journal have no line: encoded from what is read back, in order.
            const quint64 first = s.firstIndex - s.diskOffsets.size();
            for (size_t i = 0; i < s.diskOffsets.size(); ++i)
                unwritten.push_back(LineRef {0, 0, unwritten.size(), false, first + i, id, id});
        } else if (s.diskFile && m_files[s.diskFile - 1]) {
            for (const quint64 offset : s.diskOffsets)
                out.push_back(
                    LineRef {m_fileOrder[s.diskFile - 1], s.diskFile, offset, false, 0, id, s.idInFile});
        }
        for (size_t i = 0; i < s.records.size(); ++i) {
            const MessageRecord &r = s.records[i];
            if (r.file && m_files[r.file - 1])
                out.push_back(
                    LineRef {m_fileOrder[r.file - 1], r.file, r.fileOffset, false, 0, id, s.idInFile});
            else
                unwritten.push_back(LineRef {0, 0, unwritten.size(), false, s.firstIndex + i, id, id});
        }
    };
    if (sessions.empty()) {
        for (const auto &[id, s] : m_sessions)
            add(id, s);
    } else {
        for (const SessionId id : sessions)
            if (const auto it = m_sessions.find(id); it != m_sessions.end())
                add(id, it->second);
    }
    std::sort(out.begin(), out.end());
    out.insert(out.end(), unwritten.begin(), unwritten.end());
    return out;
}

SessionId firstWebSocketSession(const CaptureStore &store)
{
    for (const SessionId id : store.sessionIds())
        if (const auto s = store.session(id); s && s->kind == SessionKind::WebSocket)
            return id;
    return 0;
}

} // namespace socktap::capture
