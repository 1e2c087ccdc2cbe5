// The capture: every session and message, bounded by a memory budget. Writers (engine worker threads)
// apply whole batches; readers (UI models, console, exporters) read under a shared lock or subscribe to the
// live stream of batches. Past the budget the oldest payloads are evicted first, then finished sessions'
// records and the sessions themselves, then open sessions' oldest records: each counted and shown, never
// silent.
#pragma once

#include "CaptureBatch.h"

#include <QByteArray>

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <shared_mutex>

namespace socktap::capture {

class CaptureStore
{
public:
    struct Limits
    {
        quint64 maxMemory = 1ull << 30;
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

    SessionId newSessionId() { return m_nextSession.fetch_add(1) + 1; }
    void apply(std::shared_ptr<CaptureBatch> batch);
    void clear();
    void setMemoryLimit(quint64 bytes);

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
        SessionCounters counters;
        std::deque<MessageRecord> records;
        quint64 firstIndex = 0; // index of records.front()
        std::vector<MessageDetail> details;
        quint64 infoBytes = 0;
    };
    struct PayloadBlock
    {
        quint64 start = 0;
        QByteArray data;
        quint64 payloads = 0;
        bool closed = false;
    };

    quint64 appendPayload(QByteArrayView bytes);
    quint64 adoptBlock(QByteArray &bytes, quint64 payloads);
    QByteArray readPayload(quint64 ref, quint32 size, bool *evicted) const;
    QByteArrayView payloadView(quint64 ref, quint32 size) const;
    void enforceBudget();
    void evictOldestBlock();
    bool evictOldestRecords(bool finishedOnly);
    bool evictOldestSession();
    static quint64 sessionBytes(const SessionInfo &info);
    static quint64 detailBytes(const MessageDetail &detail);
    quint64 memoryUsed() const;

    Limits m_limits;
    qsizetype m_blockSize;
    std::atomic<SessionId> m_nextSession {0};
    mutable std::shared_mutex m_mutex;
    std::map<SessionId, SessionEntry> m_sessions;
    std::deque<PayloadBlock> m_blocks;
    quint64 m_logStart = 0; // payload bytes below this were evicted
    quint64 m_logEnd = 0;
    quint64 m_blockBytes = 0;
    quint64 m_recordCount = 0; // held
    quint64 m_detailBytes = 0;
    quint64 m_sessionBytes = 0;
    Stats m_stats;

    std::mutex m_subscribersMutex;
    std::vector<std::shared_ptr<Subscription>> m_subscribers;
};

} // namespace socktap::capture
