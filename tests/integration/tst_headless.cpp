// The socktap executable itself, as a user runs it: --help, exit codes, the headless text and JSON output,
// and a clean shutdown on SIGTERM (sessions closed with 1001, capture flushed, exit 0).
#include "core/capture/NativeFile.h"
#include "core/ws/ClosePayload.h"
#include "core/ws/FrameWriter.h"
#include "core/ws/Handshake.h"
#include "support/CuttableRelay.h"
#include "support/Peers.h"
#include "support/SocktapProcess.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>

#include <csignal>

using namespace socktap::test;

namespace { } // namespace

class TestHeadless final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase() { QNetworkProxyFactory::setUseSystemConfiguration(false); }

    void helpListsEveryOptionWithDefault()
    {
        QProcess p;
        p.start(QStringLiteral(SOCKTAP_BINARY), {QStringLiteral("--help")});
        QVERIFY(p.waitForFinished(WaitMs));
        QCOMPARE(p.exitCode(), 0);
        const QString help = QString::fromUtf8(p.readAllStandardOutput()).simplified(); // undo Qt's wrapping
        QVERIFY(help.startsWith(QLatin1String("Usage: socktap [options]")));
        for (const char *option :
             {"--listen", "--reverse", "--headless", "--json", "--quiet", "--strict", "--max-capture-memory",
              "--max-message-capture", "--workers", "--connect-timeout"})
            QVERIFY2(help.contains(QLatin1String(option)), option);
        QVERIFY(help.contains(QLatin1String("Default: 127.0.0.1:8080")));
        QVERIFY(help.contains(QLatin1String("Default: 1G")));
    }

    void badArgumentsExitWithOne()
    {
        QProcess p;
        p.start(QStringLiteral(SOCKTAP_BINARY), {QStringLiteral("--listen"), QStringLiteral("nowhere")});
        QVERIFY(p.waitForFinished(WaitMs));
        QCOMPARE(p.exitCode(), 1);
        QVERIFY(p.readAllStandardError().contains("expected HOST:PORT"));
        // Said in Socktap's words, for what users type.
        const QList<std::pair<QStringList, QByteArray>> cases = {
            {{"--upstream-proxy", "ftp://proxy:21"}, "only http:// proxies are supported, not ftp://"},
            // A mistyped command is said to be one, never taken as a reason to start the proxy.
            {{"opne"},
             "'opne' is neither a command (open, export, replay, mock, recover, browser, ca) nor a capture "
             "file"},
            {{"--decode", "socketio"}, "--decode socketio: expected auto, off or one of socket.io"},
            {{"--upstream-proxy", "proxy.corp"}, "has no port"},
            {{"--upstream-proxy", "http://127.0.0.1:99999"}, "invalid port"},
            {{"--upstream-proxy", "http://proxy:3128/path"}, "has no path"},
            {{"--upstream-proxy", "http://alice@proxy:3128"}, "USER:PASSWORD@"},
            {{"--upstream-proxy-bypass", "localhost"}, "goes with --upstream-proxy"},
            {{"--upstream-proxy", "proxy:3128", "--upstream-proxy-bypass", ""}, "an empty pattern"},
            {{"--browser-headless"}, "go with 'socktap browser'"},
        };
        for (const auto &[args, expected] : cases) {
            p.start(QStringLiteral(SOCKTAP_BINARY), args);
            QVERIFY(p.waitForFinished(WaitMs));
            const QByteArray err = p.readAllStandardError();
            QCOMPARE(p.exitCode(), 1);
            QVERIFY2(err.contains(expected), err.constData());
        }
    }

    void portInUseExitsWithTwo()
    {
        QTcpServer squatter;
        QVERIFY(squatter.listen(QHostAddress::LocalHost, 0));
        QProcess p;
        p.start(QStringLiteral(SOCKTAP_BINARY),
                {QStringLiteral("--headless"), QStringLiteral("--listen"),
                 QStringLiteral("127.0.0.1:%1").arg(squatter.serverPort())});
        QVERIFY(p.waitForFinished(WaitMs)); // an error and an exit code, not a hang
        QCOMPARE(p.exitCode(), 2);
        const QByteArray err = p.readAllStandardError();
        QVERIFY2(err.contains("cannot listen on 127.0.0.1:"), err.constData());
    }

    void aBarePortListensOnLoopback()
    {
        // "--listen 8080" and "--listen :8080" mean 127.0.0.1:8080 (not an error, never every interface).
        for (const char *spelled : {"0", ":0"}) {
            Socktap socktap;
            QVERIFY(socktap.start({QStringLiteral("--headless"), QStringLiteral("--quiet"),
                                   QStringLiteral("--listen"), QString::fromLatin1(spelled)}));
            QVERIFY2(socktap.err.contains("listening on 127.0.0.1:"), socktap.err.constData());
            QVERIFY(socktap.port != 0);
            QVERIFY(socktap.stop());
        }
    }

    void anIpv6AddressIsWrittenInBrackets()
    {
        // "listening on [::1]:PORT", as a user types it back (not "::1:PORT").
        QTcpServer probe;
        if (!probe.listen(QHostAddress::LocalHostIPv6, 0))
            QSKIP("no IPv6 loopback here");
        probe.close();
        Socktap socktap;
        QVERIFY(socktap.start({QStringLiteral("--headless"), QStringLiteral("--quiet"),
                               QStringLiteral("--listen"), QStringLiteral("[::1]:0")}));
        QVERIFY2(socktap.err.contains("listening on [::1]:" + QByteArray::number(socktap.port) + " "),
                 socktap.err.constData());
        QVERIFY(socktap.stop());
    }

    void textOutputAndCleanShutdown()
    {
        EchoServer echo;
        Socktap socktap;
        QVERIFY(socktap.start(
            {QStringLiteral("--headless"), QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0")}));
        auto client =
            openClient(echo.url(QStringLiteral("/live")),
                       QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), socktap.port));
        QVERIFY(client);
        client->sendTextMessage(QStringLiteral("hello from the test"));
        const bool opened = socktap.waitOutput("ws open ws://127.0.0.1:" + QByteArray::number(echo.port())
                                               + "/live (connect)");
        QVERIFY2(opened, socktap.out.constData());
        QVERIFY(socktap.waitOutput("#1 → text   19 B \"hello from the test\""));
        QVERIFY(socktap.waitOutput("#1 ← text   19 B \"hello from the test\""));

        int closeCode = 0;
        QObject::connect(client.get(), &QWebSocket::disconnected, [&] { closeCode = client->closeCode(); });
        QVERIFY(socktap.stop(SIGTERM));
        QCOMPARE(socktap.process.exitStatus(), QProcess::NormalExit);
        QCOMPARE(socktap.process.exitCode(), 0);
        QVERIFY(QTest::qWaitFor([&] { return closeCode != 0; }, WaitMs));
        QCOMPARE(closeCode, 1001); // the client was told Going Away
        QVERIFY2(socktap.out.contains("→ close  26 B 1001 Going Away"),
                 socktap.out.constData()); // Socktap's Close frames are printed
        QVERIFY(socktap.out.contains("[sent by Socktap]"));
        QVERIFY(socktap.out.contains("Socktap shut down"));
        QVERIFY(socktap.err.contains("stopped; captured 1 session,"));
    }

    void jsonLines()
    {
        EchoServer echo;
        Socktap socktap;
        QVERIFY(socktap.start({QStringLiteral("--headless"), QStringLiteral("--json"),
                               QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0")}));
        auto client = openClient(
            echo.url(), QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), socktap.port));
        QVERIFY(client);
        client->sendBinaryMessage(QByteArray::fromHex("00ff10"));
        QVERIFY(socktap.waitOutput("\"base64\":\"AP8Q\""));
        client->close();
        QVERIFY(socktap.waitOutput("\"event\":\"closed\""));
        QVERIFY(socktap.stop());
        int sessions = 0, messages = 0, binaries = 0, clientCloses = 0;
        for (const QByteArray &line : socktap.out.split('\n')) {
            if (line.isEmpty())
                continue;
            QJsonParseError error;
            const QJsonObject o = QJsonDocument::fromJson(line, &error).object();
            QVERIFY2(error.error == QJsonParseError::NoError, line.constData());
            sessions += o["type"] == QStringLiteral("session");
            messages += o["type"] == QStringLiteral("message");
            if (o["type"] == QStringLiteral("message")) {
                QVERIFY(o.contains("time"));
                QVERIFY(o["time"].toString().endsWith('Z'));
                binaries += o["opcode"] == QStringLiteral("binary") && o["base64"] == QStringLiteral("AP8Q");
                clientCloses +=
                    o["opcode"] == QStringLiteral("close") && o["from"] == QStringLiteral("client");
            }
        }
        QVERIFY(sessions >= 2); // open, closed
        // The binary message both ways and the client's Close. (Qt's client sends FIN with its Close, so
        // whether Qt's server still answers with a Close is a race between the two Qt peers.)
        QCOMPARE(binaries, 2);
        QCOMPARE(clientCloses, 1);
        QVERIFY(messages >= 3);
    }

    void jsonCloseAndTruncationFields()
    {
        // The JSON fields log shippers key on: a close's code and reason, and a payload cut at the cap.
        RawWsServer upstream;
        Socktap socktap;
        QVERIFY(socktap.start(
            {"--headless", "--json", "--listen", "127.0.0.1:0", "--max-message-capture", "16"}));
        RawClient client;
        QVERIFY(client.openThrough(socktap.port, upstream.port()));
        client.send(socktap::ws::FrameWriter::frame(socktap::ws::Opcode::Text, QByteArray(40, 'z'), true));
        client.send(socktap::ws::FrameWriter::frame(
            socktap::ws::Opcode::Close, socktap::ws::ClosePayload::build(4001, "done here"), true));
        QVERIFY(socktap.waitOutput("\"closeReason\""));
        QVERIFY(socktap.stop());
        bool sawTruncated = false, sawClose = false;
        for (const QByteArray &line : socktap.out.split('\n')) {
            const QJsonObject o = QJsonDocument::fromJson(line).object();
            if (o["type"] != QStringLiteral("message"))
                continue;
            if (o["opcode"] == QStringLiteral("text")) {
                sawTruncated = true;
                QCOMPARE(o["truncated"].toBool(), true);
                QCOMPARE(o["size"].toInt(), 40);
                QCOMPARE(o["text"].toString(), QString(16, 'z'));
            }
            // (Socktap's own Close 1001 on shutdown is flagged injected.)
            if (o["opcode"] == QStringLiteral("close") && !o.contains("changes")) {
                sawClose = true;
                QCOMPARE(o["closeCode"].toInt(), 4001);
                QCOMPARE(o["closeReason"].toString(), QStringLiteral("done here"));
            }
        }
        QVERIFY(sawTruncated);
        QVERIFY(sawClose);
        // Headless says what it cut, on stderr (as it happens, and at the latest at stop).
        QVERIFY2(socktap.err.contains("1 message longer than --max-message-capture"),
                 socktap.err.constData());
    }

    void caCommands()
    {
        // socktap ca export/path/regenerate, and a CA key others can read stopping the proxy (exit 3).
        QTemporaryDir dir;
        const QString caDir = dir.filePath("ca");
        const QString exported = dir.filePath("exported.pem");
        QProcess p;
        p.start(QStringLiteral(SOCKTAP_BINARY), {"ca", "export", exported, "--ca-dir", caDir});
        QVERIFY(p.waitForFinished(WaitMs));
        QCOMPARE(p.exitCode(), 0);
        QFile pem(exported);
        QVERIFY(pem.open(QIODevice::ReadOnly));
        const QByteArray cert = pem.readAll();
        QVERIFY(cert.startsWith("-----BEGIN CERTIFICATE-----"));
        QVERIFY(!cert.contains("PRIVATE KEY")); // never the key
        p.start(QStringLiteral(SOCKTAP_BINARY), {"ca", "path", "--ca-dir", caDir});
        QVERIFY(p.waitForFinished(WaitMs));
        QCOMPARE(p.readAllStandardOutput().trimmed(), QFile::encodeName(caDir + "/socktap-ca.pem"));
        p.start(QStringLiteral(SOCKTAP_BINARY), {"ca", "regenerate", "--ca-dir", caDir});
        QVERIFY(p.waitForFinished(WaitMs));
        QCOMPARE(p.exitCode(), 0);
        QVERIFY(p.readAllStandardOutput().contains("moved to"));
        QFile again(caDir + "/socktap-ca.pem");
        QVERIFY(again.open(QIODevice::ReadOnly));
        QVERIFY(again.readAll() != cert);

        QFile::setPermissions(caDir + "/socktap-ca-key.pem",
                              QFile::ReadOwner | QFile::WriteOwner | QFile::ReadOther | QFile::ReadGroup);
        p.start(QStringLiteral(SOCKTAP_BINARY), {"--headless", "--listen", "127.0.0.1:0", "--ca-dir", caDir});
        QVERIFY(p.waitForFinished(WaitMs));
        QCOMPARE(p.exitCode(), 3);
        QVERIFY(p.readAllStandardError().contains("readable by others"));
    }

    void badRulesFilesAreRefusedWithFileRuleAndField_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("error");
        QTest::addRow("bad regex")
            << QByteArray("{\"rules\": [{\"match\": {\"regex\": \"(\"}, \"action\": \"drop\"}]}")
            << QStringLiteral("rule 1: field 'match.regex': invalid regular expression '('");
        QTest::addRow("unknown action")
            << QByteArray("{\"rules\": [{\"action\": \"drop\"}, {\"action\": \"explode\"}]}")
            << QStringLiteral("rule 2: field 'action': unknown action 'explode'");
        QTest::addRow("wrong type") << QByteArray("{\"rules\": [{\"action\": \"delay\", \"ms\": \"soon\"}]}")
                                    << QStringLiteral("rule 1: field 'ms': ");
        QTest::addRow("not JSON") << QByteArray("{\"rules\": [") << QStringLiteral("invalid JSON");
    }

    void badRulesFilesAreRefusedWithFileRuleAndField()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, error);
        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("rules.json"));
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(json);
        f.close();
        QProcess p;
        p.start(QStringLiteral(SOCKTAP_BINARY), {"--headless", "--listen", "127.0.0.1:0", "--rules", file});
        QVERIFY(p.waitForFinished(WaitMs));
        QCOMPARE(p.exitCode(), 1);
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(err.contains(file + QStringLiteral(": ") + error), qPrintable(err));
        // Where the format is explained, rather than --help, which does not.
        QVERIFY2(err.contains(QLatin1String("The rules file's format: docs/rules.md.")), qPrintable(err));
        QVERIFY(!err.contains(QLatin1String("--help")));
    }

    void holdRulesNeedTheWindow()
    {
        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("rules.json"));
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("{\"rules\": [{\"action\": \"hold\"}]}");
        f.close();
        QProcess p;
        p.start(QStringLiteral(SOCKTAP_BINARY), {"--headless", "--listen", "127.0.0.1:0", "--rules", file});
        QVERIFY(p.waitForFinished(WaitMs));
        QCOMPARE(p.exitCode(), 1);
        QVERIFY(p.readAllStandardError().contains("'hold' rules need a window"));
        // With --control a window can attach and release what they hold (tst_attach does); with nobody
        // attached for --control-hold-grace, what is held goes on, said on stderr.
        Socktap withControl;
        withControl.useHome(dir.path());
        QVERIFY(withControl.start({"--headless", "--listen", "127.0.0.1:0", "--rules", file, "--control",
                                   "127.0.0.1:0", "--control-token", "t", "--control-hold-grace", "1"}));
        QVERIFY(withControl.waitError("control on"));
        // A socktap attach reading meanwhile cannot release anything: it does not hold the grace off.
        const auto port = QRegularExpression(QStringLiteral("control on 127\\.0\\.0\\.1:(\\d+)"))
                              .match(QString::fromUtf8(withControl.err))
                              .captured(1);
        QProcess reader;
        reader.setProcessEnvironment(withControl.process.processEnvironment());
        reader.start(QStringLiteral(SOCKTAP_BINARY), {"attach", "127.0.0.1:" + port, "--token", "t"});
        QVERIFY(QTest::qWaitFor([&] { return reader.readAllStandardError().contains("attached to"); }, WaitMs));
        EchoServer echo;
        auto client = openClient(echo.url(), QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"),
                                                           withControl.port));
        QVERIFY(client);
        QStringList echoed;
        connect(client.get(), &QWebSocket::textMessageReceived, this, [&](const QString &m) { echoed << m; });
        QElapsedTimer held;
        held.start();
        client->sendTextMessage(QStringLiteral("held, then forwarded"));
        QVERIFY(QTest::qWaitFor([&] { return echoed.contains(QStringLiteral("held, then forwarded")); }, WaitMs));
        QVERIFY(held.elapsed() >= 900); // (not before the grace period)
        QVERIFY(withControl.waitError("no window attached for 1 s: forwarding 1 held message (session 1)"));
        reader.terminate();
        QVERIFY(reader.waitForFinished(WaitMs));
        client.reset();
        QVERIFY(withControl.stop());
    }

    void rulesApplyAndTheirHitsAreShown()
    {
        // A scenario from a terminal: a rules file rewrites one message and drops another; the JSON output
        // says which rule did what, and the text output flags the same.
        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("rules.json"));
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(
            "{\"rules\": ["
            "{\"name\": \"mask\", \"match\": {\"direction\": \"client\", \"payload\": \"password\"},"
            " \"action\": \"regex-replace\", \"pattern\": \"password=\\\\S+\", \"with\": \"password=***\"},"
            "{\"match\": {\"direction\": \"client\", \"payload\": \"debug\"}, \"action\": \"drop\"}]}");
        f.close();
        for (const bool json : {true, false}) {
            EchoServer echo;
            Socktap socktap;
            QStringList args = {"--headless", "--listen", "127.0.0.1:0", "--rules", file};
            if (json)
                args.append("--json");
            QVERIFY(socktap.start(args));
            QVERIFY(socktap.err.contains("2 rules from"));
            auto client = openClient(
                echo.url(),
                QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), socktap.port));
            QVERIFY(client);
            client->sendTextMessage(QStringLiteral("debug: noise"));
            client->sendTextMessage(QStringLiteral("login password=hunter2"));
            QVERIFY(QTest::qWaitFor([&] { return echo.texts.size() == 1; }, WaitMs));
            QCOMPARE(echo.texts, QStringList({"login password=***"}));
            if (json) {
                QVERIFY(socktap.waitOutput("\"changes\":[\"edited\"]"));
                QVERIFY(socktap.waitOutput("\"changes\":[\"dropped\"]"));
                QVERIFY(socktap.waitOutput("\"note\":\"rule 1 'mask': regex-replace\""));
                QVERIFY(socktap.waitOutput("\"originalText\":\"login password=hunter2\""));
            } else {
                QVERIFY(socktap.waitOutput("\"login password=***\" [edited] (rule 1 'mask': regex-replace)"));
                QVERIFY(socktap.waitOutput("\"debug: noise\" [dropped] (rule 2: drop)"));
            }
            QVERIFY(socktap.stop());
        }
    }

    void scriptsFromTheCommandLine()
    {
        // --script FILE: a syntax error is refused at start with its file and line (exit 1); a good script
        // changes what crosses, and the console says which script did.
        QTemporaryDir dir;
        const QString bad = dir.filePath(QStringLiteral("bad.js"));
        const QString good = dir.filePath(QStringLiteral("shout.js"));
        QFile b(bad), g(good);
        QVERIFY(b.open(QIODevice::WriteOnly) && g.open(QIODevice::WriteOnly));
        b.write("function onMessage(m) {\n  return m.text +;\n}\n");
        g.write("function onMessage(m) {\n"
                "    if (m.text === 'wait') return {hold: true};\n"
                "    if (m.from === 'client') return m.text.toUpperCase();\n"
                "}\n");
        b.close();
        g.close();
        QProcess p;
        p.start(QStringLiteral(SOCKTAP_BINARY), {"--headless", "--listen", "127.0.0.1:0", "--script", bad});
        QVERIFY(p.waitForFinished(WaitMs));
        QCOMPARE(p.exitCode(), 1);
        const QByteArray err = p.readAllStandardError();
        QVERIFY2(err.contains("bad.js:2: SyntaxError"), err.constData());
        EchoServer echo;
        Socktap socktap;
        QVERIFY(socktap.start({"--headless", "--listen", "127.0.0.1:0", "--script", good}));
        auto client = openClient(
            echo.url(), QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), socktap.port));
        QVERIFY(client);
        client->sendTextMessage(QStringLiteral("quiet please"));
        QVERIFY(QTest::qWaitFor([&] { return echo.texts.size() == 1; }, WaitMs));
        QCOMPARE(echo.texts.front(), QStringLiteral("QUIET PLEASE"));
        QVERIFY(socktap.waitOutput("\"QUIET PLEASE\" [edited] (script shout.js: changed)"));
        // Nobody could release a held message headless: it is forwarded, and the record says why.
        client->sendTextMessage(QStringLiteral("wait"));
        QVERIFY(QTest::qWaitFor([&] { return echo.texts.contains(QStringLiteral("wait")); }, WaitMs));
        QVERIFY(socktap.waitOutput("{hold: true} needs the window to release what it holds"));
        QVERIFY(socktap.stop());
    }

    void attachFollowsRemoteSocktaps()
    {
        // Two headless Socktaps offer their capture (--control, each its own token); `socktap attach` on
        // each prints that one's sessions and messages as its own --json does, line for line: one trusting
        // this user's CA, one given the CA file ('socktap ca export'). A wrong token is refused (exit 2).
        QTemporaryDir home;
        EchoServer echo;
        Socktap a, b;
        a.useHome(home.path());
        b.useHome(home.path());
        const QString recordA = home.filePath(QStringLiteral("a.socktap"));
        const QString recordC = home.filePath(QStringLiteral("c.socktap"));
        QVERIFY(a.start({"--headless", "--json", "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0",
                         "--control-token", "alpha", "--record", recordA}));
        QVERIFY(b.start({"--headless", "--json", "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0",
                         "--control-token", "beta"}));
        QVERIFY(a.waitError("control on") && b.waitError("control on"));
        const auto controlPort = [](const QByteArray &err) {
            const auto m = QRegularExpression(QStringLiteral("control on 127\\.0\\.0\\.1:(\\d+)"))
                               .match(QString::fromUtf8(err));
            return m.hasMatch() ? m.captured(1) : QString();
        };
        const QString caFile = home.filePath(QStringLiteral("remote-ca.pem"));
        QProcess exporter;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("HOME"), home.path());
        env.insert(QStringLiteral("XDG_CACHE_HOME"), home.path() + QStringLiteral("/.cache"));
        env.insert(QStringLiteral("XDG_CONFIG_HOME"), home.path() + QStringLiteral("/.config"));
        exporter.setProcessEnvironment(env);
        exporter.start(QStringLiteral(SOCKTAP_BINARY), {"ca", "export", caFile});
        QVERIFY(exporter.waitForFinished(WaitMs) && exporter.exitCode() == 0);
        QProcess attachA, attachB, wrong;
        for (QProcess *p : {&attachA, &attachB, &wrong})
            p->setProcessEnvironment(env);
        attachA.start(QStringLiteral(SOCKTAP_BINARY),
                      {"attach", "127.0.0.1:" + controlPort(a.err), "--token", "alpha", "--json"});
        attachB.start(
            QStringLiteral(SOCKTAP_BINARY),
            {"attach", "127.0.0.1:" + controlPort(b.err), "--token", "beta", "--ca", caFile, "--json"});
        wrong.start(QStringLiteral(SOCKTAP_BINARY),
                    {"attach", "127.0.0.1:" + controlPort(a.err), "--token", "nope"});
        QVERIFY(QTest::qWaitFor([&] { return wrong.state() == QProcess::NotRunning; }, WaitMs));
        QCOMPARE(wrong.exitCode(), 2);
        QVERIFY(wrong.readAllStandardError().contains("wrong token"));
        // The CA trusted by the fingerprint a's banner prints (as a service's journal shows it); another
        // fingerprint is not trusted (exit 3, not tried again).
        const auto fingerprint =
            QRegularExpression(QStringLiteral("--ca (sha256:[0-9A-F:]{95})\\)")).match(QString::fromUtf8(a.err));
        QVERIFY2(fingerprint.hasMatch(), a.err.constData());
        QProcess byFingerprint, wrongFingerprint;
        for (QProcess *p : {&byFingerprint, &wrongFingerprint})
            p->setProcessEnvironment(env);
        byFingerprint.start(QStringLiteral(SOCKTAP_BINARY), {"attach", "127.0.0.1:" + controlPort(a.err), "--token",
                                                             "alpha", "--ca", fingerprint.captured(1)});
        wrongFingerprint.start(QStringLiteral(SOCKTAP_BINARY),
                               {"attach", "127.0.0.1:" + controlPort(a.err), "--token", "alpha", "--ca",
                                "sha256:" + QString(64, QLatin1Char('A'))});
        QVERIFY(QTest::qWaitFor([&] { return wrongFingerprint.state() == QProcess::NotRunning; }, WaitMs));
        QCOMPARE(wrongFingerprint.exitCode(), 3);
        QVERIFY(wrongFingerprint.readAllStandardError().contains("not trusted"));
        QVERIFY(QTest::qWaitFor([&] { return byFingerprint.readAllStandardError().contains("attached to"); }, WaitMs));
        byFingerprint.terminate();
        QVERIFY(byFingerprint.waitForFinished(WaitMs));

        auto viaA = openClient(echo.url(QStringLiteral("/via-a")),
                               QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), a.port));
        auto viaB = openClient(echo.url(QStringLiteral("/via-b")),
                               QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), b.port));
        QVERIFY(viaA && viaB);
        for (int i = 0; i < 20; ++i) {
            viaA->sendTextMessage(QStringLiteral("from a %1").arg(i));
            viaB->sendTextMessage(QStringLiteral("from b %1").arg(i));
        }
        QByteArray outA, outB;
        QVERIFY(QTest::qWaitFor(
            [&] {
                outA += attachA.readAllStandardOutput();
                outB += attachB.readAllStandardOutput();
                return outA.count("\"type\":\"message\"") == 40 && outB.count("\"type\":\"message\"") == 40;
            },
            WaitMs));
        QVERIFY(outA.contains("\"text\":\"from a 19\"") && !outA.contains("from b"));
        QVERIFY(outB.contains("\"text\":\"from b 19\"") && !outB.contains("from a"));
        // The same messages as the remote's own console, in the same order (nothing lost or repeated).
        QVERIFY(a.waitOutput("\"text\":\"from a 19\""));
        const auto messages = [](const QByteArray &out) {
            QStringList texts;
            for (const QByteArray &line : out.split('\n')) {
                const QJsonObject o = QJsonDocument::fromJson(line).object();
                if (o.value("type").toString() == QLatin1String("message"))
                    texts << o.value("from").toString() + QLatin1Char(' ') + o.value("text").toString();
            }
            return texts;
        };
        QVERIFY(QTest::qWaitFor([&] { return messages(a.out).size() == 40; }, WaitMs));
        QCOMPARE(messages(outA), messages(a.out));

        // A third attach through a link that is cut twice while messages flow: it comes back from the last
        // byte it had, and ends with exactly the remote's messages, in order.
        CuttableRelay relay(quint16(controlPort(a.err).toUInt()));
        QProcess attachC;
        attachC.setProcessEnvironment(env);
        attachC.start(QStringLiteral(SOCKTAP_BINARY),
                      {"attach", QStringLiteral("127.0.0.1:%1").arg(relay.server.serverPort()), "--token",
                       "alpha", "--json", "--record", recordC});
        QByteArray outC;
        QVERIFY(QTest::qWaitFor(
            [&] {
                outC += attachC.readAllStandardOutput();
                return messages(outC).size() == 40;
            },
            WaitMs));
        for (int round = 0; round < 2; ++round) {
            for (int i = 0; i < 20; ++i)
                viaA->sendTextMessage(QStringLiteral("round %1 #%2").arg(round).arg(i));
            QTest::qWait(20);
            relay.cut(); // (while what was just sent is on its way)
            QVERIFY(QTest::qWaitFor([&] { return relay.accepted == round + 2; }, WaitMs)); // it came back
        }
        QVERIFY(QTest::qWaitFor(
            [&] {
                outC += attachC.readAllStandardOutput();
                a.out += a.process.readAllStandardOutput();
                return messages(outC).size() >= 120 && messages(a.out).size() >= 120;
            },
            3 * WaitMs));
        QTest::qWait(200);
        outC += attachC.readAllStandardOutput();
        a.out += a.process.readAllStandardOutput();
        QVERIFY(relay.accepted >= 3);
        QCOMPARE(messages(outC), messages(a.out));
        QVERIFY2(attachC.readAllStandardError().contains("lost"), "the link was not cut");
        // The session's end reaches the attach too before it stops (its --record copy is compared below).
        viaA->close();
        QVERIFY(QTest::qWaitFor(
            [&] {
                outC += attachC.readAllStandardOutput();
                return outC.contains("\"event\":\"closed\"");
            },
            WaitMs));
        attachC.terminate();
        QVERIFY(attachC.waitForFinished(WaitMs));
        for (QProcess *p : {&attachA, &attachB}) {
            p->terminate();
            QVERIFY(p->waitForFinished(WaitMs));
            QCOMPARE(p->exitCode(), 0);
        }
        viaA.reset();
        viaB.reset();
        QVERIFY(a.stop() && b.stop());
        // attach --record kept what a's own --record file holds, record for record: the sessions' lines
        // and every message's direction, type, flags and payload.
        QVERIFY(attachC.readAllStandardError().contains("the copy is in"));
        QCOMPARE(attachC.exitCode(), 0);
        const auto recorded = [](const QString &path, QString *error) {
            socktap::capture::CaptureStore store;
            QStringList out;
            if (!socktap::capture::openCapture(path, store, error))
                return out;
            for (socktap::capture::SessionId id : store.sessionIds()) {
                const auto s = store.session(id);
                out << QStringLiteral("session %1 %2")
                           .arg(QString::fromLatin1(s->url()), socktap::capture::stateName(s->state));
                for (quint64 i = 0; i < store.messageCount(id); ++i)
                    if (const auto m = store.message(id, i))
                        out << QStringLiteral("%1 %2 %3 %4")
                                   .arg(socktap::capture::directionName(m->record.direction()))
                                   .arg(m->record.opcode)
                                   .arg(m->record.flags)
                                   .arg(QString::fromUtf8(m->payload));
            }
            return out;
        };
        QString error;
        const QStringList remote = recorded(recordA, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QVERIFY(remote.size() > 120);
        QCOMPARE(recorded(recordC, &error), remote);
    }

    void faultsAreInTheJsonLines()
    {
        // Each fault a rule applies is in the session's JSON line, with its rule: a stall from the upgrade
        // and a Close 4003 toward the client at the client's second message (which ends the session).
        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("faults.json"));
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("{\"rules\": ["
                "{\"name\": \"deaf\", \"action\": \"stall\", \"stop\": \"server\", \"afterMs\": 0},"
                "{\"name\": \"bye\", \"match\": {\"direction\": \"client\"}, \"action\": \"close\","
                " \"code\": 4003, \"toward\": \"client\", \"afterMessages\": 2}]}");
        f.close();
        EchoServer echo;
        Socktap socktap;
        QVERIFY(socktap.start({"--headless", "--json", "--listen", "127.0.0.1:0", "--rules", file}));
        auto client = openClient(
            echo.url(), QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), socktap.port));
        QVERIFY(client);
        client->sendTextMessage(QStringLiteral("one"));
        client->sendTextMessage(QStringLiteral("two"));
        QVERIFY(
            QTest::qWaitFor([&] { return client->state() == QAbstractSocket::UnconnectedState; }, WaitMs));
        QCOMPARE(int(client->closeCode()), 4003);
        QVERIFY(socktap.waitOutput("sent Close 4003 toward the client (rule 2 'bye')"));
        QVERIFY(socktap.stop());
        QStringList faults;
        for (const QByteArray &line : socktap.out.split('\n')) {
            const QJsonObject o = QJsonDocument::fromJson(line).object();
            if (o.contains("faults"))
                for (const QJsonValue &v : o["faults"].toArray())
                    if (!faults.contains(v.toString()))
                        faults.append(v.toString());
        }
        QVERIFY2(faults.size() >= 2, qPrintable(faults.join('|')));
        QVERIFY2(faults[0].contains(QStringLiteral("stalled server → client (rule 1 'deaf')")),
                 qPrintable(faults[0]));
        QVERIFY2(
            faults.join('|').contains(QStringLiteral("sent Close 4003 toward the client (rule 2 'bye')")),
            qPrintable(faults.join('|')));
        QVERIFY(echo.texts.size() == 2); // the client's messages crossed; the echoes were stalled
    }

    void sessionOpenLinePrecedesItsMessages()
    {
        // A CONNECT session is first seen connecting; a server ping right after the 101 used to reach the
        // console before the session's open line.
        RawWsServer upstream;
        upstream.afterHandshake = socktap::ws::FrameWriter::frame(socktap::ws::Opcode::Ping, "hi", false);
        Socktap socktap;
        QVERIFY(socktap.start({"--headless", "--json", "--listen", "127.0.0.1:0"}));
        RawClient client;
        const QByteArray authority = "127.0.0.1:" + QByteArray::number(upstream.port());
        QVERIFY(client.openTunnel(socktap.port, authority));
        client.send(RawClient::upgradeRequest("/x", authority, socktap::ws::Handshake::generateKey()));
        QVERIFY(socktap.waitOutput("\"opcode\":\"ping\""));
        QVERIFY(socktap.stop());
        bool openSeen = false;
        for (const QByteArray &line : socktap.out.split('\n')) {
            const QJsonObject o = QJsonDocument::fromJson(line).object();
            if (o["type"] == QStringLiteral("session") && o["event"] == QStringLiteral("open"))
                openSeen = true;
            if (o["type"] == QStringLiteral("message"))
                QVERIFY2(openSeen, socktap.out.constData());
        }
        QVERIFY(openSeen);
    }

    void everySessionGetsItsOpenEventFirst()
    {
        // Eight quick sessions (upgrade, a message and a Close in one write) through a reverse proxy: each
        // one's first event is "open", with the upgrade's time and no close, before its messages and
        // before "closing"/"closed" -- also when all of it fell into one capture batch.
        EchoServer echo;
        Socktap socktap;
        QVERIFY(socktap.start({"--headless", "--json", "--listen", "127.0.0.1:0", "--reverse",
                               QStringLiteral("ws://127.0.0.1:%1").arg(echo.port())}));
        std::vector<std::unique_ptr<RawClient>> clients;
        for (int i = 0; i < 8; ++i) {
            clients.push_back(std::make_unique<RawClient>());
            QVERIFY(clients.back()->connect(socktap.port));
            clients.back()->send(
                RawClient::upgradeRequest("/quick", "127.0.0.1", socktap::ws::Handshake::generateKey())
                + socktap::ws::FrameWriter::frame(socktap::ws::Opcode::Text, "hi", true)
                + socktap::ws::FrameWriter::frame(socktap::ws::Opcode::Close, QByteArray("\x03\xe8", 2),
                                                  true));
        }
        QVERIFY(QTest::qWaitFor(
            [&] {
                socktap.out += socktap.process.readAllStandardOutput();
                return socktap.out.count("\"event\":\"closed\"") == 8;
            },
            WaitMs));
        QVERIFY(socktap.stop());
        QHash<qint64, QStringList> events; // per session, in printed order
        for (const QByteArray &line : socktap.out.split('\n')) {
            const QJsonObject o = QJsonDocument::fromJson(line).object();
            if (o["type"] == QStringLiteral("session")) {
                events[o["id"].toInteger()] << o["event"].toString();
                if (o["event"] == QStringLiteral("open")) {
                    QVERIFY2(!o.contains("closedAt") && !o.contains("close") && o.contains("upgradedAt"),
                             line.constData());
                }
            } else if (o["type"] == QStringLiteral("message")) {
                events[o["session"].toInteger()] << QStringLiteral("message");
            }
        }
        QCOMPARE(events.size(), 8);
        for (auto it = events.begin(); it != events.end(); ++it) {
            QVERIFY2(it.value().value(0) == QStringLiteral("open"), qPrintable(it.value().join(' ')));
            QCOMPARE(it.value().count(QStringLiteral("open")), 1);
            QCOMPARE(it.value().last(), QStringLiteral("closed"));
        }
    }

    void recordSurvivesKillNine()
    {
        // --record flushes at least every 100 ms: kill -9 loses at most the last moments.
        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("live.socktap"));
        EchoServer echo;
        Socktap socktap;
        QVERIFY(socktap.start({"--headless", "--quiet", "--listen", "127.0.0.1:0", "--record", file}));
        // (Printed after the banner start() waits for: waited for, not assumed read.)
        QVERIFY(socktap.waitError("recording to " + file.toUtf8()));
        auto client =
            openClient(echo.url(QStringLiteral("/rec")),
                       QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), socktap.port));
        QVERIFY(client);
        int echoed = 0;
        QObject::connect(client.get(), &QWebSocket::textMessageReceived, [&] { ++echoed; });
        for (int i = 0; i < 50; ++i)
            client->sendTextMessage(QStringLiteral("message %1").arg(i));
        QVERIFY(QTest::qWaitFor([&] { return echoed == 50; }, WaitMs));
        QTest::qWait(350); // past the flush interval
        QVERIFY(socktap.stop(SIGKILL));
        QCOMPARE(socktap.process.exitStatus(), QProcess::CrashExit);

        QProcess open;
        open.start(QStringLiteral(SOCKTAP_BINARY), {"open", file, "--json"});
        QVERIFY(open.waitForFinished(WaitMs));
        QCOMPARE(open.exitCode(), 0);
        int fromClient = 0, fromServer = 0;
        const QByteArray printed = open.readAllStandardOutput();
        // The session never ended (killed): its open line still comes before its messages.
        const QJsonObject firstLine = QJsonDocument::fromJson(printed.left(printed.indexOf('\n'))).object();
        QCOMPARE(firstLine["type"].toString(), QStringLiteral("session"));
        QCOMPARE(firstLine["event"].toString(), QStringLiteral("open"));
        for (const QByteArray &line : printed.split('\n')) {
            const QJsonObject o = QJsonDocument::fromJson(line).object();
            if (o["type"] != QStringLiteral("message")
                || !o["text"].toString().startsWith(QLatin1String("message ")))
                continue;
            (o["from"] == QStringLiteral("client") ? fromClient : fromServer)++;
        }
        QCOMPARE(fromClient, 50);
        QCOMPARE(fromServer, 50);
    }

    void openAndExportCommands()
    {
        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("session.socktap"));
        {
            EchoServer echo;
            Socktap socktap;
            QVERIFY(socktap.start({"--headless", "--quiet", "--listen", "127.0.0.1:0", "--record", file}));
            auto client = openClient(
                echo.url(QStringLiteral("/chat")),
                QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), socktap.port));
            QVERIFY(client);
            int echoed = 0;
            QObject::connect(client.get(), &QWebSocket::textMessageReceived, [&] { ++echoed; });
            QObject::connect(client.get(), &QWebSocket::binaryMessageReceived, [&] { ++echoed; });
            client->sendTextMessage(QStringLiteral("{\"hello\":1}"));
            client->sendBinaryMessage(QByteArray::fromHex("00ff10"));
            QVERIFY(QTest::qWaitFor([&] { return echoed == 2; }, WaitMs));
            client->close(QWebSocketProtocol::CloseCodeNormal, QStringLiteral("bye"));
            QVERIFY(QTest::qWaitFor([&] { return client->state() == QAbstractSocket::UnconnectedState; },
                                    WaitMs));
            QTest::qWait(200);
            QVERIFY(socktap.stop());
            QVERIFY2(socktap.err.contains("the capture is in " + file.toUtf8()), socktap.err.constData());
        }
        const auto run = [](const QStringList &args, QByteArray *out = nullptr, QByteArray *err = nullptr) {
            QProcess p;
            p.start(QStringLiteral(SOCKTAP_BINARY), args);
            p.waitForFinished(WaitMs);
            if (out)
                *out = p.readAllStandardOutput();
            if (err)
                *err = p.readAllStandardError();
            return p.exitCode();
        };
        QByteArray out, err;
        QCOMPARE(run({"open", file}, &out), 0);
        // Quotes inside a preview are escaped, and each line starts with the time of day.
        QVERIFY2(out.contains("→ text   11 B \"{\\\"hello\\\":1}\""), out.constData());
        QVERIFY2(QRegularExpression(QStringLiteral("^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} #1 ws open "),
                                    QRegularExpression::MultilineOption)
                     .match(QString::fromUtf8(out))
                     .hasMatch(),
                 out.constData());
        QVERIFY2(out.contains("← binary 3 B"), out.constData());
        QVERIFY2(out.contains("1000 Normal Closure"), out.constData());
        QCOMPARE(run({"open", file, "--text"}, &out), 0);
        QVERIFY(out.contains("/chat"));

        const QString har = dir.filePath(QStringLiteral("session.har"));
        QCOMPARE(run({"export", "--har", har, file}), 0);
        QFile harFile(har);
        QVERIFY(harFile.open(QIODevice::ReadOnly));
        const QJsonObject log = QJsonDocument::fromJson(harFile.readAll()).object()["log"].toObject();
        QCOMPARE(log["version"].toString(), QStringLiteral("1.2"));
        const QJsonArray entries = log["entries"].toArray();
        QCOMPARE(entries.size(), 1);
        const QJsonObject entry = entries[0].toObject();
        QCOMPARE(entry["_resourceType"].toString(), QStringLiteral("websocket"));
        QCOMPARE(entry["response"].toObject()["status"].toInt(), 101);
        const QJsonArray messages = entry["_webSocketMessages"].toArray();
        QCOMPARE(messages.size(), 4); // text and binary, each way
        QCOMPARE(messages[0].toObject()["type"].toString(), QStringLiteral("send"));
        QCOMPARE(messages[0].toObject()["data"].toString(), QStringLiteral("{\"hello\":1}"));

        // The exported HAR opens again, and exports the same conversation as text.
        const QString text = dir.filePath(QStringLiteral("session.txt"));
        QCOMPARE(run({"export", "--text", text, har}), 0);
        QFile textFile(text);
        QVERIFY(textFile.open(QIODevice::ReadOnly));
        const QByteArray conversation = textFile.readAll();
        QVERIFY2(conversation.contains(" > {\"hello\":1}"), conversation.constData());
        QVERIFY2(conversation.contains(" < {\"hello\":1}"), conversation.constData());
        QCOMPARE(run({"export", "--text", text, file, "--session", "7"}, nullptr, &err), 5);
        QVERIFY2(err.contains("has no session 7"), err.constData());
    }

    void badCaptureFilesExitWithFive_data()
    {
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<QString>("expected");
        QTest::newRow("not json") << QByteArray("garbage\n") << QStringLiteral("neither a Socktap capture");
        QTest::newRow("har without log") << QByteArray("{\"entries\":[]}") << QStringLiteral("\"log\"");
        QTest::newRow("wrong version")
            << QByteArray("{\"format\":\"socktap-capture\",\"version\":9}\n")
            << QStringLiteral("line 1: field 'version': version 9 is not supported");
    }

    void badCaptureFilesExitWithFive()
    {
        QFETCH(QByteArray, content);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("bad.file"));
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(content);
        f.close();
        QProcess p;
        p.start(QStringLiteral(SOCKTAP_BINARY), {"open", file});
        QVERIFY(p.waitForFinished(WaitMs));
        QCOMPARE(p.exitCode(), 5);
        const QByteArray err = p.readAllStandardError();
        QVERIFY2(err.contains(file.toUtf8()), err.constData());
        QVERIFY2(err.contains(expected.toUtf8()), err.constData());
    }

    void abandonedSpillsAreRemoved()
    {
        // A killed Socktap leaves its spill directory behind; the next start removes it (its owner is
        // gone), and leaves a live one's alone.
        QTemporaryDir cache;
        const QString captures = cache.path() + QStringLiteral("/socktap/captures");
        const QString dead = captures + QStringLiteral("/capture-20200101-000000-4194303");
        const QString alive =
            captures + QStringLiteral("/capture-20200101-000000-%1").arg(QCoreApplication::applicationPid());
        QVERIFY(QDir().mkpath(dead));
        QVERIFY(QDir().mkpath(alive));
        QFile junk(dead + QStringLiteral("/payloads-0001"));
        QVERIFY(junk.open(QIODevice::WriteOnly));
        junk.write("raw bytes");
        junk.close();
        Socktap socktap;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("XDG_CACHE_HOME"), cache.path());
        socktap.process.setProcessEnvironment(env);
        QVERIFY(socktap.start({"--headless", "--quiet", "--listen", "127.0.0.1:0"}));
        QVERIFY(!QFile::exists(dead));
        QVERIFY(QFile::exists(alive));
        QVERIFY(socktap.stop());
    }

    static QByteArray upgradeRequest(quint16 port)
    {
        const QByteArray authority = "127.0.0.1:" + QByteArray::number(port);
        return "GET http://" + authority + "/limit HTTP/1.1\r\nHost: " + authority
            + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
              "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    }

    void connectionLimitRefusesWith503()
    {
        EchoServer echo;
        Socktap socktap;
        QVERIFY(socktap.start({QStringLiteral("--headless"), QStringLiteral("--listen"),
                               QStringLiteral("127.0.0.1:0"), QStringLiteral("--max-connections"),
                               QStringLiteral("2")}));
        QVERIFY2(socktap.waitError("up to 2 sessions at once"), socktap.err.constData());
        // Exactly N are served: both allowed connections complete their upgrade and stay open...
        std::vector<std::unique_ptr<RawClient>> idle;
        for (int i = 0; i < 2; ++i) {
            idle.push_back(std::make_unique<RawClient>());
            QVERIFY(idle.back()->connect(socktap.port));
            idle.back()->send(upgradeRequest(echo.port()));
            const auto served = idle.back()->readResponseHead();
            QVERIFY2(served && served->status == 101, qPrintable(QStringLiteral("connection %1").arg(i + 1)));
        }
        // ...and the one past them is refused.
        RawClient third;
        QVERIFY(third.connect(socktap.port));
        third.send(upgradeRequest(echo.port()));
        const auto refused = third.readResponseHead();
        QVERIFY(refused);
        QCOMPARE(refused->status, 503);
        QVERIFY(third.readAtLeast(1));
        QVERIFY2(third.buffer.contains("maximum of 2 connections"), third.buffer.constData());
        QVERIFY2(socktap.waitOutput("503 Service Unavailable: Socktap is serving its maximum of 2"),
                 socktap.out.constData()); // the session entry says what happened
        // A connection that ends makes room: the next client is served.
        idle.front().reset();
        bool upgraded = false;
        QVERIFY(QTest::qWaitFor(
            [&] {
                RawClient next;
                if (!next.connect(socktap.port))
                    return false;
                next.send(upgradeRequest(echo.port()));
                const auto head = next.readResponseHead();
                upgraded = head && head->status == 101;
                return upgraded;
            },
            WaitMs));
        QVERIFY(socktap.stop());
        QCOMPARE(socktap.process.exitCode(), 0);
    }

    void descriptorExhaustionPausesAcceptingAndRecovers()
    {
#ifdef __SANITIZE_ADDRESS__
        // UBSan's vptr check opens a pipe to probe memory; with no descriptor left it fails and reports every
        // virtual call as a bad vptr. The plain build runs this test.
        QSKIP("the sanitizer runtime needs descriptors of its own");
#endif
        EchoServer echo;
        Socktap socktap;
        // Far more connections allowed than descriptors exist: accept() itself runs out.
        QVERIFY(socktap.start({QStringLiteral("--headless"), QStringLiteral("--quiet"),
                               QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                               QStringLiteral("--max-connections"), QStringLiteral("1000")},
                              64));
        std::vector<std::unique_ptr<RawClient>> hogs;
        for (int i = 0; i < 80; ++i) {
            hogs.push_back(std::make_unique<RawClient>());
            QVERIFY(hogs.back()->connect(socktap.port)); // the kernel's backlog takes what Socktap cannot
        }
        QVERIFY2(socktap.waitError("cannot accept new clients: "), socktap.err.constData());
        // Paused, not spinning on a failing accept(): well under a tenth of a core while it waits.
        const qint64 before = socktap.cpuTicks();
        QTest::qWait(1000);
        const qint64 used = socktap.cpuTicks() - before;
        QVERIFY2(before >= 0 && used < 10, qPrintable(QStringLiteral("%1 ticks in 1 s").arg(used)));
        socktap.err += socktap.process.readAllStandardError();
        QCOMPARE(socktap.err.count("cannot accept new clients"), 1); // said once
        hogs.clear();
        QVERIFY2(socktap.waitError("accepting new clients again"), socktap.err.constData());
        auto client =
            openClient(echo.url(QStringLiteral("/after")),
                       QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), socktap.port));
        QVERIFY(client);
        QVERIFY(socktap.stop());
        QCOMPARE(socktap.process.exitCode(), 0);
    }

    void jsonRunsHeadlessEvenWithADisplay()
    {
        // --json is for machines: a display present (here the offscreen platform) must not open a window.
        Socktap socktap;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        socktap.process.setProcessEnvironment(env);
        QVERIFY(socktap.start(
            {QStringLiteral("--json"), QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0")}));
        EchoServer echo;
        auto client =
            openClient(echo.url(QStringLiteral("/json")),
                       QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), socktap.port));
        QVERIFY(client);
        QVERIFY(socktap.waitOutput("\"type\":\"session\""));
        QVERIFY(socktap.stop());
        QCOMPARE(socktap.process.exitCode(), 0);
    }

    void warnsBeyondLoopback()
    {
        Socktap socktap;
        QVERIFY(socktap.start({QStringLiteral("--headless"), QStringLiteral("--quiet"),
                               QStringLiteral("--listen"), QStringLiteral("0.0.0.0:0")}));
        QVERIFY(socktap.err.contains("warning: listening on 0.0.0.0"));
        // Not an open door: proxy use needs the credentials it printed (RFC 7235 / 7617).
        const QRegularExpression re(QStringLiteral("credentials \"(socktap:[0-9a-z]+)\""));
        const auto match = re.match(QString::fromUtf8(socktap.err));
        QVERIFY2(match.hasMatch(), socktap.err.constData());
        EchoServer echo;
        const QByteArray authority = "127.0.0.1:" + QByteArray::number(echo.port());
        const QByteArray connect = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n";
        RawClient anonymous;
        QVERIFY(anonymous.connect(socktap.port));
        anonymous.send(connect + "\r\n");
        const auto refused = anonymous.readResponseHead();
        QVERIFY(refused);
        QCOMPARE(refused->status, 407);
        QVERIFY(refused->headers.value("Proxy-Authenticate").startsWith("Basic realm=\"Socktap\""));
        // Wrong guesses of every shape: another of the same user, nothing, a prefix of the right one, the
        // right one with more after it, and the right password under another name.
        const QByteArray right = match.captured(1).toUtf8();
        for (const QByteArray &guess : {QByteArray("socktap:guess"), QByteArray(), QByteArray("socktap:"),
                                        right.left(right.size() - 1), right + "0", "x" + right.mid(7)}) {
            RawClient wrong;
            QVERIFY(wrong.connect(socktap.port));
            wrong.send(connect + "Proxy-Authorization: Basic " + guess.toBase64() + "\r\n\r\n");
            const auto answer = wrong.readResponseHead();
            QVERIFY2(answer && answer->status == 407, guess.constData());
        }
        RawClient known;
        QVERIFY(known.connect(socktap.port));
        known.send(connect + "Proxy-Authorization: Basic " + match.captured(1).toUtf8().toBase64()
                   + "\r\n\r\n");
        QCOMPARE(known.readResponseHead()->status, 200);
        QVERIFY(socktap.stop());
        QCOMPARE(socktap.process.exitCode(), 0);
    }
};

QTEST_MAIN(TestHeadless)
#include "tst_headless.moc"
