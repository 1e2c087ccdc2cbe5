// socktap mock with real peers over loopback: a session recorded through Socktap (python3-websockets on
// both ends, permessage-deflate negotiated by them) served again to the Python client, with the recorded
// delays, deflate negotiated for real, the server's Close, the --once verdict and the mock session's flag
// in the capture; content matching with fresh JSON ids (QWebSocket); wss:// with Socktap's CA and an
// unmatched message closing the connection with the chosen code; bad input with its exit codes.
#include "certs/CertificateAuthority.h"
#include "core/capture/NativeFile.h"
#include "core/intercept/InterceptHub.h"
#include "core/proxy/TlsSession.h"
#include "core/replay/MockHost.h"
#include "support/Peers.h"
#include "support/PythonPeer.h"
#include "support/TlsPeers.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QWebSocketServer>

using namespace socktap;
using namespace socktap::test;

namespace {

// Answers {"id": N, "op": X} with {"id": N, "result": "X!"}, a little later than at once.
struct JsonServer
{
    QWebSocketServer server {QStringLiteral("json"), QWebSocketServer::NonSecureMode};

    JsonServer()
    {
        if (!server.listen(QHostAddress::LocalHost, 0))
            qFatal("json server did not listen");
        QObject::connect(&server, &QWebSocketServer::newConnection, [this] {
            while (QWebSocket *ws = server.nextPendingConnection()) {
                ws->setParent(&server);
                QObject::connect(ws, &QWebSocket::textMessageReceived, ws, [ws](const QString &m) {
                    const QJsonObject request = QJsonDocument::fromJson(m.toUtf8()).object();
                    const QJsonObject reply {{"id", request.value("id")},
                                             {"result", request.value("op").toString() + QLatin1Char('!')}};
                    ws->sendTextMessage(
                        QString::fromUtf8(QJsonDocument(reply).toJson(QJsonDocument::Compact)));
                });
            }
        });
    }
    QUrl url() const { return QUrl(QStringLiteral("ws://127.0.0.1:%1/rpc").arg(server.serverPort())); }
};

capture::SessionId endedSession(const capture::CaptureStore &store)
{
    capture::SessionId found = 0;
    (void)QTest::qWaitFor(
        [&] {
            for (capture::SessionId id : store.sessionIds()) {
                const auto s = store.session(id);
                if (s->kind == capture::SessionKind::WebSocket
                    && (s->state == capture::SessionState::Closed
                        || s->state == capture::SessionState::Failed))
                    found = id;
            }
            return found != 0;
        },
        WaitMs);
    return found;
}

// `socktap mock FILE ARGS... --listen 127.0.0.1:0` with its own HOME (CA, cache), its port read from
// its banner.
struct MockProcess
{
    QProcess process;
    quint16 port = 0;
    QByteArray err;

    bool start(const QTemporaryDir &home, const QString &file, const QStringList &args)
    {
        auto env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("HOME"), home.path());
        env.insert(QStringLiteral("XDG_CACHE_HOME"), home.filePath(QStringLiteral(".cache")));
        env.insert(QStringLiteral("XDG_CONFIG_HOME"), home.filePath(QStringLiteral(".config")));
        process.setProcessEnvironment(env);
        process.start(QStringLiteral(SOCKTAP_BINARY),
                      QStringList {QStringLiteral("mock"), file, QStringLiteral("--listen"),
                                   QStringLiteral("127.0.0.1:0")}
                          + args);
        static const QRegularExpression banner(
            QStringLiteral(R"(serving session \d+ of .* on ws://127\.0\.0\.1:(\d+))"));
        (void)QTest::qWaitFor(
            [&] {
                err += process.readAllStandardError();
                const auto m = banner.match(QString::fromUtf8(err));
                if (m.hasMatch())
                    port = quint16(m.captured(1).toUInt());
                return port != 0 || process.state() == QProcess::NotRunning;
            },
            WaitMs);
        return port != 0;
    }
    // Its exit code once it has ended by itself (--once), or after SIGTERM.
    int finish(bool terminate = false)
    {
        if (terminate)
            process.terminate();
        if (!QTest::qWaitFor([&] { return process.state() == QProcess::NotRunning; }, 3 * WaitMs))
            process.kill();
        err += process.readAllStandardError();
        return process.exitCode();
    }
    QUrl url(const QString &scheme, const QString &path) const
    {
        return QUrl(QStringLiteral("%1://127.0.0.1:%2%3").arg(scheme).arg(port).arg(path));
    }
    ~MockProcess()
    {
        process.kill();
        process.waitForFinished();
    }
};

