// How many clients a mock serves at once, and what each costs: a session (a greeting, then an answer to
// each of the client's messages) is recorded through Socktap, then N raw WebSocket clients (a child
// process: the open-file limit is per process) connect together, each sends the recorded messages and
// reads the answers, and all stay open while the server's resident memory and CPU time are read.
//   bench_mock [--clients N] [--messages M] [--socktap BIN]   through `socktap mock` (a proxy in front:
//                                                              three descriptors per client, all captured)
//   bench_mock [--clients N] [--messages M] --direct           the MockServer alone, in this process
// Prints connected clients, time to connect them all and exchange every message, RSS before and with
// them all open, RSS per client, and server CPU seconds.
#include "core/capture/NativeFile.h"
#include "core/proxy/ProxyServer.h"
#include "core/replay/MockServer.h"
#include "core/ws/FrameParser.h"
#include "core/ws/Handshake.h"
#include "core/ws/MessageEncoder.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTimer>
#include <QWebSocket>
#include <QWebSocketServer>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

using namespace socktap;

namespace {

void raiseFileLimit()
{
    rlimit limit {};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

int fileLimit()
{
    rlimit limit {};
    return ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? int(std::min<rlim_t>(limit.rlim_cur, 1 << 30)) : 1024;
}

// VmRSS and VmHWM of a process, in KiB.
std::pair<qint64, qint64> memoryOf(qint64 pid)
{
    QFile f(QStringLiteral("/proc/%1/status").arg(pid));
    qint64 rss = 0, hwm = 0;
    if (f.open(QIODevice::ReadOnly)) {
        for (const QByteArray &line : f.readAll().split('\n')) {
            if (line.startsWith("VmRSS:"))
                rss = line.mid(6).trimmed().split(' ').first().toLongLong();
            else if (line.startsWith("VmHWM:"))
                hwm = line.mid(6).trimmed().split(' ').first().toLongLong();
        }
    }
    return {rss, hwm};
}

// User and system CPU seconds of a process.
double cpuOf(qint64 pid)
{
    QFile f(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    const QByteArray stat = f.readAll();
    const QList<QByteArray> fields = stat.mid(stat.lastIndexOf(')') + 2).split(' ');
    return double(fields.value(11).toLongLong() + fields.value(12).toLongLong())
        / double(::sysconf(_SC_CLK_TCK));
}

// The recorded session: the server greets, then answers each message M with "re: M".
QString recordSession(const QString &file, int messages)
{
    QWebSocketServer server(QStringLiteral("origin"), QWebSocketServer::NonSecureMode);
    server.listen(QHostAddress::LocalHost, 0);
    QObject::connect(&server, &QWebSocketServer::newConnection, [&] {
        while (QWebSocket *ws = server.nextPendingConnection()) {
            ws->setParent(&server);
            ws->sendTextMessage(QStringLiteral("{\"hello\":\"welcome\"}"));
            QObject::connect(ws, &QWebSocket::textMessageReceived, ws,
                             [ws](const QString &m) { ws->sendTextMessage(QStringLiteral("re: ") + m); });
        }
    });
    capture::CaptureStore store;
    proxy::ProxyConfig config;
    config.listenPort = 0;
    proxy::ProxyServer proxy(config, store);
    QString error;
    if (!proxy.start(&error))
        return error;
    QWebSocket client;
    client.setProxy(QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), proxy.port()));
    int answers = 0;
    QObject::connect(&client, &QWebSocket::textMessageReceived, [&] { ++answers; });
    QEventLoop loop;
    QObject::connect(&client, &QWebSocket::connected, &loop, &QEventLoop::quit);
    client.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/feed").arg(server.serverPort())));
    loop.exec();
    for (int i = 0; i < messages; ++i) {
        client.sendTextMessage(QStringLiteral("message %1").arg(i));
        while (answers < i + 2) // (the greeting first)
            QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    }
    client.close();
    QElapsedTimer t;
    t.start();
    capture::SessionId id = 0;
    while (!id && t.elapsed() < 5000) {
        QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
        for (capture::SessionId s : store.sessionIds())
            if (store.session(s)->state == capture::SessionState::Closed)
                id = s;
    }
    if (!id || !capture::saveNative(store, {id}, file, &error))
        return error.isEmpty() ? QStringLiteral("the recorded session did not close") : error;
    bool stopped = false;
    QObject::connect(&proxy, &proxy::ProxyServer::stopped, [&] { stopped = true; });
    proxy.stop();
    while (!stopped)
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    return {};
}

// The child: n raw clients to port, each upgrading, sending m messages one after the other and reading
// the greeting and m answers; "ready SECONDS FAILED" once all are done (and still open), then it waits for
// a line on stdin and closes them all.
int runSwarm(quint16 port, int n, int m)
{
    raiseFileLimit();
    struct Client
    {
        QTcpSocket socket;
        QByteArray in;
        bool upgraded = false;
        int answers = 0;
        int sent = 0;
        ws::FrameParser parser {ws::FrameParser::Options {ws::FrameParser::Sender::Server, false}};
    };
    std::vector<std::unique_ptr<Client>> clients;
    int done = 0, failed = 0, started = 0;
    QElapsedTimer clock;
    clock.start();
    const auto finishOne = [&](bool ok) {
        ++done;
        failed += !ok;
    };
    const auto sendNext = [m](Client &c) {
        if (c.sent < m)
            c.socket.write(
                ws::MessageEncoder::encode(1, QStringLiteral("message %1").arg(c.sent++).toUtf8(), true)
                    .wire);
    };
    const auto open = [&](int count) {
        for (int i = 0; i < count && started < n; ++i, ++started) {
            auto c = std::make_unique<Client>();
            Client *p = c.get();
            QObject::connect(&p->socket, &QTcpSocket::connected, [p] {
                p->socket.write(
                    "GET /feed HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "
                    + ws::Handshake::generateKey() + "\r\n\r\n");
            });
            QObject::connect(&p->socket, &QTcpSocket::readyRead, [&, p] {
                p->in += p->socket.readAll();
                if (!p->upgraded) {
                    const qsizetype end = p->in.indexOf("\r\n\r\n");
                    if (end < 0)
                        return;
                    if (!p->in.startsWith("HTTP/1.1 101")) {
                        p->socket.abort();
                        return finishOne(false);
                    }
                    p->upgraded = true;
                    p->in.remove(0, end + 4);
                }
                QByteArrayView input = p->in;
                while (true) {
                    const auto e = p->parser.next(input);
                    input = input.sliced(e.consumed);
                    if (e.kind == ws::FrameParser::Event::Kind::NeedMore)
                        break;
                    if (e.kind == ws::FrameParser::Event::Kind::FrameEnd && e.header.fin) {
                        ++p->answers; // greeting, then one answer per message
                        if (p->answers == m + 1)
                            finishOne(true);
                        else if (p->answers > 1 || m > 0)
                            sendNext(*p);
                    }
                }
                p->in.clear();
            });
            QObject::connect(&p->socket, &QTcpSocket::errorOccurred, [&, p] {
                if (!p->upgraded || p->answers <= m) {
                    p->answers = m + 2; // counted once
                    finishOne(false);
                }
            });
            p->socket.connectToHost(QHostAddress::LocalHost, port);
            clients.push_back(std::move(c));
        }
    };
    // Connections in waves, so that the listen backlogs do not overflow.
    QTimer wave;
    QObject::connect(&wave, &QTimer::timeout, [&] {
        if (started - done < 2000)
            open(500);
        if (started >= n)
            wave.stop();
    });
    wave.start(5);
    while (done < n && clock.elapsed() < 300'000)
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 100);
    std::printf("ready %.3f %d\n", double(clock.nsecsElapsed()) / 1e9, failed + (n - done));
    std::fflush(stdout);
    char line[16];
    if (!std::fgets(line, sizeof line, stdin))
        return 0;
    for (auto &c : clients)
        c->socket.abort();
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    raiseFileLimit();
    int clients = 10'000, messages = 10;
    bool direct = false;
    QString socktap = QStringLiteral("app/socktap");
    for (int i = 1; i < argc; ++i) {
        const QByteArray a = argv[i];
        if (a == "--swarm" && i + 3 < argc)
            return runSwarm(quint16(std::atoi(argv[i + 1])), std::atoi(argv[i + 2]), std::atoi(argv[i + 3]));
        if (a == "--clients" && i + 1 < argc)
            clients = std::atoi(argv[++i]);
        else if (a == "--messages" && i + 1 < argc)
            messages = std::atoi(argv[++i]);
        else if (a == "--socktap" && i + 1 < argc)
            socktap = QString::fromLocal8Bit(argv[++i]);
        else if (a == "--direct")
            direct = true;
    }
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("feed.socktap"));
    if (const QString error = recordSession(file, messages); !error.isEmpty()) {
        std::fprintf(stderr, "bench_mock: %s\n", qPrintable(error));
        return 1;
    }

