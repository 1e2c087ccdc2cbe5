// socktap: parses the command line, then runs the engine headless (and, with a display, the GUI).
#include "CommandLine.h"
#include "ConsoleSink.h"
#include "SignalWatcher.h"

#include "core/capture/CaptureStore.h"
#include "core/proxy/ProxyServer.h"

#include <QCoreApplication>

#include <cstdio>
#include <sys/resource.h>

using namespace socktap;

namespace {

void raiseFileLimit()
{
    // Every proxied connection holds two descriptors; the default soft limit (1024) is far too low.
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

QString describeModes(const proxy::ProxyConfig &config)
{
    if (config.reverse)
        return QStringLiteral("reverse proxy to %1").arg(QString::fromLatin1(config.reverse->url()));
    return QStringLiteral("HTTP proxy (plain upgrades and CONNECT)");
}

int runHeadless(const app::AppOptions &options)
{
    capture::CaptureStore store(capture::CaptureStore::Limits{options.maxCaptureMemory});
    proxy::ProxyServer server(options.proxy, store);
    QString error;
    if (!server.start(&error)) {
        std::fprintf(stderr, "socktap: %s\n", qPrintable(error));
        return 2;
    }
    if (!server.address().isLoopback())
        std::fprintf(stderr, "socktap: warning: listening on %s:%u, beyond loopback: anyone who can reach this port can use "
                             "Socktap as a proxy and read the traffic it records\n",
                     qPrintable(server.address().toString()), unsigned(server.port()));
    std::fprintf(stderr, "socktap: listening on %s:%u as %s; capture budget %s; Ctrl+C to stop\n",
                 qPrintable(server.address().toString()), unsigned(server.port()), qPrintable(describeModes(options.proxy)),
                 qPrintable(QString::number(double(options.maxCaptureMemory) / (1 << 30), 'f', 2) + QStringLiteral(" GiB")));
    std::unique_ptr<app::ConsoleSink> sink;
    if (!options.quiet)
        sink = std::make_unique<app::ConsoleSink>(store, options.json ? app::ConsoleSink::Format::Json : app::ConsoleSink::Format::Text);

    app::SignalWatcher signalWatcher;
    int exitCode = 0;
    QObject::connect(&signalWatcher, &app::SignalWatcher::terminationRequested, [&](int signal) {
        if (signal < 0)
            return;
        static bool stopping = false;
        if (stopping) {
            std::fprintf(stderr, "socktap: second signal, exiting now\n");
            std::_Exit(1);
        }
        stopping = true;
        std::fprintf(stderr, "socktap: shutting down: closing sessions with 1001 Going Away\n");
        server.stop();
    });
    QObject::connect(&server, &proxy::ProxyServer::stopped, [&] {
        if (sink)
            sink->drain();
        const auto stats = store.stats();
        std::fprintf(stderr, "socktap: stopped; captured %llu sessions, %llu messages\n",
                     static_cast<unsigned long long>(stats.sessions), static_cast<unsigned long long>(stats.messages));
        QCoreApplication::exit(exitCode);
    });
    return QCoreApplication::exec();
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication::setApplicationName(QStringLiteral("socktap"));
    QCoreApplication::setOrganizationName(QStringLiteral("socktap"));
    QCoreApplication::setApplicationVersion(QStringLiteral(SOCKTAP_VERSION));
    raiseFileLimit();

    QStringList arguments;
    for (int i = 0; i < argc; ++i)
        arguments.append(QString::fromLocal8Bit(argv[i]));
    const app::ParseResult parsed = app::parseCommandLine(arguments);
    if (parsed.action == app::ParseResult::Action::Exit) {
        std::fprintf(parsed.exitCode ? stderr : stdout, "%s\n", qPrintable(parsed.output));
        return parsed.exitCode;
    }
    QCoreApplication app(argc, argv);
    return runHeadless(parsed.options);
}
