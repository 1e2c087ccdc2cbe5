// WebSocket through the proxy with real peers over loopback: QWebSocket via CONNECT (Qt's HttpProxy) and
// via reverse mode, raw absolute-form clients, byte-exactness, every size boundary, close paths.
#include "core/ws/CloseCode.h"
#include "core/ws/FrameWriter.h"
#include "support/Peers.h"

#include <QSignalSpy>

using namespace socktap;
using namespace socktap::test;
using capture::Direction;
using capture::SessionState;

class TestProxyWebSocket final : public QObject
{
    Q_OBJECT

private:
    static QByteArray pattern(qsizetype n)
    {
        QByteArray b(n, 0);
        for (qsizetype i = 0; i < n; ++i)
            b[i] = char((i * 31 + 7) & 0xff);
        return b;
    }

    // Sends each message, waits for its echo, and checks the capture holds both directions exactly.
    static void exchange(ProxyHarness &proxy, QWebSocket &client, capture::SessionId session)
    {
        QStringList texts;
        QList<QByteArray> binaries;
        QObject::connect(&client, &QWebSocket::textMessageReceived,
                         [&](const QString &m) { texts.append(m); });
        QObject::connect(&client, &QWebSocket::binaryMessageReceived,
                         [&](const QByteArray &m) { binaries.append(m); });
        const QList<qsizetype> sizes = {0, 1, 125, 126, 65535, 65536, 16 * 1024 * 1024};
        client.sendTextMessage(QStringLiteral("hello, socktap ✓"));
        client.sendTextMessage(QString());
        for (qsizetype n : sizes)
            client.sendBinaryMessage(pattern(n));
        QVERIFY(QTest::qWaitFor([&] { return texts.size() == 2 && binaries.size() == sizes.size(); }, 30000));
        QCOMPARE(texts[0], QStringLiteral("hello, socktap ✓"));
        QVERIFY(texts[1].isEmpty());
        for (qsizetype i = 0; i < sizes.size(); ++i)
            QCOMPARE(binaries[i], pattern(sizes[i]));

        const quint64 expected = 2 * (2 + sizes.size());
        QVERIFY(proxy.waitMessages(session, expected));
        const auto messages = proxy.messages(session);
        QCOMPARE(messages.size(), size_t(expected));
        // Each client message is followed by its echo (the echo cannot come first).
        int fromClient = 0, fromServer = 0;
        QList<QByteArray> clientPayloads, serverPayloads;
        for (const auto &m : messages) {
            QVERIFY(!m.payloadEvicted);
            QVERIFY2(!m.record.violations, qPrintable(ws::describe(m.record.violationFlags()).join("; ")));
            if (m.record.direction() == Direction::ClientToServer) {
                ++fromClient;
                clientPayloads.append(m.payload);
                QVERIFY(m.frames.front().masked()); // RFC 6455 5.3: the client masks
            } else {
                ++fromServer;
                serverPayloads.append(m.payload);
                QVERIFY(!m.frames.front().masked());
            }
        }
        QCOMPARE(fromClient, 2 + int(sizes.size()));
        QCOMPARE(fromServer, fromClient);
        QCOMPARE(clientPayloads, serverPayloads);
        QCOMPARE(clientPayloads[0], QStringLiteral("hello, socktap ✓").toUtf8());
        QCOMPARE(clientPayloads.last(), pattern(16 * 1024 * 1024));
        const auto counters = proxy.store.counters(session);
        QCOMPARE(counters.messages[0], quint64(fromClient));
        QCOMPARE(counters.payloadBytes[0], counters.payloadBytes[1]);
    }

private slots:
    void initTestCase()
    {
        // Qt must not bypass the proxy for loopback.
        QNetworkProxyFactory::setUseSystemConfiguration(false);
    }

