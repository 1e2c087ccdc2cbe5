// Real peers for integration tests over loopback: an echo QWebSocketServer, a raw WebSocket server that
// records the exact bytes it receives (for byte-exactness), a small HTTP/1.1 server, a raw TCP client,
// and a harness that runs the proxy on an ephemeral port. No Q_OBJECT: lambdas only.
#pragma once

#include "core/capture/CaptureStore.h"
#include "core/http/HeadParser.h"
#include "core/proxy/ProxyServer.h"
#include "core/ws/Handshake.h"

#include <QElapsedTimer>
#include <QFile>
#include <QNetworkProxy>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <QTimer>
#include <QWebSocket>
#include <QWebSocketServer>

#include <functional>
#include <memory>

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace socktap::test {

inline constexpr int WaitMs = 10000;

// Runs the proxy on 127.0.0.1 with an ephemeral port.
// A corporate proxy stand-in: answers CONNECT (with 407 when it wants credentials and gets none) and
// relays the tunnel; remembers each CONNECT target.
struct ConnectProxy
{
    QTcpServer server;
    QByteArray credentials; // "user:password" it insists on; empty: none
    QList<QByteArray> targets;
    bool splitAnswer = false; // its 200 in two writes, 100 ms apart
    bool answerWithServerBytes = false; // its 200 together with what the server says first

    ConnectProxy()
    {
        if (!server.listen(QHostAddress::LocalHost, 0))
            qFatal("connect proxy did not listen");
        QObject::connect(&server, &QTcpServer::newConnection, [this] {
            QTcpSocket *client = server.nextPendingConnection();
            auto head = std::make_shared<QByteArray>();
            QObject::connect(client, &QTcpSocket::readyRead, client, [this, client, head] {
                if (client->property("tunnel").toBool())
                    return;
                *head += client->readAll();
                const qsizetype end = head->indexOf("\r\n\r\n");
                if (end < 0)
                    return;
                const QByteArray request = head->left(end);
                const QByteArray rest = head->mid(end + 4);
                const QByteArray target = request.split(' ').value(1);
                if (!request.startsWith("CONNECT ")) {
                    client->write("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
                    return;
                }
                if (!credentials.isEmpty()
                    && !request.contains("\r\nProxy-Authorization: Basic " + credentials.toBase64())) {
                    client->write(
                        "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n"
                        "Content-Length: 0\r\n\r\n");
                    return;
                }
                targets.append(target);
                client->setProperty("tunnel", true);
                auto *upstream = new QTcpSocket(client);
                const qsizetype colon = target.lastIndexOf(':');
                const auto relay = [client, upstream, rest] {
                    upstream->write(rest);
                    upstream->write(client->readAll());
                    client->write(upstream->readAll());
                    QObject::connect(client, &QTcpSocket::readyRead, upstream,
                                     [client, upstream] { upstream->write(client->readAll()); });
                    QObject::connect(upstream, &QTcpSocket::readyRead, client,
                                     [client, upstream] { client->write(upstream->readAll()); });
                    QObject::connect(upstream, &QTcpSocket::disconnected, client,
                                     &QTcpSocket::disconnectFromHost);
                    QObject::connect(client, &QTcpSocket::disconnected, upstream,
                                     &QTcpSocket::disconnectFromHost);
                };
                const QByteArray answer = "HTTP/1.1 200 Connection established\r\n\r\n";
                QObject::connect(
                    upstream, &QTcpSocket::connected, client, [this, client, upstream, relay, answer] {
                        if (splitAnswer) {
                            // The head in two pieces, a moment apart.
                            client->write(answer.first(17));
                            client->flush();
                            QTimer::singleShot(100, client, [client, relay, answer] {
                                client->write(answer.sliced(17));
                                relay();
                            });
                        } else if (answerWithServerBytes) {
                            // The head and the server's first bytes in one write (one segment on loopback).
                            QObject::connect(
                                upstream, &QTcpSocket::readyRead, client, [client, upstream, relay, answer] {
                                    QObject::disconnect(upstream, &QTcpSocket::readyRead, client, nullptr);
                                    client->write(answer + upstream->readAll());
                                    relay();
                                });
                        } else {
                            client->write(answer);
                            relay();
                        }
                    });
                upstream->connectToHost(QString::fromLatin1(target.left(colon)),
                                        quint16(target.mid(colon + 1).toUInt()));
            });
        });
    }
    quint16 port() const { return server.serverPort(); }
};

struct ProxyHarness
{
    capture::CaptureStore store;
    std::unique_ptr<proxy::ProxyServer> server;

    explicit ProxyHarness(proxy::ProxyConfig config = {}, quint64 captureBudget = 1ull << 30)
        : store(capture::CaptureStore::Limits {captureBudget})
    {
        config.listenPort = 0;
        if (config.workers == 0)
            config.workers = 2;
        server = std::make_unique<proxy::ProxyServer>(config, store);
        QString error;
        if (!server->start(&error))
            qFatal("proxy did not start: %s", qPrintable(error));
    }
    ~ProxyHarness()
    {
        bool stopped = false;
        QObject::connect(server.get(), &proxy::ProxyServer::stopped, [&] { stopped = true; });
        server->stop();
        if (!QTest::qWaitFor([&] { return stopped; }, WaitMs))
            qWarning("proxy did not stop within %d ms", WaitMs);
    }
    quint16 port() const { return server->port(); }
    QNetworkProxy networkProxy() const
    {
        return QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), port());
    }

    // The only session (or the last one) once the capture has it in a state satisfying pred.
    std::optional<capture::SessionInfo>
    waitSession(std::function<bool(const capture::SessionInfo &)> pred = {}, int timeoutMs = WaitMs)
    {
        std::optional<capture::SessionInfo> found;
        (void)QTest::qWaitFor(
            [&] {
                for (capture::SessionId id : store.sessionIds()) {
                    auto s = store.session(id);
                    if (s && (!pred || pred(*s)))
                        found = s;
                }
                return found.has_value();
            },
            timeoutMs);
        return found;
    }
    bool waitMessages(capture::SessionId id, quint64 count, int timeoutMs = WaitMs)
    {
        return QTest::qWaitFor([&] { return store.messageCount(id) >= count; }, timeoutMs);
    }
    std::vector<capture::MessageView> messages(capture::SessionId id)
    {
        std::vector<capture::MessageView> out;
        for (quint64 i = 0; i < store.messageCount(id); ++i) {
            if (auto m = store.message(id, i))
                out.push_back(*m);
        }
        return out;
    }
};