// The Python client's events (tests/support/mock_peers.py), one JSON object per line.
QList<QJsonObject> pythonClient(const QUrl &url, const QStringList &messages)
{
    QProcess client;
    client.start(QStringLiteral("/usr/bin/python3"),
                 QStringList {QStringLiteral(SOCKTAP_SOURCE_DIR "/tests/support/mock_peers.py"),
                              QStringLiteral("client"), url.toString()}
                     + messages);
    // Not waitForFinished(): the proxy recording it may live in this thread's event loop.
    if (!QTest::qWaitFor([&] { return client.state() == QProcess::NotRunning; }, 3 * WaitMs))
        client.kill();
    QList<QJsonObject> events;
    for (const QByteArray &line : client.readAllStandardOutput().split('\n'))
        if (!line.trimmed().isEmpty())
            events.append(QJsonDocument::fromJson(line).object());
    if (client.exitCode() != 0)
        qWarning("python client: %s", client.readAllStandardError().constData());
    return events;
}

QStringList received(const QList<QJsonObject> &events)
{
    QStringList out;
    for (const QJsonObject &e : events)
        if (e.contains("recv"))
            out.append(e.value("recv").toString());
    return out;
}

// A JSON-RPC-like session recorded through Socktap: ops a, b, c with ids 1, 2, 3; the client closes.
QString recordJsonSession(const QTemporaryDir &dir)
{
    JsonServer json;
    ProxyHarness proxy;
    QWebSocket ws;
    ws.setProxy(proxy.networkProxy());
    int answers = 0;
    QObject::connect(&ws, &QWebSocket::textMessageReceived, [&] { ++answers; });
    ws.open(json.url());
    if (!QTest::qWaitFor([&] { return ws.state() == QAbstractSocket::ConnectedState; }, WaitMs))
        return {};
    int id = 0;
    for (const char *op : {"a", "b", "c"}) {
        ws.sendTextMessage(QStringLiteral(R"({"id":%1,"op":"%2"})").arg(++id).arg(QLatin1String(op)));
        if (!QTest::qWaitFor([&] { return answers == id; }, WaitMs))
            return {};
    }
    ws.close();
    const capture::SessionId session = endedSession(proxy.store);
    const QString file = dir.filePath(QStringLiteral("rpc.socktap"));
    QString error;
    if (!session || !capture::saveNative(proxy.store, {session}, file, &error))
        return {};
    return file;
}

} // namespace

