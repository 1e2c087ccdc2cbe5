// How closely "original" replay timing keeps to the schedule: a session of N messages 2 ms apart is
// replayed against a local echo server, directly and through Socktap's proxy (as the window and
// `socktap replay` do), and each send's lateness against its scheduled time is printed (p50, p99, max).
//   bench_replay [--messages N] [--interval-ms MS]
#include "core/capture/CaptureStore.h"
#include "core/proxy/ProxyServer.h"
#include "core/replay/Replayer.h"

#include <QCoreApplication>
#include <QWebSocket>
#include <QWebSocketServer>

#include <algorithm>
#include <cstdio>

using namespace socktap;

namespace {

double percentile(std::vector<qint64> v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return double(v[std::min(v.size() - 1, size_t(p * double(v.size())))]);
}

void run(const char *route, const replay::ReplayPlan &plan, std::optional<QNetworkProxy> proxy)
{
    replay::Replayer::Options options;
    options.timing = replay::Timing::Original;
    options.proxy = proxy;
    options.quietMs = 0;
    replay::Replayer replayer(plan, options);
    QEventLoop loop;
    QObject::connect(&replayer, &replay::Replayer::finished, &loop, &QEventLoop::quit);
    replayer.start();
    loop.exec();
    const auto &late = replayer.result().lateUs;
    std::printf("%-24s %zu sends: late p50 %.0f us, p99 %.0f us, max %.0f us; %d echoes%s\n", route,
                late.size(), percentile(late, 0.5), percentile(late, 0.99), percentile(late, 1.0),
                replayer.result().received,
                replayer.result().error.isEmpty() ? "" : qPrintable(" (" + replayer.result().error + ")"));
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    int messages = 1000;
    int intervalMs = 2;
    for (int i = 1; i + 1 < argc; ++i) {
        if (QByteArray(argv[i]) == "--messages")
            messages = std::atoi(argv[++i]);
        else if (QByteArray(argv[i]) == "--interval-ms")
            intervalMs = std::atoi(argv[++i]);
    }
    QWebSocketServer echo(QStringLiteral("echo"), QWebSocketServer::NonSecureMode);
    echo.listen(QHostAddress::LocalHost, 0);
    QObject::connect(&echo, &QWebSocketServer::newConnection, [&] {
        while (QWebSocket *ws = echo.nextPendingConnection()) {
            ws->setParent(&echo);
            QObject::connect(ws, &QWebSocket::textMessageReceived, ws,
                             [ws](const QString &m) { ws->sendTextMessage(m); });
        }
    });
    replay::ReplayPlan plan;
    plan.url = QUrl(QStringLiteral("ws://127.0.0.1:%1/bench").arg(echo.serverPort()));
    for (int i = 0; i < messages; ++i)
        plan.steps.push_back({1, "message " + QByteArray::number(i), qint64(i) * intervalMs * 1000, i});
    plan.originalMessages[1].resize(size_t(messages));
    std::printf("replay timing \"original\": %d messages %d ms apart (%.1f s), 2 cores\n", messages,
                intervalMs, messages * intervalMs / 1000.0);
    run("direct", plan, std::nullopt);
    capture::CaptureStore store;
    proxy::ProxyConfig config;
    config.listenPort = 0;
    proxy::ProxyServer server(config, store);
    server.start();
    run("through Socktap", plan,
        QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), server.port()));
    return 0;
}