// Echoes every text and binary message; closes when told.
struct EchoServer
{
    QWebSocketServer server {QStringLiteral("echo"), QWebSocketServer::NonSecureMode};
    QList<QWebSocket *> clients;
    QStringList texts;
    QList<QByteArray> binaries;
    int pings = 0;

    EchoServer()
    {
        if (!server.listen(QHostAddress::LocalHost, 0))
            qFatal("echo server did not listen");
        QObject::connect(&server, &QWebSocketServer::newConnection, [this] {
            while (QWebSocket *ws = server.nextPendingConnection()) {
                ws->setParent(&server);
                clients.append(ws);
                QObject::connect(ws, &QWebSocket::textMessageReceived, ws, [this, ws](const QString &m) {
                    texts.append(m);
                    ws->sendTextMessage(m);
                });
                QObject::connect(ws, &QWebSocket::binaryMessageReceived, ws, [this, ws](const QByteArray &m) {
                    binaries.append(m);
                    ws->sendBinaryMessage(m);
                });
                QObject::connect(ws, &QWebSocket::pong, ws, [this](quint64, const QByteArray &) { ++pings; });
            }
        });
    }
    quint16 port() const { return server.serverPort(); }
    QUrl url(const QString &path = QStringLiteral("/echo")) const
    {
        return QUrl(QStringLiteral("ws://127.0.0.1:%1%2").arg(port()).arg(path));
    }
};

// A client connected through the proxy by CONNECT (Qt's HttpProxy) or directly (reverse mode).
inline std::unique_ptr<QWebSocket> openClient(const QUrl &url, const std::optional<QNetworkProxy> &proxy)
{
    auto ws = std::make_unique<QWebSocket>();
    ws->setProxy(proxy.value_or(QNetworkProxy(QNetworkProxy::NoProxy)));
    ws->open(url);
    if (!QTest::qWaitFor([&] { return ws->state() == QAbstractSocket::ConnectedState; }, WaitMs))
        return nullptr;
    return ws;
}

// Blocking helpers over a raw QTcpSocket (fine in tests).
struct RawClient
{
    QTcpSocket socket;
    QByteArray buffer;