class TestMock final : public QObject
{
    Q_OBJECT

private slots:
    void pythonClientMeetsTheRecordedServer()
    {
        // Recorded: python3-websockets client and server through Socktap in reverse mode, deflate on.
        PythonPeer origin;
        QVERIFY2(origin.start(QStringLiteral("mock_peers.py"), {QStringLiteral("server")}),
                 origin.banner.constData());
        proxy::ProxyConfig config;
        config.reverse = http::RequestTarget::parseAbsolute(
            origin.url(QStringLiteral("ws"), QStringLiteral("/")).toEncoded());
        QTemporaryDir dir;
        QString file = dir.filePath(QStringLiteral("chat.socktap"));
        capture::SessionId original = 0;
        {
            ProxyHarness proxy(config);
            const auto events = pythonClient(QUrl(QStringLiteral("ws://127.0.0.1:%1/chat").arg(proxy.port())),
                                             {"one", "two", "bye"});
            QCOMPARE(received(events),
                     (QStringList {R"({"hello":"welcome"})", "re: one", "re: two", "see you"}));
            original = endedSession(proxy.store);
            QVERIFY(original);
            QVERIFY(proxy.store.session(original)->deflate);
            QString error;
            QVERIFY2(capture::saveNative(proxy.store, {original}, file, &error), qPrintable(error));
        }
        origin.process.kill(); // no server behind the mock

        MockProcess mock;
        const QString recorded = dir.filePath(QStringLiteral("served.socktap"));
        QVERIFY2(mock.start(dir, file, {"--once", "--json", "--record", recorded}), mock.err.constData());
        const auto events =
            pythonClient(mock.url(QStringLiteral("ws"), QStringLiteral("/chat")), {"one", "two", "bye"});
        QCOMPARE(received(events), (QStringList {R"({"hello":"welcome"})", "re: one", "re: two", "see you"}));
        QCOMPARE(events.back().value("closed").toInt(), 4001);
        QCOMPARE(events.back().value("reason").toString(), QStringLiteral("done"));
        QVERIFY2(events.back().value("deflate").toBool(), "permessage-deflate was not negotiated");
        // The recorded 50 ms between a message and its answer, kept (never early).
        QVERIFY2(events[1].value("at").toDouble() >= 0.045,
                 qPrintable(QString::number(events[1].value("at").toDouble())));
        QCOMPARE(mock.finish(), 0);
        const QJsonObject report = QJsonDocument::fromJson(mock.process.readAllStandardOutput()).object();
        QVERIFY2(report.value("matched").toBool(), mock.err.constData());
        QCOMPARE(report.value("received").toInt(), 3);
        QCOMPARE(report.value("sent").toInt(), 4);
        QCOMPARE(report.value("originalSession").toInteger(), qint64(original));

        // The mock session is in --record's capture like any other, flagged, deflate and all.
        QProcess open;
        open.start(QStringLiteral(SOCKTAP_BINARY),
                   {QStringLiteral("open"), recorded, QStringLiteral("--json")});
        QVERIFY(open.waitForFinished(WaitMs));
        const QByteArray printed = open.readAllStandardOutput();
        QVERIFY2(printed.contains(
                     QStringLiteral(R"("mock":"mock of chat.socktap session %1")").arg(original).toUtf8()),
                 printed.constData());
        QVERIFY2(printed.contains("permessage-deflate"), printed.constData());
        QVERIFY2(printed.contains("re: two"), printed.constData());
        // Its URL is the one the client asked for (the listener), not the mock's internal port.
        QVERIFY2(
            printed.contains(QStringLiteral("\"url\":\"ws://127.0.0.1:%1/chat\"").arg(mock.port).toUtf8()),
            printed.constData());

        // Clients that limit the server's window (RFC 7692 7.1.2.1: the answer must name it, 15 too, and
        // not exceed it, 8 too), and one still connected when the mock is stopped: it ends cleanly.
        MockProcess serving;
        QVERIFY2(serving.start(dir, file, {"--timing", "fast"}), serving.err.constData());
        for (const char *bits : {"8", "15"}) {
            const auto limited = pythonClient(serving.url(QStringLiteral("ws"), QStringLiteral("/chat")),
                                              {"--server-window", bits, "one"});
            QCOMPARE(received(limited), (QStringList {R"({"hello":"welcome"})", "re: one"}));
            QVERIFY2(limited.back().value("deflate").toBool(), bits);
        }
        QWebSocket lingering;
        lingering.open(serving.url(QStringLiteral("ws"), QStringLiteral("/chat")));
        QVERIFY(
            QTest::qWaitFor([&] { return lingering.state() == QAbstractSocket::ConnectedState; }, WaitMs));
        QCOMPARE(serving.finish(true), 0);
        QCOMPARE(serving.process.exitStatus(), QProcess::NormalExit);
    }

