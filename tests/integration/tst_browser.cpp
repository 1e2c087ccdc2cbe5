// A real browser through Socktap: headless Chromium, with a throw-away HOME whose NSS database trusts the
// Socktap CA, loads a page (over the proxy) that opens ws:// and wss:// echo connections to servers on
// 127.0.0.1 and sends text and binary messages. The page reports back through the proxy; the capture must
// hold every message both ways, decoded (Chromium negotiates permessage-deflate).
#include "certs/CertificateAuthority.h"
#include "core/browser/BrowserLauncher.h"
#include "core/intercept/InterceptHub.h"
#include "core/proxy/TlsSession.h"
#include "core/ws/Deflater.h"
#include "core/ws/FrameWriter.h"
#include "core/ws/MessageAssembler.h"
#include "support/Peers.h"
#include "support/StandIn.h"
#include "support/TlsPeers.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QScopeGuard>
#include <QSslConfiguration>
#include <QSslKey>
#include <QStandardPaths>
#include <QTemporaryDir>

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

using namespace socktap;
using namespace socktap::test;
using capture::SessionState;

namespace {

const char *Page = R"HTML(<!doctype html>
<title>socktap browser test</title>
<script>
const results = {};
function echo(name, url) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    const got = [];
    const finish = (outcome) => { results[name] = outcome; resolve(); };
    ws.onopen = () => {
      ws.send('hello from ' + name + ' ' + 'x'.repeat(300));
      ws.send(new Uint8Array([0, 1, 2, 3, 250, 251, 252, 253]).buffer);
    };
    ws.onmessage = (e) => {
      got.push(typeof e.data === 'string' ? e.data : Array.from(new Uint8Array(e.data)).join(','));
      if (got.length === 2) { ws.close(1000, 'done'); finish({ok: true, echoes: got, extensions: ws.extensions}); }
    };
    ws.onerror = () => finish({ok: false, error: 'error event'});
  });
}
Promise.all([echo('ws', '%WS%'), echo('wss', '%WSS%'), echo('deflate', '%DEFLATE%')]).then(() =>
  fetch('/report', {method: 'POST', body: JSON.stringify(results)}));
</script>)HTML";

// A page whose compressed messages Socktap edits on the way, in both directions, and into whose live
// connection it injects a message of its own.
const char *EditPage =
    "<!doctype html><title>socktap edit test</title><script>\n"
    "const got = [];\n"
    "const ws = new WebSocket('%URL%');\n"
    "ws.onopen = () => { for (const m of ['first ', 'EDIT ME ', 'third ']) ws.send(m + 'abc'.repeat(100)); "
    "};\n"
    "ws.onmessage = (e) => { got.push(e.data); if (got.length === 4)\n"
    "  fetch('/report', {method: 'POST', body: JSON.stringify({got: got, extensions: ws.extensions})}); };\n"
    "</script>";

// Serves the page and receives the report: a few lines of HTTP, enough for one browser.
struct PageServer
{
    QTcpServer server;
    QByteArray page;
    QJsonObject report;
    int pageRequests = 0;

    PageServer()
    {
        if (!server.listen(QHostAddress::LocalHost, 0))
            qFatal("page server did not listen");
        QObject::connect(&server, &QTcpServer::newConnection, [this] {
            QTcpSocket *s = server.nextPendingConnection();
            auto buffer = std::make_shared<QByteArray>();
            QObject::connect(s, &QTcpSocket::readyRead, s, [this, s, buffer] {
                *buffer += s->readAll();
                const qsizetype end = buffer->indexOf("\r\n\r\n");
                if (end < 0)
                    return;
                const QByteArray head = buffer->left(end);
                qsizetype length = 0;
                for (const QByteArray &line : head.split('\n'))
                    if (line.toLower().startsWith("content-length:"))
                        length = line.mid(15).trimmed().toLongLong();
                if (buffer->size() < end + 4 + length)
                    return;
                const QByteArray body = buffer->mid(end + 4, length);
                buffer->remove(0, end + 4 + length);
                if (head.startsWith("GET /page")) {
                    ++pageRequests;
                    s->write("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
                             + QByteArray::number(page.size()) + "\r\n\r\n" + page);
                } else if (head.startsWith("POST /report")) {
                    report = QJsonDocument::fromJson(body).object();
                    s->write("HTTP/1.1 204 No Content\r\n\r\n");
                } else {
                    s->write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                }
            });
        });
    }
};

