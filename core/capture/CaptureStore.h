// The capture: every session and message, bounded by a memory budget. Writers (engine worker threads)
// apply whole batches; readers (UI models, console, exporters) read under a shared lock or subscribe to the
// live stream of batches. Past the budget the oldest payloads are evicted first, then finished sessions'
// records and the sessions themselves, then open sessions' oldest records: each counted and shown, never
// silent.
#pragma once

#include "CaptureBatch.h"
#include "CaptureFile.h"
#include "ChunkedLog.h"
#include "NativeFormat.h"
#include "core/ws/BufferBudget.h"

#include <QByteArray>

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <unordered_set>

namespace socktap::capture {

class CaptureStore
{
public:
    struct Limits
    {
        quint64 maxMemory = 1ull << 30;
        quint64 maxDisk = 10ull << 30; // of the journal
    };

    // A record's line in one of the store's files (what "save" copies), or a record to encode from the
    // store (file 0: a session's latest state, or message index).
    struct LineRef
    {
        quint64 fileOrder = 0; // files in the order they were added; records without a line come last
        quint8 file = 0; // 1-based
        quint64 offset = 0; // in the file; for file 0 a running number
        bool isSession = false;
        quint64 index = 0; // file 0: the message's index in its session
        SessionId session = 0; // in the store
        SessionId idInFile = 0; // in the file's lines (differs when renumbered on open)
        friend bool operator<(const LineRef &a, const LineRef &b)
        {
            return a.fileOrder != b.fileOrder ? a.fileOrder < b.fileOrder : a.offset < b.offset;
        }
    };

    struct Stats
    {
        quint64 sessions = 0;
        quint64 messages = 0; // ever captured
        quint64 memoryUsed = 0;
        quint64 memoryLimit = 0;
        quint64 payloadBytesHeld = 0;
        quint64 evictedPayloads = 0; // messages whose payload was dropped for the budget
        quint64 evictedPayloadBytes = 0;
        quint64 evictedRecords = 0;
        quint64 evictedSessions = 0;
        quint64 recordsOnDisk = 0; // message records that left memory, read back from their file or journal
        quint64 payloadsOnDisk = 0; // left memory for the budget, still readable from the capture file
        quint64 payloadBytesOnDisk = 0;
        QString journalPath; // where live traffic is recorded (--record), or empty
        quint64 journalBytes = 0;
        QString journalError; // the journal could not be written (disk full...), or recording stopped
        QString crashJournalPath; // where every batch is appended for recovery after a crash, or empty
        quint64 crashJournalBytes = 0;
        QString crashJournalError; // it stopped (disk budget, disk full), or empty
        QString spillDirectory; // where payloads past the memory budget went, or empty
        quint64 spillBytes = 0;
        quint64 droppedSegments = 0; // oldest spill segments removed under the disk budget
        quint64 inProgressBytes = 0; // buffers of messages being assembled (part of memoryLimit)
    };

    // A live view: batches as applied, in order. Bounded: a subscriber that falls behind loses the oldest
    // batches and is told how many (droppedBatches), so it can resynchronise from the store.
    class Subscription
    {
    public:
        std::vector<BatchPtr> take();
        quint64 droppedBatches() const;

    private:
        friend class CaptureStore;
        void push(BatchPtr batch);
        mutable std::mutex m_mutex;
        std::deque<BatchPtr> m_queue;
        qsizetype m_queuedBytes = 0;
        quint64 m_dropped = 0;
        bool m_woken = false;
        std::function<void()> m_wake;
    };

    explicit CaptureStore(Limits limits);
    CaptureStore();
    ~CaptureStore();

    SessionId newSessionId() { return m_nextSession.fetch_add(1) + 1; }
    // Ids below next are taken (a file opened into the store keeps its own ids when they are free).
    SessionId reserveSessionIds(SessionId next);