    void contentMatchingEchoesFreshIds()
    {
        QTemporaryDir dir;
        const QString file = recordJsonSession(dir);
        QVERIFY(!file.isEmpty());
        MockProcess mock;
        QVERIFY2(mock.start(dir, file,
                            {"--match", "content", "--ignore-json-key", "id", "--timing", "fast", "--once",
                             "--json"}),
                 mock.err.constData());
        QWebSocket ws;
        QStringList answers;
        connect(&ws, &QWebSocket::textMessageReceived, this, [&](const QString &m) { answers.append(m); });
        ws.open(mock.url(QStringLiteral("ws"), QStringLiteral("/rpc")));
        QVERIFY(QTest::qWaitFor([&] { return ws.state() == QAbstractSocket::ConnectedState; }, WaitMs));
        // Another order, fresh ids: each gets the answer to its recorded equal, carrying its own id.
        ws.sendTextMessage(QStringLiteral(R"({"id":30,"op":"c"})"));
        ws.sendTextMessage(QStringLiteral(R"({"id":10,"op":"a"})"));
        QVERIFY(QTest::qWaitFor([&] { return answers.size() == 2; }, WaitMs));
        QCOMPARE(answers, (QStringList {R"({"id":30,"result":"c!"})", R"({"id":10,"result":"a!"})"}));
        ws.sendTextMessage(QStringLiteral(R"({"id":11,"op":"nope"})")); // nothing recorded answers it
        QTest::qWait(200);
        QCOMPARE(answers.size(), 2);
        ws.close();
        QCOMPARE(mock.finish(), 4); // b never came, and "nope" had no answer
        const QJsonObject report = QJsonDocument::fromJson(mock.process.readAllStandardOutput()).object();
        QCOMPARE(report.value("answered").toInt(), 2);
        QCOMPARE(report.value("unanswered").toInt(), 1);
        QCOMPARE(report.value("client").toObject().value("missing").toInt(), 1);
        QVERIFY2(report.value("unansweredMessages").toArray().first().toString().contains(R"("op":"nope")"),
                 QJsonDocument(report).toJson().constData());
    }

    void wssWithTheCaAndAnUnmatchedClose()
    {
        QTemporaryDir dir;
        const QString file = recordJsonSession(dir);
        QVERIFY(!file.isEmpty());
        MockProcess mock;
        QVERIFY2(mock.start(dir, file, {"--unmatched", "close:4000"}), mock.err.constData());
        // The CA that mock created in its HOME: what a developer's test client trusts.
        QProcess ca;
        ca.setProcessEnvironment(mock.process.processEnvironment());
        ca.start(QStringLiteral(SOCKTAP_BINARY),
                 {QStringLiteral("ca"), QStringLiteral("export"), dir.filePath("ca.pem")});
        QVERIFY(ca.waitForFinished(WaitMs));
        QFile pem(dir.filePath("ca.pem"));
        QVERIFY(pem.open(QIODevice::ReadOnly));
        QWebSocket ws;
        ws.setSslConfiguration(trusting(pem.readAll()));
        QStringList answers;
        connect(&ws, &QWebSocket::textMessageReceived, this, [&](const QString &m) { answers.append(m); });
        ws.open(mock.url(QStringLiteral("wss"), QStringLiteral("/rpc")));
        QVERIFY2(QTest::qWaitFor([&] { return ws.state() == QAbstractSocket::ConnectedState; }, WaitMs),
                 qPrintable(ws.errorString()));
        ws.sendTextMessage(QStringLiteral(R"({"id":1,"op":"a"})"));
        QVERIFY(QTest::qWaitFor([&] { return answers.size() == 1; }, WaitMs));
        QCOMPARE(answers.front(), QStringLiteral(R"({"id":1,"result":"a!"})"));
        ws.sendTextMessage(QStringLiteral(R"({"op":"unknown"})")); // in order: message 2 is b's place...
        ws.sendTextMessage(QStringLiteral(R"({"op":"x"})"));
        ws.sendTextMessage(QStringLiteral(R"({"op":"past the capture"})")); // ...the fourth has no answer
        QVERIFY(QTest::qWaitFor([&] { return ws.state() == QAbstractSocket::UnconnectedState; }, WaitMs));
        QCOMPARE(int(ws.closeCode()), 4000);
        QVERIFY2(ws.closeReason().contains(QStringLiteral("no answer for client message 4")),
                 qPrintable(ws.closeReason()));
        QCOMPARE(mock.finish(true), 0);
        QVERIFY2(mock.err.contains(
                     R"(client message 4 has no answer in the capture: "{"op":"past the capture"}")"),
                 mock.err.constData());
    }

