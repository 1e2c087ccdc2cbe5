// Plain HTTP through the proxy (a browser pointed at Socktap keeps working): keep-alive, Content-Length,
// chunked and close-delimited bodies, HEAD, 100-continue; CONNECT with HTTP inside; opaque tunnels.
#include "support/Peers.h"

using namespace socktap;
using namespace socktap::test;
using capture::SessionState;

namespace {

// A deliberately simple HTTP/1.1 server (it does not use Socktap's parser). Paths:
//   /length   -> 200 with Content-Length
//   /chunked  -> 200 chunked in three chunks with a trailer
//   /close    -> 200 without length, then close
//   /upload   -> reads a Content-Length body, answers its size
//   /continue -> 100 Continue, then 200
struct HttpServer
{
    QTcpServer server;
    int connections = 0;
    QList<QByteArray> requests; // request lines and headers as received

    HttpServer()
    {
        if (!server.listen(QHostAddress::LocalHost, 0))
            qFatal("http server did not listen");
        QObject::connect(&server, &QTcpServer::newConnection, [this] {
            QTcpSocket *s = server.nextPendingConnection();
            ++connections;
            auto buffer = std::make_shared<QByteArray>();
            QObject::connect(s, &QTcpSocket::readyRead, s, [this, s, buffer] {
                *buffer += s->readAll();
                for (;;) {
                    const qsizetype end = buffer->indexOf("\r\n\r\n");
                    if (end < 0)
                        return;
                    const QByteArray head = buffer->left(end + 4);
                    qsizetype length = 0;
                    for (const QByteArray &line : head.split('\n')) {
                        if (line.toLower().startsWith("content-length:"))
                            length = line.mid(15).trimmed().toLongLong();
                    }
                    if (buffer->size() < end + 4 + length)
                        return;
                    const QByteArray body = buffer->mid(end + 4, length);
                    buffer->remove(0, end + 4 + length);
                    requests.append(head);
                    answer(s, head, body);
                }
            });
        });
    }
    quint16 port() const { return server.serverPort(); }
    QByteArray authority() const { return "127.0.0.1:" + QByteArray::number(port()); }