    // The live journal (--record FILE): every batch applied from now on is written to it as native
    // records, and payloads that leave memory are read back from it. The file is the user's and never
    // cut: past maxDisk recording stops (said in the stats) and the capture goes on in memory.
    quint8 attachJournal(std::shared_ptr<CaptureFile> journal);
    // Without a journal: payloads that leave memory go to raw segment files from nextSegment
    // (PayloadSpill), bounded by maxDisk.
    using SegmentFactory = std::function<std::shared_ptr<CaptureFile>()>;
    void setSpill(SegmentFactory nextSegment);
    // The crash journal: every batch applied from now on that was not read from a file of the store's
    // (live traffic, imports, a recovered capture) is appended to it. Set before traffic starts.
    void setCrashJournal(std::shared_ptr<class BatchJournal> journal);
    std::shared_ptr<class BatchJournal> crashJournal() const { return m_crashJournal; }
    // A file records are read from (an opened capture): batches carrying its index are not journaled.
    quint8 addFile(std::shared_ptr<CaptureFile> file);
    std::shared_ptr<CaptureFile> file(quint8 index) const;
    std::shared_ptr<CaptureFile> journal() const;
    // The lines of these sessions (all when empty) in file order: what "save" writes.
    std::vector<LineRef> lines(const std::vector<SessionId> &sessions) const;
    void apply(std::shared_ptr<CaptureBatch> batch);
    void clear();
    void setMemoryLimit(quint64 bytes);
    // The memory of messages still being assembled on every connection comes out of the same budget: up
    // to a quarter of it, and what they hold is room the store makes by evicting (spilling) its oldest.
    std::shared_ptr<ws::BufferBudget> messagesInProgress() const { return m_inProgress; }
    // Called by writers with nothing to apply: makes room when messages in progress grew since.
    void makeRoomForMessagesInProgress();

    // wake is called (from a writer thread) when the subscription's queue goes from empty to not empty.
    std::shared_ptr<Subscription> subscribe(std::function<void()> wake);
    void unsubscribe(const std::shared_ptr<Subscription> &subscription);

    Stats stats() const;
    std::vector<SessionId> sessionIds() const;
    std::optional<SessionInfo> session(SessionId id) const;
    SessionCounters counters(SessionId id) const;
    quint64 messageCount(SessionId id) const; // including evicted records: indices never shift
    quint64 firstRetainedMessage(SessionId id) const;
    std::optional<MessageView> message(SessionId id, quint64 index, bool withPayload = true) const;
    // Records [from, from + count) that are still held (for list models).
    std::vector<MessageRecord> records(SessionId id, quint64 from, quint64 count) const;
    // The payload (its first maxBytes when maxBytes >= 0), or empty when evicted.
    QByteArray payload(const MessageRecord &record, bool *evicted = nullptr, qsizetype maxBytes = -1) const;
    // Calls visit(i, payload) for each of records (at most maxBytes of each; empty when evicted) under one
    // lock and without copying: searching a million payloads must not take a million locks.
    void visitPayloads(const std::vector<const MessageRecord *> &records, qsizetype maxBytes,
                       const std::function<void(size_t, QByteArrayView)> &visit) const;

private:
    struct SessionEntry
    {
        SessionInfo info;
        std::vector<std::pair<quint8, quint64>> lines; // (file, offset) of each session record
        SessionId idInFile = 0;
        SessionCounters counters;
        ChunkedLog<MessageRecord> records;
        quint64 firstIndex = 0; // index of records.front()
        // Records that left memory but are in a file (all in one): read back on demand. They are the
        // indices just before firstIndex. diskFile CrashJournalFile: the crash journal, and the offsets
        // are journal locators (see apply).
        std::deque<quint64> diskOffsets;
        quint8 diskFile = 0;
        std::deque<MessageDetail> details; // details[i] is detail number detailBase + i + 1
        quint32 detailBase = 0; // details of records that left memory are freed with them
        bool infoWritten = false; // the latest info has a line in a file (else save encodes it)
        quint64 infoBytes = 0;
    };
    struct PayloadBlock
    {
        quint64 start = 0;
        QByteArray data;
        quint64 payloads = 0;
        bool closed = false;
        bool onDisk = true; // every payload in it is also in a capture file
    };

    // Not a slot of m_files (those stop at 254): records that left memory for the crash journal.
    static constexpr quint8 CrashJournalFile = 255;
    // Where a record that left memory is, and how to read it back (after the store's lock is released).
    struct DiskRecord
    {
        std::shared_ptr<CaptureFile> file;
        quint8 fileIndex = 0;
        quint64 offset = 0; // a line's offset, or a journal locator
        std::optional<ChunkPlacement> chunk; // in the crash journal: the chunk holding it
        quint32 position = 0; // in that chunk
        std::optional<native::DecodedMessage> read(bool withDetail = true) const;
        MessageRecord record(const native::DecodedMessage &m) const;
    };