    void mockRuleAnswersInsteadOfTheServer()
    {
        // Map instead of forward: a browser-like client through the normal proxy to hosts that do not
        // exist, ws:// and wss:// (intercepted with Socktap's CA), answered from the capture; the session
        // records say so. A rule whose capture is missing answers 502 with why.
        QTemporaryDir dir;
        const QString file = recordJsonSession(dir);
        QVERIFY(!file.isEmpty());
        QString error;
        const auto rules = intercept::RuleSet::fromJson(
            QStringLiteral(
                R"({"rules":[{"match":{"host":"*.invalid","path":"/rpc*"},"action":"mock","file":"%1"},
                {"match":{"host":"gone.invalid"},"action":"mock","file":"%2"}]})")
                .arg(file, dir.filePath("missing.socktap"))
                .toUtf8(),
            &error);
        QVERIFY2(rules, qPrintable(error));
        const auto ca = certs::CertificateAuthority::create();
        proxy::ProxyConfig config;
        config.tls = std::make_shared<proxy::TlsContexts>(ca.get(), QStringList {}, &error);
        config.intercept = std::make_shared<intercept::InterceptHub>();
        replay::MockHost mocks;
        QStringList cannot;
        connect(&mocks, &replay::MockHost::cannotServe, this,
                [&](const QString &why) { cannot.append(why); });
        mocks.attach(config.intercept);
        config.intercept->setRules(*rules);
        QCOMPARE(mocks.serving(), 2);
        QCOMPARE(cannot.size(), 1);
        QVERIFY2(cannot.front().contains(QStringLiteral("missing.socktap")), qPrintable(cannot.front()));
        ProxyHarness proxy(config);
        for (const char *url : {"ws://api.invalid/rpc", "wss://secure.invalid/rpc"}) {
            QWebSocket ws;
            ws.setProxy(proxy.networkProxy());
            ws.setSslConfiguration(trusting(ca->certificatePem()));
            QStringList answers;
            connect(&ws, &QWebSocket::textMessageReceived, this,
                    [&](const QString &m) { answers.append(m); });
            ws.open(QUrl(QString::fromLatin1(url)));
            QVERIFY2(QTest::qWaitFor([&] { return ws.state() == QAbstractSocket::ConnectedState; }, WaitMs),
                     qPrintable(QStringLiteral("%1: %2").arg(QLatin1String(url), ws.errorString())));
            ws.sendTextMessage(QStringLiteral(R"({"id":1,"op":"a"})"));
            QVERIFY(QTest::qWaitFor([&] { return answers.size() == 1; }, WaitMs));
            QCOMPARE(answers.front(), QStringLiteral(R"({"id":1,"result":"a!"})"));
            ws.close();
            QVERIFY(QTest::qWaitFor([&] { return ws.state() == QAbstractSocket::UnconnectedState; }, WaitMs));
        }
        const auto mocked = proxy.waitSession([](const capture::SessionInfo &s) {
            return s.host == "secure.invalid" && s.state == capture::SessionState::Closed;
        });
        QVERIFY(mocked);
        QCOMPARE(mocked->mock, QStringLiteral("mock of rpc.socktap session 1"));
        QVERIFY2(mocked->handshakeNotes.join(' ').contains(
                     QStringLiteral("rule 1: answered by the mock of rpc.socktap")),
                 qPrintable(mocked->handshakeNotes.join(' ')));
        QVERIFY(mocked->tls.intercepted);

        QWebSocket gone;
        gone.setProxy(proxy.networkProxy());
        gone.open(QUrl(QStringLiteral("ws://gone.invalid/x")));
        QVERIFY(QTest::qWaitFor([&] { return gone.state() == QAbstractSocket::UnconnectedState; }, WaitMs));
        const auto failed = proxy.waitSession([](const capture::SessionInfo &s) {
            return s.host == "gone.invalid" && s.state != capture::SessionState::Connecting;
        });
        QVERIFY(failed);
        QCOMPARE(failed->response.status, 502);
        QVERIFY2(failed->error.contains(QStringLiteral("its mock is not serving")),
                 qPrintable(failed->error));

        // The mock's own port serves only what the proxy forwards (and so captures).
        const quint16 port = config.intercept->mock("api.invalid", "/rpc")->route.port;
        QVERIFY(port);
        QTcpSocket direct;
        direct.connectToHost(QHostAddress::LocalHost, port);
        QVERIFY(direct.waitForConnected(WaitMs));
        direct.write("GET /rpc HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
        QByteArray refused;
        QVERIFY(QTest::qWaitFor(
            [&] {
                refused += direct.readAll();
                return refused.contains("\r\n\r\n");
            },
            WaitMs));
        QVERIFY2(refused.startsWith("HTTP/1.1 403"), refused.constData());
        // Rules without the mock stop it; its port is free again.
        config.intercept->setRules({});
        QCOMPARE(mocks.serving(), 0);
        QVERIFY(!config.intercept->mock("api.invalid", "/rpc"));
    }

    void mockTunnelsStillReachOtherServers()
    {
        // A mock rule with no host makes every CONNECT wait for its first bytes instead of dialling; bytes
        // that are no request Socktap reads (another protocol) go to the server, dialled then.
        QTemporaryDir dir;
        const QString file = recordJsonSession(dir);
        QVERIFY(!file.isEmpty());
        QString error;
        const auto rules = intercept::RuleSet::fromJson(
            QStringLiteral(R"({"rules":[{"match":{"path":"/only-this"},"action":"mock","file":"%1"}]})")
                .arg(file)
                .toUtf8(),
            &error);
        QVERIFY2(rules, qPrintable(error));
        proxy::ProxyConfig config;
        config.intercept = std::make_shared<intercept::InterceptHub>();
        replay::MockHost mocks;
        mocks.attach(config.intercept);
        config.intercept->setRules(*rules);
        QVERIFY(config.intercept->mocksHost("127.0.0.1"));
        ProxyHarness proxy(config);
        QTcpServer echo;
        QVERIFY(echo.listen(QHostAddress::LocalHost, 0));
        connect(&echo, &QTcpServer::newConnection, this, [&] {
            QTcpSocket *s = echo.nextPendingConnection();
            connect(s, &QTcpSocket::readyRead, s, [s] { s->write(s->readAll()); });
        });
        QTcpSocket client;
        client.connectToHost(QHostAddress::LocalHost, proxy.port());
        QVERIFY(client.waitForConnected(WaitMs));
        client.write(QStringLiteral("CONNECT 127.0.0.1:%1 HTTP/1.1\r\nHost: 127.0.0.1:%1\r\n\r\n")
                         .arg(echo.serverPort())
                         .toLatin1());
        QByteArray got;
        QVERIFY(QTest::qWaitFor(
            [&] {
                got += client.readAll();
                return got.contains("\r\n\r\n");
            },
            WaitMs));
        QVERIFY2(got.startsWith("HTTP/1.1 200"), got.constData());
        got.clear();
        client.write("*1\r\n$4\r\nPING\r\n"); // (Redis: not HTTP, not TLS)
        QVERIFY(QTest::qWaitFor(
            [&] {
                got += client.readAll();
                return got.size() >= 14;
            },
            WaitMs));
        QCOMPARE(got, QByteArray("*1\r\n$4\r\nPING\r\n"));
    }

    void badInputGetsItsExitCode()
    {
        QTemporaryDir dir;
        const QString file = recordJsonSession(dir);
        QVERIFY(!file.isEmpty());
        const auto run = [&](const QStringList &args) {
            QProcess p;
            auto env = QProcessEnvironment::systemEnvironment();
            env.insert(QStringLiteral("HOME"), dir.path());
            env.insert(QStringLiteral("XDG_CACHE_HOME"), dir.filePath(QStringLiteral(".cache")));
            p.setProcessEnvironment(env);
            p.start(QStringLiteral(SOCKTAP_BINARY), QStringList {QStringLiteral("mock")} + args);
            if (!QTest::qWaitFor([&] { return p.state() == QProcess::NotRunning; }, WaitMs))
                p.kill();
            return std::make_pair(p.exitCode(), p.readAllStandardError());
        };
        auto [code, err] = run({file, "--session", "99"});
        QCOMPARE(code, 6);
        QVERIFY2(err.contains("session 99 cannot be served as a mock: the capture has no such session"),
                 err.constData());
        std::tie(code, err) = run({dir.filePath("missing.socktap")});
        QCOMPARE(code, 5);
        std::tie(code, err) = run({file, "--unmatched", "close:1006"});
        QCOMPARE(code, 1);
        QVERIFY2(err.contains("--unmatched close:1006"), err.constData());
        std::tie(code, err) = run({file, "--match", "loose"});
        QCOMPARE(code, 1);
        QTcpServer taken;
        QVERIFY(taken.listen(QHostAddress::LocalHost, 0));
        std::tie(code, err) = run({file, "--listen", QStringLiteral("127.0.0.1:%1").arg(taken.serverPort())});
        QCOMPARE(code, 2);
        QVERIFY2(err.contains(QString::number(taken.serverPort()).toUtf8()), err.constData());
    }
};

QTEST_MAIN(TestMock)
#include "tst_mock.moc"