    void connectTunnelTextAndBinary()
    {
        ProxyHarness proxy;
        EchoServer echo;
        auto client = openClient(echo.url(QStringLiteral("/chat?room=1")), proxy.networkProxy());
        QVERIFY(client);
        const auto session = proxy.waitSession([](const auto &s) { return s.state == SessionState::Open; });
        QVERIFY(session);
        QCOMPARE(session->kind, capture::SessionKind::WebSocket);
        QCOMPARE(session->mode, capture::ProxyMode::Connect);
        QCOMPARE(session->port, echo.port());
        QCOMPARE(session->path, QByteArray("/chat?room=1"));
        QCOMPARE(session->response.status, 101);
        QVERIFY(session->handshakeProblems.isEmpty());
        exchange(proxy, *client, session->id);

        client->close(QWebSocketProtocol::CloseCodeNormal, QStringLiteral("bye"));
        const auto closed = proxy.waitSession([](const auto &s) { return s.state == SessionState::Closed; });
        QVERIFY(closed);
        QCOMPARE(closed->close.firstCloser, Direction::ClientToServer);
        QCOMPARE(closed->close.code[0], quint16(1000));
        QCOMPARE(closed->close.reason[0], QByteArray("bye"));
        QVERIFY(closed->close.handshakeCompleted());
        QCOMPARE(closed->close.end, capture::EndReason::Closed);
        QCOMPARE(closed->close.effectiveCode(), quint16(1000));
    }

    void reverseMode()
    {
        EchoServer echo;
        proxy::ProxyConfig config;
        config.reverse = http::RequestTarget::parseAbsolute(
            QStringLiteral("ws://127.0.0.1:%1").arg(echo.port()).toLatin1());
        ProxyHarness proxy(config);
        auto client =
            openClient(QUrl(QStringLiteral("ws://127.0.0.1:%1/feed").arg(proxy.port())), std::nullopt);
        QVERIFY(client);
        const auto session = proxy.waitSession([](const auto &s) { return s.state == SessionState::Open; });
        QVERIFY(session);
        QCOMPARE(session->mode, capture::ProxyMode::Reverse);
        QCOMPARE(session->host, QByteArray("127.0.0.1"));
        QCOMPARE(session->port, echo.port());
        QCOMPARE(session->path, QByteArray("/feed"));
        exchange(proxy, *client, session->id);
    }

