// Acting on live traffic through the real proxy, with real peers over loopback: breakpoints (pause, hold,
// forward, edit, drop), injection, resending, closing, rules (message and handshake), commands into ended
// sessions, and permessage-deflate kept decodable against python3-websockets peers (which compress with
// context takeover) for every window size.
#include "core/intercept/InterceptHub.h"
#include "core/intercept/ScriptLog.h"
#include "core/ws/ClosePayload.h"
#include "core/ws/FrameWriter.h"
#include "core/ws/MessageAssembler.h"
#include "core/ws/MessageEncoder.h"
#include "support/Peers.h"
#include "support/PythonPeer.h"

#include <QElapsedTimer>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QScopeGuard>

#include <atomic>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace socktap;
using namespace socktap::test;
using capture::Direction;
using capture::SessionState;
using intercept::SessionCommand;
namespace MessageFlag = capture::MessageFlag;

namespace {

// Sends a command and waits for its answer.
intercept::CommandResult run(ProxyHarness &proxy, capture::SessionId id, const SessionCommand &c)
{
    std::optional<intercept::CommandResult> answer;
    QObject context;
    proxy.server->command(id, c, &context, [&](const intercept::CommandResult &r) { answer = r; });
    if (!QTest::qWaitFor([&] { return answer.has_value(); }, WaitMs))
        return intercept::CommandResult::failure(QStringLiteral("no answer"));
    return *answer;
}

SessionCommand pause(Direction from, bool on = true)
{
    SessionCommand c;
    c.kind = SessionCommand::Kind::SetPause;
    c.from = from;
    c.on = on;
    return c;
}

SessionCommand release(Direction from, quint64 id, std::optional<intercept::OutgoingMessage> edit = {})
{
    SessionCommand c;
    c.kind = SessionCommand::Kind::Release;
    c.from = from;
    c.id = id;
    c.message = edit;
    return c;
}

SessionCommand send(Direction from, quint8 opcode, const QByteArray &payload,
                    quint16 flag = MessageFlag::Injected)
{
    SessionCommand c;
    c.kind = SessionCommand::Kind::Send;
    c.from = from;
    c.message = intercept::OutgoingMessage {opcode, payload, 1};
    c.flag = flag;
    return c;
}

// A WebSocket client on a bare socket, through the proxy (absolute-form upgrade): it can tell a reset
// (ECONNRESET) from a FIN (end of stream), which QWebSocket reports alike.
struct RawWsClient
{
    int fd = -1;
    QByteArray in;

    bool open(quint16 proxyPort, const QUrl &url)
    {
        fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a {};
        a.sin_family = AF_INET;
        a.sin_port = htons(proxyPort);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0)
            return false;
        const QByteArray request = "GET " + url.toEncoded()
            + " HTTP/1.1\r\nHost: " + url.authority().toLatin1()
            + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
        if (::write(fd, request.constData(), size_t(request.size())) != request.size())
            return false;
        if (!QTest::qWaitFor([&] { return state() == -1 && in.contains("\r\n\r\n"); }, WaitMs))
            return false;
        const bool upgraded = in.startsWith("HTTP/1.1 101");
        in.remove(0, in.indexOf("\r\n\r\n") + 4);
        return upgraded;
    }
    void send(const QByteArray &text)
    {
        const QByteArray wire = ws::MessageEncoder::encode(1, text, true).wire;
        (void)!::write(fd, wire.constData(), size_t(wire.size()));
    }
    // -1 while open (what came is appended to `in`), 0 after a FIN, else the error (ECONNRESET).
    int state()
    {
        char buffer[4096];
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n > 0) {
            in.append(buffer, n);
            return -1;
        }
        if (n == 0)
            return 0;
        return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : errno;
    }
    int ending()
    {
        int s = -1;
        (void)QTest::qWaitFor([&] { return (s = state()) != -1; }, WaitMs);
        return s;
    }
    std::vector<quint8> opcodes() const // of the frames received after the upgrade
    {
        std::vector<quint8> out;
        ws::decodeMessages(in, ws::FrameParser::Sender::Server, 0,
                           [&](const ws::MessageAssembler::Message &m) { out.push_back(m.opcode); });
        return out;
    }
    ~RawWsClient()
    {
        if (fd >= 0)
            ::close(fd);
    }
};

proxy::ProxyConfig withHub(const std::shared_ptr<intercept::InterceptHub> &hub)
{
    proxy::ProxyConfig config;
    config.intercept = hub;
    return config;
}

intercept::RuleSet rules(const QByteArray &json)
{
    QString error;
    auto set = intercept::RuleSet::fromJson(json, &error);
    if (!set)
        qFatal("bad test rules: %s", qPrintable(error));
    return *set;
}

// The messages of a session with flags, in capture order.
QStringList describe(ProxyHarness &proxy, capture::SessionId id)
{
    QStringList out;
    for (const auto &m : proxy.messages(id)) {
        QString line = QStringLiteral("%1 %2 %3")
                           .arg(QLatin1String(capture::directionName(m.record.direction())),
                                QLatin1String(ws::opcodeName(m.record.opcode)), QString::fromUtf8(m.payload));
        for (const auto &[flag, name] : {std::pair {MessageFlag::Held, "held"},
                                         {MessageFlag::Edited, "edited"},
                                         {MessageFlag::Dropped, "dropped"},
                                         {MessageFlag::Injected, "injected"},
                                         {MessageFlag::Resent, "resent"},
                                         {MessageFlag::Delayed, "delayed"},
                                         {MessageFlag::Undelivered, "undelivered"}}) {
            if (m.record.has(flag))
                line += QLatin1Char(' ') + QLatin1String(name);
        }
        out.append(line);
    }
    return out;
}

// A WebSocket server on a plain socket, on its own thread: unlike Qt's sockets it keeps its side open
// after the peer's FIN (a half-close), so what Socktap does then can be observed.
struct HalfOpenServer
{
    int listener = -1;
    quint16 port = 0;
    std::atomic<bool> stop {false};
    std::thread thread;

    HalfOpenServer()
    {
        listener = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a {};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(listener, reinterpret_cast<sockaddr *>(&a), len) != 0 || ::listen(listener, 1) != 0
            || ::getsockname(listener, reinterpret_cast<sockaddr *>(&a), &len) != 0)
            qFatal("half-open server did not listen");
        port = ntohs(a.sin_port);
        thread = std::thread([this] {
            const int fd = ::accept(listener, nullptr, nullptr);
            QByteArray head;
            char buffer[4096];
            while (!head.contains("\r\n\r\n")) {
                const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
                if (n <= 0)
                    return;
                head.append(buffer, n);
            }
            http::HeadParser parser(http::HeadParser::Kind::Request);
            parser.feed(head);
            const QByteArray response = RawWsServer::switching(parser.request());
            ::send(fd, response.constData(), size_t(response.size()), MSG_NOSIGNAL);
            for (int i = 0; i < 200 && !stop; ++i) // reads what comes (the FIN too), keeps its side open
                ::usleep(50'000);
            ::close(fd);
        });
    }
    ~HalfOpenServer()
    {
        stop = true;
        ::shutdown(listener, SHUT_RDWR);
        thread.join();
        ::close(listener);
    }
};

// A QWebSocket client talking to an echo server through Socktap, its session open, rules in `hub`.
struct Live
{
    std::shared_ptr<intercept::InterceptHub> hub = std::make_shared<intercept::InterceptHub>();
    ProxyHarness proxy {withHub(hub)};
    EchoServer echo;
    std::unique_ptr<QWebSocket> client;
    capture::SessionId id = 0;

    bool open()
    {
        client = openClient(echo.url(), proxy.networkProxy());
        const auto s = client ? proxy.waitSession([](const auto &s) { return s.state == SessionState::Open; })
                              : std::nullopt;
        id = s ? s->id : 0;
        return id != 0;
    }
    intercept::CommandResult run(const SessionCommand &c) { return ::run(proxy, id, c); }
};

} // namespace

