// CaptureStore: batches in, sessions and messages out; the memory budget evicting oldest payloads, then
// records, then finished sessions, always counted; live subscriptions; concurrent writers.
#include "core/capture/CaptureStore.h"
#include "core/capture/CaptureWriter.h"
#include "core/capture/ChunkedLog.h"
#include "core/capture/RecyclingPool.h"
#include "core/ws/FrameParser.h"
#include "core/ws/FrameWriter.h"

#include "support/CaptureFill.h"

#include <QTest>

#include <thread>

using namespace socktap;
using namespace socktap::capture;

namespace {

SessionInfo session(SessionId id, SessionState state = SessionState::Open)
{
    SessionInfo s;
    s.id = id;
    s.state = state;
    s.host = "example.test";
    return s;
}

// One masked text message from the client, as the relay records it.
void writeClientText(CaptureWriter &writer, SessionId id, const QByteArray &text)
{
    test::writeWire(writer, id, Direction::ClientToServer,
                    ws::FrameWriter::frame(ws::Opcode::Text, text, true));
}

} // namespace

class TestCaptureStore final : public QObject
{
    Q_OBJECT

private slots:
    // First in the suite: the writers' buffer pool is still empty of message vectors (later tests fill it).
    void batchesReuseBuffersWithoutShrinkingToOneMessage()
    {
        // A batch full to its buffers' capacity is flushed rather than grown. A batch after a flush of one
        // message, with a fresh message vector and a large recycled payload buffer (as after the store
        // let journaled payloads go), still takes hundreds of messages: not one batch per message.
        for (int i = 0; i < 2; ++i) {
            QByteArray recycled;
            recycled.reserve(256 * 1024);
            recyclePayloads(std::move(recycled));
        }
        CaptureStore store;
        // Batches are taken as they come and then die, as the window and the console do: their buffers
        // go back to the pool at once.
        std::shared_ptr<CaptureStore::Subscription> sub;
        size_t batches = 0;
        quint64 index = 0;
        bool inOrder = true;
        sub = store.subscribe([&] {
            for (const BatchPtr &b : sub->take()) {
                ++batches;
                for (const BatchMessage &m : b->messages)
                    inOrder = inOrder && m.index == index++; // none lost between early flushes
            }
        });
        CaptureWriter writer(store);
        const SessionId id = store.newSessionId();
        writer.session(session(id));
        writeClientText(writer, id, "a");
        writer.flush();
        QByteArray wire;
        for (int i = 0; i < 200; ++i)
            wire += ws::FrameWriter::frame(ws::Opcode::Text, QByteArray(100, char('a' + i % 26)), true);
        test::writeWire(writer, id, Direction::ClientToServer, wire);
        writer.flush();
        QCOMPARE(store.stats().messages, 201u);
        QVERIFY(inOrder);
        QVERIFY2(batches <= 3, qPrintable(QString::number(batches)));
        store.unsubscribe(sub);
    }

    void recyclingPoolKeepsOnlyWhatItMayReuse()
    {
        // A buffer comes back empty with its allocation; one shared with another owner, one too large
        // and any past the bound are not kept.
        RecyclingPool<QByteArray> pool(2, 1 << 20);
        QByteArray a(1000, 'a');
        const void *allocation = a.constData();
        pool.give(std::move(a));
        QByteArray back = pool.take();
        QVERIFY(back.isEmpty());
        QVERIFY(static_cast<const void *>(back.constData()) == allocation); // the same memory, reused
        QVERIFY(back.capacity() >= 1000);
        QByteArray shared(1000, 's');
        const QByteArray other = shared; // still held by the store, say
        pool.give(std::move(shared));
        QVERIFY(pool.take().isNull());
        pool.give(QByteArray(2 << 20, 'l')); // too large
        QVERIFY(pool.take().isNull());
        for (int i = 0; i < 3; ++i)
            pool.give(QByteArray(100, 'x'));
        QVERIFY(pool.take().capacity() >= 100);
        QVERIFY(pool.take().capacity() >= 100);
        QVERIFY(pool.take().isNull()); // two kept, the third freed
        RecyclingPool<std::vector<int>> vectors(1, 100);
        std::vector<int> v(50, 7);
        vectors.give(std::move(v));
        const std::vector<int> w = vectors.take();
        QVERIFY(w.empty() && w.capacity() >= 50);
    }

