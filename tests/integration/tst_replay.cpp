// Replaying captured sessions with real peers: a session recorded through Socktap against a QWebSocketServer
// is played again through Socktap (so the replay is captured too) and compared; a server whose answers
// change gives per-message verdicts; sessions opened from a native capture and from a Chrome-dialect HAR;
// wss:// with the upstream verified against --upstream-ca; conversation timing keeps the original
// interleaving; Cancel stops cleanly. The CLI (socktap replay) with its exit codes.
#include "certs/CertificateAuthority.h"
#include "core/capture/Har.h"
#include "core/capture/NativeFile.h"
#include "core/proxy/TlsSession.h"
#include "core/replay/Replayer.h"
#include "core/ws/FrameWriter.h"
#include "support/Peers.h"
#include "support/PythonPeer.h"
#include "support/TlsPeers.h"

#include <QBuffer>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QScopeGuard>
#include <QTemporaryDir>
#include <QWebSocketServer>

using namespace socktap;
using namespace socktap::test;
using replay::MessagePair;

namespace {

// Answers each text message with {"count": N, "ts": <ms>, "echo": <text>}, N counting across all its
// connections; after `closeAfter` messages on a connection it closes it with 4000 + the connection's number.
struct CounterServer
{
    QWebSocketServer server {QStringLiteral("counter"), QWebSocketServer::NonSecureMode};
    int connections = 0;
    int count = 0;
    int closeAfter = 3;

    CounterServer()
    {
        if (!server.listen(QHostAddress::LocalHost, 0))
            qFatal("counter server did not listen");
        QObject::connect(&server, &QWebSocketServer::newConnection, [this] {
            while (QWebSocket *ws = server.nextPendingConnection()) {
                ws->setParent(&server);
                const int number = ++connections;
                auto seen = std::make_shared<int>(0);
                QObject::connect(
                    ws, &QWebSocket::textMessageReceived, ws, [this, ws, number, seen](const QString &m) {
                        const QJsonObject reply {
                            {"count", ++count}, {"ts", QDateTime::currentMSecsSinceEpoch()}, {"echo", m}};
                        ws->sendTextMessage(
                            QString::fromUtf8(QJsonDocument(reply).toJson(QJsonDocument::Compact)));
                        if (++*seen == closeAfter)
                            ws->close(QWebSocketProtocol::CloseCode(4000 + number), QStringLiteral("done"));
                    });
            }
        });
    }
    QUrl url(const QString &path = QStringLiteral("/count")) const
    {
        return QUrl(QStringLiteral("ws://127.0.0.1:%1%2").arg(server.serverPort()).arg(path));
    }
};

// Answers "A" with "X" after 150 ms, anything else at once with "Y": a client that waits for X before
// sending B is the conversation the replay must keep.
struct SlowServer
{
    QWebSocketServer server {QStringLiteral("slow"), QWebSocketServer::NonSecureMode};
    int open = 0;

