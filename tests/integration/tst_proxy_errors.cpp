// What goes wrong before and during the handshake: malformed requests, limits, unreachable and refusing
// servers, timeouts, rejected upgrades; and strict versus transparent handling of protocol violations.
#include "core/ws/CloseCode.h"
#include "core/ws/ClosePayload.h"
#include "core/ws/Deflater.h"
#include "core/ws/FrameWriter.h"
#include "support/Peers.h"

#include <QTcpServer>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace socktap;
using namespace socktap::test;
using capture::Direction;
using capture::SessionState;

namespace {

// Sends raw bytes to the proxy and returns the response head and body (the proxy closes after errors).
struct ErrorReply
{
    int status = 0;
    QByteArray body;
};

ErrorReply askProxy(quint16 port, const QByteArray &request)
{
    RawClient client;
    if (!client.connect(port))
        return {};
    client.send(request);
    const auto head = client.readResponseHead();
    if (!head)
        return {};
    client.waitClosed();
    return {head->status, client.buffer};
}

// A listening socket whose accept queue is full: further SYNs are dropped, so connects hang.
struct BlackHole
{
    int listener = -1;
    std::vector<int> fillers;
    quint16 port = 0;
    BlackHole()
    {
        listener = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a {};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(listener, reinterpret_cast<sockaddr *>(&a), sizeof a);
        ::listen(listener, 0);
        socklen_t len = sizeof a;
        ::getsockname(listener, reinterpret_cast<sockaddr *>(&a), &len);
        port = ntohs(a.sin_port);
        for (int i = 0; i < 4; ++i) {
            const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            ::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
            fillers.push_back(fd);
        }
        QTest::qWait(100);
    }
    ~BlackHole()
    {
        for (int fd : fillers)
            ::close(fd);
        ::close(listener);
    }
};

// Ports free right now (held open together, so they differ).
std::vector<quint16> freePorts(int n)
{
    std::vector<std::unique_ptr<QTcpServer>> held;
    std::vector<quint16> ports;
    for (int i = 0; i < n; ++i) {
        held.push_back(std::make_unique<QTcpServer>());
        held.back()->listen(QHostAddress::LocalHost, 0);
        ports.push_back(held.back()->serverPort());
    }
    return ports;
}

proxy::ProxyConfig reverseTo(quint16 listen, const QByteArray &target)
{
    proxy::ProxyConfig c;
    c.listenPort = listen;
    c.workers = 1;
    c.reverse = http::RequestTarget::parseAbsolute(target);
    return c;
}

void stopServer(proxy::ProxyServer &server)
{
    bool stopped = false;
    QObject::connect(&server, &proxy::ProxyServer::stopped, [&] { stopped = true; });
    server.stop();
    (void)QTest::qWaitFor([&] { return stopped; }, WaitMs);
}

} // namespace

class TestProxyErrors final : public QObject
{
    Q_OBJECT

private slots:
    void reverseLoopsAreRefused()
    {
        // Pointed at itself: refused at start, saying why.
        const auto ports = freePorts(3);
        capture::CaptureStore store;
        proxy::ProxyServer self(reverseTo(ports[0], "ws://127.0.0.1:" + QByteArray::number(ports[0])), store);
        QString error;
        QVERIFY(!self.start(&error));
        QVERIFY2(error.contains(QLatin1String("own listening address")), qPrintable(error));

        // Two instances pointed at each other (by a name, which no start-up check can see through): the
        // request comes back to the first, which recognises itself in Via and answers 508.
        capture::CaptureStore storeA, storeB;
        proxy::ProxyServer a(reverseTo(ports[1], "ws://127.0.0.1:" + QByteArray::number(ports[2])), storeA);
        proxy::ProxyServer b(reverseTo(ports[2], "ws://localhost:" + QByteArray::number(ports[1])), storeB);
        QVERIFY2(a.start(&error), qPrintable(error));
        QVERIFY2(b.start(&error), qPrintable(error));
        const ErrorReply reply = askProxy(ports[1], "GET /loop HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        QCOMPARE(reply.status, 508);
        QVERIFY2(reply.body.contains("already went through this Socktap"), reply.body.constData());
        bool recorded = false;
        QVERIFY(QTest::qWaitFor(
            [&] {
                for (const capture::SessionId id : storeA.sessionIds())
                    recorded |= storeA.session(id)->error.contains(QLatin1String("508 Loop Detected"));
                return recorded;
            },
            WaitMs));
        stopServer(a);
        stopServer(b);
    }

    void silentServerGets504_data()
    {
        QTest::addColumn<bool>("upgrade");
        QTest::newRow("WebSocket upgrade") << true;
        QTest::newRow("plain request") << false;
    }

    void silentServerGets504()
    {
        // A server that accepts and never answers: 504 with a text body and a session entry.
        QFETCH(bool, upgrade);
        QTcpServer silent;
        QVERIFY(silent.listen(QHostAddress::LocalHost, 0));
        proxy::ProxyConfig config;
        config.responseTimeoutMs = 300;
        ProxyHarness proxy(config);
        const QByteArray authority = "127.0.0.1:" + QByteArray::number(silent.serverPort());
        const ErrorReply reply = askProxy(proxy.port(),
                                          upgrade ? RawClient::upgradeTo(silent.serverPort())
                                                  : "GET http://" + authority
                                                  + "/slow HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
        QCOMPARE(reply.status, 504);
        QVERIFY2(reply.body.contains("sent no response within 0.3 s"), reply.body.constData());
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Failed; });
        QVERIFY(s);
        QCOMPARE(s->close.end, capture::EndReason::Timeout);
    }