    void chunkedLogKeepsOrderAcrossChunksAndDrops()
    {
        // Indexes across chunk boundaries, drops from the front inside and across chunks, and starts
        // over once emptied: what a session's records rely on.
        ChunkedLog<int, 4> log;
        size_t held = 0; // what push_back and dropFront say they allocated and freed
        for (int i = 0; i < 11; ++i)
            held += log.push_back(i);
        QCOMPARE(log.size(), 11u);
        for (int i = 0; i < 11; ++i)
            QCOMPARE(log[size_t(i)], i);
        held -= log.dropFront(3); // inside the first chunk: nothing freed
        QCOMPARE(log.front(), 3);
        QCOMPARE(log[7], 10);
        QCOMPARE(log.dropFront(2), 4 * sizeof(int)); // past the first chunk: it is freed
        held -= 4 * sizeof(int);
        QCOMPARE(log.front(), 5);
        QCOMPARE(log.size(), 6u);
        for (int i = 11; i < 20; ++i)
            held += log.push_back(i);
        std::vector<int> out {-1};
        log.copyTo(2, 6, out);
        QCOMPARE(out, (std::vector<int> {-1, 7, 8, 9, 10}));
        // What it holds is counted by chunk: 4 chunks' room for 15 elements.
        QCOMPARE(log.allocatedBytes(), (4 + 4 + 4 + 4) * sizeof(int));
        QCOMPARE(held, log.allocatedBytes());
        QCOMPARE(log.dropFront(log.size()), held);
        QVERIFY(log.empty());
        QCOMPARE(log.allocatedBytes(), 0u);
        log.push_back(42);
        QCOMPARE(log.front(), 42);
        QCOMPARE(log.size(), 1u);
    }

    void sessionsAndMessages()
    {
        CaptureStore store;
        CaptureWriter writer(store);
        const SessionId id = store.newSessionId();
        writer.session(session(id));
        writeClientText(writer, id, "one");
        test::writeWire(writer, id, Direction::ServerToClient,
                        ws::FrameWriter::message(ws::Opcode::Binary, "two-fragments", false, 4));
        QCOMPARE(store.messageCount(id), 0u); // nothing until the batch is flushed
        writer.flush();
        QCOMPARE(store.messageCount(id), 2u);
        const auto one = store.message(id, 0);
        QCOMPARE(one->payload, QByteArray("one"));
        QCOMPARE(one->record.direction(), Direction::ClientToServer);
        QCOMPARE(one->frames.size(), size_t(1)); // derived from the record
        QVERIFY(one->frames[0].masked());
        QCOMPARE(one->frames[0].length, 3u);
        const auto two = store.message(id, 1);
        QCOMPARE(two->payload, QByteArray("two-fragments"));
        QCOMPARE(two->frames.size(), size_t(4)); // kept in the detail
        QCOMPARE(two->record.frameCount, 4u);
        const auto c = store.counters(id);
        QCOMPARE(c.messages[0], 1u);
        QCOMPARE(c.messages[1], 1u);
        QCOMPARE(c.payloadBytes[1], 13u);
        QVERIFY(!store.message(id, 2));
        QCOMPARE(store.records(id, 0, 10).size(), size_t(2));
        // A later snapshot replaces the earlier one.
        writer.session(session(id, SessionState::Closed));
        writer.flush();
        QCOMPARE(store.session(id)->state, SessionState::Closed);
        QCOMPARE(store.stats().sessions, 1u);
    }

    void largeBatchesBecomeBlocks()
    {
        // A batch over 256 KiB is adopted as a block of the payload log; reads and eviction still work.
        CaptureStore store(CaptureStore::Limits {8 << 20});
        CaptureWriter writer(store);
        const SessionId id = store.newSessionId();
        writer.session(session(id));
        for (int round = 0; round < 10; ++round) {
            for (int i = 0; i < 20; ++i) {
                QByteArray payload(50 * 1024, char('a' + i));
                test::writeWire(writer, id, Direction::ClientToServer,
                                ws::FrameWriter::message(ws::Opcode::Binary, payload, true, 20000));
            }
            writer.flush();
        }
        QCOMPARE(store.messageCount(id), 200u);
        const auto last = store.message(id, 199);
        QCOMPARE(last->payload, QByteArray(50 * 1024, char('a' + 19)));
        QCOMPARE(last->frames.size(), size_t(3));
        const auto stats = store.stats();
        QVERIFY(stats.memoryUsed <= stats.memoryLimit);
        QVERIFY(stats.evictedPayloads > 0);
        QVERIFY(store.message(id, 0)->payloadEvicted);
    }

    void recordsAreCompact()
    {
        QVERIFY(sizeof(MessageRecord) <= 72); // 64 plus where its line is in the capture file
        CaptureStore store;
        CaptureWriter writer(store);
        const SessionId id = store.newSessionId();
        writer.session(session(id));
        const QByteArray wire = ws::FrameWriter::frame(ws::Opcode::Text, QByteArray(), false);
        for (int i = 0; i < 100000; ++i)
            test::writeWire(writer, id, Direction::ServerToClient, wire);
        writer.flush();
        const auto stats = store.stats();
        QCOMPARE(stats.messages, 100000u);
        // What the store accounts per message, beyond payloads: the target is at most 128 bytes.
        QVERIFY2(double(stats.memoryUsed) / 100000 <= 128,
                 qPrintable(QString::number(double(stats.memoryUsed) / 100000)));
    }

