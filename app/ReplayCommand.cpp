#include "ReplayCommand.h"

#include "SignalWatcher.h"

#include "core/capture/NativeFile.h"
#include "core/capture/TextFormat.h"
#include "core/proxy/ProxyServer.h"
#include "core/replay/Replayer.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QJsonDocument>
#include <QTimer>

#include <cstdio>

namespace socktap::app {

namespace {

constexpr int DifferedExit = 4;
constexpr int CaptureFileExit = 5;
constexpr int CannotReplayExit = 6;

int fail(int code, const QString &message)
{
    std::fprintf(stderr, "socktap: %s\n", qPrintable(message));
    return code;
}

// Runs the event loop until done() or the timeout.
bool waitFor(const std::function<bool()> &done, int timeoutMs)
{
    QElapsedTimer timer;
    timer.start();
    while (!done()) {
        if (timer.elapsed() > timeoutMs)
            return false;
        QEventLoop loop;
        QTimer::singleShot(10, &loop, &QEventLoop::quit);
        loop.exec();
    }
    return true;
}

// The replay's own session in the local proxy's capture: the one whose client port is the replayer's,
// once it has ended.
capture::SessionId replaySession(const capture::CaptureStore &store, quint16 localPort)
{
    for (const capture::SessionId id : store.sessionIds()) {
        const auto s = store.session(id);
        if (s && s->kind == capture::SessionKind::WebSocket && s->clientPort == localPort)
            return id;
    }
    return 0;
}

bool ended(const capture::CaptureStore &store, capture::SessionId id)
{
    const auto s = store.session(id);
    return s && s->state != capture::SessionState::Open && s->state != capture::SessionState::Closing
        && s->state != capture::SessionState::Connecting;
}

} // namespace

int runReplayCommand(const AppOptions &o, capture::CaptureStore &replayStore,
                     std::shared_ptr<proxy::TlsContexts> tls, const QByteArray &caCertificatePem)
{
    capture::CaptureStore original(capture::CaptureStore::Limits {o.maxCaptureMemory, o.maxCaptureDisk});
    QString error;
    if (!capture::openCapture(o.captureFile, original, &error, capture::OpenOptions {true, {}, {}}))
        return fail(CaptureFileExit, error);
    const capture::SessionId id =
        o.exportSession ? o.exportSession : capture::firstWebSocketSession(original);
    if (!id)
        return fail(CannotReplayExit, QStringLiteral("%1 has no WebSocket session").arg(o.captureFile));
    auto plan = replay::planReplay(original, id, &error);
    if (!plan)
        return fail(CannotReplayExit, error);
    if (!o.replayUrl.isEmpty()) {
        const QUrl url(o.replayUrl);
        if (!url.isValid() || (url.scheme() != u"ws" && url.scheme() != u"wss") || url.host().isEmpty())
            return fail(1, QStringLiteral("--url %1: expected a ws:// or wss:// URL").arg(o.replayUrl));
        plan->url = url;
    }
    for (const QString &line : o.replayHeaders)
        if (!plan->setHeader(line, &error))
            return fail(1, QStringLiteral("--header %1").arg(error));
    for (const QString &note : plan->notes)
        std::fprintf(stderr, "socktap: note: %s\n", qPrintable(note));

    // A local Socktap the replay goes through, with the same upstream rules as the proxy would have.
    proxy::ProxyConfig config = o.proxy;
    config.listenAddress = QHostAddress::LocalHost;
    config.listenPort = 0;
    config.proxyCredentials.clear();
    config.reverse.reset();
    config.tls = std::move(tls);
    proxy::ProxyServer server(config, replayStore);
    if (!server.start(&error))
        return fail(2, error);

    replay::Replayer::Options options;
    options.timing = *replay::timingFromName(o.replayTiming);
    options.speed = o.replaySpeed;
    options.proxy = QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), server.port());
    options.trustedCas = QSslCertificate::fromData(caCertificatePem);
    const QString originalUrl = plan->url.toString();
    replay::Replayer replayer(*plan, options);
    SignalWatcher watcher;
    QObject::connect(&watcher, &SignalWatcher::terminationRequested, &replayer, [&](int signal) {
        if (signal >= 0)
            replayer.cancel();
    });
    QEventLoop loop;
    QObject::connect(&replayer, &replay::Replayer::finished, &loop, &QEventLoop::quit);
    std::fprintf(stderr, "socktap: replaying session %llu (%zu client messages, timing %s) against %s\n",
                 static_cast<unsigned long long>(id), plan->steps.size(), qPrintable(o.replayTiming),
                 qPrintable(originalUrl));
    replayer.start();
    if (replayer.isRunning()) // (it may have failed at once, finished() already emitted)
        loop.exec();

    const auto stopServer = [&] {
        bool stopped = false;
        QObject::connect(&server, &proxy::ProxyServer::stopped, [&] { stopped = true; });
        server.stop();
        waitFor([&] { return stopped; }, 5000);
        if (const auto journal = replayStore.journal())
            journal->flush();
    };
    const replay::Replayer::Result &result = replayer.result();
    if (result.cancelled) {
        stopServer();
        return fail(CannotReplayExit,
                    QStringLiteral("replay cancelled after %1 sent, %2 received")
                        .arg(capture::counted(result.sent, "message"))
                        .arg(result.received));
    }
    if (!result.error.isEmpty()) {
        // The proxy knows why (its 502 said so): its words, once its record of the attempt is in.
        QString why;
        waitFor(
            [&] {
                why = replay::proxyFailure(replayStore, plan->url, result.startedAt);
                return !why.isEmpty();
            },
            1000);
        stopServer();
        return fail(CannotReplayExit,
                    QStringLiteral("replay failed: %1").arg(why.isEmpty() ? result.error : why));
    }
    capture::SessionId replayId = 0;
    waitFor(
        [&] {
            replayId = replaySession(replayStore, result.localPort);
            return replayId && ended(replayStore, replayId);
        },
        5000);
    stopServer();
    if (!replayId)
        return fail(CannotReplayExit, QStringLiteral("the replay's session was not found in the capture"));
    for (const QString &note : result.notes)
        std::fprintf(stderr, "socktap: note: %s\n", qPrintable(note));

    const replay::CapturedSession again = replay::capturedSession(replayStore, replayId);
    const replay::Comparison comparison =
        replay::compare(plan->originalMessages, again.messages, plan->originalClose, again.close,
                        replay::CompareOptions {o.ignoreJsonKeys, plan->hints});
    if (o.json) {
        QJsonObject out = replay::comparisonJson(comparison);
        out["originalSession"] = qint64(id);
        out["replaySession"] = qint64(replayId);
        out["url"] = originalUrl;
        out["sent"] = result.sent;
        out["received"] = result.received;
        std::fputs(QJsonDocument(out).toJson(QJsonDocument::Compact).constData(), stdout);
        std::fputs("\n", stdout);
    } else {
        std::printf("replay of session %llu against %s: %d messages sent, %d received\n%s",
                    static_cast<unsigned long long>(id), qPrintable(originalUrl), result.sent,
                    result.received, qPrintable(replay::comparisonText(comparison)));
    }
    std::fflush(stdout);
    return comparison.serverMatched() ? 0 : DifferedExit;
}

} // namespace socktap::app