    void clientLeavingWhileTheServerIsSilentIsNoticed()
    {
        // Both descriptors used to stay in CLOSE-WAIT for as long as the server kept silent.
        QTcpServer silent;
        QVERIFY(silent.listen(QHostAddress::LocalHost, 0));
        QTcpSocket *upstream = nullptr;
        QObject::connect(&silent, &QTcpServer::newConnection,
                         [&] { upstream = silent.nextPendingConnection(); });
        ProxyHarness proxy; // the default response timeout: a minute
        RawClient client;
        QVERIFY(client.connect(proxy.port()));
        client.send(RawClient::upgradeTo(silent.serverPort()));
        QVERIFY(QTest::qWaitFor([&] { return upstream != nullptr; }, WaitMs));
        bool upstreamClosed = false;
        QObject::connect(upstream, &QTcpSocket::disconnected, [&] { upstreamClosed = true; });
        client.socket.disconnectFromHost();
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Failed; }, 3000);
        QVERIFY(s);
        QCOMPARE(s->close.end, capture::EndReason::ClientEof);
        QVERIFY(QTest::qWaitFor([&] { return upstreamClosed; }, 3000));
    }

    void malformedRequests_data()
    {
        QTest::addColumn<QByteArray>("request");
        QTest::addColumn<int>("status");
        QTest::addColumn<QString>("bodyPart");
        QTest::newRow("garbage") << QByteArray("HELLO THERE\r\n\r\n") << 400 << "malformed request line";
        QTest::newRow("head too large")
            << QByteArray("GET ws://127.0.0.1:1/ HTTP/1.1\r\nX: " + QByteArray(70 * 1024, 'a') + "\r\n\r\n")
            << 431 << "exceeds the limit";
        QTest::newRow("obs-fold") << QByteArray("GET http://127.0.0.1:1/ HTTP/1.1\r\nX: a\r\n b\r\n\r\n")
                                  << 400 << "line folding";
        QTest::newRow("origin form to forward proxy")
            << QByteArray("GET /chat HTTP/1.1\r\nHost: a\r\n\r\n") << 400 << "--reverse";
        QTest::newRow("bad connect target")
            << QByteArray("CONNECT nope HTTP/1.1\r\n\r\n") << 400 << "has no port";
        QTest::newRow("http/2 preface")
            << QByteArray("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") << 505 << "HTTP/1.x";
        QTest::newRow("smuggling attempt") << QByteArray(
            "POST http://127.0.0.1:1/ HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")
                                           << 400 << "both Transfer-Encoding and Content-Length";
    }

    void malformedRequests()
    {
        QFETCH(QByteArray, request);
        QFETCH(int, status);
        QFETCH(QString, bodyPart);
        ProxyHarness proxy;
        const ErrorReply reply = askProxy(proxy.port(), request);
        QCOMPARE(reply.status, status);
        QVERIFY2(reply.body.contains(bodyPart.toUtf8()), reply.body.constData());
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Failed; });
        QVERIFY(s);
        QVERIFY2(s->error.startsWith(QString::number(status)), qPrintable(s->error));
        QCOMPARE(s->close.end, capture::EndReason::ClientError);
    }

    void upstreamDown()
    {
        // A port nothing listens on: 502 with the reason, and a failed session that says so.
        QTcpServer probe;
        QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
        const quint16 deadPort = probe.serverPort();
        probe.close();
        ProxyHarness proxy;
        const ErrorReply reply = askProxy(proxy.port(), RawClient::upgradeTo(deadPort));
        QCOMPARE(reply.status, 502);
        QVERIFY2(reply.body.contains("connection refused"), reply.body.constData());
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Failed; });
        QVERIFY(s);
        QCOMPARE(s->kind, capture::SessionKind::WebSocket);
        QVERIFY(s->error.contains("connection refused"));
        QCOMPARE(s->close.end, capture::EndReason::UpstreamFailed);

        // Through CONNECT the answer to CONNECT itself is the 502.
        const ErrorReply viaConnect =
            askProxy(proxy.port(), "CONNECT 127.0.0.1:" + QByteArray::number(deadPort) + " HTTP/1.1\r\n\r\n");
        QCOMPARE(viaConnect.status, 502);
        // And a QWebSocket client sees the failure instead of hanging.
        QWebSocket client;
        client.setProxy(proxy.networkProxy());
        QSignalSpy errors(&client, &QWebSocket::disconnected); // Qt 6.4 has no errorOccurred on QWebSocket
        client.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(deadPort)));
        QVERIFY(errors.wait(WaitMs));
    }

    void unknownHost()
    {
        ProxyHarness proxy;
        const ErrorReply reply =
            askProxy(proxy.port(),
                     RawClient::upgradeRequest("ws://no-such-host.invalid/x", "no-such-host.invalid",
                                               ws::Handshake::generateKey()));
        QCOMPARE(reply.status, 502);
        QVERIFY2(reply.body.contains("cannot resolve host 'no-such-host.invalid'"), reply.body.constData());
    }

    void connectTimeout()
    {
        BlackHole hole;
        proxy::ProxyConfig config;
        config.connectTimeoutMs = 700;
        ProxyHarness proxy(config);
        QElapsedTimer timer;
        timer.start();
        const ErrorReply reply = askProxy(proxy.port(), RawClient::upgradeTo(hole.port));
        QCOMPARE(reply.status, 504);
        QVERIFY2(reply.body.contains("timed out after 0.7 s"), reply.body.constData());
        QVERIFY(timer.elapsed() >= 600);
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Failed; });
        QVERIFY(s && s->error.startsWith("504"));
    }

    void slowHeadGets408()
    {
        // A head dribbled in too slowly: the bytes sit inside the parser, not in Socktap's own buffer; the
        // client must still get 408 with a reason, and the capture a session that says so.
        proxy::ProxyConfig config;
        config.headTimeoutMs = 600;
        ProxyHarness proxy(config);
        RawClient client;
        QVERIFY(client.connect(proxy.port()));
        client.send("GET http://127.0.0.1:1/slow HTTP/1.1\r\nHost: 127.0.0.1:1\r\nX-Slow: 1");
        const auto head = client.readResponseHead();
        QVERIFY(head);
        QCOMPARE(head->status, 408);
        QVERIFY(client.waitClosed());
        QVERIFY2(client.buffer.contains("no complete request head within 0.6 s"), client.buffer.constData());
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Failed; });
        QVERIFY(s);
        QCOMPARE(s->close.end, capture::EndReason::Timeout);
    }

    void silentTunnelTimesOut()
    {
        // CONNECT answered, then the client says nothing: the tunnel is not held open forever.
        proxy::ProxyConfig config;
        config.headTimeoutMs = 600;
        ProxyHarness proxy(config);
        RawWsServer upstream; // accepts and waits, saying nothing either
        RawClient client;
        QVERIFY(client.openTunnel(proxy.port(), "127.0.0.1:" + QByteArray::number(upstream.port())));
        QVERIFY(client.waitClosed());
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Failed; });
        QVERIFY(s);
        QCOMPARE(s->close.end, capture::EndReason::Timeout);
        QVERIFY2(s->error.contains("sent nothing through the tunnel"), qPrintable(s->error));
    }

    void rejectedHandshake()
    {
        ProxyHarness proxy;
        RawWsServer upstream;
        upstream.respond = [](const http::RequestHead &) {
            return QByteArray("HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: "
                              "22\r\n\r\nno websockets for you!");
        };
        RawClient client;
        QVERIFY(client.connect(proxy.port()));
        client.send(RawClient::upgradeTo(upstream.port()));
        const auto head = client.readResponseHead();
        QVERIFY(head);
        QCOMPARE(head->status, 403); // relayed as is, not replaced by an error of ours
        QVERIFY(client.readAtLeast(22));
        QCOMPARE(client.buffer, QByteArray("no websockets for you!"));
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Rejected; });
        QVERIFY(s);
        QCOMPARE(s->response.status, 403);
        QCOMPARE(s->responseBody, QByteArray("no websockets for you!"));
        QVERIFY(s->error.contains("403 Forbidden instead of 101"));
    }

    void invalidAcceptIsRecordedButRelayed()
    {
        // Transparent by default: a wrong Sec-WebSocket-Accept is relayed so the client's own reaction shows,
        // and the session says what a strict endpoint would have refused.
        ProxyHarness proxy;
        RawWsServer upstream;
        upstream.respond = [](const http::RequestHead &) {
            return QByteArray(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n");
        };
        RawClient client;
        QVERIFY(client.connect(proxy.port()));
        client.send(RawClient::upgradeTo(upstream.port()));
        const auto head = client.readResponseHead();
        QVERIFY(head);
        QCOMPARE(head->status, 101);
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Open; });
        QVERIFY(s);
        QCOMPARE(s->handshakeProblems.size(), 1);
        QVERIFY(s->handshakeProblems[0].contains("Sec-WebSocket-Accept"));

        proxy::ProxyConfig strict;
        strict.strict = true;
        ProxyHarness strictProxy(strict);
        const ErrorReply reply = askProxy(strictProxy.port(), RawClient::upgradeTo(upstream.port()));
        QCOMPARE(reply.status, 502);
        QVERIFY(reply.body.contains("Sec-WebSocket-Accept"));
    }

    void transparentViolationsAreForwardedAndRecorded()
    {
        ProxyHarness proxy;
        RawWsServer upstream;
        RawClient client;
        QVERIFY(client.openThrough(proxy.port(), upstream.port()));
        // An unmasked client frame (RFC 6455 5.1) and invalid UTF-8 in text (8.1).
        const QByteArray bad = ws::FrameWriter::frame(ws::Opcode::Text, "plain", false)
            + ws::FrameWriter::frame(ws::Opcode::Text, QByteArray::fromHex("c0af"), true);
        client.send(bad);
        QVERIFY(upstream.waitReceived(bad.size()));
        QCOMPARE(upstream.received, bad); // forwarded untouched
        const auto s = proxy.waitSession([](const auto &s) { return s.violations; });
        QVERIFY(s);
        QVERIFY(s->violations.testFlag(ws::Violation::UnmaskedClientFrame));
        QVERIFY(proxy.waitMessages(s->id, 2));
        const auto m = proxy.messages(s->id);
        QVERIFY(m[0].record.violationFlags().testFlag(ws::Violation::UnmaskedClientFrame));
        QVERIFY(m[1].record.violationFlags().testFlag(ws::Violation::InvalidUtf8));
        QVERIFY(s->firstViolation.contains("client frame not masked"));
    }

    void strictFailsTheConnection_data()
    {
        QTest::addColumn<QByteArray>("frame");
        QTest::addColumn<int>("code");
        QTest::newRow("unmasked client frame -> 1002")
            << ws::FrameWriter::frame(ws::Opcode::Text, "x", false) << 1002;
        QTest::newRow("invalid UTF-8 -> 1007")
            << ws::FrameWriter::frame(ws::Opcode::Text, QByteArray::fromHex("ff"), true) << 1007;
        QTest::newRow("reserved opcode -> 1002") << QByteArray::fromHex("8380a1b2c3d4") << 1002;
    }

    void strictFailsTheConnection()
    {
        QFETCH(QByteArray, frame);
        QFETCH(int, code);
        proxy::ProxyConfig config;
        config.strict = true;
        ProxyHarness proxy(config);
        RawWsServer upstream;
        RawClient client;
        QVERIFY(client.openThrough(proxy.port(), upstream.port()));
        const QByteArray good = ws::FrameWriter::frame(ws::Opcode::Text, "fine", true);
        client.send(good + frame);
        // Both peers get a Close with the code; the bad frame itself never reaches the server.
        QVERIFY(client.waitClosed());
        QVERIFY(client.buffer.size() >= 4);
        QCOMPARE(quint8(client.buffer[0]), quint8(0x88));
        QCOMPARE(int(ws::ClosePayload::parse(client.buffer.sliced(2, quint8(client.buffer[1]) & 0x7f))
                         .effectiveCode()),
                 code);
        QVERIFY(QTest::qWaitFor([&] { return upstream.received.size() > good.size(); }, WaitMs));
        QVERIFY(upstream.received.startsWith(good));
        const QByteArray closeToServer = upstream.received.sliced(good.size());
        QCOMPARE(quint8(closeToServer[0]), quint8(0x88));
        QVERIFY(quint8(closeToServer[1]) & 0x80); // masked: towards the server Socktap acts as the client
        QVERIFY(!upstream.received.contains(frame));
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Closed; });
        QVERIFY(s);
        QCOMPARE(s->close.end, capture::EndReason::StrictClose);
        QVERIFY(s->close.detail.startsWith("client broke a rule"));
        // The Close frames Socktap sent are in the capture, marked as its own.
        QVERIFY(proxy.waitMessages(s->id, 3));
        int injected = 0;
        for (const auto &m : proxy.messages(s->id)) {
            if (m.record.has(capture::MessageFlag::Injected)) {
                ++injected;
                QCOMPARE(int(m.record.closeCode), code);
            }
        }
        QCOMPARE(injected, 2);
    }

    void permessageDeflateIsDecoded()
    {
        // Client offers deflate, server accepts with no_context_takeover for the client; compressed frames
        // both ways are relayed as they are and decoded into the capture.
        ProxyHarness proxy;
        RawWsServer upstream;
        upstream.respond = [](const http::RequestHead &r) {
            return RawWsServer::switching(
                r, "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n");
        };
        RawClient client;
        QVERIFY(client.connect(proxy.port()));
        client.send(RawClient::upgradeTo(
            upstream.port(), "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"));
        QVERIFY(client.readResponseHead());
        ws::Deflater clientDeflater(15, true), serverDeflater(15, false);
        const QByteArray text =
            QByteArray("{\"type\":\"hello\",\"padding\":\"") + QByteArray(2000, 'x') + "\"}";
        QByteArray fromClient;
        for (int i = 0; i < 3; ++i)
            fromClient +=
                ws::FrameWriter::message(ws::Opcode::Text, clientDeflater.compress(text), true, 0, true);
        client.send(fromClient);
        QVERIFY(upstream.waitReceived(fromClient.size()));
        QCOMPARE(upstream.received, fromClient);
        // Two statements: with context takeover the second message refers back to the first.
        QByteArray fromServer =
            ws::FrameWriter::message(ws::Opcode::Text, serverDeflater.compress(text), false, 0, true);
        fromServer +=
            ws::FrameWriter::message(ws::Opcode::Text, serverDeflater.compress(text), false, 0, true);
        upstream.send(fromServer);
        QVERIFY(client.readAtLeast(fromServer.size()));
        const auto s = proxy.waitSession([](const auto &s) { return s.deflate.has_value(); });
        QVERIFY(s);
        QVERIFY(s->deflate->clientNoContextTakeover);
        QVERIFY(proxy.waitMessages(s->id, 5));
        for (const auto &m : proxy.messages(s->id)) {
            QVERIFY(m.record.has(capture::MessageFlag::Compressed));
            QCOMPARE(m.payload, text);
            QVERIFY(!m.wirePayload.isEmpty());
            QVERIFY(m.record.wireSize < quint64(text.size()));
            QVERIFY(!m.record.violations);
        }
    }
};

QTEST_MAIN(TestProxyErrors)
#include "tst_proxy_errors.moc"