// An echo server that accepts Chromium's permessage-deflate offer (built from Socktap's own codec): what
// the browser sends compressed, it answers compressed.
struct DeflateEcho
{
    QTcpServer server;
    DeflateEcho()
    {
        if (!server.listen(QHostAddress::LocalHost, 0))
            qFatal("deflate echo did not listen");
        QObject::connect(&server, &QTcpServer::newConnection, [this] {
            QTcpSocket *s = server.nextPendingConnection();
            struct State
            {
                http::HeadParser head {http::HeadParser::Kind::Request};
                ws::FrameParser parser {ws::FrameParser::Options {ws::FrameParser::Sender::Client, true}};
                ws::MessageAssembler assembler;
                ws::Deflater deflater;
                bool open = false;
            };
            auto st = std::make_shared<State>();
            st->assembler.enableDeflate(15, false);
            QObject::connect(s, &QTcpSocket::readyRead, s, [s, st] {
                QByteArray data = s->readAll();
                QByteArrayView in(data);
                if (!st->open) {
                    const auto r = st->head.feed(in);
                    if (r.status != http::HeadParser::Status::Complete)
                        return;
                    in = in.sliced(r.consumed);
                    st->open = true;
                    s->write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
                             "Upgrade\r\nSec-WebSocket-Accept: "
                             + ws::Handshake::acceptFor(st->head.request().headers.value("Sec-WebSocket-Key"))
                             + "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n");
                }
                for (;;) {
                    const auto ev = st->parser.next(in);
                    in = in.sliced(ev.consumed);
                    if (ev.kind == ws::FrameParser::Event::Kind::NeedMore)
                        break;
                    const auto *m = st->assembler.handle(ev, 0);
                    if (!m)
                        continue;
                    if (m->opcode == quint8(ws::Opcode::Close)) {
                        s->write(ws::FrameWriter::frame(
                            ws::Opcode::Close, m->payload.first(std::min<qsizetype>(2, m->payload.size())),
                            false));
                        s->disconnectFromHost();
                        return;
                    }
                    s->write(ws::FrameWriter::frame(ws::Opcode(m->opcode), st->deflater.compress(m->payload),
                                                    false, true, true));
                }
            });
        });
    }
};

// The three echo servers Page talks to (ws://, wss:// with a certificate from serverCa, compressed ws://)
// and the page server that serves it with their addresses filled in.
struct EchoPage
{
    EchoServer plain;
    SecureEcho secure;
    DeflateEcho deflating;
    PageServer pages;

    explicit EchoPage(certs::CertificateAuthority &serverCa)
        : secure(serverCa, QStringLiteral("127.0.0.1"))
    {
        pages.page =
            QByteArray(Page)
                .replace("%WS%", QStringLiteral("ws://127.0.0.1:%1/plain").arg(plain.port()).toUtf8())
                .replace("%WSS%", QStringLiteral("wss://127.0.0.1:%1/secure").arg(secure.port()).toUtf8())
                .replace(
                    "%DEFLATE%",
                    QStringLiteral("ws://127.0.0.1:%1/deflate").arg(deflating.server.serverPort()).toUtf8());
    }
};

bool run(const QString &program, const QStringList &args, const QProcessEnvironment &env)
{
    QProcess p;
    p.setProcessEnvironment(env);
    p.start(program, args);
    if (!p.waitForFinished(30000) || p.exitCode() != 0) {
        qWarning("%s %s failed: %s", qPrintable(program), qPrintable(args.join(' ')),
                 p.readAllStandardError().constData());
        return false;
    }
    return true;
}

// Headless Chromium with a throw-away profile, every request through the proxy (loopback included).
bool startChromium(QProcess &browser, const QString &chromium, const QProcessEnvironment &env,
                   const QString &profile, quint16 proxyPort, const QString &url)
{
    browser.setProcessEnvironment(env);
    browser.start(chromium,
                  {"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   "--disable-features=HttpsUpgrades", "--user-data-dir=" + profile,
                   QStringLiteral("--proxy-server=http://127.0.0.1:%1").arg(proxyPort),
                   "--proxy-bypass-list=<-loopback>", // otherwise loopback skips the proxy
                   url});
    return browser.waitForStarted(WaitMs);
}

} // namespace