    static void answer(QTcpSocket *s, const QByteArray &head, const QByteArray &body)
    {
        const QByteArray line = head.left(head.indexOf('\r'));
        const bool isHead = line.startsWith("HEAD ");
        if (line.contains(" /length ") || isHead) {
            s->write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n");
            if (!isHead)
                s->write("hello");
        } else if (line.contains(" /chunked ")) {
            s->write("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                     "chunked\r\n\r\n6\r\nchunk1\r\n6;ext=1\r\nchunk2\r\n0\r\nX-Trailer: t\r\n\r\n");
        } else if (line.contains(" /close ")) {
            s->write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end");
            s->disconnectFromHost();
        } else if (line.contains(" /upload ")) {
            const QByteArray answer = "got " + QByteArray::number(body.size());
            s->write("HTTP/1.1 201 Created\r\nContent-Length: " + QByteArray::number(answer.size())
                     + "\r\n\r\n" + answer);
        } else if (line.contains(" /both ")) {
            // Both framings (RFC 9112 6.3: Transfer-Encoding wins; a proxy must drop the Content-Length).
            s->write("HTTP/1.1 200 OK\r\nContent-Length: 999\r\nTransfer-Encoding: "
                     "chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
        } else if (line.contains(" /continue ")) {
            s->write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        } else {
            s->write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        }
        s->flush();
    }
};

// Reads one response (head plus body by Content-Length or chunked, naive) from client.
QByteArray readResponse(RawClient &client, qsizetype expectBytes)
{
    client.readAtLeast(expectBytes);
    return client.buffer;
}

} // namespace

class TestProxyHttp final : public QObject
{
    Q_OBJECT

private slots:
    void keepAliveWithEveryFraming()
    {
        ProxyHarness proxy;
        HttpServer http;
        RawClient client;
        QVERIFY(client.connect(proxy.port()));
        const QByteArray a = http.authority();
        // Three requests on one client connection, pipelined; answers come in order on one upstream.
        client.send("GET http://" + a + "/length HTTP/1.1\r\nHost: " + a
                    + "\r\nProxy-Connection: keep-alive\r\n\r\n"
                      "GET http://"
                    + a + "/chunked HTTP/1.1\r\nHost: " + a
                    + "\r\n\r\n"
                      "HEAD http://"
                    + a + "/length HTTP/1.1\r\nHost: " + a + "\r\n\r\n");
        const QByteArray expected =
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
            "chunked\r\n\r\n6\r\nchunk1\r\n6;ext=1\r\nchunk2\r\n0\r\nX-Trailer: t\r\n\r\n"
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n";
        QCOMPARE(readResponse(client, expected.size()), expected); // byte for byte
        QCOMPARE(http.connections, 1);
        QCOMPARE(http.requests.size(), 3);
        // Forwarded in origin form, without the hop-by-hop header.
        QVERIFY(http.requests[0].startsWith("GET /length HTTP/1.1\r\n"));
        QVERIFY(!http.requests[0].contains("Proxy-Connection"));

        // A POST with a body, then 100-continue.
        client.buffer.clear();
        client.send("POST http://" + a + "/upload HTTP/1.1\r\nHost: " + a
                    + "\r\nContent-Length: 11\r\n\r\nhello world");
        const QByteArray created = "HTTP/1.1 201 Created\r\nContent-Length: 6\r\n\r\ngot 11";
        QCOMPARE(readResponse(client, created.size()), created);
        client.buffer.clear();
        client.send("GET http://" + a + "/continue HTTP/1.1\r\nHost: " + a + "\r\n\r\n");
        const QByteArray cont = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        QCOMPARE(readResponse(client, cont.size()), cont);
        QCOMPARE(http.connections, 1);

        // Every exchange is its own entry, with method, URL, status and sizes.
        QVERIFY(QTest::qWaitFor([&] { return proxy.store.stats().sessions == 5; }, WaitMs));
        QList<capture::SessionInfo> sessions;
        for (auto id : proxy.store.sessionIds())
            sessions.append(*proxy.store.session(id));
        QCOMPARE(sessions[0].kind, capture::SessionKind::Http);
        QCOMPARE(sessions[0].request.method, QByteArray("GET"));
        QCOMPARE(sessions[0].url(), "http://" + a + "/length");
        QCOMPARE(sessions[0].response.status, 200);
        QCOMPARE(sessions[0].responseBodySize, 5u);
        QCOMPARE(sessions[1].responseBodySize, 12u); // chunk data only
        QCOMPARE(sessions[2].request.method, QByteArray("HEAD"));
        QCOMPARE(sessions[2].responseBodySize, 0u);
        QCOMPARE(sessions[3].requestBodySize, 11u);
        QCOMPARE(sessions[3].response.status, 201);
        QCOMPARE(sessions[4].response.status, 200);
        for (const auto &s : sessions) {
            QCOMPARE(s.state, SessionState::Closed);
            QVERIFY(s.closedAt >= s.requestAt);
        }
    }

    void closeDelimitedBody()
    {
        ProxyHarness proxy;
        HttpServer http;
        RawClient client;
        QVERIFY(client.connect(proxy.port()));
        client.send("GET http://" + http.authority() + "/close HTTP/1.1\r\nHost: x\r\n\r\n");
        QVERIFY(client.waitClosed());
        QCOMPARE(client.buffer, QByteArray("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end"));
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Closed; });
        QVERIFY(s);
        QCOMPARE(s->responseBodySize, 13u);
    }