    SlowServer()
    {
        if (!server.listen(QHostAddress::LocalHost, 0))
            qFatal("slow server did not listen");
        QObject::connect(&server, &QWebSocketServer::newConnection, [this] {
            while (QWebSocket *ws = server.nextPendingConnection()) {
                ws->setParent(&server);
                ++open;
                QObject::connect(ws, &QWebSocket::disconnected, ws, [this, ws] {
                    --open;
                    ws->deleteLater();
                });
                QObject::connect(ws, &QWebSocket::textMessageReceived, ws, [ws](const QString &m) {
                    if (m == u"A")
                        QTimer::singleShot(150, ws, [ws] { ws->sendTextMessage(QStringLiteral("X")); });
                    else
                        ws->sendTextMessage(QStringLiteral("Y"));
                });
            }
        });
    }
    QUrl url() const { return QUrl(QStringLiteral("ws://127.0.0.1:%1/slow").arg(server.serverPort())); }
};

bool ended(const capture::CaptureStore &store, capture::SessionId id)
{
    const auto s = store.session(id);
    return s && (s->state == capture::SessionState::Closed || s->state == capture::SessionState::Failed);
}

// The session whose client port is `port`, once it has ended.
capture::SessionId endedSessionFrom(const capture::CaptureStore &store, quint16 port)
{
    capture::SessionId found = 0;
    (void)QTest::qWaitFor(
        [&] {
            for (capture::SessionId id : store.sessionIds())
                if (store.session(id)->clientPort == port && ended(store, id))
                    found = id;
            return found != 0;
        },
        WaitMs);
    return found;
}

struct ReplayRun
{
    replay::Replayer::Result result;
    capture::SessionId session = 0; // the replay's, in the proxy's store
    replay::Comparison comparison;
};

ReplayRun replayThrough(ProxyHarness &proxy, const replay::ReplayPlan &plan,
                        replay::Replayer::Options options = {}, const replay::CompareOptions &compare = {})
{
    options.proxy = proxy.networkProxy();
    replay::Replayer replayer(plan, options);
    bool finished = false;
    QObject::connect(&replayer, &replay::Replayer::finished, [&] { finished = true; });
    replayer.start();
    ReplayRun run;
    if (!QTest::qWaitFor([&] { return finished; }, 3 * WaitMs))
        return run;
    run.result = replayer.result();
    if (!run.result.error.isEmpty())
        return run;
    run.session = endedSessionFrom(proxy.store, run.result.localPort);
    const replay::CapturedSession again = replay::capturedSession(proxy.store, run.session);
    run.comparison =
        replay::compare(plan.originalMessages, again.messages, plan.originalClose, again.close, compare);
    return run;
}

// A client through the proxy that sends each message and waits for one answer before the next; then
// closes with 1000 unless the server closed first. Returns the session's id once it has ended.
capture::SessionId record(ProxyHarness &proxy, const QUrl &url, const QStringList &messages,
                          const std::optional<QSslConfiguration> &ssl = {})
{
    QWebSocket ws;
    ws.setProxy(proxy.networkProxy());
    if (ssl)
        ws.setSslConfiguration(*ssl);
    int answers = 0;
    QObject::connect(&ws, &QWebSocket::textMessageReceived, [&] { ++answers; });
    ws.open(url);
    if (!QTest::qWaitFor([&] { return ws.state() == QAbstractSocket::ConnectedState; }, WaitMs))
        return 0;
    const quint16 port = ws.localPort();
    for (const QString &m : messages) {
        const int before = answers;
        ws.sendTextMessage(m);
        if (!QTest::qWaitFor(
                [&] { return answers > before || ws.state() != QAbstractSocket::ConnectedState; }, WaitMs))
            return 0;
    }
    if (ws.state() == QAbstractSocket::ConnectedState)
        ws.close();
    (void)QTest::qWaitFor([&] { return ws.state() == QAbstractSocket::UnconnectedState; }, WaitMs);
    return endedSessionFrom(proxy.store, port);
}

QStringList directions(const capture::CaptureStore &store, capture::SessionId id)
{
    QStringList out;
    for (quint64 i = 0; i < store.messageCount(id); ++i) {
        const auto m = store.message(id, i);
        if (m && (m->record.opcode == 1 || m->record.opcode == 2))
            out.append((m->record.direction() == capture::Direction::ClientToServer ? "> " : "< ")
                       + QString::fromUtf8(m->payload));
    }
    return out;
}

// Removes every "_socktap..." member, and names Chrome as the creator: what DevTools itself writes.
QJsonValue asChrome(const QJsonValue &v)
{
    if (v.isArray()) {
        QJsonArray out;
        for (const QJsonValue &e : v.toArray())
            out.append(asChrome(e));
        return out;
    }
    if (!v.isObject())
        return v;
    QJsonObject out;
    const QJsonObject o = v.toObject();
    for (auto it = o.begin(); it != o.end(); ++it)
        if (!it.key().startsWith(u"_socktap"))
            out.insert(it.key(), asChrome(it.value()));
    if (out.contains("creator"))
        out["creator"] = QJsonObject {{"name", "WebInspector"}, {"version", "537.36"}};
    return out;
}

} // namespace