class TestBrowser final : public QObject
{
    Q_OBJECT

private slots:
    void chromiumWsAndWss()
    {
        const QString chromium = QStandardPaths::findExecutable(QStringLiteral("chromium"));
        const QString certutil = QStandardPaths::findExecutable(QStringLiteral("certutil"));
        // Not a skip: scripts/test.sh installs both, and a browser test that silently does not run proves
        // nothing.
        QVERIFY2(!chromium.isEmpty() && !certutil.isEmpty(),
                 "chromium and certutil are needed: run ./scripts/test.sh, which installs them");

        QTemporaryDir home;
        auto socktapCa = certs::CertificateAuthority::create();
        auto serverCa = certs::CertificateAuthority::create();
        QFile caFile(home.filePath("socktap-ca.pem")), serverCaFile(home.filePath("server-ca.pem"));
        QVERIFY(caFile.open(QIODevice::WriteOnly) && serverCaFile.open(QIODevice::WriteOnly));
        caFile.write(socktapCa->certificatePem());
        serverCaFile.write(serverCa->certificatePem());
        caFile.close();
        serverCaFile.close();

        // Chromium on Linux reads trust from $HOME/.pki/nssdb (not from --user-data-dir).
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("HOME"), home.path());
        const QString nssdb = QStringLiteral("sql:%1/.pki/nssdb").arg(home.path());
        QVERIFY(QDir().mkpath(home.filePath(".pki/nssdb")));
        QVERIFY(run(certutil, {"-d", nssdb, "-N", "--empty-password"}, env));
        QVERIFY(run(certutil, {"-d", nssdb, "-A", "-t", "C,,", "-n", "socktap-test", "-i", caFile.fileName()},
                    env));

        EchoPage servers(*serverCa);
        PageServer &pages = servers.pages;

        proxy::ProxyConfig config;
        QString error;
        config.tls = std::make_shared<proxy::TlsContexts>(socktapCa.get(),
                                                          QStringList {serverCaFile.fileName()}, &error);
        QVERIFY2(config.tls->isValid(), qPrintable(error));
        ProxyHarness proxy(config);

        QProcess browser;
        QVERIFY(startChromium(browser, chromium, env, home.filePath("profile"), proxy.port(),
                              QStringLiteral("http://127.0.0.1:%1/page").arg(pages.server.serverPort())));
        const bool reported = QTest::qWaitFor([&] { return !pages.report.isEmpty(); }, 60000);
        browser.kill();
        browser.waitForFinished(WaitMs);
        QVERIFY2(reported,
                 qPrintable(QStringLiteral("no report from the page (page requests: %1); chromium said: %2")
                                .arg(pages.pageRequests)
                                .arg(QString::fromLocal8Bit(browser.readAllStandardError().right(2000)))));
        qInfo("page report: %s", QJsonDocument(pages.report).toJson(QJsonDocument::Compact).constData());

        // The page got every echo back, over ws:// and wss://.
        const QString text = QStringLiteral("hello from %1 ") + QString(300, 'x');
        for (const QString &name : {QStringLiteral("ws"), QStringLiteral("wss"), QStringLiteral("deflate")}) {
            const QJsonObject r = pages.report[name].toObject();
            QVERIFY2(r["ok"].toBool(), qPrintable(name));
            const QStringList echoes = r["echoes"].toVariant().toStringList();
            QVERIFY(echoes.contains(text.arg(name)));
            QVERIFY(echoes.contains(QStringLiteral("0,1,2,3,250,251,252,253")));
        }