    void serverHangsUpBeforeAnswering()
    {
        ProxyHarness proxy;
        QTcpServer rude;
        QVERIFY(rude.listen(QHostAddress::LocalHost, 0));
        QObject::connect(&rude, &QTcpServer::newConnection, [&] {
            QTcpSocket *s = rude.nextPendingConnection();
            QObject::connect(s, &QTcpSocket::readyRead, s, [s] { s->disconnectFromHost(); });
        });
        RawClient client;
        QVERIFY(client.connect(proxy.port()));
        client.send("GET http://127.0.0.1:" + QByteArray::number(rude.serverPort())
                    + "/ HTTP/1.1\r\nHost: x\r\n\r\n");
        const auto head = client.readResponseHead();
        QVERIFY(head);
        QCOMPARE(head->status, 502);
        QVERIFY(client.waitClosed());
        QVERIFY2(
            client.buffer.contains("the server closed the connection before sending a complete response"),
            client.buffer.constData());
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Failed; });
        QVERIFY(s);
        QCOMPARE(s->close.end, capture::EndReason::UpstreamFailed);
    }

    void connectWithHttpInside()
    {
        ProxyHarness proxy;
        HttpServer http;
        RawClient client;
        QVERIFY(client.openTunnel(proxy.port(), http.authority()));
        client.send("GET /length HTTP/1.1\r\nHost: " + http.authority() + "\r\n\r\n");
        QVERIFY(client.readAtLeast(5));
        QVERIFY(client.buffer.endsWith("hello"));
        const auto s = proxy.waitSession([](const auto &s) {
            return s.kind == capture::SessionKind::Http && s.state == SessionState::Closed;
        });
        QVERIFY(s);
        QCOMPARE(s->mode, capture::ProxyMode::Connect);
        QCOMPARE(s->url(), "http://" + http.authority() + "/length");
    }

    void framingFieldsAreRepairedOnTheWay()
    {
        HttpServer http;
        ProxyHarness proxy;
        RawClient client;
        QVERIFY(client.connect(proxy.port()));
        // A response with both Transfer-Encoding and Content-Length reaches the client without the latter.
        client.send("GET http://" + http.authority() + "/both HTTP/1.1\r\nHost: " + http.authority()
                    + "\r\n\r\n");
        const auto head = client.readResponseHead();
        QVERIFY(head);
        QVERIFY(!head->headers.contains("Content-Length"));
        QCOMPARE(head->headers.value("Transfer-Encoding"), QByteArray("chunked"));
        QVERIFY(client.readAtLeast(15));
        QCOMPARE(client.buffer.left(15), QByteArray("5\r\nhello\r\n0\r\n\r\n"));
        client.buffer.clear();
        // A request with a repeated identical Content-Length is forwarded with a single value.
        client.send("POST http://" + http.authority() + "/upload HTTP/1.1\r\nHost: " + http.authority()
                    + "\r\nContent-Length: 5, 5\r\n\r\nabcde");
        const auto uploaded = client.readResponseHead();
        QVERIFY(uploaded);
        QCOMPARE(uploaded->status, 201);
        QVERIFY(http.requests.last().contains("\r\nContent-Length: 5\r\n"));
    }

    void connectInsideATunnelIsRefused()
    {
        HttpServer http;
        ProxyHarness proxy;
        RawClient client;
        QVERIFY(client.openTunnel(proxy.port(), http.authority()));
        client.send("CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n");
        const auto refused = client.readResponseHead();
        QVERIFY(refused);
        QCOMPARE(refused->status, 400);
        QVERIFY(client.waitClosed());
        QVERIFY2(client.buffer.contains("CONNECT inside a CONNECT tunnel"), client.buffer.constData());
        QVERIFY(http.requests.isEmpty()); // nothing reached the server
    }

    void opaqueTunnel()
    {
        // A TLS-looking first byte (not intercepted yet) and a server that speaks first: both are relayed
        // untouched and recorded as tunnels with byte counts.
        ProxyHarness proxy;
        QTcpServer echo;
        QVERIFY(echo.listen(QHostAddress::LocalHost, 0));
        QObject::connect(&echo, &QTcpServer::newConnection, [&] {
            QTcpSocket *s = echo.nextPendingConnection();
            QObject::connect(s, &QTcpSocket::readyRead, s, [s] { s->write(s->readAll()); });
        });
        RawClient client;
        QVERIFY(client.connect(proxy.port()));
        const QByteArray target = "127.0.0.1:" + QByteArray::number(echo.serverPort());
        client.send("CONNECT " + target + " HTTP/1.1\r\n\r\n");
        QVERIFY(client.readResponseHead());
        QByteArray tlsish = QByteArray::fromHex("160301002a") + QByteArray(42, 'z');
        client.send(tlsish);
        QVERIFY(client.readAtLeast(tlsish.size()));
        QCOMPARE(client.buffer, tlsish);
        client.socket.disconnectFromHost();
        const auto s = proxy.waitSession([](const auto &s) {
            return s.kind == capture::SessionKind::Tunnel && s.state == SessionState::Closed;
        });
        QVERIFY(s);
        QCOMPARE(s->tunnelBytes[0], quint64(tlsish.size()));
        QCOMPARE(s->tunnelBytes[1], quint64(tlsish.size()));
        QCOMPARE(s->close.end, capture::EndReason::ClientEof);

        QTcpServer greeter;
        QVERIFY(greeter.listen(QHostAddress::LocalHost, 0));
        QObject::connect(&greeter, &QTcpServer::newConnection, [&] {
            QTcpSocket *s = greeter.nextPendingConnection();
            s->write("220 smtp.example ESMTP ready\r\n");
        });
        RawClient second;
        QVERIFY(second.connect(proxy.port()));
        second.send("CONNECT 127.0.0.1:" + QByteArray::number(greeter.serverPort()) + " HTTP/1.1\r\n\r\n");
        QVERIFY(second.readResponseHead());
        QVERIFY(second.readAtLeast(30));
        QCOMPARE(second.buffer, QByteArray("220 smtp.example ESMTP ready\r\n"));
    }
};

QTEST_MAIN(TestProxyHttp)
#include "tst_proxy_http.moc"
