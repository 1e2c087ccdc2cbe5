// Faults and load: a server resetting mid-frame, a client vanishing mid-message, a slow reader (memory must
// stay flat: backpressure, not buffering), 500 parallel sessions and a storm of 1,000 connections. After
// each, the capture must hold everything that crossed the proxy.
#include "core/ws/FrameWriter.h"
#include "support/Peers.h"

#include <QCryptographicHash>

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