    bool connect(quint16 port)
    {
        socket.connectToHost(QHostAddress::LocalHost, port);
        return socket.waitForConnected(WaitMs);
    }
    void send(const QByteArray &bytes)
    {
        socket.write(bytes);
        socket.flush();
    }
    // Reads until buffer holds n bytes (or the peer closes).
    bool readAtLeast(qsizetype n, int timeoutMs = WaitMs)
    {
        return QTest::qWaitFor(
                   [&] {
                       buffer += socket.readAll();
                       return buffer.size() >= n || socket.state() != QAbstractSocket::ConnectedState;
                   },
                   timeoutMs)
            && buffer.size() >= n;
    }
    std::optional<http::ResponseHead> readResponseHead(int timeoutMs = WaitMs)
    {
        http::HeadParser parser(http::HeadParser::Kind::Response);
        std::optional<http::ResponseHead> head;
        (void)QTest::qWaitFor(
            [&] {
                buffer += socket.readAll();
                const auto r = parser.feed(buffer);
                if (r.status == http::HeadParser::Status::Complete) {
                    buffer.remove(0, r.consumed);
                    head = parser.takeResponse();
                    return true;
                }
                if (r.status == http::HeadParser::Status::NeedMore)
                    buffer.clear(); // the parser keeps what it took
                return r.status == http::HeadParser::Status::Error;
            },
            timeoutMs);
        return head;
    }
    bool waitClosed(int timeoutMs = WaitMs)
    {
        return QTest::qWaitFor(
            [&] {
                buffer += socket.readAll();
                return socket.state() == QAbstractSocket::UnconnectedState;
            },
            timeoutMs);
    }
    // Connects to the proxy and upgrades to ws://127.0.0.1:serverPort/x through it (absolute form).
    bool openThrough(quint16 proxyPort, quint16 serverPort)
    {
        if (!connect(proxyPort))
            return false;
        send(upgradeTo(serverPort));
        const auto head = readResponseHead();
        return head && head->status == 101;
    }
    // Connects to the proxy and opens a CONNECT tunnel to authority (answered 200).
    bool openTunnel(quint16 proxyPort, const QByteArray &authority)
    {
        if (!connect(proxyPort))
            return false;
        send("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
        const auto head = readResponseHead();
        return head && head->status == 200;
    }
    // An absolute-form upgrade to ws://127.0.0.1:port/x, as sent to an explicit proxy.
    static QByteArray upgradeTo(quint16 port, const QByteArray &extra = {})
    {
        const QByteArray host = "127.0.0.1:" + QByteArray::number(port);
        return upgradeRequest("ws://" + host + "/x", host, ws::Handshake::generateKey(), extra);
    }
    // A WebSocket upgrade request to target.
    static QByteArray upgradeRequest(const QByteArray &target, const QByteArray &host, const QByteArray &key,
                                     const QByteArray &extra = {})
    {
        return "GET " + target + " HTTP/1.1\r\nHost: " + host
            + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Key: "
            + key + "\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n";
    }
};

// Resident memory of this process, in bytes.
inline qint64 residentBytes()
{
    QFile statm(QStringLiteral("/proc/self/statm"));
    if (!statm.open(QIODevice::ReadOnly))
        return 0;
    const QList<QByteArray> fields = statm.readAll().split(' ');
    return fields.size() > 1 ? fields[1].toLongLong() * ::sysconf(_SC_PAGESIZE) : 0;
}

// Thousands of sockets in one test process need more than the default 1024 descriptors.
inline void raiseFileLimit()
{
    rlimit limit {};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

// Sends RST instead of FIN when closing.
inline void resetSocket(QAbstractSocket &socket)
{
    const linger l {1, 0};
    ::setsockopt(int(socket.socketDescriptor()), SOL_SOCKET, SO_LINGER, &l, sizeof l);
    socket.abort();
}

// A WebSocket server written by hand: answers the handshake (or whatever response is configured) and then
// records every byte it receives, so tests can compare them with what the client sent.
struct RawWsServer
{
    QTcpServer server;
    QTcpSocket *peer = nullptr; // the latest connection
    int handshakes = 0;
    bool reading = true; // false: stop reading (a slow reader), the kernel buffers fill up
    QByteArray requestHead; // as the proxy forwarded it
    QByteArray received; // bytes after the head
    bool keep = true; // false: bytes after the head are only counted (in receivedCount), not kept
    qint64 receivedCount = 0;
    std::function<QByteArray(const http::RequestHead &)> respond; // default: a plain 101
    QByteArray afterHandshake; // sent right after the response

    RawWsServer()
    {
        server.setListenBacklogSize(4096);
        server.setMaxPendingConnections(4096);
        if (!server.listen(QHostAddress::LocalHost, 0))
            qFatal("raw server did not listen");
        QObject::connect(&server, &QTcpServer::newConnection, [this] {
            while (QTcpSocket *next = server.nextPendingConnection())
                adopt(next);
        });
    }
    void adopt(QTcpSocket *socket)
    {
        peer = socket;
        auto parser = std::make_shared<http::HeadParser>(http::HeadParser::Kind::Request);
        QObject::connect(peer, &QTcpSocket::readyRead, peer, [this, parser, socket] {
            if (!reading && parser->status() == http::HeadParser::Status::Complete)
                return;
            QByteArray data = socket->readAll();
            if (parser->status() == http::HeadParser::Status::Complete) {
                receivedCount += data.size();
                if (keep)
                    received += data;
                return;
            }
            const auto r = parser->feed(data);
            if (r.status != http::HeadParser::Status::Complete)
                return;
            requestHead = parser->request().raw;
            received += data.sliced(r.consumed);
            ++handshakes;
            socket->write(respond ? respond(parser->request()) : switching(parser->request()));
            socket->write(afterHandshake);
            socket->flush();
        });
    }
    // Reads what arrived while reading was off.
    void resumeReading()
    {
        reading = true;
        received += peer->readAll();
    }
    quint16 port() const { return server.serverPort(); }
    static QByteArray switching(const http::RequestHead &request, const QByteArray &extra = {})
    {
        return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
               "Upgrade\r\nSec-WebSocket-Accept: "
            + ws::Handshake::acceptFor(request.headers.value("Sec-WebSocket-Key")) + "\r\n" + extra + "\r\n";
    }
    bool waitReceived(qsizetype n, int timeoutMs = WaitMs)
    {
        return QTest::qWaitFor([&] { return received.size() >= n; }, timeoutMs);
    }
    void send(const QByteArray &bytes)
    {
        peer->write(bytes);
        peer->flush();
    }
};

} // namespace socktap::test