    void absoluteFormIsByteExact()
    {
        // A raw client sends a plain upgrade in absolute form, then frames with unusual but legal shapes:
        // fragmented text with pings between fragments, a 16-bit length, an empty binary. The server must
        // receive exactly these bytes.
        ProxyHarness proxy;
        RawWsServer upstream;
        RawClient client;
        QVERIFY(client.connect(proxy.port()));
        const QByteArray key = ws::Handshake::generateKey();
        const QByteArray host = "127.0.0.1:" + QByteArray::number(upstream.port());
        client.send(RawClient::upgradeRequest("ws://" + host + "/raw", host, key,
                                              "Proxy-Connection: keep-alive\r\n"));
        const auto head = client.readResponseHead();
        QVERIFY(head);
        QCOMPARE(head->status, 101);
        QCOMPARE(head->headers.value("Sec-WebSocket-Accept"), ws::Handshake::acceptFor(key));
        // The forwarded request is in origin form and lost the hop-by-hop header.
        QVERIFY2(upstream.requestHead.startsWith("GET /raw HTTP/1.1\r\n"), upstream.requestHead.constData());
        QVERIFY(!upstream.requestHead.contains("Proxy-Connection"));

        ws::FrameHeader h;
        h.masked = true;
        h.maskKey = {0xde, 0xad, 0xbe, 0xef};
        QByteArray wire;
        h.opcode = quint8(ws::Opcode::Text);
        h.fin = false;
        wire += ws::FrameWriter::frame(h, "Hel");
        h.opcode = quint8(ws::Opcode::Ping);
        h.fin = true;
        wire += ws::FrameWriter::frame(h, "p1");
        h.opcode = quint8(ws::Opcode::Continuation);
        h.fin = false;
        wire += ws::FrameWriter::frame(h, "lo, ");
        h.opcode = quint8(ws::Opcode::Ping);
        h.fin = true;
        wire += ws::FrameWriter::frame(h, "p2");
        h.opcode = quint8(ws::Opcode::Continuation);
        wire += ws::FrameWriter::frame(h, "world");
        h.opcode = quint8(ws::Opcode::Binary);
        wire += ws::FrameWriter::frame(h, pattern(300));
        wire += ws::FrameWriter::frame(h, QByteArray());
        // Sent in awkward pieces, as a network might deliver them.
        for (qsizetype pos = 0; pos < wire.size(); pos += 7) {
            client.send(wire.mid(pos, 7));
            QTest::qWait(1);
        }
        QVERIFY(upstream.waitReceived(wire.size()));
        QCOMPARE(upstream.received, wire);

        // And the server's frames reach the client untouched too.
        const QByteArray fromServer = ws::FrameWriter::message(ws::Opcode::Text, "server says hi", false, 5);
        upstream.send(fromServer);
        QVERIFY(client.readAtLeast(fromServer.size()));
        QCOMPARE(client.buffer, fromServer);

        const auto session = proxy.waitSession();
        QVERIFY(session);
        QCOMPARE(session->mode, capture::ProxyMode::Explicit);
        QVERIFY(proxy.waitMessages(session->id, 6));
        const auto m = proxy.messages(session->id);
        QCOMPARE(m.size(), size_t(6));
        QCOMPARE(m[0].record.opcode, quint8(ws::Opcode::Ping));
        QCOMPARE(m[0].payload, QByteArray("p1"));
        QCOMPARE(m[1].payload, QByteArray("p2"));
        QCOMPARE(m[2].record.opcode, quint8(ws::Opcode::Text));
        QCOMPARE(m[2].payload, QByteArray("Hello, world"));
        QCOMPARE(m[2].record.frameCount, 3u);
        QCOMPARE(m[2].frames.size(), size_t(3));
        QCOMPARE(m[2].frames[0].maskKey, 0xdeadbeefu);
        QCOMPARE(m[3].payload, pattern(300));
        QCOMPARE(m[3].frames[0].headerSize, quint8(8)); // 2 + 16-bit length + mask
        QCOMPARE(m[4].record.payloadSize, 0u);
        QCOMPARE(m[5].record.direction(), Direction::ServerToClient);
        QCOMPARE(m[5].payload, QByteArray("server says hi"));
        QCOMPARE(m[5].record.frameCount, 3u);
        QVERIFY(m[5].record.time >= m[4].record.time);
    }

    void closeCodes_data()
    {
        QTest::addColumn<bool>("serverCloses");
        QTest::addColumn<int>("code");
        QTest::addColumn<QString>("reason");
        QTest::newRow("client 1000") << false << 1000 << "done";
        QTest::newRow("client 1001") << false << 1001 << "navigating away";
        QTest::newRow("client 4000 private") << false << 4000 << "app says bye";
        QTest::newRow("client 3000 registered") << false << 3000 << "unauthorized";
        QTest::newRow("server 1001") << true << 1001 << "restarting";
        QTest::newRow("server 1011") << true << 1011 << "oops";
        QTest::newRow("server 4999") << true << 4999 << "";
    }