class TestReplay final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase() { QNetworkProxyFactory::setUseSystemConfiguration(false); }

    void recordedSessionReplaysEqual()
    {
        EchoServer echo;
        ProxyHarness proxy;
        const capture::SessionId original =
            record(proxy, echo.url(QStringLiteral("/chat")), {"hello", "{\"n\": 1}", "bye"});
        QVERIFY(original);
        QString error;
        const auto plan = replay::planReplay(proxy.store, original, &error);
        QVERIFY2(plan, qPrintable(error));
        QCOMPARE(plan->url, echo.url(QStringLiteral("/chat")));
        QCOMPARE(plan->steps.size(), size_t(4)); // three messages and the Close
        const ReplayRun run = replayThrough(proxy, *plan);
        QVERIFY2(run.result.error.isEmpty(), qPrintable(run.result.error));
        QVERIFY(run.session && run.session != original); // captured as a session of its own
        QCOMPARE(run.result.sent, 3);
        QCOMPARE(run.comparison.server.equal, 3);
        QVERIFY2(run.comparison.serverMatched(), qPrintable(replay::comparisonText(run.comparison)));
        QVERIFY(run.comparison.client.matched());
        QVERIFY(run.comparison.verdict().startsWith("EQUAL"));
        QCOMPARE(proxy.store.session(run.session)->replayOf(), original); // linked to its original
        QCOMPARE(proxy.store.session(original)->replayOf(), 0u);
    }

    void changedAnswersGetPerMessageVerdicts()
    {
        CounterServer counter;
        ProxyHarness proxy;
        const capture::SessionId original = record(proxy, counter.url(), {"a", "b", "c"});
        QVERIFY(original);
        auto plan = replay::planReplay(proxy.store, original, nullptr);
        QVERIFY(plan);
        counter.closeAfter = 2; // the server changed: it now closes earlier, and counts on
        const ReplayRun run = replayThrough(proxy, *plan, {}, replay::CompareOptions {{"ts"}, {}});
        QVERIFY2(run.result.error.isEmpty(), qPrintable(run.result.error));
        const replay::DirectionComparison &s = run.comparison.server;
        QCOMPARE(s.pairs.size(), size_t(3));
        QCOMPARE(s.different, 2);
        QCOMPARE(s.missing, 1);
        QCOMPARE(s.pairs[0].verdict, MessagePair::Verdict::Different);
        QCOMPARE(s.pairs[0].differences, QStringList {"$.count: 1 -> 4"}); // "ts" ignored as asked
        QCOMPARE(s.pairs[1].differences, QStringList {"$.count: 2 -> 5"});
        QCOMPARE(s.pairs[2].verdict, MessagePair::Verdict::Missing);
        QVERIFY(!run.comparison.closeMatched()); // 4001 then, 4002 now, and earlier
        QCOMPARE(run.comparison.originalClose[1].code, std::optional<quint16>(4001));
        QCOMPARE(run.comparison.replayClose[1].code, std::optional<quint16>(4002));
        QVERIFY2(
            run.comparison.verdict().startsWith("DIFFERENT: 2 of 3 server messages differ, 1 missing, the "
                                                "server's close 4001 \"done\" -> 4002 \"done\""),
            qPrintable(run.comparison.verdict()));
        // Without ignoring "ts", the timestamps differ too.
        const auto again = replay::compare(
            plan->originalMessages, replay::capturedSession(proxy.store, run.session).messages,
            plan->originalClose, replay::capturedSession(proxy.store, run.session).close);
        QVERIFY(again.server.pairs[0].differences.size() == 2);
    }

    void replaysSessionsOpenedFromFiles()
    {
        EchoServer echo;
        ProxyHarness proxy;
        const capture::SessionId original = record(proxy, echo.url(QStringLiteral("/file")), {"one", "two"});
        QVERIFY(original);
        QTemporaryDir dir;
        QString error;
        // Native capture.
        const QString native = dir.filePath(QStringLiteral("capture.socktap"));
        QVERIFY2(capture::saveNative(proxy.store, {original}, native, &error), qPrintable(error));
        capture::CaptureStore fromNative;
        QVERIFY2(capture::openCapture(native, fromNative, &error), qPrintable(error));
        // A HAR as Chrome DevTools writes it (no Socktap extras).
        QBuffer har;
        har.open(QIODevice::WriteOnly);
        QVERIFY(capture::writeHar(proxy.store, {original}, har, &error));
        const QJsonValue chrome = asChrome(QJsonDocument::fromJson(har.data()).object());
        capture::CaptureStore fromHar;
        const auto imported = capture::importHar(QJsonDocument(chrome.toObject()).toJson(),
                                                 QStringLiteral("chrome.har"), fromHar, &error);
        QVERIFY2(imported, qPrintable(error));
        QCOMPARE(imported->dialect, QStringLiteral("chrome"));
        for (capture::CaptureStore *store : {&fromNative, &fromHar}) {
            const auto plan = replay::planReplay(*store, store->sessionIds().front(), &error);
            QVERIFY2(plan, qPrintable(error));
            QCOMPARE(plan->url, echo.url(QStringLiteral("/file")));
            const ReplayRun run = replayThrough(proxy, *plan);
            QVERIFY2(run.result.error.isEmpty(), qPrintable(run.result.error));
            QCOMPARE(run.comparison.server.equal, 2);
            QVERIFY2(run.comparison.server.matched(), qPrintable(replay::comparisonText(run.comparison)));
        }
    }

    void wssUpstreamIsVerifiedAsTheProxyWould()
    {
        const auto socktapCa = certs::CertificateAuthority::create();
        const auto serverCa = certs::CertificateAuthority::create();
        QTemporaryDir dir;
        const QString serverCaFile = dir.filePath(QStringLiteral("server-ca.pem"));
        QFile f(serverCaFile);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(serverCa->certificatePem());
        f.close();
        SecureEcho server(*serverCa, QStringLiteral("localhost"));
        QString error;
        const auto contexts = [&](bool trust) {
            proxy::ProxyConfig c;
            c.tls = std::make_shared<proxy::TlsContexts>(
                socktapCa.get(), trust ? QStringList {serverCaFile} : QStringList {}, &error);
            return c;
        };
        ProxyHarness proxy(contexts(true)); // as with --upstream-ca server-ca.pem
        const QUrl url(QStringLiteral("wss://localhost:%1/secure").arg(server.port()));
        const capture::SessionId original =
            record(proxy, url, {"tls one", "tls two"}, trusting(socktapCa->certificatePem()));
        QVERIFY(original);
        const auto plan = replay::planReplay(proxy.store, original, &error);
        QVERIFY2(plan, qPrintable(error));
        replay::Replayer::Options options;
        options.trustedCas = {QSslCertificate(socktapCa->certificatePem())};
        const ReplayRun run = replayThrough(proxy, *plan, options);
        QVERIFY2(run.result.error.isEmpty(), qPrintable(run.result.error));
        QVERIFY2(run.comparison.serverMatched(), qPrintable(replay::comparisonText(run.comparison)));
        QVERIFY(proxy.store.session(run.session)->tls.upstreamVerified);
        // A proxy that does not trust the server's CA refuses it for the replay as for any client.
        ProxyHarness untrusting(contexts(false));
        const ReplayRun refused = replayThrough(untrusting, *plan, options);
        QVERIFY(!refused.result.connected);
        QVERIFY(!refused.result.error.isEmpty());
        // Said in Socktap's words (what its 502 said), not QWebSocket's "Unhandled http status code".
        QString why;
        QVERIFY(QTest::qWaitFor(
            [&] {
                why = replay::proxyFailure(untrusting.store, plan->url, refused.result.startedAt);
                return !why.isEmpty();
            },
            WaitMs));
        QVERIFY2(why.contains("certificate") && why.contains("--upstream-ca") && !why.contains("Unhandled"),
                 qPrintable(why));
    }

    void conversationTimingKeepsTheInterleaving()
    {
        SlowServer server;
        ProxyHarness proxy;
        const capture::SessionId original = record(proxy, server.url(), {"A", "B"});
        QVERIFY(original);
        const QStringList interleaving {"> A", "< X", "> B", "< Y"};
        QCOMPARE(directions(proxy.store, original), interleaving);
        const auto plan = replay::planReplay(proxy.store, original, nullptr);
        QVERIFY(plan);
        QCOMPARE(plan->steps[1].serverMessagesBefore, 1);
        replay::Replayer::Options conversation;
        conversation.timing = replay::Timing::Conversation;
        const ReplayRun kept = replayThrough(proxy, *plan, conversation);
        QCOMPARE(directions(proxy.store, kept.session), interleaving);
        QVERIFY(kept.comparison.serverMatched());
        // As fast as possible, B overtakes the server's slow X: the order is the server's, not the original.
        const ReplayRun fast = replayThrough(proxy, *plan);
        QCOMPARE(directions(proxy.store, fast.session), (QStringList {"> A", "> B", "< Y", "< X"}));
        QVERIFY(!fast.comparison.serverMatched()); // X and Y came back in the other order
    }

    void cancelStopsCleanly()
    {
        SlowServer server;
        ProxyHarness proxy;
        capture::SessionId original = 0;
        {
            // B one second after A, so an original-timing replay has something left to cancel.
            QWebSocket ws;
            ws.setProxy(proxy.networkProxy());
            ws.open(server.url());
            QVERIFY(QTest::qWaitFor([&] { return ws.state() == QAbstractSocket::ConnectedState; }, WaitMs));
            const quint16 port = ws.localPort();
            ws.sendTextMessage(QStringLiteral("first"));
            QTest::qWait(1000);
            ws.sendTextMessage(QStringLiteral("second"));
            QTest::qWait(100);
            ws.close();
            QVERIFY(QTest::qWaitFor([&] { return ws.state() == QAbstractSocket::UnconnectedState; }, WaitMs));
            original = endedSessionFrom(proxy.store, port);
        }
        QVERIFY(original);
        QVERIFY(QTest::qWaitFor([&] { return server.open == 0; }, WaitMs));
        const auto plan = replay::planReplay(proxy.store, original, nullptr);
        QVERIFY(plan);
        replay::Replayer::Options options;
        options.timing = replay::Timing::Original;
        options.speed = 0.5; // "second" due two seconds in
        options.proxy = proxy.networkProxy();
        replay::Replayer replayer(*plan, options);
        bool finished = false;
        int sent = 0;
        QObject::connect(&replayer, &replay::Replayer::finished, [&] { finished = true; });
        QObject::connect(&replayer, &replay::Replayer::progress, [&](int s, int) { sent = s; });
        replayer.start();
        QVERIFY(QTest::qWaitFor([&] { return sent == 1; }, WaitMs));
        QTest::qWait(200);
        replayer.cancel();
        QVERIFY(finished); // at once
        QVERIFY(replayer.result().cancelled);
        QVERIFY(!replayer.isRunning());
        QCOMPARE(replayer.result().sent, 1);
        // Nothing left running: the connection is gone on both sides and the capture says so.
        QVERIFY(QTest::qWaitFor([&] { return server.open == 0; }, WaitMs));
        const capture::SessionId replaySession = endedSessionFrom(proxy.store, replayer.result().localPort);
        QVERIFY(replaySession);
        const QStringList before {"> first", "< Y"};
        QCOMPARE(directions(proxy.store, replaySession), before);
        QTest::qWait(2000); // past the time "second" was due
        QCOMPARE(directions(proxy.store, replaySession), before);
    }

    void theServerSeesTheOriginalHeadersNotSocktapsLabel()
    {
        RawWsServer server;
        ProxyHarness proxy;
        RawClient client;
        QVERIFY(client.connect(proxy.port()));
        client.send(
            RawClient::upgradeTo(server.port(), "Cookie: session=abc\r\nUser-Agent: test-agent/1\r\n"));
        QVERIFY(client.readResponseHead());
        client.send(ws::FrameWriter::frame(ws::Opcode::Text, "hi", true));
        QVERIFY(server.waitReceived(8));
        client.socket.close();
        const auto original =
            proxy.waitSession([](const auto &s) { return s.state == capture::SessionState::Closed; });
        QVERIFY(original);
        auto plan = replay::planReplay(proxy.store, original->id, nullptr);
        QVERIFY(plan);
        QVERIFY(plan->setHeader(QStringLiteral("User-Agent: replayer/2")));
        server.requestHead.clear();
        replay::Replayer::Options options;
        options.proxy = proxy.networkProxy();
        options.waitMs = 300;
        replay::Replayer replayer(*plan, options);
        replayer.start();
        QVERIFY(QTest::qWaitFor([&] { return !server.requestHead.isEmpty(); }, WaitMs));
        QVERIFY2(server.requestHead.contains("Cookie: session=abc\r\n"), server.requestHead.constData());
        QVERIFY(server.requestHead.contains("User-Agent: replayer/2\r\n"));
        QVERIFY(!server.requestHead.contains("test-agent"));
        QVERIFY(!server.requestHead.contains("Socktap-Replay-Of")); // Socktap's label stays with Socktap
        replayer.cancel();
    }

    void aServerThatKeepsTalkingDoesNotKeepTheReplayOpen()
    {
        // A ticker: once told "start", a message every 50 ms for as long as the connection lives.
        QWebSocketServer ticker(QStringLiteral("ticker"), QWebSocketServer::NonSecureMode);
        QVERIFY(ticker.listen(QHostAddress::LocalHost, 0));
        QObject::connect(&ticker, &QWebSocketServer::newConnection, [&] {
            while (QWebSocket *ws = ticker.nextPendingConnection()) {
                ws->setParent(&ticker);
                auto *timer = new QTimer(ws);
                QObject::connect(timer, &QTimer::timeout, ws,
                                 [ws] { ws->sendTextMessage(QStringLiteral("tick")); });
                QObject::connect(ws, &QWebSocket::textMessageReceived, timer, [timer] { timer->start(50); });
            }
        });
        ProxyHarness proxy;
        QWebSocket ws;
        ws.setProxy(proxy.networkProxy());
        int ticks = 0;
        QObject::connect(&ws, &QWebSocket::textMessageReceived, [&] { ++ticks; });
        ws.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/ticks").arg(ticker.serverPort())));
        QVERIFY(QTest::qWaitFor([&] { return ws.state() == QAbstractSocket::ConnectedState; }, WaitMs));
        const quint16 port = ws.localPort();
        ws.sendTextMessage(QStringLiteral("start"));
        QVERIFY(QTest::qWaitFor([&] { return ticks >= 2; }, WaitMs));
        ws.abort(); // no Close from the client: the replay ends by itself after the answers
        const capture::SessionId original = endedSessionFrom(proxy.store, port);
        QVERIFY(original);
        const auto plan = replay::planReplay(proxy.store, original, nullptr);
        QVERIFY(plan);
        QElapsedTimer timer;
        timer.start();
        const ReplayRun run = replayThrough(proxy, *plan);
        QVERIFY2(run.result.error.isEmpty(), qPrintable(run.result.error));
        QVERIFY2(timer.elapsed() < 5000, qPrintable(QString::number(timer.elapsed()))); // (forever before)
        QVERIFY(run.comparison.server.extra > 0); // the ticks after the original's end are extra
    }

    void sessionsThatCannotBeReplayedSayWhy()
    {
        ProxyHarness proxy;
        EchoServer echo;
        QString error;
        QVERIFY(!replay::planReplay(proxy.store, 42, &error));
        QCOMPARE(error, QStringLiteral("session 42 cannot be replayed: there is no such session"));
        // A session whose client sent nothing.
        QWebSocket ws;
        ws.setProxy(proxy.networkProxy());
        ws.open(echo.url(QStringLiteral("/quiet")));
        QVERIFY(QTest::qWaitFor([&] { return ws.state() == QAbstractSocket::ConnectedState; }, WaitMs));
        const quint16 port = ws.localPort();
        ws.abort();
        const capture::SessionId quiet = endedSessionFrom(proxy.store, port);
        QVERIFY(quiet);
        QVERIFY(!replay::planReplay(proxy.store, quiet, &error));
        QCOMPARE(error,
                 QStringLiteral("session %1 cannot be replayed: its client sent no messages").arg(quiet));
        // Handshake headers: edited, added, removed; those the client regenerates are refused.
        const capture::SessionId chat = record(proxy, echo.url(QStringLiteral("/h")), {"x"});
        auto plan = replay::planReplay(proxy.store, chat, &error);
        QVERIFY(plan);
        QVERIFY(plan->setHeader(QStringLiteral("X-Replay: yes")));
        QVERIFY(!plan->setHeader(QStringLiteral("Sec-WebSocket-Key: abc"), &error));
        QVERIFY2(error.contains("RFC 6455 4.1"), qPrintable(error));
        QVERIFY(!plan->setHeader(QStringLiteral("no colon"), &error));
        // An unreachable server: a precise error, not a hang.
        plan->url = QUrl(QStringLiteral("ws://127.0.0.1:1/nowhere"));
        const ReplayRun run = replayThrough(proxy, *plan);
        QVERIFY(!run.result.connected);
        QVERIFY2(!run.result.error.isEmpty(), "no error for an unreachable server");
    }

    void commandLineExitsZeroWhenEqualAndFourWhenDifferent()
    {
        CounterServer counter;
        counter.closeAfter = 100;
        ProxyHarness proxy;
        const capture::SessionId original = record(proxy, counter.url(), {"p", "q"});
        QVERIFY(original);
        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("counter.socktap"));
        QString error;
        QVERIFY(capture::saveNative(proxy.store, {original}, file, &error));
        const auto run = [&](const QStringList &extra) {
            QProcess p;
            p.setProcessEnvironment([&] {
                auto env = QProcessEnvironment::systemEnvironment();
                env.insert(QStringLiteral("HOME"), dir.path()); // its own CA and cache
                return env;
            }());
            p.start(QStringLiteral(SOCKTAP_BINARY),
                    QStringList {QStringLiteral("replay"), file, QStringLiteral("--session"),
                                 QString::number(original)}
                        + extra);
            // Not waitForFinished(): the servers it talks to live in this thread's event loop.
            if (!QTest::qWaitFor([&] { return p.state() == QProcess::NotRunning; }, 3 * WaitMs))
                p.kill();
            return std::make_tuple(p.exitCode(), p.readAllStandardOutput(), p.readAllStandardError());
        };
        // The counter goes on: the counts differ, the timestamps too unless ignored.
        auto [code, out, err] = run({QStringLiteral("--ignore-json-key"), QStringLiteral("ts")});
        QVERIFY2(code == 4, (out + err).constData());
        QVERIFY2(out.contains("#1 different text"), out.constData());
        QVERIFY2(out.contains("$.count: 1 -> 3"), out.constData());
        QVERIFY(out.contains("verdict: DIFFERENT: 2 of 2 server messages differ"));
        // --record keeps the replay's capture, labelled.
        const QString recorded = dir.filePath(QStringLiteral("replay.socktap"));
        std::tie(code, out, err) = run({QStringLiteral("--record"), recorded});
        QCOMPARE(code, 4);
        QProcess open;
        open.start(QStringLiteral(SOCKTAP_BINARY), {QStringLiteral("open"), recorded});
        QVERIFY(open.waitForFinished(WaitMs));
        const QByteArray printed = open.readAllStandardOutput();
        QVERIFY2(printed.contains(QStringLiteral("ws open %1 (connect) replay of session %2")
                                      .arg(counter.url().toString())
                                      .arg(original)
                                      .toUtf8()),
                 printed.constData());
        // With the counts ignored as well, it matches; --json says so.
        std::tie(code, out, err) =
            run({QStringLiteral("--ignore-json-key"), QStringLiteral("ts"),
                 QStringLiteral("--ignore-json-key"), QStringLiteral("count"), QStringLiteral("--json")});
        QVERIFY2(code == 0, (out + err).constData());
        const QJsonObject json = QJsonDocument::fromJson(out).object();
        QCOMPARE(json.value("matched").toBool(), true);
        QCOMPARE(json.value("server").toObject().value("equal").toInt(), 2);
        // A session that cannot be replayed: 6 and why.
        std::tie(code, out, err) = run({QStringLiteral("--url"), QStringLiteral("ws://127.0.0.1:1/")});
        QCOMPARE(code, 6);
        QVERIFY2(err.contains("replay failed: ws://127.0.0.1:1/") && err.contains("connection refused")
                     && !err.contains("Error communicating with HTTP proxy"),
                 err.constData());
    }

    void commandLineExitsFourWhenOnlyTheServersCloseDiffers()
    {
        // The server's messages match (their counter and time ignored), but it now closes with another
        // code: 4001 recorded (its first connection), 4002 on the replay (its second). That is a difference,
        // exit 4, and the verdict names it as the server's close.
        CounterServer counter;
        counter.closeAfter = 2;
        ProxyHarness proxy;
        const capture::SessionId original = record(proxy, counter.url(), {"p", "q"});
        QVERIFY(original);
        QCOMPARE(proxy.store.session(original)->close.code[1], std::optional<quint16>(4001));
        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("closes.socktap"));
        QString error;
        QVERIFY(capture::saveNative(proxy.store, {original}, file, &error));
        QProcess p;
        auto env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("HOME"), dir.path());
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(SOCKTAP_BINARY),
                {QStringLiteral("replay"), file, QStringLiteral("--session"), QString::number(original),
                 QStringLiteral("--ignore-json-key"), QStringLiteral("ts"), QStringLiteral("--ignore-json-key"),
                 QStringLiteral("count")});
        if (!QTest::qWaitFor([&] { return p.state() == QProcess::NotRunning; }, 3 * WaitMs))
            p.kill();
        const QByteArray out = p.readAllStandardOutput() + p.readAllStandardError();
        QVERIFY2(p.exitCode() == 4, out.constData());
        QVERIFY2(out.contains("the server's close"), out.constData());
        QVERIFY2(out.contains("4001") && out.contains("4002"), out.constData());
    }

    void wssReplayAgainstPythonIsDeterministic()
    {
        // python3-websockets over wss://, closing with 1000 "bye" after "bye": the server closes first, and
        // the replay must wait for that Close and answer it (racing it with a Close of its own made the
        // verdict depend on which arrived first: 3 runs in 10 differed). A session the client closed first
        // must keep the server's answer (14 runs in 20 lost it). Twenty runs of the real command, both.
        const auto serverCa = certs::CertificateAuthority::create();
        QTemporaryDir dir;
        const auto leaf = serverCa->leafFor(QStringLiteral("127.0.0.1"));
        const auto write = [&](const QString &name, const QByteArray &bytes) {
            QFile f(dir.filePath(name));
            return f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size();
        };
        QVERIFY(write("cert.pem", certs::CertificateAuthority::certificatePem(leaf->certificate.get())));
        QVERIFY(write("key.pem", serverCa->leafKeyPem()));
        QVERIFY(write("ca.pem", serverCa->certificatePem()));
        PythonPeer python;
        QVERIFY2(python.start(QStringLiteral("wss_server.py"), {dir.filePath("cert.pem"), dir.filePath("key.pem")}),
                 python.banner.constData());
        const QUrl url = python.url(QStringLiteral("wss"), QStringLiteral("/chat"));

        QString error;
        proxy::ProxyConfig config;
        config.tls = std::make_shared<proxy::TlsContexts>(serverCa.get(), QStringList {dir.filePath("ca.pem")},
                                                          &error);
        ProxyHarness proxy(config);
        QWebSocket ws;
        ws.setProxy(proxy.networkProxy());
        ws.setSslConfiguration(trusting(serverCa->certificatePem()));
        int answers = 0;
        connect(&ws, &QWebSocket::textMessageReceived, this, [&] { ++answers; });
        ws.open(url);
        QVERIFY(QTest::qWaitFor([&] { return ws.state() == QAbstractSocket::ConnectedState; }, WaitMs));
        const quint16 port = ws.localPort();
        for (const char *m : {"one", "two", "bye"})
            ws.sendTextMessage(QString::fromLatin1(m));
        // The server closes; the client only answers.
        QVERIFY(QTest::qWaitFor([&] { return ws.state() == QAbstractSocket::UnconnectedState; }, WaitMs));
        QCOMPARE(answers, 3);
        const capture::SessionId original = endedSessionFrom(proxy.store, port);
        QVERIFY(original);
        QCOMPARE(proxy.store.session(original)->close.firstCloser, std::optional(capture::Direction::ServerToClient));
        const QString file = dir.filePath("python.socktap");
        QVERIFY(capture::saveNative(proxy.store, {original}, file, &error));

        // And a client that closes first, as QWebSocket does (its Close, then TCP at once): Socktap's
        // close_notify towards the server waits for the server's answering Close (RFC 6455 7.1.1), which
        // Python's TLS stack would otherwise drop. The capture has both Close frames.
        QWebSocket closer;
        closer.setProxy(proxy.networkProxy());
        closer.setSslConfiguration(trusting(serverCa->certificatePem()));
        int echoed = 0;
        connect(&closer, &QWebSocket::textMessageReceived, this, [&] { ++echoed; });
        closer.open(url);
        QVERIFY(QTest::qWaitFor([&] { return closer.state() == QAbstractSocket::ConnectedState; }, WaitMs));
        const quint16 closerPort = closer.localPort();
        closer.sendTextMessage(QStringLiteral("one"));
        QVERIFY(QTest::qWaitFor([&] { return echoed == 1; }, WaitMs));
        closer.close(QWebSocketProtocol::CloseCodeNormal, QStringLiteral("client done"));
        const capture::SessionId clientFirst = endedSessionFrom(proxy.store, closerPort);
        QVERIFY(clientFirst);
        const auto closed = proxy.store.session(clientFirst);
        QVERIFY2(closed->close.handshakeCompleted(), qPrintable(closed->close.detail));
        QCOMPARE(closed->close.code[1], std::optional<quint16>(1000));
        const QString second = dir.filePath("client-first.socktap");
        QVERIFY(capture::saveNative(proxy.store, {clientFirst}, second, &error));

        auto env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("HOME"), dir.path());
        env.insert(QStringLiteral("XDG_CACHE_HOME"), dir.filePath(".cache"));
        env.insert(QStringLiteral("XDG_CONFIG_HOME"), dir.filePath(".config"));
        for (int run = 1; run <= 20; ++run) {
            const QString file = run % 2 ? dir.filePath("python.socktap") : second;
            QProcess p;
            p.setProcessEnvironment(env);
            p.start(QStringLiteral(SOCKTAP_BINARY), {QStringLiteral("replay"), file, QStringLiteral("--upstream-ca"),
                                                     dir.filePath("ca.pem")});
            QVERIFY(p.waitForFinished(3 * WaitMs));
            const QByteArray out = p.readAllStandardOutput() + p.readAllStandardError();
            QVERIFY2(p.exitCode() == 0, qPrintable(QStringLiteral("run %1: %2").arg(run).arg(QString::fromUtf8(out))));
            QVERIFY2(out.contains("the server's close 1000 \"bye\" matched")
                         || out.contains("the server's close 1000 \"client done\" matched"),
                     out.constData());
        }
    }
};

QTEST_MAIN(TestReplay)
#include "tst_replay.moc"