    quint64 appendPayload(QByteArrayView bytes, bool onDisk);
    quint64 adoptBlock(QByteArray &bytes, quint64 payloads, bool onDisk);
    void journalBatch(CaptureBatch &batch);
    void noteJournaled(quint64 start, quint64 size, quint64 offset);
    bool inCrashJournal(quint64 start, quint64 size, bool waitForDisk) const;
    std::optional<quint64> crashJournalOffset(quint64 ref) const;
    quint8 addFileLocked(std::shared_ptr<CaptureFile> file);
    void checkJournalBudget();
    struct Fetch;
    Fetch locate(quint64 ref, quint32 size, const MessageRecord &r, int part) const;
    bool inMemory(quint64 ref, quint32 size) const;
    // Message index of a session's records on disk, if it is one of them.
    std::optional<DiskRecord> onDisk(const SessionEntry &s, quint64 index) const;
    // A record read back from the crash journal (stored: as this store held it).
    static MessageRecord journaledRecord(MessageRecord stored, quint64 locator);
    std::optional<DiskRecord> diskRecord(quint8 file, quint64 offset) const;
    // The chunk a journal locator points into, once the journal placed it.
    const ChunkPlacement *journalChunk(quint64 locator) const;
    // Where record r is on disk (file index and offset or locator), if it is there already (the crash
    // journal has journalWritten bytes on disk).
    std::optional<std::pair<quint8, quint64>> placeOnDisk(const MessageRecord &r,
                                                          quint64 journalWritten) const;
    // Moves the n oldest records of s to disk (8 bytes each stay) when all are in the same file.
    bool moveRecordsToDisk(SessionEntry &s, size_t n, bool waitForDisk);
    bool evictJournaledRecords();
    bool moveOldestRecordsToDisk(bool finishedOnly);
    QByteArray readPayload(quint64 ref, quint32 size, bool *evicted) const;
    QByteArrayView payloadView(quint64 ref, quint32 size) const;
    void enforceBudget();
    void evictOldestBlock();
    bool evictOldestRecords(bool finishedOnly);
    void dropRecords(SessionEntry &s, size_t n);
    static const MessageDetail *detailOf(const SessionEntry &s, const MessageRecord &r);
    bool evictOldestSession();
    static quint64 sessionBytes(const SessionInfo &info);
    static quint64 detailBytes(const MessageDetail &detail);
    quint64 memoryUsed() const;
    quint64 inProgress() const;

    Limits m_limits;
    qsizetype m_blockSize;
    std::shared_ptr<ws::BufferBudget> m_inProgress;
    std::atomic<quint64> m_memoryUsedSnapshot {0}; // memoryUsed() after the last change, for a lock-free look
    std::atomic<SessionId> m_nextSession {0};
    mutable std::shared_mutex m_mutex;
    std::map<SessionId, SessionEntry> m_sessions;
    std::deque<PayloadBlock> m_blocks;
    quint64 m_logStart = 0; // payload bytes below this were evicted
    quint64 m_logEnd = 0;
    quint64 m_blockBytes = 0;
    quint64 m_recordCount = 0; // held
    quint64 m_recordBytes = 0; // their chunks' memory (ChunkedLog::allocatedBytes of every session)
    quint64 m_diskRecordCount = 0; // offsets of records on disk
    quint64 m_detailBytes = 0;
    quint64 m_sessionBytes = 0;
    Stats m_stats;
    std::vector<std::shared_ptr<CaptureFile>> m_files; // null: a dropped segment's free slot
    std::vector<quint64> m_fileOrder;
    quint64 m_nextFileOrder = 1;
    std::atomic<quint8> m_journal {0}; // 0 once recording stopped at the disk budget
    quint8 m_recordFile = 0; // the journal's index, kept after recording stopped
    QString m_recordingStopped;
    std::mutex m_journaledMutex;
    std::unordered_set<SessionId> m_journaled; // sessions with a record in the journal
    std::unique_ptr<class PayloadSpill> m_spill;
    std::shared_ptr<class BatchJournal> m_crashJournal;
    // Where the crash journal holds the payload log's bytes: one range per batch, in log order. Blocks
    // wholly in it leave memory as soon as the newest payloads pass JournaledInMemory, and are read back
    // from the journal: the capture's memory is reused instead of growing by every byte relayed.
    struct JournalRange
    {
        quint64 start = 0; // in the payload log
        quint64 size = 0;
        quint64 offset = 0; // in the journal file
    };
    std::deque<JournalRange> m_journalRanges;
    std::shared_ptr<CaptureFile> m_crashJournalFile;
    // Where the crash journal put each batch it holds, by the batch's number (from m_chunkBase): a
    // record's journal locator is its batch's number and its position in the batch, so records leave
    // memory for the journal as payloads do, and are read back from it.
    std::deque<ChunkPlacement> m_journalChunks;
    quint64 m_chunkBase = 1; // (0: no locator)
    SessionId m_recordCursor = 0; // where journaled records last left memory: sessions take turns

    std::mutex m_subscribersMutex;
    std::vector<std::shared_ptr<Subscription>> m_subscribers;
};

// The first WebSocket session in id order, or 0 (what commands act on when no session is named).
SessionId firstWebSocketSession(const CaptureStore &store);

} // namespace socktap::capture