class TestIntercept final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase() { QNetworkProxyFactory::setUseSystemConfiguration(false); }

    void holdForwardEditAndDrop()
    {
        Live live;
        QVERIFY(live.open());
        auto &[hub, proxy, echo, client, id] = live;
        QVERIFY(live.run(pause(Direction::ClientToServer)).ok);
        hub->setRules(rules("{\"rules\": []}")); // new rules reach the session; the pause stays
        QStringList echoed;
        connect(client.get(), &QWebSocket::textMessageReceived, this,
                [&](const QString &m) { echoed.append(m); });
        for (const char *text : {"one", "two", "three"})
            client->sendTextMessage(QString::fromLatin1(text));
        QVERIFY(QTest::qWaitFor([&] { return hub->held().size() == 3; }, WaitMs));
        const auto held = hub->held();
        QCOMPARE(held[0].payload, QByteArray("one"));
        QCOMPARE(held[0].session, id);
        QCOMPARE(held[0].from, Direction::ClientToServer);
        QVERIFY(held[0].url.endsWith("/echo"));
        QTest::qWait(100);
        QVERIFY(echo.texts.isEmpty()); // nothing has reached the server

        // While the client's messages are held, the server's still reach the client.
        echo.clients.first()->sendTextMessage(QStringLiteral("server news"));
        QVERIFY(QTest::qWaitFor([&] { return echoed.contains(QStringLiteral("server news")); }, WaitMs));

        QVERIFY(live.run(release(Direction::ClientToServer, held[0].id)).ok);
        QVERIFY(run(proxy, id,
                    release(Direction::ClientToServer, held[1].id,
                            intercept::OutgoingMessage {quint8(ws::Opcode::Text), "TWO, edited", 2}))
                    .ok);
        SessionCommand drop;
        drop.kind = SessionCommand::Kind::Drop;
        drop.from = Direction::ClientToServer;
        drop.id = held[2].id;
        QVERIFY(live.run(drop).ok);
        QVERIFY(!live.run(drop).ok); // gone already: a clear error
        QVERIFY(QTest::qWaitFor([&] { return echo.texts.size() == 2; }, WaitMs));
        QCOMPARE(echo.texts, QStringList({"one", "TWO, edited"}));
        QVERIFY(hub->held().empty());
        QVERIFY(QTest::qWaitFor([&] { return echoed.size() == 3; }, WaitMs));
        QTest::qWait(100);
        QCOMPARE(echo.texts.size(), 2); // the dropped one never arrives

        QVERIFY(proxy.waitMessages(id, 6));
        const QStringList lines = describe(proxy, id);
        QVERIFY2(lines.contains("client text one held"), qPrintable(lines.join('\n')));
        QVERIFY2(lines.contains("client text TWO, edited held edited"), qPrintable(lines.join('\n')));
        QVERIFY2(lines.contains("client text three held dropped"), qPrintable(lines.join('\n')));
        for (const auto &m : proxy.messages(id)) {
            if (m.record.has(MessageFlag::Edited)) {
                QCOMPARE(m.original, QByteArray("two"));
                QCOMPARE(m.record.frameCount, 2u);
            }
        }
        // Resuming: unpaused traffic is forwarded as it comes.
        QVERIFY(live.run(pause(Direction::ClientToServer, false)).ok);
        client->sendTextMessage(QStringLiteral("free"));
        QVERIFY(QTest::qWaitFor([&] { return echo.texts.contains(QStringLiteral("free")); }, WaitMs));
    }

    void aPauseDoesNotStarveTheServersKeepalive_data()
    {
        QTest::addColumn<bool>("holdPingPong");
        QTest::newRow("pings and pongs pass the pause") << false;
        QTest::newRow("held too, when asked") << true;
    }

    void aPauseDoesNotStarveTheServersKeepalive()
    {
        // python3-websockets pings every 0.3 s and closes with 1011 when no Pong comes within 0.3 s. With
        // the client's direction paused and a message held, the client's Pongs still pass, so the session
        // lives on for many ping rounds; the user then forwards the message and the server gets it. Asked
        // to hold pings and pongs too, the pause holds the Pong and the server's own timer ends it.
        QFETCH(bool, holdPingPong);
        PythonPeer peer;
        QVERIFY2(peer.start(QStringLiteral("keepalive_server.py"), {"0.3", "0.3"}), peer.banner.constData());
        QProcess &server = peer.process;
        QByteArray said;
        const auto serverSaid = [&](const QByteArray &what) {
            return QTest::qWaitFor(
                [&] {
                    said += server.readAll();
                    return said.contains(what);
                },
                WaitMs);
        };
        auto hub = std::make_shared<intercept::InterceptHub>();
        ProxyHarness proxy(withHub(hub));
        auto client =
            openClient(peer.url(QStringLiteral("ws"), QStringLiteral("/keepalive")), proxy.networkProxy());
        QVERIFY(client);
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Open; });
        QVERIFY(s);
        SessionCommand p = pause(Direction::ClientToServer);
        p.holdPingPong = holdPingPong;
        QVERIFY(run(proxy, s->id, p).ok);
        client->sendTextMessage(QStringLiteral("while you look"));
        QVERIFY(QTest::qWaitFor([&] { return hub->held().size() == 1; }, WaitMs));
        if (holdPingPong) {
            // The Pong is held with the message, and the server's own keepalive gives up: its Close 1011
            // "keepalive ping timeout" is in the capture. (That a Close behind held messages is held for
            // the user is tst_relay's aCloseBehindHeldMessagesIsHeldToo: this server fails the connection,
            // closing TCP at once, so its client never answers.)
            QVERIFY(QTest::qWaitFor(
                [&] {
                    for (const auto &m : proxy.messages(s->id))
                        if (m.record.opcode == quint8(ws::Opcode::Close) && m.record.closeCode == 1011)
                            return true;
                    return false;
                },
                WaitMs));
            return;
        }
        QTest::qWait(2000); // six ping rounds
        said += server.readAll();
        QVERIFY2(!said.contains("closed"), said.constData());
        QCOMPARE(client->state(), QAbstractSocket::ConnectedState);
        QVERIFY(run(proxy, s->id, release(Direction::ClientToServer, hub->held().front().id)).ok);
        QVERIFY2(serverSaid("received while you look"), said.constData());
        // The pongs that passed say so in the capture.
        bool passed = false;
        for (const auto &m : proxy.messages(s->id))
            passed |= m.record.opcode == quint8(ws::Opcode::Pong) && m.note.contains("passed 1 held message");
        QVERIFY(passed);
    }

    void whatCouldNotBeDeliveredSaysSo()
    {
        // Messages held while the server goes away are not "forwarded" when the user lets them go: the
        // capture says they were not delivered, to whom and why, and the close is what happened (the
        // server ended TCP without a closing handshake), never "both Close frames crossed".
        Live live;
        QVERIFY(live.open());
        auto &[hub, proxy, echo, client, id] = live;
        QVERIFY(live.run(pause(Direction::ClientToServer)).ok);
        for (const char *text : {"one", "two", "three"})
            client->sendTextMessage(QString::fromLatin1(text));
        QVERIFY(QTest::qWaitFor([&] { return hub->held().size() == 3; }, WaitMs));
        echo.clients.first()->abort(); // the server is gone, without a Close
        QTest::qWait(300);
        SessionCommand all;
        all.kind = SessionCommand::Kind::ReleaseAll;
        all.from = Direction::ClientToServer;
        QVERIFY(live.run(all).ok);
        QVERIFY(proxy.waitMessages(id, 3));
        QVERIFY(echo.texts.isEmpty());
        for (const auto &m : proxy.messages(id)) {
            if (m.record.direction() != Direction::ClientToServer || m.record.opcode != 1)
                continue;
            QVERIFY2(m.record.has(MessageFlag::Undelivered), qPrintable(describe(proxy, id).join('\n')));
            QVERIFY2(m.note.contains("not delivered: the server had"), qPrintable(m.note));
        }
        const auto ended = proxy.waitSession([&](const auto &s) {
            return s.id == id && (s.state == SessionState::Closed || s.state == SessionState::Failed);
        });
        QVERIFY(ended);
        QVERIFY(!ended->close.handshakeCompleted());
        QVERIFY2(ended->close.end == capture::EndReason::ServerEof
                     || ended->close.end == capture::EndReason::ServerReset,
                 capture::endReasonName(ended->close.end));
    }

    void aCloseHeldWithTheClientGoneStillGetsItsAnswer()
    {
        // The client sends a message and its Close, then ends TCP (QWebSocket does at once) while its
        // direction is paused: both are held. The client did its part of the closing handshake, so once the
        // user forwards them the server's answering Close is delivered, not flagged undelivered, and the
        // session ends closed.
        Live live;
        QVERIFY(live.open());
        auto &[hub, proxy, echo, client, id] = live;
        QVERIFY(live.run(pause(Direction::ClientToServer)).ok);
        client->sendTextMessage(QStringLiteral("last words"));
        client->close(QWebSocketProtocol::CloseCodeNormal, QStringLiteral("bye"));
        QVERIFY(QTest::qWaitFor([&] { return hub->held().size() == 2; }, WaitMs));
        QTest::qWait(200); // the client's FIN arrives behind them
        SessionCommand all;
        all.kind = SessionCommand::Kind::ReleaseAll;
        all.from = Direction::ClientToServer;
        QVERIFY(live.run(all).ok);
        const auto ended =
            proxy.waitSession([&](const auto &s) { return s.id == id && s.state == SessionState::Closed; });
        QVERIFY(ended);
        QVERIFY2(ended->close.handshakeCompleted(), qPrintable(describe(proxy, id).join('\n')));
        for (const auto &m : proxy.messages(id))
            QVERIFY2(!m.record.has(MessageFlag::Undelivered), qPrintable(describe(proxy, id).join('\n')));
        QCOMPARE(echo.texts, QStringList {QStringLiteral("last words")});
    }

    void holdingStopsReadingTheSender()
    {
        // Backpressure behind a breakpoint: Socktap stops reading the paused sender once the high-water mark
        // of held bytes is reached, instead of buffering without bound; Forward all then delivers everything.
        Live live;
        QVERIFY(live.open());
        auto &[hub, proxy, echo, client, id] = live;
        QVERIFY(live.run(pause(Direction::ClientToServer)).ok);
        const int count = 256;
        const QByteArray chunk(64 * 1024, 'm');
        for (int i = 0; i < count; ++i)
            client->sendBinaryMessage(chunk + QByteArray::number(i));
        QVERIFY(QTest::qWaitFor([&] { return hub->held().size() >= 8; }, WaitMs));
        QTest::qWait(300);
        const size_t held = hub->held().size();
        // At most the high-water mark (1 MiB) plus what was read in one go; the rest waits in the kernel.
        QVERIFY2(held < 40, qPrintable(QString::number(held)));
        QVERIFY(client->bytesToWrite() > 0 || held < size_t(count));
        SessionCommand all;
        all.kind = SessionCommand::Kind::ReleaseAll;
        all.from = Direction::ClientToServer;
        QVERIFY(live.run(all).ok);
        QVERIFY(QTest::qWaitFor([&] { return echo.binaries.size() == count; }, 30000));
        for (int i = 0; i < count; ++i)
            QCOMPARE(echo.binaries[i], chunk + QByteArray::number(i));
    }

    void injectResendAndClose()
    {
        Live live;
        QVERIFY(live.open());
        auto &[hub, proxy, echo, client, id] = live;
        QList<QByteArray> binaries;
        QStringList texts;
        connect(client.get(), &QWebSocket::binaryMessageReceived, this,
                [&](const QByteArray &m) { binaries.append(m); });
        connect(client.get(), &QWebSocket::textMessageReceived, this,
                [&](const QString &m) { texts.append(m); });
        QVERIFY(live.run(send(Direction::ClientToServer, 1, "to the server")).ok);
        QVERIFY(live.run(send(Direction::ServerToClient, 2, QByteArray::fromHex("00ff10"))).ok);
        QVERIFY(live.run(send(Direction::ClientToServer, 1, "again", MessageFlag::Resent)).ok);
        QVERIFY(QTest::qWaitFor([&] { return echo.texts.size() == 2 && binaries.size() == 1; }, WaitMs));
        QCOMPARE(echo.texts, QStringList({"to the server", "again"}));
        QCOMPARE(binaries.first(), QByteArray::fromHex("00ff10"));
        QVERIFY(QTest::qWaitFor([&] { return texts.size() == 2; }, WaitMs)); // the echoes came back
        QVERIFY(proxy.waitMessages(id, 5));
        QVERIFY(describe(proxy, id).contains("client text to the server injected"));
        QVERIFY(describe(proxy, id).contains("client text again resent"));

        // A close code no endpoint may send (5000), to the server only: sent as asked, recorded as invalid.
        SessionCommand close;
        close.kind = SessionCommand::Kind::Close;
        close.closeCode = 5000;
        close.closeReason = "testing";
        close.toClient = false;
        QVERIFY(live.run(close).ok);
        const auto ended =
            proxy.waitSession([&](const auto &x) { return x.id == id && x.state == SessionState::Closed; });
        QVERIFY(ended);
        QCOMPARE(ended->close.code[0], quint16(5000));
        bool sawClose = false;
        for (const auto &m : proxy.messages(id)) {
            if (m.record.opcode == 8 && m.record.has(MessageFlag::Injected)) {
                sawClose = true;
                QCOMPARE(m.record.closeCode, quint16(5000));
                QVERIFY(m.record.violationFlags().testFlag(ws::Violation::InvalidCloseCode));
            }
        }
        QVERIFY(sawClose);
        // The session has ended: commands get a clear answer.
        const auto late = live.run(send(Direction::ClientToServer, 1, "late"));
        QVERIFY(!late.ok);
        QCOMPARE(late.error, QStringLiteral("session %1 has ended").arg(id));
    }

    void resetEndsBothConnections()
    {
        Live live;
        QVERIFY(live.open());
        auto &[hub, proxy, echo, client, id] = live;
        SessionCommand reset;
        reset.kind = SessionCommand::Kind::Reset;
        QVERIFY(live.run(reset).ok);
        QVERIFY(
            QTest::qWaitFor([&] { return client->state() == QAbstractSocket::UnconnectedState; }, WaitMs));
        const auto ended =
            proxy.waitSession([&](const auto &x) { return x.id == id && x.state == SessionState::Closed; });
        QVERIFY(ended);
        QCOMPARE(ended->close.end, capture::EndReason::UserReset);
        QVERIFY(!live.run(reset).ok); // "has ended"
    }

    void sendingTowardsAHalfClosedSideIsRefused()
    {
        // The client half-closes: Socktap passes its FIN on to the server, and nothing more may go that way;
        // a command to send there is refused instead of failing the write and resetting both connections.
        auto hub = std::make_shared<intercept::InterceptHub>();
        ProxyHarness proxy(withHub(hub));
        HalfOpenServer upstream;
        RawClient client;
        QVERIFY(client.openThrough(proxy.port(), upstream.port));
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Open; });
        QVERIFY(s);
        ::shutdown(int(client.socket.socketDescriptor()), SHUT_WR);
        QVERIFY(QTest::qWaitFor([&] { return proxy.store.session(s->id)->close.tcpEndTime != 0; }, WaitMs));
        const auto refused = run(proxy, s->id, send(Direction::ClientToServer, 1, "too late"));
        QVERIFY(!refused.ok);
        QVERIFY2(refused.error.contains("that side of the connection is closed"), qPrintable(refused.error));
        // The other way still works: the server's side is open.
        QVERIFY(run(proxy, s->id, send(Direction::ServerToClient, 1, "still fine")).ok);
        const QByteArray expected = ws::FrameWriter::frame(ws::Opcode::Text, "still fine", false);
        QVERIFY(client.readAtLeast(expected.size()));
        QCOMPARE(client.buffer, expected);
    }

    void rulesRewriteMessagesAndHandshakes()
    {
        auto hub = std::make_shared<intercept::InterceptHub>();
        // (Plain literals, not raw strings: moc misreads quotes and braces inside raw strings.)
        hub->setRules(rules(
            "{\"rules\": ["
            "{\"name\": \"redact\", \"match\": {\"direction\": \"client\", \"regex\": \"secret=\\\\w+\"},"
            " \"action\": \"regex-replace\", \"pattern\": \"secret=(\\\\w)\\\\w*\", \"with\": "
            "\"secret=$1***\"},"
            "{\"match\": {\"direction\": \"server\", \"payload\": \"noise\"}, \"action\": \"drop\"},"
            "{\"match\": {\"path\": \"/echo*\"}, \"action\": \"set-header\", \"name\": \"X-Socktap\","
            " \"value\": \"1\", \"on\": \"request\"}]}"));
        ProxyHarness proxy(withHub(hub));
        RawWsServer upstream;
        RawClient client;
        QVERIFY(client.connect(proxy.port()));
        const QByteArray host = "127.0.0.1:" + QByteArray::number(upstream.port());
        client.send(RawClient::upgradeRequest("ws://" + host + "/echo", host, ws::Handshake::generateKey()));
        const auto head = client.readResponseHead();
        QVERIFY(head && head->status == 101);
        QVERIFY(upstream.requestHead.contains("X-Socktap: 1\r\n"));
        client.send(ws::FrameWriter::frame(ws::Opcode::Text, "login secret=hunter2 ok", true));
        upstream.send(ws::FrameWriter::frame(ws::Opcode::Text, "noise", false));
        upstream.send(ws::FrameWriter::frame(ws::Opcode::Text, "signal", false));
        const QByteArray expected = ws::FrameWriter::frame(ws::Opcode::Text, "signal", false);
        QVERIFY(client.readAtLeast(expected.size()));
        QTest::qWait(100);
        client.buffer += client.socket.readAll();
        QCOMPARE(client.buffer, expected); // "noise" was dropped, "signal" passed byte for byte
        QByteArray received;
        QVERIFY(QTest::qWaitFor(
            [&] {
                ws::decodeMessages(upstream.received, ws::FrameParser::Sender::Client, 0,
                                   [&](const auto &m) { received = m.payload.toByteArray(); });
                return !received.isEmpty();
            },
            WaitMs));
        QCOMPARE(received, QByteArray("login secret=h*** ok"));
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Open; });
        QVERIFY(s);
        QVERIFY(s->handshakeNotes.join(' ').contains("X-Socktap"));
        QVERIFY(proxy.waitMessages(s->id, 3));
        const QStringList lines = describe(proxy, s->id);
        QVERIFY2(lines.contains("client text login secret=h*** ok edited"), qPrintable(lines.join('\n')));
        QVERIFY2(lines.contains("server text noise dropped"), qPrintable(lines.join('\n')));
        for (const auto &m : proxy.messages(s->id)) {
            if (m.record.has(MessageFlag::Edited)) {
                QVERIFY2(m.note.startsWith("rule 1 'redact': regex-replace"), qPrintable(m.note));
                QCOMPARE(m.original, QByteArray("login secret=hunter2 ok"));
            }
        }
    }

    void respondAndEchoAnswerTheSender()
    {
        // Real peers (QWebSocket through the proxy, Qt's echo server): "respond" answers a JSON-RPC ping
        // with the request's own id instead of forwarding it; "echo" sends the client's message back and
        // forwards it too (so the client gets it twice: from Socktap and from the server); a template path
        // the message lacks sends nothing and says why; regex groups copy text.
        auto hub = std::make_shared<intercept::InterceptHub>();
        hub->setRules(rules(
            "{\"rules\": ["
            "{\"name\": \"pong\", \"match\": {\"direction\": \"client\", \"payload\": \"\\\"ping\\\"\"},"
            " \"action\": \"respond\", \"payload\": \"{\\\"id\\\":{{$.id}},\\\"result\\\":\\\"pong\\\"}\","
            " \"forward\": false},"
            "{\"match\": {\"direction\": \"client\", \"regex\": \"^hello (\\\\w+)\"},"
            " \"action\": \"respond\", \"payload\": \"hi {{1}}\"},"
            "{\"match\": {\"direction\": \"client\", \"payload\": \"lonely\"},"
            " \"action\": \"respond\", \"payload\": \"{{$.nothing}}\"},"
            "{\"match\": {\"direction\": \"client\", \"payload\": \"again\"}, \"action\": \"echo\"},"
            "{\"match\": {\"direction\": \"client\", \"payload\": \"PINGDATA\"}, \"action\": \"respond\","
            " \"payload\": \"not for pings\", \"forward\": false},"
            "{\"match\": {\"direction\": \"server\", \"payload\": \"srv-please\"}, \"action\": \"respond\","
            " \"payload\": \"pong-to-server\", \"forward\": false}]}"));
        ProxyHarness proxy(withHub(hub));
        EchoServer echo;
        auto client = openClient(echo.url(QStringLiteral("/rpc")), proxy.networkProxy());
        QVERIFY(client);
        QStringList got;
        connect(client.get(), &QWebSocket::textMessageReceived, this, [&](const QString &m) { got << m; });
        client->sendTextMessage(QStringLiteral("{\"id\":42,\"method\":\"ping\"}"));
        client->sendTextMessage(QStringLiteral("hello socktap"));
        client->sendTextMessage(QStringLiteral("{\"lonely\":true}"));
        client->sendTextMessage(QStringLiteral("again"));
        // A Ping is not Socktap's to answer: it crosses, and the server's Pong comes back.
        QByteArray pong;
        connect(client.get(), &QWebSocket::pong, this, [&](quint64, const QByteArray &p) { pong = p; });
        client->ping("PINGDATA");
        // Towards the server: the server's echo of "srv-please" is answered (masked, as a client's frame
        // must be: Qt's server would fail the connection otherwise), and it echoes that answer back.
        client->sendTextMessage(QStringLiteral("srv-please"));
        QVERIFY(QTest::qWaitFor([&] { return got.contains(QStringLiteral("pong-to-server")); }, WaitMs));
        QVERIFY(echo.texts.contains(QStringLiteral("pong-to-server")));
        QVERIFY(!got.contains(QStringLiteral("srv-please"))); // answered instead of forwarded
        got.removeAll(QStringLiteral("pong-to-server"));
        QVERIFY(QTest::qWaitFor([&] { return pong == "PINGDATA"; }, WaitMs));
        QVERIFY(!got.contains(QStringLiteral("not for pings")));
        QVERIFY(QTest::qWaitFor([&] { return got.size() >= 6; }, WaitMs));
        QTest::qWait(100); // nothing more comes
        QCOMPARE(got.count(QStringLiteral("{\"id\":42,\"result\":\"pong\"}")), 1);
        QCOMPARE(got.count(QStringLiteral("hi socktap")), 1);
        QCOMPARE(got.count(QStringLiteral("hello socktap")), 1); // forwarded too, echoed by the server
        QCOMPARE(got.count(QStringLiteral("{\"lonely\":true}")), 1); // only the server's echo
        QCOMPARE(got.count(QStringLiteral("again")), 2); // Socktap's echo and the server's
        QCOMPARE(got.size(), 6);
        QVERIFY2(!echo.texts.contains(QStringLiteral("{\"id\":42,\"method\":\"ping\"}")),
                 qPrintable(echo.texts.join('|'))); // answered instead of forwarded
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Open; });
        QVERIFY(s);
        QVERIFY(proxy.waitMessages(s->id, 14));
        const QStringList lines = describe(proxy, s->id);
        const QString all = lines.join('\n');
        QVERIFY2(lines.contains("client text {\"id\":42,\"method\":\"ping\"} dropped"), qPrintable(all));
        QVERIFY2(lines.contains("server text {\"id\":42,\"result\":\"pong\"} injected"), qPrintable(all));
        QVERIFY2(lines.contains("server text again injected"), qPrintable(all));
        bool saidWhy = false;
        for (const auto &m : proxy.messages(s->id)) {
            if (m.payload == "{\"lonely\":true}" && m.record.direction() == Direction::ClientToServer)
                saidWhy = m.note.contains("respond not sent: $.nothing is not in this message");
            if (m.payload == "{\"id\":42,\"result\":\"pong\"}")
                QVERIFY2(m.note.contains("rule 1 'pong': respond"), qPrintable(m.note));
        }
        QVERIFY(saidWhy);
    }

    void refuseRulesResetOrAnswerTheUpgrade()
    {
        // A refuse rule with "reset": the first upgrade's connection is reset (the client sees an error,
        // the server never sees the request); the rule's one attempt spent, the next client gets through.
        auto hub = std::make_shared<intercept::InterceptHub>();
        hub->setRules(rules("{\"rules\": [{\"match\": {\"path\": \"/flaky\"}, \"action\": \"refuse\","
                            " \"reset\": true, \"times\": 1}]}"));
        ProxyHarness proxy(withHub(hub));
        EchoServer echo;
        QWebSocket first;
        first.setProxy(proxy.networkProxy());
        bool failed = false;
        connect(&first, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
                [&] { failed = true; });
        first.open(echo.url(QStringLiteral("/flaky")));
        QVERIFY(QTest::qWaitFor([&] { return failed; }, WaitMs));
        QVERIFY(first.state() != QAbstractSocket::ConnectedState);
        QTest::qWait(200); // a request forwarded by mistake would reach the server by now
        QVERIFY(echo.clients.isEmpty());
        const auto refused = proxy.waitSession([](const auto &s) {
            return s.kind == capture::SessionKind::WebSocket && s.state == SessionState::Failed;
        });
        QVERIFY(refused);
        QCOMPARE(refused->close.end, capture::EndReason::Fault);
        QCOMPARE(refused->response.status, 0); // no answer: a reset
        QVERIFY2(refused->handshakeNotes.join(' ').contains("rule 1: refused (TCP reset, attempt 1 of 1)"),
                 qPrintable(refused->handshakeNotes.join(' ')));
        auto second = openClient(echo.url(QStringLiteral("/flaky")), proxy.networkProxy());
        QVERIFY(second);
        second->sendTextMessage(QStringLiteral("through"));
        QVERIFY(QTest::qWaitFor([&] { return echo.texts.contains(QStringLiteral("through")); }, WaitMs));
    }

    void faultRulesOnTheirTriggers()
    {
        // Real peers (QWebSocket through the proxy, Qt's echo server), one rule per path: a Close toward
        // the client with the server's third message, a reset 300 ms after the upgrade, and what the
        // server sends stalled from the upgrade on. Each is flagged on the session with its rule.
        auto hub = std::make_shared<intercept::InterceptHub>();
        hub->setRules(
            rules("{\"rules\": ["
                  "{\"name\": \"bye\", \"match\": {\"path\": \"/close\", \"direction\": \"server\"},"
                  " \"action\": \"close\", \"code\": 4001, \"reason\": \"bye\", \"toward\": \"client\","
                  " \"afterMessages\": 3},"
                  "{\"match\": {\"path\": \"/reset\"}, \"action\": \"reset\", \"afterMs\": 300},"
                  "{\"match\": {\"path\": \"/stall\"}, \"action\": \"stall\", \"stop\": \"server\","
                  " \"afterMs\": 0}]}"));
        ProxyHarness proxy(withHub(hub));
        EchoServer echo;

        auto closing = openClient(echo.url(QStringLiteral("/close")), proxy.networkProxy());
        QVERIFY(closing);
        QStringList got;
        connect(closing.get(), &QWebSocket::textMessageReceived, this, [&](const QString &m) { got << m; });
        for (const char *m : {"one", "two", "three", "four"})
            closing->sendTextMessage(QLatin1String(m));
        QVERIFY(
            QTest::qWaitFor([&] { return closing->state() == QAbstractSocket::UnconnectedState; }, WaitMs));
        QCOMPARE(int(closing->closeCode()), 4001);
        QCOMPARE(closing->closeReason(), QStringLiteral("bye"));
        QVERIFY2(got.mid(0, 3) == QStringList({"one", "two", "three"}), qPrintable(got.join('|')));
        const auto closed = proxy.waitSession([](const auto &s) {
            return s.path == "/close" && s.faults.join(' ').contains(QLatin1String("4001"));
        });
        QVERIFY(closed);
        QVERIFY2(closed->faults.join(' ').contains(
                     QLatin1String("sent Close 4001 'bye' toward the client (rule 1 'bye')")),
                 qPrintable(closed->faults.join(' ')));
        QVERIFY(proxy.waitMessages(closed->id, 7));
        QString notes; // the third message from the server says what it set off
        for (const auto &m : proxy.messages(closed->id))
            notes += m.note + QLatin1Char('\n');
        QVERIFY2(notes.contains(QLatin1String("rule 1 'bye': close 4001 'bye' toward the client (at matching "
                                              "message 3)")),
                 qPrintable(notes));

        QWebSocket reset;
        reset.setProxy(proxy.networkProxy());
        QElapsedTimer clock;
        reset.open(echo.url(QStringLiteral("/reset")));
        QVERIFY(QTest::qWaitFor([&] { return reset.state() == QAbstractSocket::ConnectedState; }, WaitMs));
        clock.start();
        QVERIFY(QTest::qWaitFor([&] { return reset.state() == QAbstractSocket::UnconnectedState; }, WaitMs));
        QVERIFY2(clock.elapsed() >= 200, qPrintable(QString::number(clock.elapsed()))); // not at once
        const auto wasReset = proxy.waitSession(
            [](const auto &s) { return s.path == "/reset" && s.state == SessionState::Closed; });
        QVERIFY(wasReset);
        QCOMPARE(wasReset->close.end, capture::EndReason::Fault);
        QVERIFY2(wasReset->faults.join(' ').contains(QLatin1String("reset both connections (rule 2)")),
                 qPrintable(wasReset->faults.join(' ')));

        auto stalled = openClient(echo.url(QStringLiteral("/stall")), proxy.networkProxy());
        QVERIFY(stalled);
        QStringList back;
        connect(stalled.get(), &QWebSocket::textMessageReceived, this, [&](const QString &m) { back << m; });
        stalled->sendTextMessage(QStringLiteral("anyone?"));
        QVERIFY(QTest::qWaitFor([&] { return echo.texts.contains(QStringLiteral("anyone?")); }, WaitMs));
        QTest::qWait(300); // the echo would be back by now
        QVERIFY2(back.isEmpty(), qPrintable(back.join('|')));
        QCOMPARE(stalled->state(), QAbstractSocket::ConnectedState); // TCP stays up: half-open
        const auto half =
            proxy.waitSession([](const auto &s) { return s.path == "/stall" && !s.faults.isEmpty(); });
        QVERIFY(half);
        QVERIFY2(half->faults.join(' ').contains(QStringLiteral("stalled server → client (rule 3)")),
                 qPrintable(half->faults.join(' ')));
    }

    void oneSidedResetsAndACloseWithoutTheHandshake()
    {
        // A reset toward one side only: that side's TCP gets RST, the other a FIN without a Close (the
        // echo server sees 1006). A Close toward the client without the closing handshake: the client
        // gets the Close and then the end of the stream at once; the server never gets a Close.
        auto hub = std::make_shared<intercept::InterceptHub>();
        hub->setRules(
            rules("{\"rules\": ["
                  "{\"match\": {\"path\": \"/rst-client\", \"direction\": \"client\"}, \"action\": \"reset\","
                  " \"toward\": \"client\"},"
                  "{\"match\": {\"path\": \"/rst-server\", \"direction\": \"client\"}, \"action\": \"reset\","
                  " \"toward\": \"server\"},"
                  "{\"match\": {\"path\": \"/abrupt\"}, \"action\": \"close\", \"code\": 4002,"
                  " \"toward\": \"client\", \"handshake\": false, \"afterMs\": 100}]}"));
        ProxyHarness proxy(withHub(hub));
        EchoServer echo;
        const auto serverSide = [&](int index) -> QWebSocket * {
            (void)QTest::qWaitFor([&] { return echo.clients.size() > index; }, WaitMs);
            return echo.clients.value(index);
        };

        RawWsClient client;
        QVERIFY(client.open(proxy.port(), echo.url(QStringLiteral("/rst-client"))));
        client.send("hi");
        QCOMPARE(client.ending(), ECONNRESET);
        QWebSocket *server = serverSide(0);
        QVERIFY(server);
        QVERIFY(
            QTest::qWaitFor([&] { return server->state() == QAbstractSocket::UnconnectedState; }, WaitMs));
        auto s = proxy.waitSession(
            [](const auto &x) { return x.path == "/rst-client" && x.state == SessionState::Closed; });
        QVERIFY(s);
        QCOMPARE(s->close.end, capture::EndReason::Fault);
        QVERIFY(!s->close.closeSent[0] && !s->close.closeSent[1]); // a FIN to the server, no Close
        QVERIFY2(s->faults.join(' ').contains(
                     QLatin1String("reset the client's connection; the server's ended with a FIN (rule 1)")),
                 qPrintable(s->faults.join(' ')));

        RawWsClient second;
        QVERIFY(second.open(proxy.port(), echo.url(QStringLiteral("/rst-server"))));
        second.send("hi");
        QCOMPARE(second.ending(), 0); // the client's side ends with a FIN
        for (const quint8 op : second.opcodes())
            QVERIFY2(op != 8, "a Close reached the client"); // (its echo may have, or not)
        s = proxy.waitSession(
            [](const auto &x) { return x.path == "/rst-server" && x.state == SessionState::Closed; });
        QVERIFY(s);
        QVERIFY2(s->faults.join(' ').contains(
                     QLatin1String("reset the server's connection; the client's ended with a FIN (rule 2)")),
                 qPrintable(s->faults.join(' ')));

        RawWsClient third;
        QVERIFY(third.open(proxy.port(), echo.url(QStringLiteral("/abrupt"))));
        QCOMPARE(third.ending(), 0); // the Close, then the end of the stream without waiting for an answer
        QCOMPARE(third.opcodes(), std::vector<quint8> {8});
        QCOMPARE(ws::ClosePayload::parse(QByteArray(third.in).remove(0, 2)).code,
                 std::optional<quint16>(4002));
        server = serverSide(2);
        QVERIFY(server);
        QVERIFY(
            QTest::qWaitFor([&] { return server->state() == QAbstractSocket::UnconnectedState; }, WaitMs));
        s = proxy.waitSession(
            [](const auto &x) { return x.path == "/abrupt" && x.state == SessionState::Closed; });
        QVERIFY(s);
        QCOMPARE(s->close.end, capture::EndReason::Fault);
        QVERIFY(s->close.closeSent[1] && !s->close.closeSent[0]); // toward the client only, never answered
        QVERIFY2(s->faults.join(' ').contains(QLatin1String("without the closing handshake (rule 3)")),
                 qPrintable(s->faults.join(' ')));
    }

    void scriptsChangeDropAndSurviveTheirErrors()
    {
        // The scripts' minimal contract (docs/scripts.md), through the proxy to Qt's echo server: a string
        // forwards that text instead, null drops, nothing forwards as it came; session.state lives between
        // messages; an endless loop is stopped at the time limit and a throw is told with its file and
        // line, and the message goes on unchanged both times, as do the messages after them.
        intercept::Script script;
        script.name = QStringLiteral("up.js");
        script.path = QStringLiteral("/scripts/up.js");
        script.source =
            QStringLiteral("function onMessage(message, session) {\n"
                           "    session.state.count = (session.state.count || 0) + 1;\n"
                           "    if (message.from !== 'client' || message.type !== 'text') return;\n"
                           "    if (message.text === 'drop me') return null;\n"
                           "    if (message.text === 'loop') while (true) {}\n"
                           "    if (message.text === 'throw') throw new Error('asked to');\n"
                           "    if (message.text === 'as is') return undefined;\n"
                           "    return message.text.toUpperCase() + ' #' + session.state.count;\n"
                           "}\n");
        QVERIFY2(intercept::scriptError(script).isEmpty(), qPrintable(intercept::scriptError(script)));
        auto hub = std::make_shared<intercept::InterceptHub>();
        intercept::ScriptSet set;
        set.scripts.push_back(script);
        set.timeoutMs = 100;
        hub->setScripts(set);
        ProxyHarness proxy(withHub(hub));
        EchoServer echo;
        auto client = openClient(echo.url(QStringLiteral("/js")), proxy.networkProxy());
        QVERIFY(client);
        QElapsedTimer clock;
        clock.start();
        for (const char *m : {"hello", "drop me", "loop", "throw", "as is", "world"})
            client->sendTextMessage(QLatin1String(m));
        QVERIFY(QTest::qWaitFor([&] { return echo.texts.size() == 5; }, WaitMs));
        // Counted: hello 1, its echo 2, drop me 3, loop 4 (and its echo 5), throw 6 (7), as is 8 (9), world
        // 10 (the echoes interleave, so only the first is fixed).
        QCOMPARE(echo.texts.mid(0, 4), (QStringList {"HELLO #1", "loop", "throw", "as is"}));
        QVERIFY2(echo.texts[4].startsWith(QStringLiteral("WORLD #")), qPrintable(echo.texts[4]));
        QVERIFY(!echo.texts.contains(QStringLiteral("drop me")));
        QVERIFY(clock.elapsed() >= 100); // the loop ran its 100 ms
        const auto s = proxy.waitSession();
        QVERIFY(s);
        QVERIFY(proxy.waitMessages(s->id, 6));
        QString notes;
        for (const auto &m : proxy.messages(s->id))
            notes += m.note + QLatin1Char('\n');
        QVERIFY2(notes.contains(QStringLiteral("script up.js: dropped")), qPrintable(notes));
        QVERIFY2(notes.contains(QStringLiteral("script up.js: /scripts/up.js: stopped after 100 ms")),
                 qPrintable(notes));
        QVERIFY2(notes.contains(
                     QStringLiteral("script up.js: /scripts/up.js:6: Error: asked to; forwarded as it came")),
                 qPrintable(notes));

        intercept::Script broken {QStringLiteral("bad.js"), QStringLiteral("bad.js"),
                                  QStringLiteral("function onMessage(m) {\n  return m.text +;\n}\n")};
        QVERIFY2(intercept::scriptError(broken).startsWith(QStringLiteral("bad.js:2: SyntaxError")),
                 qPrintable(intercept::scriptError(broken)));
    }

    void faultsTakeHoldAtTheirMessage()
    {
        // Ten messages in one write (one read for Socktap): a stall at the client's third lets exactly three
        // cross, and the rest crosses, in order, once the window resumes it; a reset at the third lets three
        // cross and no more.
        auto hub = std::make_shared<intercept::InterceptHub>();
        hub->setRules(
            rules("{\"rules\": ["
                  "{\"match\": {\"path\": \"/stall\", \"direction\": \"client\"}, \"action\": \"stall\","
                  " \"stop\": \"client\", \"afterMessages\": 3},"
                  "{\"match\": {\"path\": \"/reset\", \"direction\": \"client\"}, \"action\": \"reset\","
                  " \"afterMessages\": 3}]}"));
        ProxyHarness proxy(withHub(hub));
        EchoServer echo;
        const auto burst = [](RawWsClient &c, const QString &prefix) {
            QByteArray wire;
            for (int i = 1; i <= 10; ++i)
                wire += ws::MessageEncoder::encode(1, (prefix + QString::number(i)).toUtf8(), true).wire;
            QCOMPARE(::write(c.fd, wire.constData(), size_t(wire.size())), ssize_t(wire.size()));
        };
        RawWsClient stalled;
        QVERIFY(stalled.open(proxy.port(), echo.url(QStringLiteral("/stall"))));
        burst(stalled, QStringLiteral("s"));
        QVERIFY(QTest::qWaitFor([&] { return echo.texts.size() >= 3; }, WaitMs));
        QTest::qWait(300); // the rest would be there by now
        QCOMPARE(echo.texts, (QStringList {"s1", "s2", "s3"}));
        const auto s =
            proxy.waitSession([](const auto &x) { return x.path == "/stall" && !x.faults.isEmpty(); });
        QVERIFY(s);
        SessionCommand resume;
        resume.kind = SessionCommand::Kind::Stall;
        resume.from = Direction::ClientToServer;
        resume.on = false;
        QVERIFY(run(proxy, s->id, resume).ok);
        QVERIFY(QTest::qWaitFor([&] { return echo.texts.size() == 10; }, WaitMs));
        QCOMPARE(echo.texts.last(), QStringLiteral("s10"));

        echo.texts.clear();
        RawWsClient reset;
        QVERIFY(reset.open(proxy.port(), echo.url(QStringLiteral("/reset"))));
        burst(reset, QStringLiteral("r"));
        QCOMPARE(reset.ending(), ECONNRESET);
        QTest::qWait(200);
        QCOMPARE(echo.texts, (QStringList {"r1", "r2", "r3"}));
    }

    void latencyWithJitterKeepsTheOrder()
    {
        // A delay rule with jitter on what the server sends (latency per direction): each message waits
        // 100 +- 80 ms, drawn per message, and none overtakes another (a message waits behind an earlier
        // one still delayed). The client's messages cross without delay.
        auto hub = std::make_shared<intercept::InterceptHub>();
        hub->setRules(rules("{\"rules\": [{\"name\": \"lag\", \"match\": {\"direction\": \"server\"},"
                            " \"action\": \"delay\", \"ms\": 100, \"jitterMs\": 80}]}"));
        ProxyHarness proxy(withHub(hub));
        EchoServer echo;
        auto client = openClient(echo.url(QStringLiteral("/lag")), proxy.networkProxy());
        QVERIFY(client);
        QStringList got;
        QElapsedTimer clock;
        std::vector<qint64> arrived;
        connect(client.get(), &QWebSocket::textMessageReceived, this, [&](const QString &m) {
            got << m;
            arrived.push_back(clock.elapsed());
        });
        QStringList sent;
        clock.start();
        for (int i = 0; i < 20; ++i) {
            sent << QStringLiteral("m%1").arg(i);
            client->sendTextMessage(sent.last());
            QTest::qWait(5);
        }
        QVERIFY(QTest::qWaitFor([&] { return got.size() == sent.size(); }, WaitMs));
        QCOMPARE(got, sent); // in order
        QVERIFY2(arrived.front() >= 20, qPrintable(QString::number(arrived.front()))); // at least 100 - 80
        const auto s = proxy.waitSession([](const auto &s) { return s.path == "/lag"; });
        QVERIFY(s);
        QVERIFY(proxy.waitMessages(s->id, 40));
        std::vector<int> drawn;
        const QRegularExpression note(
            QStringLiteral("rule 1 'lag': delay (\\d+) ms \\(100 ± 80, uniform\\)"));
        for (const auto &m : proxy.messages(s->id)) {
            if (m.record.direction() == Direction::ClientToServer) {
                QVERIFY2(!m.record.has(MessageFlag::Delayed), qPrintable(m.note));
                continue;
            }
            const auto match = note.match(m.note);
            QVERIFY2(match.hasMatch(), qPrintable(m.note));
            drawn.push_back(match.captured(1).toInt());
            QVERIFY(m.record.has(MessageFlag::Delayed) || drawn.back() == 0);
        }
        QCOMPARE(drawn.size(), size_t(20));
        const auto [low, high] = std::minmax_element(drawn.begin(), drawn.end());
        QVERIFY2(*low >= 20 && *high <= 180 && *low < *high,
                 qPrintable(QStringLiteral("%1..%2").arg(*low).arg(*high)));
    }

    void throttleSlowsOneDirection()
    {
        // A throttle on what the server sends (20,000 bytes/s): the client's 32 KB reach the server at
        // once, the echoes come back no faster than the rate; the session says so.
        auto hub = std::make_shared<intercept::InterceptHub>();
        hub->setRules(
            rules("{\"rules\": [{\"name\": \"slow\", \"match\": {\"path\": \"/slow\","
                  " \"direction\": \"server\"}, \"action\": \"throttle\", \"bytesPerSecond\": 20000}]}"));
        ProxyHarness proxy(withHub(hub));
        EchoServer echo;
        auto client = openClient(echo.url(QStringLiteral("/slow")), proxy.networkProxy());
        QVERIFY(client);
        int got = 0;
        connect(client.get(), &QWebSocket::textMessageReceived, this, [&] { ++got; });
        QElapsedTimer clock;
        clock.start();
        for (int i = 0; i < 8; ++i)
            client->sendTextMessage(QString(4000, QLatin1Char('a' + i)));
        QVERIFY(QTest::qWaitFor([&] { return echo.texts.size() == 8; }, WaitMs));
        const qint64 serverHadAll = clock.elapsed();
        QVERIFY2(got < 8, qPrintable(QStringLiteral("%1 echoes after %2 ms").arg(got).arg(serverHadAll)));
        QVERIFY(QTest::qWaitFor([&] { return got == 8; }, WaitMs));
        // 32 KB at 20,000 bytes/s, less the bucket's first twentieth of a second: at least 1.4 s.
        QVERIFY2(clock.elapsed() >= 1400, qPrintable(QString::number(clock.elapsed())));
        const auto s =
            proxy.waitSession([](const auto &s) { return s.path == "/slow" && !s.faults.isEmpty(); });
        QVERIFY(s);
        QVERIFY2(s->faults.join(' ').contains(
                     QStringLiteral("throttled server → client to 20000 bytes/s (rule 1 'slow')")),
                 qPrintable(s->faults.join(' ')));
    }

    void faultRulesRefuseBadFields()
    {
        const std::pair<const char *, const char *> bad[] = {
            {"{\"rules\": [{\"match\": {\"direction\": \"server\"}, \"action\": \"reset\", \"afterMs\": "
             "10}]}",
             "a fault after a time (afterMs) looks at no message"},
            {"{\"rules\": [{\"action\": \"stall\", \"afterMs\": 10, \"afterMessages\": 2}]}", "not both"},
            {"{\"rules\": [{\"action\": \"close\", \"code\": 70000}]}", "field 'code'"},
            {"{\"rules\": [{\"action\": \"close\", \"stop\": \"client\"}]}", "not used by action 'close'"},
            {"{\"rules\": [{\"action\": \"stall\", \"stop\": \"nobody\"}]}", "unknown stop 'nobody'"},
            {"{\"rules\": [{\"action\": \"reset\", \"afterMessages\": 0}]}", "field 'afterMessages'"},
            {"{\"rules\": [{\"match\": {\"payload\": \"x\"}, \"action\": \"throttle\", \"bytesPerSecond\": "
             "10}]}",
             "a throttle slows every byte of a direction"},
            {"{\"rules\": [{\"action\": \"throttle\"}]}", "missing (action 'throttle' needs it)"},
            {"{\"rules\": [{\"action\": \"throttle\", \"bytesPerSecond\": -5}]}", "field 'bytesPerSecond'"},
        };
        QString error;
        for (const auto &[json, why] : bad) {
            QVERIFY(!intercept::RuleSet::fromJson(QByteArray(json), &error));
            QVERIFY2(error.contains(QLatin1String(why)), qPrintable(error));
        }
        const QByteArray longReason =
            "{\"rules\": [{\"action\": \"close\", \"reason\": \"" + QByteArray(124, 'x') + "\"}]}";
        QVERIFY(!intercept::RuleSet::fromJson(longReason, &error));
        QVERIFY2(error.contains(QLatin1String("at most 123")), qPrintable(error));
        // Round trip: what the JSON says comes back the same.
        const auto set = intercept::RuleSet::fromJson(
            QByteArray("{\"rules\": [{\"match\": {\"path\": \"/x\"}, \"action\": \"close\", \"code\": 1011,"
                       " \"reason\": \"later\", \"toward\": \"server\", \"afterMs\": 1500},"
                       "{\"match\": {\"direction\": \"client\"}, \"action\": \"stall\", \"stop\": \"client\","
                       " \"afterMessages\": 4},"
                       "{\"action\": \"delay\", \"ms\": 200, \"jitterMs\": 30, \"spread\": \"normal\"},"
                       "{\"match\": {\"direction\": \"server\"}, \"action\": \"throttle\", "
                       "\"bytesPerSecond\": 5000}]}"),
            &error);
        QVERIFY2(set, qPrintable(error));
        const auto again = intercept::RuleSet::fromJson(QJsonDocument(set->toJson()).toJson(), &error);
        QVERIFY2(again, qPrintable(error));
        QCOMPARE(again->toJson(), set->toJson());
        const intercept::Rule &close = again->rules[0];
        QCOMPARE(close.closeCode, 1011);
        QCOMPARE(close.closeReason, QByteArray("later"));
        QCOMPARE(close.toward, intercept::SenderMatch::Server);
        QCOMPARE(close.afterMs, 1500);
        QCOMPARE(again->rules[1].afterMessages, 4);
        QCOMPARE(again->rules[1].stop, intercept::SenderMatch::Client);
        QCOMPARE(again->rules[2].jitterMs, 30);
        QCOMPARE(again->rules[2].spread, intercept::Spread::Normal);
        QCOMPARE(again->rules[3].bytesPerSecond, 5000);
        QCOMPARE(again->rules[3].match.sender, intercept::SenderMatch::Server);
        for (int i = 0; i < 1000; ++i) { // never below zero, however the normal spread falls
            const int ms = intercept::drawDelay(again->rules[2]);
            QVERIFY(ms >= 0 && ms <= 600000);
        }
    }

    void respondRulesRefuseBadTemplates()
    {
        // Each bad rule is refused at load, with the field and why.
        const std::pair<const char *, const char *> bad[] = {
            {"{\"rules\": [{\"match\": {\"regex\": \"a(b)\"}, \"action\": \"respond\", \"payload\": "
             "\"{{2}}\"}]}",
             "{{2}}: match.regex has 1 group(s)"},
            {"{\"rules\": [{\"match\": {\"payload\": \"x\"}, \"action\": \"respond\", \"payload\": "
             "\"{{1}}\"}]}",
             "the rule has none"},
            {"{\"rules\": [{\"match\": {\"payload\": \"x\"}, \"action\": \"respond\", \"payload\": "
             "\"{{id}}\"}]}",
             "neither a JSON path"},
            {"{\"rules\": [{\"match\": {\"payload\": \"x\"}, \"action\": \"respond\"}]}",
             "'payload' (text, a template) or 'base64'"},
            {"{\"rules\": [{\"match\": {\"payload\": \"x\"}, \"action\": \"echo\", \"payload\": \"y\"}]}",
             "not used by action 'echo'"},
        };
        QString error;
        for (const auto &[json, why] : bad) {
            QVERIFY(!intercept::RuleSet::fromJson(QByteArray(json), &error));
            QVERIFY2(error.contains(QLatin1String(why)), qPrintable(error));
        }
        // A binary answer round-trips through the JSON.
        const auto set = intercept::RuleSet::fromJson(
            QByteArray("{\"rules\": [{\"match\": {\"payload\": \"x\"}, \"action\": \"respond\", \"base64\": "
                       "\"AAH/\", \"forward\": false}]}"),
            &error);
        QVERIFY2(set, qPrintable(error));
        QCOMPARE(set->rules.front().payload, QByteArray("\x00\x01\xff", 3));
        const auto again = intercept::RuleSet::fromJson(QJsonDocument(set->toJson()).toJson(), &error);
        QVERIFY(again && again->rules.front().respondBinary && !again->rules.front().forward);
    }

    void continueDecidesWhetherLaterRulesApply_data()
    {
        QTest::addColumn<bool>("continueAfterFirst");
        QTest::newRow("first match wins") << false;
        QTest::newRow("continue: both, in order") << true;
    }

    void continueDecidesWhetherLaterRulesApply()
    {
        // Two matching replace rules. Without "continue" the first one ends the evaluation; with it the
        // second works on the first one's result (a -> b, then b -> c), and the note names both in order.
        QFETCH(bool, continueAfterFirst);
        auto hub = std::make_shared<intercept::InterceptHub>();
        hub->setRules(rules(QByteArray("{\"rules\": ["
                                       "{\"name\": \"first\", \"match\": {\"direction\": \"client\"},"
                                       " \"action\": \"regex-replace\", \"pattern\": \"a\", \"with\": \"b\"")
                            + (continueAfterFirst ? ", \"continue\": true}," : "},")
                            + "{\"name\": \"second\", \"match\": {\"direction\": \"client\"},"
                              " \"action\": \"regex-replace\", \"pattern\": \"b\", \"with\": \"c\"}]}"));
        ProxyHarness proxy(withHub(hub));
        RawWsServer upstream;
        RawClient client;
        QVERIFY(client.connect(proxy.port()));
        const QByteArray host = "127.0.0.1:" + QByteArray::number(upstream.port());
        client.send(RawClient::upgradeRequest("ws://" + host + "/c", host, ws::Handshake::generateKey()));
        const auto head = client.readResponseHead();
        QVERIFY(head && head->status == 101);
        client.send(ws::FrameWriter::frame(ws::Opcode::Text, "[a]", true));
        QByteArray received;
        QVERIFY(QTest::qWaitFor(
            [&] {
                ws::decodeMessages(upstream.received, ws::FrameParser::Sender::Client, 0,
                                   [&](const auto &m) { received = m.payload.toByteArray(); });
                return !received.isEmpty();
            },
            WaitMs));
        QCOMPARE(received, continueAfterFirst ? QByteArray("[c]") : QByteArray("[b]"));
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Open; });
        QVERIFY(s);
        QVERIFY(proxy.waitMessages(s->id, 1));
        const auto m = proxy.messages(s->id).front();
        QVERIFY(m.record.has(MessageFlag::Edited));
        QCOMPARE(m.original, QByteArray("[a]"));
        const qsizetype first = m.note.indexOf("rule 1 'first'");
        const qsizetype second = m.note.indexOf("rule 2 'second'");
        QVERIFY2(first >= 0, qPrintable(m.note));
        if (continueAfterFirst)
            QVERIFY2(second > first, qPrintable(m.note));
        else
            QVERIFY2(second < 0, qPrintable(m.note));
    }

    void deflatePeersKeepDecoding_data()
    {
        QTest::addColumn<int>("bits");
        QTest::addColumn<bool>("noContextTakeover");
        for (int bits = 9; bits <= 15; ++bits) {
            QTest::addRow("%d bits", bits) << bits << false;
            QTest::addRow("%d bits, no context takeover", bits) << bits << true;
        }
    }

    void deflatePeersKeepDecoding()
    {
        // python3-websockets compresses with context takeover: later messages refer back to earlier ones.
        // Socktap drops and changes messages both ways; both peers must decode everything after.
        QFETCH(int, bits);
        QFETCH(bool, noContextTakeover);
        const QString script = QStringLiteral(SOCKTAP_SOURCE_DIR "/tests/support/deflate_peer.py");
        QProcess server;
        server.start(
            QStringLiteral("/usr/bin/python3"),
            {script, QStringLiteral("server"), QString::number(bits), noContextTakeover ? "1" : "0"});
        const auto stop = qScopeGuard([&] {
            server.kill();
            server.waitForFinished();
        });
        QVERIFY(QTest::qWaitFor([&] { return server.canReadLine(); }, WaitMs));
        const QByteArray portLine = server.readLine().trimmed();
        QVERIFY2(portLine.startsWith("port "), portLine.constData());
        auto hub = std::make_shared<intercept::InterceptHub>();
        hub->setRules(
            rules("{\"rules\": ["
                  "{\"match\": {\"direction\": \"client\", \"payload\": \"DROP ME\"}, \"action\": \"drop\"},"
                  "{\"match\": {\"direction\": \"client\"}, \"action\": \"regex-replace\","
                  " \"pattern\": \"token-(\\\\d+)\", \"with\": \"token-<$1>\"},"
                  "{\"match\": {\"direction\": \"server\", \"payload\": \"second\"}, \"action\": \"replace\","
                  " \"payload\": \"{\\\"edited\\\": \\\"by socktap\\\"}\"}]}"));
        proxy::ProxyConfig config = withHub(hub);
        config.reverse = http::RequestTarget::parseAbsolute("ws://127.0.0.1:" + portLine.mid(5));
        ProxyHarness proxy(config);
        const QString shared =
            QStringLiteral("{\"channel\": \"prices\", \"symbols\": [\"AAA\", \"BBB\"], \"n\": ");
        const QStringList messages = {shared + "1} first", shared + "2} DROP ME",
                                      shared + "3} second token-42", shared + "4} third",
                                      shared + "5} fourth token-7"};
        QProcess client;
        client.start(QStringLiteral("/usr/bin/python3"),
                     QStringList {script, QStringLiteral("client"),
                                  QStringLiteral("ws://127.0.0.1:%1/feed").arg(proxy.port()),
                                  QString::number(bits), noContextTakeover ? "1" : "0"}
                         + messages);
        // Not waitForFinished(): the proxy's listener needs this thread's event loop.
        QVERIFY(QTest::qWaitFor([&] { return client.state() == QProcess::NotRunning; }, 30000));
        const QByteArray clientOut = client.readAllStandardOutput();
        QVERIFY2(client.exitCode() == 0, (clientOut + client.readAllStandardError()).constData());
        QTest::qWait(50);
        const QByteArray serverOut = server.readAllStandardOutput();
        const auto lines = [](const QByteArray &out) {
            QStringList got;
            for (const QByteArray &line : out.split('\n')) {
                if (line.startsWith('{'))
                    got.append(QJsonDocument::fromJson(line).object().value("received").toString());
            }
            return got;
        };
        QCOMPARE(lines(serverOut),
                 QStringList({shared + "1} first", shared + "3} second token-<42>", shared + "4} third",
                              shared + "5} fourth token-<7>", "finish"}));
        QCOMPARE(
            lines(clientOut),
            QStringList({"echo: " + shared + "1} first", "{\"edited\": \"by socktap\"}",
                         "echo: " + shared + "4} third", "echo: " + shared + "5} fourth token-<7>", "bye"}));
        const auto s = proxy.waitSession([](const auto &s) { return s.deflate.has_value(); });
        QVERIFY(s);
        QCOMPARE(s->deflate->clientMaxWindowBits, bits);
        QCOMPARE(s->deflate->clientNoContextTakeover, noContextTakeover);
        QVERIFY(proxy.waitMessages(s->id, 10));
        int reencoded = 0, compressed = 0;
        for (const auto &m : proxy.messages(s->id)) {
            reencoded += m.record.has(MessageFlag::Reencoded);
            if (!m.record.has(MessageFlag::Compressed))
                continue;
            // Every frame of a compressed message is there, single-frame ones too (most browser traffic).
            ++compressed;
            QCOMPARE(m.frames.size(), size_t(m.record.frameCount));
            QVERIFY(m.frames.front().rsv1());
        }
        QVERIFY(compressed >= 6);
        // With context takeover every compressed message after the first change is re-compressed.
        QCOMPARE(reencoded > 0, !noContextTakeover);
    }

    void scriptsWithDeflatePeers()
    {
        // Scripts on python3-websockets peers that compress with context takeover: onRequest and onResponse
        // rewrite the handshake, onClientMessage drops and edits and, being stateful, injects a message
        // toward the server after the client's third; onServerMessage replaces one. Both peers decode
        // everything after (Socktap re-compresses what it changed), and the injection lands in order.
        const QString peer = QStringLiteral(SOCKTAP_SOURCE_DIR "/tests/support/deflate_peer.py");
        QProcess server;
        server.start(QStringLiteral("/usr/bin/python3"), {peer, QStringLiteral("server"), "15", "0"});
        const auto stop = qScopeGuard([&] {
            server.kill();
            server.waitForFinished();
        });
        QVERIFY(QTest::qWaitFor([&] { return server.canReadLine(); }, WaitMs));
        const QByteArray portLine = server.readLine().trimmed();
        QVERIFY2(portLine.startsWith("port "), portLine.constData());
        auto hub = std::make_shared<intercept::InterceptHub>();
        intercept::ScriptSet set;
        set.scripts.push_back(
            {QStringLiteral("feed.js"), QStringLiteral("/scripts/feed.js"),
             QStringLiteral("function onRequest(h) { h.headers['X-Token'] = 'fresh for ' + h.path; }\n"
                            "function onResponse(h) { h.headers['X-Seen-By'] = 'feed.js ' + h.status; }\n"
                            "function onClientMessage(m, session) {\n"
                            "    session.state.n = (session.state.n || 0) + 1;\n"
                            "    if (m.text.indexOf('DROP ME') >= 0) return null;\n"
                            "    if (session.state.n === 3) session.send('server', 'injected after ' + "
                            "session.state.n);\n"
                            "    return m.text.replace(/token-(\\d+)/, 'token-<$1>');\n"
                            "}\n"
                            "function onServerMessage(m) {\n"
                            "    if (m.text.indexOf('second') >= 0) return '{\"edited\": \"by feed.js\"}';\n"
                            "}\n")});
        QVERIFY2(hub->setScripts(set).isEmpty(), "the script did not load");
        proxy::ProxyConfig config = withHub(hub);
        config.reverse = http::RequestTarget::parseAbsolute("ws://127.0.0.1:" + portLine.mid(5));
        ProxyHarness proxy(config);
        const QString shared =
            QStringLiteral("{\"channel\": \"prices\", \"symbols\": [\"AAA\", \"BBB\"], \"n\": ");
        QProcess client;
        client.start(QStringLiteral("/usr/bin/python3"),
                     QStringList {peer, QStringLiteral("client"),
                                  QStringLiteral("ws://127.0.0.1:%1/feed").arg(proxy.port()), "15", "0",
                                  shared + "1} first", shared + "2} DROP ME", shared + "3} second token-42",
                                  shared + "4} third", shared + "5} fourth token-7"});
        QVERIFY(QTest::qWaitFor([&] { return client.state() == QProcess::NotRunning; }, 30000));
        const QByteArray clientOut = client.readAllStandardOutput();
        QVERIFY2(client.exitCode() == 0, (clientOut + client.readAllStandardError()).constData());
        QTest::qWait(50);
        const QByteArray serverOut = server.readAllStandardOutput();
        const auto lines = [](const QByteArray &out) {
            QStringList got;
            for (const QByteArray &line : out.split('\n'))
                if (line.startsWith('{'))
                    got.append(QJsonDocument::fromJson(line).object().value("received").toString());
            return got;
        };
        QVERIFY2(serverOut.contains("request X-Token: fresh for /feed"), serverOut.constData());
        QVERIFY2(clientOut.contains("response X-Seen-By: feed.js 101"), clientOut.constData());
        QVERIFY2(clientOut.contains("negotiated permessage-deflate"), clientOut.constData());
        QCOMPARE(lines(serverOut),
                 QStringList({shared + "1} first", shared + "3} second token-<42>", "injected after 3",
                              shared + "4} third", shared + "5} fourth token-<7>", "finish"}));
        QCOMPARE(lines(clientOut),
                 QStringList({"echo: " + shared + "1} first", "{\"edited\": \"by feed.js\"}",
                              "echo: injected after 3", "echo: " + shared + "4} third",
                              "echo: " + shared + "5} fourth token-<7>", "bye"}));
        const auto s = proxy.waitSession([](const auto &s) { return s.deflate.has_value(); });
        QVERIFY(s);
        QVERIFY(proxy.waitMessages(s->id, 12));
        QString notes = s->handshakeNotes.join(QLatin1Char('\n')) + QLatin1Char('\n');
        int injected = 0;
        for (const auto &m : proxy.messages(s->id)) {
            notes += m.note + QLatin1Char('\n');
            injected += m.record.has(MessageFlag::Injected);
        }
        QCOMPARE(injected, 1);
        for (const char *said : {"script feed.js: set X-Token: fresh for /feed on the request",
                                 "script feed.js: set X-Seen-By: feed.js 101 on the response",
                                 "script feed.js: dropped", "script feed.js: changed"})
            QVERIFY2(notes.contains(QLatin1String(said)), qPrintable(notes));
    }

    void scriptsRejectAndKeepOtherSessionsFlowing()
    {
        // onRequest answers an upgrade itself (the server never asked); an endless loop in one session's
        // hook is stopped at the limit each time, other sessions' messages keep crossing, and after five
        // failures in a row the script is disabled and says so in its log; onClose sees how each ended.
        intercept::ScriptLog::instance().clear();
        auto hub = std::make_shared<intercept::InterceptHub>();
        intercept::ScriptSet set;
        set.timeoutMs = 50;
        set.scripts.push_back(
            {QStringLiteral("gate.js"), QStringLiteral("/scripts/gate.js"),
             QStringLiteral("function onRequest(h) {\n"
                            "    if (h.path === '/closed') return {status: 403, body: 'closed today'};\n"
                            "}\n"
                            "function onMessage(m) {\n"
                            "    if (m.text === 'spin') while (true) {}\n"
                            "}\n")});
        // Another script goes on when the first is disabled.
        set.scripts.push_back(
            {QStringLiteral("log.js"), QStringLiteral("/scripts/log.js"),
             QStringLiteral("function onClose(session, close) {\n"
                            "    console.log('closed', session.url, close.code, close.by);\n"
                            "}\n")});
        QVERIFY(hub->setScripts(set).isEmpty());
        ProxyHarness proxy(withHub(hub));
        EchoServer echo;
        QWebSocket refused;
        refused.setProxy(proxy.networkProxy());
        refused.open(echo.url(QStringLiteral("/closed")));
        QVERIFY(
            QTest::qWaitFor([&] { return refused.error() != QAbstractSocket::UnknownSocketError; }, WaitMs));
        const auto rejected = proxy.waitSession([](const auto &s) { return s.path == "/closed"; });
        QVERIFY(rejected);
        QVERIFY(QTest::qWaitFor([&] { return proxy.store.session(rejected->id)->response.status == 403; },
                                WaitMs));
        QCOMPARE(proxy.store.session(rejected->id)->responseBody,
                 QByteArray("closed today\n")); // (error bodies end with a newline)
        QVERIFY(echo.clients.isEmpty()); // the server was never asked

        auto spinner = openClient(echo.url(QStringLiteral("/spin")), proxy.networkProxy());
        auto other = openClient(echo.url(QStringLiteral("/other")), proxy.networkProxy());
        QVERIFY(spinner && other);
        for (int i = 0; i < 6; ++i)
            spinner->sendTextMessage(QStringLiteral("spin"));
        for (int i = 0; i < 20; ++i)
            other->sendTextMessage(QStringLiteral("other %1").arg(i));
        QVERIFY(QTest::qWaitFor([&] { return echo.texts.count(QStringLiteral("spin")) == 6; }, WaitMs));
        QVERIFY(QTest::qWaitFor([&] { return echo.texts.filter(QStringLiteral("other ")).size() == 20; },
                                WaitMs));
        const auto logged = [] {
            QString all;
            for (const auto &line : intercept::ScriptLog::instance().since(0))
                all += line.display() + QLatin1Char('\n');
            return all;
        };
        QCOMPARE(logged().count(QStringLiteral("stopped after 50 ms")),
                 intercept::ScriptRunner::DisableAfter);
        QVERIFY2(logged().contains(QStringLiteral("gate.js session"))
                     && logged().contains(QStringLiteral("disabled after 5 failures in a row")),
                 qPrintable(logged()));
        spinner->close();
        QVERIFY(
            QTest::qWaitFor([&] { return logged().contains(QStringLiteral("/spin 1000 client")); }, WaitMs));
        QVERIFY2(logged().contains(QStringLiteral("log.js session")), qPrintable(logged()));
    }

    void scriptHoldsForTheUser()
    {
        // {hold: true} puts the message among the held ones, as a breakpoint does: the server gets it only
        // when the user forwards it; the messages after it wait behind it, in order.
        Live live;
        intercept::ScriptSet set;
        set.scripts.push_back({QStringLiteral("bp.js"), QStringLiteral("/scripts/bp.js"),
                               QStringLiteral("function onClientMessage(m) {\n"
                                              "    if (m.text === 'wait') return {hold: true};\n"
                                              "}\n")});
        QVERIFY(live.hub->setScripts(set).isEmpty());
        QVERIFY(live.open());
        live.client->sendTextMessage(QStringLiteral("before"));
        live.client->sendTextMessage(QStringLiteral("wait"));
        live.client->sendTextMessage(QStringLiteral("after"));
        QVERIFY(QTest::qWaitFor([&] { return live.hub->held().size() == 1; }, WaitMs));
        QTest::qWait(100);
        QCOMPARE(live.echo.texts, QStringList {QStringLiteral("before")});
        const auto held = live.hub->held();
        QCOMPARE(held[0].payload, QByteArray("wait"));
        QVERIFY2(held[0].note.contains(QStringLiteral("script bp.js: held")), qPrintable(held[0].note));
        QVERIFY(live.run(release(Direction::ClientToServer, held[0].id)).ok);
        QVERIFY(QTest::qWaitFor([&] { return live.echo.texts.size() == 3; }, WaitMs));
        QCOMPARE(live.echo.texts, (QStringList {"before", "wait", "after"}));
    }

    void scriptMemoryIsBoundedPerCall()
    {
        // A call that keeps allocating is stopped once the memory grew by MemoryPerCall, long before its
        // (here generous) time limit; the message goes on unchanged and the next call runs normally.
        auto hub = std::make_shared<intercept::InterceptHub>();
        intercept::ScriptSet set;
        set.timeoutMs = 30000;
        set.scripts.push_back({QStringLiteral("hog.js"), QStringLiteral("/scripts/hog.js"),
                               QStringLiteral("function onClientMessage(m) {\n"
                                              "    if (m.text !== 'hog') return m.text + '!';\n"
                                              "    var keep = [];\n"
                                              "    while (true) keep.push(new Array(65536).fill(7));\n"
                                              "}\n")});
        QVERIFY(hub->setScripts(set).isEmpty());
        ProxyHarness proxy(withHub(hub));
        EchoServer echo;
        auto client = openClient(echo.url(QStringLiteral("/hog")), proxy.networkProxy());
        QVERIFY(client);
        QElapsedTimer clock;
        clock.start();
        client->sendTextMessage(QStringLiteral("hog"));
        client->sendTextMessage(QStringLiteral("next"));
        QVERIFY(QTest::qWaitFor([&] { return echo.texts.size() == 2; }, 25000));
        QVERIFY2(clock.elapsed() < 25000, "stopped by its time, not its memory");
        QCOMPARE(echo.texts, (QStringList {"hog", "next!"}));
        const auto s = proxy.waitSession();
        QVERIFY(s && proxy.waitMessages(s->id, 1));
        const QString note = proxy.messages(s->id).front().note;
        QVERIFY2(note.contains(QStringLiteral("stopped: memory grew by more than 256 MiB during the call")),
                 qPrintable(note));
    }

    void scriptsCannotHangThroughWhatTheyReturn()
    {
        // What a hook returns is read under its time limit too: a getter that never returns and a thrown
        // object whose JSON form never ends are stopped like a loop in the hook; a header value with a
        // line break is refused, not sent; onClose cannot send any more.
        intercept::ScriptLog::instance().clear();
        auto hub = std::make_shared<intercept::InterceptHub>();
        intercept::ScriptSet set;
        set.timeoutMs = 50;
        set.scripts.push_back(
            {QStringLiteral("tricky.js"), QStringLiteral("/scripts/tricky.js"),
             QStringLiteral(
                 "function onRequest(h) { h.headers['X-Split'] = 'a\\r\\nX-Injected: 1'; }\n"
                 "function onClientMessage(m) {\n"
                 "    if (m.text === 'getter') return { get hold() { while (true) {} } };\n"
                 "    if (m.text === 'thrower') throw { toJSON: function () { while (true) {} } };\n"
                 "}\n"
                 "function onClose(session) { session.send('client', 'too late'); }\n")});
        QVERIFY(hub->setScripts(set).isEmpty());
        ProxyHarness proxy(withHub(hub));
        EchoServer echo;
        QWebSocket client;
        client.setProxy(proxy.networkProxy());
        QNetworkRequest request(echo.url(QStringLiteral("/tricky")));
        client.open(request);
        QVERIFY(QTest::qWaitFor([&] { return client.state() == QAbstractSocket::ConnectedState; }, WaitMs));
        for (const char *m : {"getter", "thrower", "plain"})
            client.sendTextMessage(QLatin1String(m));
        QVERIFY(QTest::qWaitFor([&] { return echo.texts.size() == 3; }, WaitMs));
        QCOMPARE(echo.texts, (QStringList {"getter", "thrower", "plain"}));
        const auto s = proxy.waitSession();
        QVERIFY(s && proxy.waitMessages(s->id, 2));
        const auto messages = proxy.messages(s->id);
        QVERIFY2(messages[0].note.contains(QStringLiteral("stopped after 50 ms")),
                 qPrintable(messages[0].note));
        QVERIFY2(messages[1].note.contains(QStringLiteral("stopped after 50 ms")),
                 qPrintable(messages[1].note));
        const QString handshake = proxy.store.session(s->id)->handshakeNotes.join(QLatin1Char('\n'));
        QVERIFY2(handshake.contains(QStringLiteral("not set on the request: not a valid header field")),
                 qPrintable(handshake));
        client.close();
        const auto logged = [] {
            QString all;
            for (const auto &line : intercept::ScriptLog::instance().since(0))
                all += line.display() + QLatin1Char('\n');
            return all;
        };
        QVERIFY(QTest::qWaitFor([&] { return logged().contains(QStringLiteral("has ended")); }, WaitMs));
    }

    void scriptFormatsServeRules()
    {
        // A format a script registers is a format like the built-in ones for the rules: match.format and
        // decoded conditions match it, and set-field re-encodes with the script's encode.
        auto hub = std::make_shared<intercept::InterceptHub>();
        intercept::ScriptSet set;
        set.scripts.push_back(
            {QStringLiteral("cmd.js"), QStringLiteral("/scripts/cmd.js"),
             QStringLiteral("registerFormat({ name: 'colon-cmd', url: '^/cmd',\n"
                            "  decode: function (m) {\n"
                            "    var i = (m.text || '').indexOf(':');\n"
                            "    return i < 0 ? null : { cmd: m.text.slice(0, i), args: m.text.slice(i + "
                            "1).split(',') };\n"
                            "  },\n"
                            "  encode: function (m, v) { return v.cmd + ':' + v.args.join(','); }\n"
                            "});\n")});
        QVERIFY(hub->setScripts(set).isEmpty());
        hub->setRules(rules(
            "{\"rules\": ["
            "{\"match\": {\"format\": \"colon-cmd\", \"decoded\": \"cmd:sell\"}, \"action\": \"drop\"},"
            "{\"match\": {\"format\": \"colon-cmd\", \"decoded\": \"cmd:rent\"}, \"action\": \"set-field\","
            " \"path\": \"$.cmd\", \"value\": \"lease\"}]}"));
        ProxyHarness proxy(withHub(hub));
        EchoServer echo;
        auto client = openClient(echo.url(QStringLiteral("/cmd")), proxy.networkProxy());
        QVERIFY(client);
        for (const char *m : {"sell:fig", "rent:car,van", "buy:apple"})
            client->sendTextMessage(QLatin1String(m));
        QVERIFY(QTest::qWaitFor([&] { return echo.texts.size() == 2; }, WaitMs));
        QTest::qWait(50);
        QCOMPARE(echo.texts, (QStringList {"lease:car,van", "buy:apple"}));
    }
};

QTEST_MAIN(TestIntercept)
#include "tst_intercept.moc"