    void closeCodes()
    {
        QFETCH(bool, serverCloses);
        QFETCH(int, code);
        QFETCH(QString, reason);
        ProxyHarness proxy;
        EchoServer echo;
        auto client = openClient(echo.url(), proxy.networkProxy());
        QVERIFY(client);
        QVERIFY(QTest::qWaitFor([&] { return !echo.clients.isEmpty(); }, WaitMs));
        if (serverCloses)
            echo.clients.front()->close(QWebSocketProtocol::CloseCode(code), reason);
        else
            client->close(QWebSocketProtocol::CloseCode(code), reason);
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Closed; });
        QVERIFY(s);
        const Direction closer = serverCloses ? Direction::ServerToClient : Direction::ClientToServer;
        const int i = capture::directionIndex(closer);
        QCOMPARE(s->close.firstCloser, closer);
        QCOMPARE(int(s->close.code[i].value_or(0)), code);
        QCOMPARE(s->close.reason[i], reason.toUtf8());
        QCOMPARE(int(s->close.effectiveCode()), code);
        if (!serverCloses) {
            QVERIFY(s->close.handshakeCompleted()); // the server answered the client's Close
            QCOMPARE(s->close.end, capture::EndReason::Closed);
            return;
        }
        // Qt's server drops TCP right after its own Close frame. When Close and FIN reach the Qt client
        // together, its QTcpSocket closes on the FIN before QWebSocket can answer; when they come apart,
        // the answer crosses. The capture must tell which happened, consistently.
        if (s->close.handshakeCompleted()) {
            QCOMPARE(s->close.end, capture::EndReason::Closed);
            QCOMPARE(s->close.detail,
                     QStringLiteral("the server ended TCP before the client's Close frame arrived"));
        } else {
            QCOMPARE(s->close.end, capture::EndReason::ServerEof);
            QVERIFY(!s->close.closeSent[0]);
        }
    }

    void closeWithoutCode()
    {
        ProxyHarness proxy;
        RawWsServer upstream;
        RawClient client;
        QVERIFY(client.connect(proxy.port()));
        const QByteArray host = "127.0.0.1:" + QByteArray::number(upstream.port());
        client.send(RawClient::upgradeRequest("ws://" + host + "/", host, ws::Handshake::generateKey()));
        QVERIFY(client.readResponseHead());
        client.send(ws::FrameWriter::frame(ws::Opcode::Close, {}, true));
        QVERIFY(upstream.waitReceived(6));
        upstream.send(ws::FrameWriter::frame(ws::Opcode::Close, {}, false));
        QVERIFY(client.readAtLeast(2));
        upstream.peer->disconnectFromHost();
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Closed; });
        QVERIFY(s);
        QVERIFY(s->close.handshakeCompleted());
        QVERIFY(!s->close.code[0]);
        QCOMPARE(s->close.effectiveCode(), ws::CloseCode::NoStatusReceived);
    }

    void abnormalEnds_data()
    {
        QTest::addColumn<bool>("serverSide");
        QTest::addColumn<bool>("reset");
        QTest::addColumn<int>("end");
        QTest::newRow("client EOF") << false << false << int(capture::EndReason::ClientEof);
        QTest::newRow("client reset") << false << true << int(capture::EndReason::ClientReset);
        QTest::newRow("server EOF") << true << false << int(capture::EndReason::ServerEof);
        QTest::newRow("server reset") << true << true << int(capture::EndReason::ServerReset);
    }

    void abnormalEnds()
    {
        QFETCH(bool, serverSide);
        QFETCH(bool, reset);
        QFETCH(int, end);
        ProxyHarness proxy;
        RawWsServer upstream;
        RawClient client;
        QVERIFY(client.connect(proxy.port()));
        const QByteArray host = "127.0.0.1:" + QByteArray::number(upstream.port());
        client.send(RawClient::upgradeRequest("ws://" + host + "/", host, ws::Handshake::generateKey()));
        QVERIFY(client.readResponseHead());
        QAbstractSocket &leaving =
            serverSide ? static_cast<QAbstractSocket &>(*upstream.peer) : client.socket;
        if (reset)
            resetSocket(leaving);
        else
            leaving.disconnectFromHost();
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Closed; });
        QVERIFY(s);
        QCOMPARE(int(s->close.end), end);
        QCOMPARE(s->close.effectiveCode(), ws::CloseCode::AbnormalClosure); // no Close frame: 1006
        QVERIFY(!s->close.firstCloser);
        // The other leg is closed too.
        if (serverSide)
            QVERIFY(client.waitClosed());
        else
            QVERIFY(QTest::qWaitFor(
                [&] { return upstream.peer->state() == QAbstractSocket::UnconnectedState; }, WaitMs));
    }
};

QTEST_MAIN(TestProxyWebSocket)
#include "tst_proxy_websocket.moc"