    std::unique_ptr<replay::MockServer> mock;
    QProcess socktapProcess;
    qint64 serverPid = QCoreApplication::applicationPid();
    quint16 port = 0;
    if (direct) {
        capture::CaptureStore store;
        QString error;
        capture::openCapture(file, store, &error, capture::OpenOptions {true, {}, {}});
        auto plan = replay::planMock(store, capture::firstWebSocketSession(store), &error);
        replay::MockServer::Options options;
        options.play.timing = replay::Timing::Fast;
        options.proxiedOnly = false; // the clients come straight to it
        mock = std::make_unique<replay::MockServer>(std::make_shared<const replay::MockPlan>(*plan), options);
        mock->listen(QHostAddress::LocalHost, 0, &error);
        port = mock->port();
    } else {
        // Three descriptors per client in socktap mock (the client's, the proxy's to the mock, the mock's).
        if (const int allowed = (fileLimit() - 100) / 3; allowed < clients) {
            std::printf("(the open-file limit %d allows %d clients through socktap mock: each takes three "
                        "descriptors; %d need a limit of %d)\n",
                        fileLimit(), allowed, clients, clients * 3 + 100);
            clients = allowed;
        }
        auto env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("HOME"), dir.path());
        env.insert(QStringLiteral("XDG_CACHE_HOME"), dir.filePath(QStringLiteral(".cache")));
        socktapProcess.setProcessEnvironment(env);
        socktapProcess.start(socktap,
                             {QStringLiteral("mock"), file, QStringLiteral("--listen"),
                              QStringLiteral("127.0.0.1:0"), QStringLiteral("--timing"),
                              QStringLiteral("fast"), QStringLiteral("--quiet")});
        QByteArray err;
        static const QRegularExpression banner(QStringLiteral(R"(on ws://127\.0\.0\.1:(\d+))"));
        QElapsedTimer t;
        t.start();
        while (!port && t.elapsed() < 10'000 && socktapProcess.state() != QProcess::NotRunning) {
            socktapProcess.waitForReadyRead(100);
            err += socktapProcess.readAllStandardError();
            if (const auto m = banner.match(QString::fromUtf8(err)); m.hasMatch())
                port = quint16(m.captured(1).toUInt());
        }
        if (!port) {
            std::fprintf(stderr, "bench_mock: socktap mock did not start: %s\n", err.constData());
            return 1;
        }
        serverPid = socktapProcess.processId();
    }
    const auto [rssBefore, hwmBefore] = memoryOf(serverPid);
    const double cpuBefore = cpuOf(serverPid);
    QProcess swarm;
    swarm.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    swarm.start(QCoreApplication::applicationFilePath(),
                {QStringLiteral("--swarm"), QString::number(port), QString::number(clients),
                 QString::number(messages)});
    QByteArray ready;
    while (!ready.contains('\n') && swarm.state() != QProcess::NotRunning) {
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20); // (the direct mock lives here)
        swarm.waitForReadyRead(1);
        ready += swarm.readAllStandardOutput();
    }
    const auto [rssOpen, hwmOpen] = memoryOf(serverPid);
    const double cpu = cpuOf(serverPid) - cpuBefore;
    const QList<QByteArray> words = ready.trimmed().split(' ');
    const int failed = words.value(2).toInt();
    std::printf(
        "%s: %d clients x %d messages (+ greeting): all open together, %d failed, in %.2f s; server RSS %.1f "
        "MiB before, %.1f MiB with them open (%.1f KiB per client), peak %.1f MiB; server CPU %.2f s "
        "(%.0f us per message)\n",
        direct ? "MockServer alone" : "socktap mock (proxy in front, captured)", clients, messages, failed,
        words.value(1).toDouble(), double(rssBefore) / 1024, double(rssOpen) / 1024,
        double(rssOpen - rssBefore) / std::max(1, clients - failed), double(hwmOpen) / 1024, cpu,
        cpu * 1e6 / std::max(1, clients * (messages + 1)));
    swarm.write("close\n");
    swarm.waitForFinished(30'000);
    if (!direct) {
        socktapProcess.terminate();
        socktapProcess.waitForFinished(30'000);
    }
    return failed ? 2 : 0;
}
