#include "MockCommand.h"

#include "ConsoleSink.h"
#include "SignalWatcher.h"

#include "core/capture/NativeFile.h"
#include "core/capture/TextFormat.h"
#include "core/proxy/ProxyServer.h"
#include "core/replay/MockServer.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFileInfo>
#include <QJsonDocument>
#include <QTimer>

#include <cstdio>

namespace socktap::app {

namespace {

constexpr int DifferedExit = 4;
constexpr int CaptureFileExit = 5;
constexpr int CannotMockExit = 6;

int fail(int code, const QString &message)
{
    std::fprintf(stderr, "socktap: %s\n", qPrintable(message));
    return code;
}

QString summary(quint64 session, const replay::MockReport &r)
{
    return QStringLiteral("mock session %1 ended: %2 from the client (%3 answered, %4 without an answer), %5 "
                          "sent; %6")
        .arg(session)
        .arg(capture::counted(r.received, "message"))
        .arg(r.answered)
        .arg(r.unanswered)
        .arg(r.sent)
        .arg(r.matched()
                 ? QStringLiteral("the client sent what the capture expected")
                 : QStringLiteral("the client differed from the capture (%1 different, %2 missing, %3 extra)")
                       .arg(r.client.different)
                       .arg(r.client.missing)
                       .arg(r.client.extra));
}

} // namespace

int runMockCommand(const AppOptions &o, capture::CaptureStore &store, std::shared_ptr<proxy::TlsContexts> tls,
                   std::shared_ptr<intercept::InterceptHub> rules)
{
    capture::CaptureStore original(capture::CaptureStore::Limits {o.maxCaptureMemory, o.maxCaptureDisk});
    QString error;
    if (!capture::openCapture(o.captureFile, original, &error, capture::OpenOptions {true, {}, {}}))
        return fail(CaptureFileExit, error);
    const capture::SessionId id =
        o.exportSession ? o.exportSession : capture::firstWebSocketSession(original);
    if (!id)
        return fail(CannotMockExit, QStringLiteral("%1 has no WebSocket session").arg(o.captureFile));
    auto plan = replay::planMock(original, id, &error);
    if (!plan)
        return fail(CannotMockExit, QStringLiteral("%1: %2").arg(o.captureFile, error));
    plan->label = QStringLiteral("mock of %1 session %2").arg(QFileInfo(o.captureFile).fileName()).arg(id);
    for (const QString &note : plan->notes)
        std::fprintf(stderr, "socktap: note: %s\n", qPrintable(note));

    replay::MockServer::Options options;
    options.play.match = o.mockMatch == u"content" ? replay::MockMatch::Content : replay::MockMatch::Order;
    options.play.timing = *replay::timingFromName(o.replayTiming);
    options.play.speed = o.replaySpeed;
    options.play.ignoreJsonKeys = o.ignoreJsonKeys;
    options.play.keepReceived = o.mockOnce;
    replay::setUnmatchedPolicy(o.mockUnmatched, options.play); // checked by the command line
    options.exactPath = o.mockExactPath;
    const auto shared = std::make_shared<const replay::MockPlan>(*plan);
    replay::MockServer mock(shared, options);
    if (!mock.listen(QHostAddress::LocalHost, 0, &error))
        return fail(2, error);

    // Socktap in front: the client's listener, wss:// with the CA, rules, and the capture.
    proxy::ProxyConfig config = o.proxy;
    http::RequestTarget target;
    target.form = http::RequestTarget::Form::Absolute;
    target.scheme = "ws";
    target.host = "127.0.0.1";
    target.port = mock.port();
    target.explicitPort = true;
    target.pathAndQuery = "/";
    config.reverse = target;
    config.mockOf = plan->label;
    // Each client takes three descriptors here (its own, the proxy's to the mock, the mock's): past what
    // the open-file limit allows, a client gets 503 rather than a half-made connection.
    if (config.maxConnections == 0)
        config.maxConnections = std::max(1, (proxy::ProxyServer::openFileLimit() - 100) / 3);
    config.tls = std::move(tls);
    config.intercept = std::move(rules);
    const QString exposed = proxy::requireCredentialsBeyondLoopback(config);
    proxy::ProxyServer server(config, store);
    if (!server.start(&error))
        return fail(2, error);
    if (!exposed.isEmpty())
        std::fprintf(stderr, "socktap: warning: %s\n", qPrintable(exposed));
    const QString where = server.endpoint();
    std::fprintf(stderr,
                 "socktap: serving session %llu of %s on ws://%s%s and wss://%s%s (%s expected from the "
                 "client, %s to send; match %s, timing %s%s); Ctrl+C to stop\n",
                 static_cast<unsigned long long>(id), qPrintable(o.captureFile), qPrintable(where),
                 plan->path.constData(), qPrintable(where), plan->path.constData(),
                 qPrintable(capture::counted(plan->clientMessages.size(), "message")),
                 qPrintable(capture::counted(plan->serverMessages(), "message")), qPrintable(o.mockMatch),
                 qPrintable(o.replayTiming), o.mockOnce ? ", one session" : "");

    std::unique_ptr<ConsoleSink> sink;
    if (!o.quiet && !(o.json && o.mockOnce)) // --once --json: the report is the output
        sink = std::make_unique<ConsoleSink>(
            store, o.json ? ConsoleSink::Format::Json : ConsoleSink::Format::Text, o.decode);

    int exitCode = 0;
    // The mock's side has ended; the proxy's record of the session ends a moment later (it relays the
    // last Close and sees the mock's FIN): stopping before that would end it with a 1001 of its own.
    QTimer poll;
    QElapsedTimer waited;
    const auto stopOnceRecorded = [&](quint64 session) {
        if (waited.isValid())
            return; // already stopping
        waited.start();
        QObject::connect(&poll, &QTimer::timeout, [&, session] {
            const auto s = store.session(session);
            const bool open = s
                && (s->state == capture::SessionState::Open || s->state == capture::SessionState::Closing
                    || s->state == capture::SessionState::Connecting);
            if (!open || waited.elapsed() > 5000) {
                poll.stop();
                server.stop();
            }
        });
        poll.start(10);
    };
    std::optional<std::pair<quint64, replay::MockReport>> first;
    QObject::connect(&mock, &replay::MockServer::unanswered, [&](quint64 session, const QString &line) {
        std::fprintf(stderr, "socktap: mock session %llu: %s\n", static_cast<unsigned long long>(session),
                     qPrintable(line));
    });
    QObject::connect(&mock, &replay::MockServer::finished, [&](quint64 session, const replay::MockReport &r) {
        if (!o.mockOnce || !o.json)
            std::fprintf(stderr, "socktap: %s\n", qPrintable(summary(session, r)));
        if (r.failed && !o.mockOnce) // (--once: the first session's verdict is the run's)
            exitCode = DifferedExit;
        if (o.mockOnce && !first) {
            first = {session, r};
            exitCode = r.matched() ? 0 : DifferedExit;
        }
        if (r.failed && !o.mockOnce)
            std::fprintf(
                stderr,
                "socktap: stopping (--unmatched fail): session %llu sent a message the capture has no "
                "answer for\n",
                static_cast<unsigned long long>(session));
        if (o.mockOnce ? first->first == session : r.failed)
            stopOnceRecorded(session); // --once: one session; --unmatched fail: the run has failed
    });
    SignalWatcher watcher;
    QObject::connect(&watcher, &SignalWatcher::terminationRequested, [&](int signal) {
        if (signal < 0)
            return;
        std::fprintf(stderr, "socktap: stopping the mock\n");
        mock.stop();
        server.stop();
    });
    QEventLoop loop;
    QObject::connect(&server, &proxy::ProxyServer::stopped, &loop, &QEventLoop::quit);
    loop.exec();
    mock.stop();
    if (sink)
        sink->drain();
    if (const auto journal = store.journal())
        journal->flush();
    if (first) {
        const auto &[session, report] = *first;
        if (o.json) {
            QJsonObject out = replay::mockReportJson(report);
            out["originalSession"] = qint64(id);
            out["session"] = qint64(session);
            out["capture"] = o.captureFile;
            std::fputs(QJsonDocument(out).toJson(QJsonDocument::Compact).constData(), stdout);
            std::fputs("\n", stdout);
        } else {
            std::printf("mock of session %llu of %s, served to session %llu:\n%s",
                        static_cast<unsigned long long>(id), qPrintable(o.captureFile),
                        static_cast<unsigned long long>(session), qPrintable(replay::mockReportText(report)));
        }
        std::fflush(stdout);
    }
    if (!o.recordFile.isEmpty())
        std::fprintf(stderr, "socktap: the mock sessions are in %s\n", qPrintable(o.recordFile));
    return exitCode;
}

} // namespace socktap::app
