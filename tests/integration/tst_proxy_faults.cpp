// Faults and load: a server resetting mid-frame, a client vanishing mid-message, a slow reader (memory must
// stay flat: backpressure, not buffering), 500 parallel sessions and a storm of 1,000 connections. After
// each, the capture must hold everything that crossed the proxy.
#include "core/ws/FrameWriter.h"
#include "support/Peers.h"

#include <QCryptographicHash>
#include <QElapsedTimer>

#include <zlib.h>

using namespace socktap;
using namespace socktap::test;
using capture::Direction;
using capture::SessionState;

class TestProxyFaults final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase()
    {
        raiseFileLimit();
        QNetworkProxyFactory::setUseSystemConfiguration(false);
    }

    void serverResetsMidFrame()
    {
        ProxyHarness proxy;
        RawWsServer upstream;
        RawClient client;
        QVERIFY(client.openThrough(proxy.port(), upstream.port()));
        // A 100-byte binary frame of which only 10 payload bytes arrive before the reset.
        const QByteArray frame = ws::FrameWriter::frame(ws::Opcode::Binary, QByteArray(100, 'r'), false);
        upstream.send(frame.first(12));
        QVERIFY(client.readAtLeast(12));
        resetSocket(*upstream.peer);
        QVERIFY(client.waitClosed());
        QCOMPARE(client.buffer, frame.first(12)); // what crossed, nothing more
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Closed; });
        QVERIFY(s);
        QCOMPARE(s->close.end, capture::EndReason::ServerReset);
        QVERIFY(proxy.waitMessages(s->id, 1));
        const auto m = proxy.messages(s->id);
        QCOMPARE(m.size(), size_t(1));
        QVERIFY(m[0].record.has(capture::MessageFlag::Incomplete));
        QCOMPARE(m[0].payload, QByteArray(10, 'r'));
        QCOMPARE(m[0].record.direction(), Direction::ServerToClient);
    }

    // A permessage-deflate payload (RFC 7692 7.2.1) of `mib` MiB of zeros, built cheaply: after the first,
    // each 1 MiB flushed with Z_SYNC_FLUSH deflates to the same bytes, so they are repeated.
    static QByteArray zeroBomb(int mib)
    {
        z_stream z {};
        deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
        const QByteArray zeros(1 << 20, '\0');
        auto chunk = [&] {
            QByteArray out(64 * 1024, Qt::Uninitialized);
            z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(zeros.data()));
            z.avail_in = uInt(zeros.size());
            z.next_out = reinterpret_cast<Bytef *>(out.data());
            z.avail_out = uInt(out.size());
            deflate(&z, Z_SYNC_FLUSH);
            out.resize(out.size() - qsizetype(z.avail_out));
            return out;
        };
        const QByteArray first = chunk();
        const QByteArray steady = chunk();
        deflateEnd(&z);
        QByteArray bomb = first + steady.repeated(mib - 1);
        bomb.chop(4); // the 00 00 ff ff tail a sender removes (7.2.1)
        return bomb;
    }

    void deflateBombNeitherStallsOthersNorBurnsItsCpu()
    {
        // 2 MB that inflate to 2 GiB, from a server that negotiated permessage-deflate. Before: the worker
        // inflated all 2 GiB at once (4.8 s) while every other session on it stalled. Now inflating stops at
        // the 64 MiB cap, in slices of ~1 MiB between which other connections are served.
        proxy::ProxyConfig config;
        config.workers = 1; // both sessions on the same worker thread
        ProxyHarness proxy(config);
        RawWsServer bombServer;
        bombServer.respond = [](const http::RequestHead &request) {
            return RawWsServer::switching(request, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
        };
        RawClient victim;
        QVERIFY(victim.connect(proxy.port()));
        victim.send(
            RawClient::upgradeTo(bombServer.port(), "Sec-WebSocket-Extensions: permessage-deflate\r\n"));
        const auto head = victim.readResponseHead();
        QVERIFY(head && head->status == 101);
        EchoServer echo;
        auto other = openClient(echo.url(QStringLiteral("/other")), proxy.networkProxy());
        QVERIFY(other);
        // Timed with an event loop that ends on the echo: qWaitFor polls in steps of tens of milliseconds.
        QEventLoop loop;
        QObject::connect(other.get(), &QWebSocket::textMessageReceived, &loop, &QEventLoop::quit);
        const auto roundTrip = [&] {
            QElapsedTimer trip;
            trip.start();
            other->sendTextMessage(QStringLiteral("ping"));
            QTimer::singleShot(2 * WaitMs, &loop, &QEventLoop::quit);
            loop.exec();
            return trip.elapsed();
        };
        qInfo("a round trip before the bomb: %lld ms", roundTrip());

        const QByteArray frame =
            ws::FrameWriter::frame(ws::Opcode::Binary, zeroBomb(2048), false, true, true);
        QVERIFY(frame.size() < 3 * 1024 * 1024);
        bombServer.send(frame);
        // Round trips on the other session while the bomb crosses the same worker.
        qint64 worst = 0;
        int trips = 0;
        QElapsedTimer all;
        all.start();
        while (victim.buffer.size() < frame.size() && all.elapsed() < 4 * WaitMs) {
            worst = std::max(worst, roundTrip());
            ++trips;
            victim.buffer += victim.socket.readAll();
        }
        qInfo("%d round trips on another session while the bomb crossed; the slowest took %lld ms", trips,
              worst);
        QVERIFY(victim.readAtLeast(frame.size()));
        QCOMPARE(victim.buffer.size(), frame.size());
        QVERIFY(victim.buffer == frame); // relayed untouched
        // Generous for sanitizer builds on a busy machine: before, the worker was gone for 4.8 s.
        QVERIFY2(worst < 1000, qPrintable(QString::number(worst)));
        const auto s = proxy.waitSession([](const auto &s) { return s.path == "/x"; });
        QVERIFY(s);
        QVERIFY(proxy.waitMessages(s->id, 1));
        const auto m = proxy.messages(s->id);
        QVERIFY(m[0].record.has(capture::MessageFlag::Truncated));
        QVERIFY(m[0].record.violationFlags().testFlag(ws::Violation::InflatedTooLarge));
        QVERIFY(m[0].record.payloadSize < 65u * 1024 * 1024); // it stopped just past the 64 MiB cap
    }

    void clientVanishesMidMessage()
    {
        ProxyHarness proxy;
        RawWsServer upstream;
        RawClient client;
        QVERIFY(client.openThrough(proxy.port(), upstream.port()));
        // A complete message, then a fragmented one cut off inside its second frame.
        const QByteArray whole = ws::FrameWriter::frame(ws::Opcode::Text, "complete", true);
        const QByteArray first = ws::FrameWriter::frame(ws::Opcode::Text, "part one, ", true, false);
        const QByteArray second = ws::FrameWriter::frame(ws::Opcode::Continuation, "part two", true, true);
        const QByteArray sent = whole + first + second.first(second.size() - 3);
        client.send(sent);
        QVERIFY(upstream.waitReceived(sent.size()));
        client.socket.abort();
        QVERIFY(QTest::qWaitFor([&] { return upstream.peer->state() == QAbstractSocket::UnconnectedState; },
                                WaitMs));
        QCOMPARE(upstream.received, sent);
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Closed; });
        QVERIFY(s);
        QCOMPARE(s->close.end, capture::EndReason::ClientEof);
        QVERIFY(proxy.waitMessages(s->id, 2));
        const auto m = proxy.messages(s->id);
        QCOMPARE(m[0].payload, QByteArray("complete"));
        QVERIFY(!m[0].record.has(capture::MessageFlag::Incomplete));
        QVERIFY(m[1].record.has(capture::MessageFlag::Incomplete));
        QCOMPARE(m[1].payload, QByteArray("part one, part "));
        QCOMPARE(m[1].record.frameCount, 2u);
    }

    void messagesInProgressShareTheCaptureBudget()
    {
        // 16 connections each send 16 MiB of a fragmented message that never finishes. Before, each held
        // its 16 MiB (with a 64 MiB budget, 16 x 64 MiB drove RSS to 1.05 GB); now all messages in progress
        // share a quarter of --max-capture-memory, and what does not fit is counted, not kept.
        const quint64 budget = 64ull << 20;
        ProxyHarness proxy({}, budget);
        std::vector<std::unique_ptr<RawWsServer>> servers;
        std::vector<std::unique_ptr<RawClient>> clients;
        for (int i = 0; i < 16; ++i) {
            servers.push_back(std::make_unique<RawWsServer>());
            servers.back()->keep = false;
            clients.push_back(std::make_unique<RawClient>());
            QVERIFY(clients.back()->openThrough(proxy.port(), servers.back()->port()));
        }
        const QByteArray part(1 << 20, 'p');
        const qint64 before = residentBytes();
        qint64 peak = before;
        quint64 peakInProgress = 0;
        for (int round = 0; round < 16; ++round) {
            for (auto &c : clients)
                c->send(ws::FrameWriter::frame(round ? ws::Opcode::Continuation : ws::Opcode::Binary, part,
                                               true, false));
            QVERIFY(QTest::qWaitFor(
                [&] {
                    for (const auto &s : servers)
                        if (s->receivedCount < qint64(round + 1) * part.size())
                            return false;
                    return true;
                },
                WaitMs));
            peak = std::max(peak, residentBytes());
            peakInProgress = std::max(peakInProgress, proxy.store.stats().inProgressBytes);
        }
        // A quarter of the budget, plus an allocator's rounding.
        QVERIFY2(peakInProgress <= budget / 4 + 64 * 1024, qPrintable(QString::number(peakInProgress)));
        qInfo("RSS grew %lld MiB", (peak - before) >> 20);
        QVERIFY(peakInProgress >= budget / 8); // (the accounting is alive)
#ifndef __SANITIZE_ADDRESS__ // (its shadow memory and quarantine are not the proxy's)
        // 256 MiB crossed and sits in unfinished messages; the process grew by the share and some slack.
        QVERIFY2(peak - before < qint64(64 << 20),
                 qPrintable(QStringLiteral("RSS grew by %1 MiB").arg((peak - before) >> 20)));
#endif
        clients.clear(); // the messages end incomplete and are captured
        QVERIFY(QTest::qWaitFor([&] { return proxy.store.stats().messages == 16; }, WaitMs));
        int truncated = 0;
        for (capture::SessionId id : proxy.store.sessionIds()) {
            for (const auto &m : proxy.messages(id)) {
                QCOMPARE(m.record.payloadSize, quint64(16) * part.size()); // the whole size is known
                if (m.record.has(capture::MessageFlag::Truncated)) {
                    ++truncated;
                    QVERIFY2(m.note.contains("memory for messages in progress was full"), qPrintable(m.note));
                }
            }
        }
        QVERIFY(truncated >= 12); // at most 16 MiB of the 256 could be kept
        QVERIFY(QTest::qWaitFor([&] { return proxy.store.stats().inProgressBytes == 0; }, WaitMs));
    }

    void slowReaderKeepsMemoryFlat()
    {
        // The server stops reading. The proxy must stop reading the client once highWater bytes wait for the
        // server, so the client's writes stall instead of the proxy's memory growing.
        proxy::ProxyConfig config;
        ProxyHarness proxy(config, 8 << 20); // a small capture budget, so the capture is bounded too
        RawWsServer upstream;
        RawClient client;
        QVERIFY(client.openThrough(proxy.port(), upstream.port()));
        QVERIFY(QTest::qWaitFor([&] { return upstream.peer != nullptr; }, WaitMs));
        upstream.reading = false;
        upstream.peer->setReadBufferSize(64 * 1024);

        const QByteArray frame =
            ws::FrameWriter::frame(ws::Opcode::Binary, QByteArray(256 * 1024, 's'), true);
        const qint64 before = residentBytes();
        qint64 peak = before;
        qint64 written = 0;
        QCryptographicHash sentHash(QCryptographicHash::Sha256);
        QElapsedTimer timer;
        timer.start();
        while (timer.elapsed() < 3000) {
            // Offer at most 1 MiB ahead of what the socket took: the client itself stays bounded.
            if (client.socket.bytesToWrite() < 1024 * 1024) {
                client.socket.write(frame);
                sentHash.addData(frame);
                written += frame.size();
            }
            QTest::qWait(5);
            peak = std::max(peak, residentBytes());
        }
        const qint64 stalledAt = written;
        qInfo("slow reader: client offered %lld MiB in 3 s; RSS grew %lld MiB", stalledAt >> 20,
              (peak - before) >> 20);
        QVERIFY2(stalledAt < 64ll << 20, "the client was never slowed down: the proxy is buffering");
        QVERIFY2(peak - before < 48ll << 20, "proxy memory grew with the backlog");

        // Let the reader go: everything written arrives, in order, and the capture counted every message.
        upstream.peer->setReadBufferSize(0);
        upstream.resumeReading();
        QVERIFY(QTest::qWaitFor(
            [&] {
                upstream.received += upstream.peer->readAll();
                client.socket.flush();
                return upstream.received.size() >= written;
            },
            30000));
        QCOMPARE(upstream.received.size(), written);
        QCOMPARE(QCryptographicHash::hash(upstream.received, QCryptographicHash::Sha256), sentHash.result());
        const auto s = proxy.waitSession();
        QVERIFY(proxy.waitMessages(s->id, quint64(written / frame.size())));
        QCOMPARE(proxy.store.messageCount(s->id), quint64(written / frame.size()));
        // The 8 MiB budget was exceeded: old payloads were evicted, visibly.
        const auto stats = proxy.store.stats();
        QVERIFY(stats.evictedPayloads > 0);
        QVERIFY(stats.memoryUsed <= stats.memoryLimit);
        QVERIFY(proxy.store.message(s->id, 0)->payloadEvicted);
    }

    void parallelSessions()
    {
        ProxyHarness proxy;
        EchoServer echo;
        echo.server.setMaxPendingConnections(1000);
        constexpr int Count = 500;
        std::vector<std::unique_ptr<QWebSocket>> clients;
        int echoed = 0;
        for (int i = 0; i < Count; ++i) {
            auto ws = std::make_unique<QWebSocket>();
            ws->setProxy(proxy.networkProxy());
            QWebSocket *raw = ws.get();
            QObject::connect(raw, &QWebSocket::connected, raw,
                             [raw, i] { raw->sendTextMessage(QStringLiteral("client %1").arg(i)); });
            QObject::connect(raw, &QWebSocket::textMessageReceived, raw, [&echoed, i](const QString &m) {
                if (m == QStringLiteral("client %1").arg(i))
                    ++echoed;
            });
            ws->open(echo.url(QStringLiteral("/p%1").arg(i)));
            clients.push_back(std::move(ws));
        }
        QVERIFY2(QTest::qWaitFor([&] { return echoed == Count; }, 60000),
                 qPrintable(QStringLiteral("%1 echoed").arg(echoed)));
        for (auto &c : clients)
            c->close();
        QVERIFY(QTest::qWaitFor(
            [&] {
                int closed = 0;
                for (auto id : proxy.store.sessionIds())
                    closed += proxy.store.session(id)->state == SessionState::Closed;
                return closed == Count;
            },
            60000));
        // Nothing that crossed is missing: each session has its message, its echo and both Close frames.
        for (auto id : proxy.store.sessionIds()) {
            const auto s = proxy.store.session(id);
            QCOMPARE(s->kind, capture::SessionKind::WebSocket);
            const auto c = proxy.store.counters(id);
            QVERIFY(c.messages[0] >= 2 && c.messages[1] >= 1);
            const auto first = proxy.store.message(id, 0);
            QCOMPARE(first->payload, QByteArray(s->path).replace("/p", "client "));
        }
    }

    void connectionStorm()
    {
        // 1,000 clients connect at once (reverse mode, raw sockets): all must be upgraded. Qt listens with a
        // backlog of 50 unless told otherwise; the proxy asks for more.
        RawWsServer upstream;
        proxy::ProxyConfig config;
        config.reverse =
            http::RequestTarget::parseAbsolute("ws://127.0.0.1:" + QByteArray::number(upstream.port()));
        ProxyHarness proxy(config);
        constexpr int Count = 1000;
        std::vector<std::unique_ptr<QTcpSocket>> sockets;
        int upgraded = 0;
        QElapsedTimer timer;
        timer.start();
        for (int i = 0; i < Count; ++i) {
            auto s = std::make_unique<QTcpSocket>();
            QTcpSocket *raw = s.get();
            QObject::connect(raw, &QTcpSocket::connected, raw, [raw] {
                raw->write(RawClient::upgradeRequest("/storm", "127.0.0.1", ws::Handshake::generateKey()));
            });
            QObject::connect(raw, &QTcpSocket::readyRead, raw, [raw, &upgraded] {
                if (raw->peek(12) == "HTTP/1.1 101") {
                    ++upgraded;
                    raw->readAll();
                }
            });
            s->connectToHost(QHostAddress::LocalHost, proxy.port());
            sockets.push_back(std::move(s));
        }
        QVERIFY2(QTest::qWaitFor([&] { return upgraded == Count; }, 60000),
                 qPrintable(QStringLiteral("%1 upgraded").arg(upgraded)));
        qInfo("storm: %d connections upgraded in %lld ms", Count, timer.elapsed());
        QCOMPARE(upstream.handshakes, Count);
        QVERIFY(QTest::qWaitFor([&] { return proxy.store.stats().sessions == quint64(Count); }, WaitMs));
    }
};

QTEST_MAIN(TestProxyFaults)
#include "tst_proxy_faults.moc"