    void budgetEvictsOldestPayloadsFirst()
    {
        CaptureStore store(CaptureStore::Limits {4 << 20});
        CaptureWriter writer(store);
        const SessionId id = store.newSessionId();
        writer.session(session(id));
        const QByteArray wire =
            ws::FrameWriter::frame(ws::Opcode::Binary, QByteArray(100 * 1024, 'e'), false);
        for (int i = 0; i < 100; ++i) {
            test::writeWire(writer, id, Direction::ServerToClient, wire);
            writer.flush();
        }
        const auto stats = store.stats();
        QVERIFY(stats.memoryUsed <= stats.memoryLimit);
        QVERIFY(stats.evictedPayloads > 0);
        QVERIFY(stats.evictedPayloadBytes >= stats.evictedPayloads * 100 * 1024);
        QCOMPARE(stats.evictedRecords, 0u); // records stay while payloads can go
        QCOMPARE(store.messageCount(id), 100u);
        QVERIFY(store.message(id, 0)->payloadEvicted);
        QVERIFY(store.message(id, 0)->payload.isEmpty());
        QCOMPARE(store.message(id, 99)->payload.size(), 100 * 1024);
        QVERIFY(!store.message(id, 99)->payloadEvicted);
        // The record survives eviction of its payload: size and time are still known.
        QCOMPARE(store.message(id, 0)->record.payloadSize, 100u * 1024);
    }

    void budgetThenEvictsRecordsAndFinishedSessions()
    {
        CaptureStore store(CaptureStore::Limits {1 << 20});
        CaptureWriter writer(store);
        const SessionId old = store.newSessionId();
        writer.session(session(old, SessionState::Closed));
        const SessionId live = store.newSessionId();
        writer.session(session(live));
        const QByteArray wire = ws::FrameWriter::frame(ws::Opcode::Text, "x", false);
        for (int i = 0; i < 20000; ++i)
            test::writeWire(writer, old, Direction::ServerToClient, wire);
        writer.flush();
        for (int i = 0; i < 20000; ++i)
            test::writeWire(writer, live, Direction::ServerToClient, wire);
        writer.flush();
        const auto stats = store.stats();
        QVERIFY(stats.memoryUsed <= stats.memoryLimit);
        QVERIFY(stats.evictedRecords > 0);
        // 40,000 records do not fit in 1 MiB: the finished session went first, whole and counted...
        QVERIFY(!store.session(old));
        QCOMPARE(stats.evictedSessions, 1u);
        // ...then the live session's oldest records. Indices never shift.
        const quint64 first = store.firstRetainedMessage(live);
        QVERIFY(first > 0);
        QCOMPARE(store.messageCount(live), 20000u);
        QVERIFY(store.message(live, 19999));
        QVERIFY(store.message(live, first));
        QVERIFY(!store.message(live, first - 1));
        QCOMPARE(store.counters(live).evictedRecords, first);
        QVERIFY(store.session(live)); // an open session is never evicted whole
    }

    void subscriptionsSeeBatchesInOrder()
    {
        CaptureStore store;
        int wakes = 0;
        auto sub = store.subscribe([&] { ++wakes; });
        CaptureWriter writer(store);
        const SessionId id = store.newSessionId();
        writer.session(session(id));
        writeClientText(writer, id, "a");
        writer.flush();
        writeClientText(writer, id, "b");
        writer.flush();
        QCOMPARE(wakes, 1); // woken once until it takes
        const auto batches = sub->take();
        QCOMPARE(batches.size(), size_t(2));
        QCOMPARE(batches[0]->payload(batches[0]->messages[0]), QByteArrayView("a"));
        QCOMPARE(batches[1]->messages[0].index, 1u);
        store.unsubscribe(sub);
    }

    void slowSubscriberIsToldWhatItMissed()
    {
        CaptureStore store;
        auto sub = store.subscribe({});
        CaptureWriter writer(store);
        const SessionId id = store.newSessionId();
        writer.session(session(id));
        for (int i = 0; i < 5000; ++i) {
            writeClientText(writer, id, "m");
            writer.flush();
        }
        QVERIFY(sub->droppedBatches() > 0);
        QCOMPARE(sub->take().size() + sub->droppedBatches(), 5000u);
        QCOMPARE(store.messageCount(id), 5000u); // the store itself lost nothing
    }

    void concurrentWritersAndReaders()
    {
        CaptureStore store;
        std::atomic<bool> done {false};
        std::thread reader([&] {
            while (!done) {
                for (SessionId id : store.sessionIds()) {
                    const quint64 n = store.messageCount(id);
                    if (n > 0)
                        store.message(id, n - 1);
                }
            }
        });
        std::vector<std::thread> writers;
        for (int t = 0; t < 4; ++t) {
            writers.emplace_back([&] {
                CaptureWriter writer(store);
                const SessionId id = store.newSessionId();
                writer.session(session(id));
                for (int i = 0; i < 2000; ++i) {
                    test::writeWire(writer, id, Direction::ServerToClient,
                                    ws::FrameWriter::frame(ws::Opcode::Text, "c", false));
                    if (i % 100 == 0)
                        writer.flush();
                }
                writer.flush();
            });
        }
        for (auto &w : writers)
            w.join();
        done = true;
        reader.join();
        QCOMPARE(store.stats().messages, 8000u);
        for (SessionId id : store.sessionIds())
            QCOMPARE(store.messageCount(id), 2000u);
    }
};

QTEST_GUILESS_MAIN(TestCaptureStore)
#include "tst_capturestore.moc"