        // Socktap captured both sessions, every message both ways, decoded.
        QVERIFY(QTest::qWaitFor(
            [&] {
                int closed = 0;
                for (auto id : proxy.store.sessionIds()) {
                    const auto s = proxy.store.session(id);
                    closed += s->kind == capture::SessionKind::WebSocket && s->state == SessionState::Closed;
                }
                return closed == 3;
            },
            WaitMs));
        int websockets = 0, pageFetches = 0;
        for (auto id : proxy.store.sessionIds()) {
            const auto s = *proxy.store.session(id);
            if (s.kind == capture::SessionKind::Http && s.path == "/page")
                ++pageFetches;
            if (s.kind != capture::SessionKind::WebSocket)
                continue;
            ++websockets;
            const bool secureSession = s.scheme == "wss";
            const bool deflated = s.path == "/deflate";
            QCOMPARE(s.tls.intercepted, secureSession);
            if (secureSession)
                QVERIFY(s.tls.upstreamVerified);
            QVERIFY2(s.request.headers.value("User-Agent").contains("Chrome"),
                     s.request.headers.value("User-Agent").constData());
            const QString name = deflated ? QStringLiteral("deflate")
                : secureSession           ? QStringLiteral("wss")
                                          : QStringLiteral("ws");
            QCOMPARE(s.deflate.has_value(), deflated);
            int texts[2] = {0, 0}, binaries[2] = {0, 0}, closes[2] = {0, 0};
            for (const auto &m : proxy.messages(id)) {
                const int d = capture::directionIndex(m.record.direction());
                QVERIFY2(!m.record.violations,
                         qPrintable(ws::describe(m.record.violationFlags()).join("; ")));
                // With deflate negotiated, Chromium compresses data messages: decoded all the same.
                if (deflated && m.record.opcode == 1)
                    QVERIFY(m.record.has(capture::MessageFlag::Compressed)
                            && m.record.wireSize < m.record.payloadSize);
                // Every frame is there for the Frames tab, a compressed single frame (RSV1) included.
                QCOMPARE(m.frames.size(), size_t(m.record.frameCount));
                if (m.record.has(capture::MessageFlag::Compressed))
                    QVERIFY(m.frames.front().rsv1());
                if (m.record.opcode == 1 && m.payload == text.arg(name).toUtf8())
                    ++texts[d];
                if (m.record.opcode == 2 && m.payload == QByteArray::fromHex("00010203fafbfcfd"))
                    ++binaries[d];
                closes[d] += m.record.opcode == 8;
            }
            QCOMPARE(texts[0], 1);
            QCOMPARE(texts[1], 1);
            QCOMPARE(binaries[0], 1);
            QCOMPARE(binaries[1], 1);
            QCOMPARE(closes[0], 1);
            // Chromium always offers permessage-deflate; Qt's servers decline it, the deflate echo accepts.
            QVERIFY(s.request.headers.value("Sec-WebSocket-Extensions").contains("permessage-deflate"));
        }
        QCOMPARE(websockets, 3);
        QCOMPARE(pageFetches, 1);
    }
    void chromiumCompressedEditAndInject()
    {
        // Chromium compresses with context takeover; Socktap rewrites one message each way and injects one.
        // Both ends must keep decoding: the server echoes what it inflated, the page reports what it got.
        const QString chromium = QStandardPaths::findExecutable(QStringLiteral("chromium"));
        QVERIFY2(!chromium.isEmpty(), "chromium is needed: run ./scripts/test.sh, which installs it");
        QTemporaryDir home;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("HOME"), home.path());
        DeflateEcho deflating;
        PageServer pages;
        pages.page = QByteArray(EditPage).replace(
            "%URL%", QStringLiteral("ws://127.0.0.1:%1/edit").arg(deflating.server.serverPort()).toUtf8());
        auto hub = std::make_shared<intercept::InterceptHub>();
        QString error;
        auto rules = intercept::RuleSet::fromJson(
            "{\"rules\": [{\"match\": {\"direction\": \"client\"}, \"action\": \"regex-replace\","
            " \"pattern\": \"EDIT ME\", \"with\": \"edited by socktap\"},"
            " {\"match\": {\"direction\": \"server\", \"payload\": \"third\"}, \"action\": \"replace\","
            " \"payload\": \"THIRD, replaced by socktap\"}]}",
            &error);
        QVERIFY2(rules, qPrintable(error));
        hub->setRules(*rules);
        proxy::ProxyConfig config;
        config.intercept = hub;
        ProxyHarness proxy(config);
        QProcess browser;
        QVERIFY(startChromium(browser, chromium, env, home.filePath("profile"), proxy.port(),
                              QStringLiteral("http://127.0.0.1:%1/page").arg(pages.server.serverPort())));
        const auto stop = qScopeGuard([&] {
            browser.kill();
            browser.waitForFinished(WaitMs);
        });
        const auto s = proxy.waitSession([](const auto &s) { return s.path == "/edit" && s.deflate; }, 60000);
        QVERIFY2(s, "Chromium did not open the WebSocket through Socktap");
        QVERIFY(proxy.waitMessages(s->id, 6, 30000));
        std::optional<intercept::CommandResult> answer;
        intercept::SessionCommand inject;
        inject.kind = intercept::SessionCommand::Kind::Send;
        inject.from = capture::Direction::ServerToClient;
        inject.message = intercept::OutgoingMessage {1, "injected by socktap", 1};
        QObject context;
        proxy.server->command(s->id, inject, &context, [&](const auto &r) { answer = r; });
        QVERIFY(QTest::qWaitFor([&] { return answer.has_value(); }, WaitMs));
        QVERIFY2(answer->ok, qPrintable(answer->error));
        QVERIFY(QTest::qWaitFor([&] { return !pages.report.isEmpty(); }, 30000));
        const QString abc = QString(QStringLiteral("abc")).repeated(100);
        QCOMPARE(pages.report["got"].toVariant().toStringList(),
                 QStringList({"first " + abc, "edited by socktap " + abc, "THIRD, replaced by socktap",
                              "injected by socktap"}));
        QVERIFY(pages.report["extensions"].toString().contains("permessage-deflate"));
        int reencoded[2] = {0, 0}, edited[2] = {0, 0};
        for (const auto &m : proxy.messages(s->id)) {
            const int d = capture::directionIndex(m.record.direction());
            QVERIFY2(!m.record.violations, qPrintable(ws::describe(m.record.violationFlags()).join("; ")));
            reencoded[d] += m.record.has(capture::MessageFlag::Reencoded);
            edited[d] += m.record.has(capture::MessageFlag::Edited);
        }
        QCOMPARE(edited[0], 1);
        QCOMPARE(edited[1], 1);
        QCOMPARE(reencoded[0], 1); // "third", after the edit: re-compressed so the server could inflate it
    }
    void socktapBrowserCommand()
    {
        // What a new user runs: `socktap browser chromium`. Socktap finds Chromium, gives it a throw-away
        // profile that trusts its CA and uses the proxy (loopback included), and the page's ws:// and
        // wss:// sessions appear in the capture with no certificate error. Stopping Socktap closes the
        // browser and removes the profile. Nothing here prepares the browser: the command does it all.
        QTemporaryDir dir;
        auto serverCa = certs::CertificateAuthority::create();
        QFile serverCaFile(dir.filePath("server-ca.pem"));
        QVERIFY(serverCaFile.open(QIODevice::WriteOnly));
        serverCaFile.write(serverCa->certificatePem());
        serverCaFile.close();
        EchoPage servers(*serverCa);
        PageServer &pages = servers.pages;

        // The user's HOME stays the user's: Socktap's CA and cache go to the test's directory.
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("HOME"), dir.filePath("user"));
        env.insert(QStringLiteral("XDG_CACHE_HOME"), dir.filePath("user/.cache"));
        env.insert(QStringLiteral("XDG_CONFIG_HOME"), dir.filePath("user/.config"));
        QProcess socktap;
        socktap.setProcessEnvironment(env);
        socktap.start(QStringLiteral(SOCKTAP_BINARY),
                      {"browser", "chromium", "--browser-headless", "--url",
                       QStringLiteral("http://127.0.0.1:%1/page").arg(pages.server.serverPort()), "--json",
                       "--listen", "127.0.0.1:0", "--upstream-ca", serverCaFile.fileName()});
        QVERIFY(socktap.waitForStarted(WaitMs));
        QByteArray err, out;
        const auto stop = qScopeGuard([&] {
            // On a failure too: asked to stop, Socktap stops its browser and removes the profile.
            if (socktap.state() != QProcess::NotRunning) {
                ::kill(pid_t(socktap.processId()), SIGTERM);
                if (!socktap.waitForFinished(WaitMs))
                    socktap.kill();
            }
        });
        const bool reported = QTest::qWaitFor(
            [&] {
                err += socktap.readAllStandardError();
                return !pages.report.isEmpty() || socktap.state() == QProcess::NotRunning;
            },
            60000);
        QVERIFY2(
            reported && !pages.report.isEmpty(),
            qPrintable(QStringLiteral("no report from the page; socktap said: ") + QString::fromUtf8(err)));
        const auto m = QRegularExpression(QStringLiteral("throw-away profile in (\\S+) that trusts"))
                           .match(QString::fromUtf8(err));
        QVERIFY2(m.hasMatch(), err.constData());
        const QString profile = m.captured(1);
        // Chromium reads trust from $HOME/.pki/nssdb: the throw-away HOME has one, the user's has none.
        QVERIFY(QFile::exists(profile + "/home/.pki/nssdb/cert9.db"));
        QVERIFY(!QFile::exists(dir.filePath("user/.pki")));
        for (const QString &name : {QStringLiteral("ws"), QStringLiteral("wss"), QStringLiteral("deflate")})
            QVERIFY2(pages.report[name].toObject()["ok"].toBool(),
                     QJsonDocument(pages.report).toJson(QJsonDocument::Compact).constData());

        // The capture, as the console printed it: all three sessions, with their messages both ways.
        QHash<qint64, QJsonObject> sessions;
        QHash<qint64, QSet<QString>> texts;
        const auto collect = [&] {
            out += socktap.readAllStandardOutput();
            sessions.clear();
            texts.clear();
            for (const QByteArray &line : out.split('\n')) {
                const QJsonObject o = QJsonDocument::fromJson(line).object();
                if (o["type"] == QStringLiteral("session"))
                    sessions[o["id"].toInteger()] = o;
                else if (o["type"] == QStringLiteral("message") && o.contains("text"))
                    texts[o["session"].toInteger()].insert(o["from"].toString() + ":" + o["text"].toString());
            }
            int closed = 0;
            for (const QJsonObject &s : std::as_const(sessions))
                closed += s["kind"] == QStringLiteral("websocket") && s["state"] == QStringLiteral("closed");
            return closed == 3;
        };
        QVERIFY2(QTest::qWaitFor(collect, WaitMs), out.right(3000).constData());
        int checked = 0;
        for (const QJsonObject &s : std::as_const(sessions)) {
            if (s["kind"] != QStringLiteral("websocket"))
                continue;
            const QString url = s["url"].toString();
            const QString name = url.endsWith("/secure") ? "wss"
                : url.endsWith("/deflate")               ? "deflate"
                                                         : "ws";
            const QString text = QStringLiteral("hello from %1 ").arg(name) + QString(300, 'x');
            const auto &got = texts[s["id"].toInteger()];
            QVERIFY2(got.contains("client:" + text) && got.contains("server:" + text), qPrintable(url));
            if (name == "wss") {
                QVERIFY(url.startsWith("wss://127.0.0.1:"));
                // Decrypted (the browser trusted Socktap's leaf) and the real server verified upstream.
                QVERIFY(s["tls"].toObject()["upstreamVerified"].toBool());
                QVERIFY(!s["tls"].toObject()["clientProtocol"].toString().isEmpty());
            }
            ++checked;
        }
        QCOMPARE(checked, 3);
        // The page itself came over plain HTTP (and Chromium's own background requests go through the proxy
        // too): in the capture, not in the console, which prints WebSocket sessions unless --show-http.
        for (const QJsonObject &s : std::as_const(sessions))
            QVERIFY2(s["kind"] == QStringLiteral("websocket"), qPrintable(s["url"].toString()));

        // Stopping Socktap stops the browser and removes its profile.
        ::kill(pid_t(socktap.processId()), SIGTERM);
        QVERIFY(socktap.waitForFinished(WaitMs));
        err += socktap.readAllStandardError();
        QCOMPARE(socktap.exitCode(), 0);
        QVERIFY2(err.contains("HTTP requests and tunnels are in the capture, not printed (--show-http"),
                 err.right(2000).constData());
        QVERIFY2(!QFileInfo::exists(profile), qPrintable(profile));
        // Socktap waited for the browser's whole process tree (helpers and crash handlers included), so
        // nothing of it is left to write into the removed profile.
        const QList<pid_t> left = browser::processesOfLaunch(0, profile);
        QVERIFY2(left.isEmpty(), qPrintable(QStringLiteral("%1 processes of the browser left").arg(left.size())));
    }
    void profileSweepSparesOtherUsers()
    {
        // The sweep of profiles whose Socktap is gone removes this user's, never another user's (in a shared
        // /tmp anyone can create a name that looks abandoned), nor what a symlink points at.
        if (::geteuid() != 0)
            QSKIP("making a directory of another user needs root");
        QTemporaryDir dir;
        const pid_t gone = ::fork(); // a pid whose process has ended
        if (gone == 0)
            ::_exit(0);
        ::waitpid(gone, nullptr, 0);
        QVERIFY(::kill(gone, 0) != 0);
        const QString pid = QString::number(gone);
        const QString mine = dir.filePath("socktap-browser-" + pid + "-mine");
        const QString theirs = dir.filePath("socktap-browser-" + pid + "-theirs");
        const QString target = dir.filePath("keep");
        const QString link = dir.filePath("socktap-browser-" + pid + "-link");
        for (const QString &d : {mine, theirs, target})
            QVERIFY(QDir().mkpath(d + "/home"));
        QVERIFY(QFile::link(target, link));
        QVERIFY(::chown(QFile::encodeName(theirs).constData(), 65534, 65534) == 0);
        browser::removeAbandonedProfiles(dir.path());
        QVERIFY2(!QFileInfo::exists(mine), "this user's abandoned profile stayed");
        QVERIFY2(QFileInfo::exists(theirs + "/home"), "another user's directory was removed");
        QVERIFY2(QFileInfo::exists(target + "/home"), "the sweep followed a symlink");
    }
    void firefoxProfileUsesTheProxyAndTrustsTheCa()
    {
        // Firefox keeps trust in its profile (cert9.db) and reads proxy settings from user.js. A stand-in
        // "firefox" reports what its profile holds as it starts; the real preparation runs.
        QTemporaryDir bin;
        const QString record = bin.filePath("started.txt");
        const QString firefox =
            writeStandIn(bin.path(), QStringLiteral("firefox"),
                         QStringLiteral("{ for a in \"$@\"; do echo \"arg $a\"; done; cat \"$4/user.js\";"
                                        "  certutil -L -d \"sql:$4\"; } > '%1'\n")
                             .arg(record)
                             .toUtf8());
        QVERIFY(!firefox.isEmpty());
        auto ca = certs::CertificateAuthority::create();
        browser::LaunchOptions options;
        options.proxyPort = 18080;
        options.caPem = ca->certificatePem();
        options.urls = {QStringLiteral("http://socktap/")};
        browser::BrowserLaunch launch({"firefox", "Firefox", browser::Browser::Family::Firefox, firefox},
                                      options);
        std::optional<QString> ended;
        connect(&launch, &browser::BrowserLaunch::finished, this, [&](int, const QString &m) { ended = m; });
        QString error;
        QVERIFY2(launch.start(&error), qPrintable(error));
        const QString profile = launch.profileDirectory();
        QVERIFY(QTest::qWaitFor([&] { return ended.has_value(); }, WaitMs));
        QFile f(record);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QString started = QString::fromUtf8(f.readAll());
        for (const QString &expected :
             {QStringLiteral("arg --no-remote"), QStringLiteral("arg --profile"),
              QStringLiteral("arg http://socktap/"), QStringLiteral("user_pref(\"network.proxy.type\", 1);"),
              QStringLiteral("user_pref(\"network.proxy.ssl\", \"127.0.0.1\");"),
              QStringLiteral("user_pref(\"network.proxy.ssl_port\", 18080);"),
              QStringLiteral("user_pref(\"network.proxy.allow_hijacking_localhost\", true);"),
              QStringLiteral("user_pref(\"network.proxy.no_proxies_on\", \"\");")})
            QVERIFY2(started.contains(expected),
                     qPrintable(expected + QStringLiteral(" not in:\n") + started));
        QVERIFY2(started.contains(QRegularExpression(QStringLiteral("Socktap CA\\s+C,,"))),
                 qPrintable(started));
        // The profile went with the browser.
        QVERIFY(!QFileInfo::exists(profile));
        QVERIFY2(ended->contains(QStringLiteral("exited with status 0")), qPrintable(*ended));
    }
    void killedSocktapLeavesNoBrowserBehind()
    {
        // Socktap killed outright (no chance to clean up): its browser is stopped all the same (parent-death
        // signal), and the next launch removes the profile it left.
        QTemporaryDir dir;
        // A temporary directory of its own: another test's launch running meanwhile would sweep the
        // abandoned profile first (rightly), and this test would not see who did.
        const QString tmp = dir.filePath("tmp");
        QVERIFY(QDir().mkpath(tmp));
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("HOME"), dir.filePath("user"));
        env.insert(QStringLiteral("XDG_CACHE_HOME"), dir.filePath("user/.cache"));
        env.insert(QStringLiteral("XDG_CONFIG_HOME"), dir.filePath("user/.config"));
        env.insert(QStringLiteral("TMPDIR"), tmp);
        QProcess socktap;
        socktap.setProcessEnvironment(env);
        socktap.start(QStringLiteral(SOCKTAP_BINARY),
                      {"browser", "chromium", "--browser-headless", "--headless", "--url", "about:blank",
                       "--listen", "127.0.0.1:0", "--quiet"});
        QByteArray err;
        const QRegularExpression started(
            QStringLiteral("\\(pid (\\d+)\\).*throw-away profile in (\\S+) that"));
        QRegularExpressionMatch m;
        QVERIFY2(QTest::qWaitFor(
                     [&] {
                         err += socktap.readAllStandardError();
                         m = started.match(QString::fromUtf8(err));
                         return m.hasMatch();
                     },
                     WaitMs),
                 err.constData());
        const pid_t browserPid = pid_t(m.captured(1).toInt());
        const QString profile = m.captured(2);
        // Gone, or a zombie nobody reaped yet (in a container whose init does not reap): not running.
        const auto running = [](pid_t pid) {
            QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
            if (!stat.open(QIODevice::ReadOnly))
                return false;
            const QByteArray line = stat.readAll();
            const qsizetype close = line.lastIndexOf(')');
            return close > 0 && line.size() > close + 2 && line[close + 2] != 'Z';
        };
        QVERIFY(running(browserPid));
        socktap.kill();
        QVERIFY(socktap.waitForFinished(WaitMs));
        QVERIFY2(QTest::qWaitFor([&] { return !running(browserPid); }, WaitMs),
                 "the browser outlived Socktap");
        QVERIFY(QFileInfo::exists(profile));

        const QString firefox = writeStandIn(dir.path(), QStringLiteral("firefox"), "exit 0\n");
        QVERIFY(!firefox.isEmpty());
        browser::LaunchOptions options;
        options.proxyPort = 1;
        options.caPem = certs::CertificateAuthority::create()->certificatePem();
        browser::BrowserLaunch next({"firefox", "Firefox", browser::Browser::Family::Firefox, firefox},
                                    options);
        QVERIFY(profile.startsWith(tmp));
        const bool hadTmp = qEnvironmentVariableIsSet("TMPDIR");
        const QByteArray oldTmp = qgetenv("TMPDIR");
        qputenv("TMPDIR", tmp.toUtf8());
        const auto restore = qScopeGuard([&] {
            if (hadTmp)
                qputenv("TMPDIR", oldTmp);
            else
                qunsetenv("TMPDIR");
        });
        QString error;
        QVERIFY2(next.start(&error), qPrintable(error));
        QVERIFY2(!QFileInfo::exists(profile), qPrintable(profile));
    }
    void browserCommandNamesWhatToInstall()
    {
        // A machine without the browser gets the package to install, not a stack of errors.
        QTemporaryDir dir;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("HOME"), dir.path());
        env.insert(QStringLiteral("PATH"), dir.path()); // no browser on this PATH
        QProcess socktap;
        socktap.setProcessEnvironment(env);
        socktap.start(QStringLiteral(SOCKTAP_BINARY),
                      {"browser", "firefox", "--headless", "--listen", "127.0.0.1:0"});
        QVERIFY(socktap.waitForFinished(WaitMs));
        const QByteArray err = socktap.readAllStandardError();
        QCOMPARE(socktap.exitCode(), 7);
        QVERIFY2(err.contains("Firefox is not installed") && err.contains("firefox-esr"), err.constData());
        // No browser named, none at all: which ones Socktap opens, and what to install.
        socktap.start(QStringLiteral(SOCKTAP_BINARY), {"browser", "--headless", "--listen", "127.0.0.1:0"});
        QVERIFY(socktap.waitForFinished(WaitMs));
        const QByteArray none = socktap.readAllStandardError();
        QCOMPARE(socktap.exitCode(), 7);
        QVERIFY2(none.contains("No browser found") && none.contains("sudo apt install chromium"),
                 none.constData());
        // And a name it does not know is a command-line error.
        socktap.start(QStringLiteral(SOCKTAP_BINARY), {"browser", "lynx"});
        QVERIFY(socktap.waitForFinished(WaitMs));
        QCOMPARE(socktap.exitCode(), 1);
        QVERIFY(socktap.readAllStandardError().contains("expected chromium, chrome or firefox"));
    }
};

QTEST_MAIN(TestBrowser)
#include "tst_browser.moc"
