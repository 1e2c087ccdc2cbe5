// socktap: parses the command line, then runs the engine headless (and, with a display, the GUI).
#include "CaptureCommands.h"
#include "CaptureHome.h"
#include "CommandLine.h"
#include "ConsoleSink.h"
#include "Demo.h"
#include "MockCommand.h"
#include "ReplayCommand.h"

#include "AttachCommand.h"
#include "ControlServer.h"
#include "Screenshots.h"
#include "SignalWatcher.h"
#include "core/replay/MockHost.h"

#include "ui/BrowserFeature.h"
#include "ui/CaptureStatus.h"
#include "ui/FileMenu.h"
#include "ui/FilesFeature.h"
#include "ui/InterceptFeature.h"
#include "ui/AttachFeature.h"
#include "ui/MainWindow.h"
#include "ui/ProxyFeature.h"
#include "ui/RecoveryOffer.h"
#include "ui/ReplayFeature.h"

#include "certs/CertificateAuthority.h"
#include "core/browser/BrowserLauncher.h"
#include "core/capture/CaptureStore.h"
#include "core/capture/NativeFile.h"
#include "core/capture/Recovery.h"
#include "core/capture/TextFormat.h"
#include "core/intercept/InterceptHub.h"
#include "core/intercept/ScriptLog.h"
#include "core/proxy/ProxyServer.h"
#include "core/proxy/TlsSession.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStandardPaths>

#include <QApplication>
#include <QMessageBox>
#include <QPalette>
#include <QRandomGenerator>
#include <QStyle>
#include <QTimer>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <sys/resource.h>
#include <unistd.h>

using namespace socktap;

namespace {

// Exit code for a capture file that cannot be read or written (README's table).
constexpr int CaptureFileExit = 5;

void raiseFileLimit()
{
    // Every proxied connection holds two descriptors; the default soft limit (1024) is far too low.
    rlimit limit {};
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

// socktap ca export|path|regenerate. Exit 0, or 3 for a CA problem.
int runCaCommand(const app::AppOptions &o)
{
    using certs::CertificateAuthority;
    QString error;
    if (o.command == app::AppOptions::Command::CaPath) {
        std::printf("%s\n", qPrintable(CertificateAuthority::certificateFile(o.caDir)));
        return 0;
    }
    if (o.command == app::AppOptions::Command::CaRegenerate) {
        QString backup;
        auto ca = CertificateAuthority::regenerate(o.caDir, &error, &backup);
        if (!ca) {
            std::fprintf(stderr, "socktap: %s\n", qPrintable(error));
            return 3;
        }
        std::printf("new root CA \"%s\" in %s (SHA-256 %s)\nthe previous one was moved to %s; browsers that "
                    "trusted it must "
                    "trust the new one instead (docs/certificates.md)\n",
                    qPrintable(ca->commonName()), qPrintable(o.caDir), qPrintable(ca->fingerprintSha256()),
                    qPrintable(backup));
        return 0;
    }
    bool created = false;
    auto ca = CertificateAuthority::loadOrCreate(o.caDir, &error, &created);
    if (!ca) {
        std::fprintf(stderr, "socktap: %s\n", qPrintable(error));
        return 3;
    }
    QFile out(o.caExportFile);
    if (!out.open(QIODevice::WriteOnly | QIODevice::Truncate)
        || out.write(o.caDer ? ca->certificateDer() : ca->certificatePem()) < 0) {
        std::fprintf(stderr, "socktap: cannot write %s: %s\n", qPrintable(o.caExportFile),
                     qPrintable(out.errorString()));
        return 3;
    }
    std::printf("wrote the certificate (not the key) of \"%s\" to %s (%s, SHA-256 %s)\nhow to trust it in "
                "each browser and "
                "OS: docs/certificates.md\n",
                qPrintable(ca->commonName()), qPrintable(o.caExportFile), o.caDer ? "DER" : "PEM",
                qPrintable(ca->fingerprintSha256()));
    return 0;
}

// The root CA and TLS contexts for interception; prints what a user must know. Null on failure.
std::shared_ptr<proxy::TlsContexts> setUpTls(const app::AppOptions &o,
                                             std::unique_ptr<certs::CertificateAuthority> &ca)
{
    QString error;
    bool created = false;
    ca = certs::CertificateAuthority::loadOrCreate(o.caDir, &error, &created);
    if (!ca) {
        std::fprintf(stderr, "socktap: %s\n", qPrintable(error));
        return nullptr;
    }
    if (created)
        std::fprintf(
            stderr,
            "socktap: created the root CA \"%s\" in %s; to intercept wss:// trust it in the browser: "
            "socktap ca export FILE (docs/certificates.md)\n",
            qPrintable(ca->commonName()), qPrintable(o.caDir));
    // The proxy's list: the window's saved Settings may have replaced the command line's (when none given).
    auto contexts = std::make_shared<proxy::TlsContexts>(ca.get(), o.proxy.upstreamCaFiles, &error);
    if (!contexts->isValid()) {
        std::fprintf(stderr, "socktap: %s\n", qPrintable(error));
        return nullptr;
    }
    if (o.proxy.insecureUpstream)
        std::fprintf(stderr,
                     "socktap: WARNING: --insecure-upstream: servers' certificates are NOT verified; anyone "
                     "on the path "
                     "can impersonate them\n");
    for (const QString &pattern : o.proxy.insecureUpstreamHosts)
        std::fprintf(stderr, "socktap: WARNING: certificates of hosts matching '%s' are NOT verified\n",
                     qPrintable(pattern));
    return contexts;
}

// The hub shared by the engine and the front end, with the --rules file's rules if one was given.
// --script FILE...: read and checked (a syntax error names its file and line); nullopt after saying why.
std::optional<intercept::ScriptSet> loadScripts(const app::AppOptions &o)
{
    intercept::ScriptSet set;
    set.timeoutMs = o.scriptTimeoutMs;
    // (a window to release holds: this one, or one attached through --control)
    set.canHold = o.command == app::AppOptions::Command::Run && (!o.headless || !o.controlListen.isEmpty());
    for (const QString &file : o.scriptFiles) {
        QFile f(file);
        if (!f.open(QIODevice::ReadOnly)) {
            std::fprintf(stderr, "socktap: --script %s: %s\n", qPrintable(file), qPrintable(f.errorString()));
            return std::nullopt;
        }
        intercept::Script script {QFileInfo(file).fileName(), file, QString::fromUtf8(f.readAll())};
        if (const QString error = intercept::scriptError(script, o.scriptTimeoutMs); !error.isEmpty()) {
            std::fprintf(stderr, "socktap: --script: %s\n", qPrintable(error));
            return std::nullopt;
        }
        set.scripts.push_back(std::move(script));
    }
    return set;
}

// What scripts say and what goes wrong in them, as it happens, on stderr (the window shows it too).
void printScriptLog()
{
    intercept::ScriptLog::instance().setListener([](const intercept::ScriptLogLine &line) {
        std::fprintf(stderr, "socktap: script %s\n", qPrintable(line.display()));
    });
}

std::shared_ptr<intercept::InterceptHub> makeInterceptHub(const app::AppOptions &o)
{
    auto hub = std::make_shared<intercept::InterceptHub>();
    hub->setScriptTimeout(o.scriptTimeoutMs);
    if (!o.scriptFiles.isEmpty()) {
        auto scripts = loadScripts(o);
        if (!scripts)
            std::exit(1);
        std::fprintf(stderr, "socktap: %zu script%s: %s\n", scripts->scripts.size(),
                     scripts->scripts.size() == 1 ? "" : "s",
                     qPrintable(o.scriptFiles.join(QStringLiteral(", "))));
        printScriptLog();
        hub->setScripts(std::move(*scripts));
    }
    if (o.rules) {
        hub->setRules(*o.rules);
        std::fprintf(stderr, "socktap: %zu rules from %s\n", o.rules->rules.size(), qPrintable(o.rulesFile));
    }
    return hub;
}

// Mock rules' mocks served from this thread; what they could not serve, and what a client sent them that
// the capture has no answer for, said on stderr.
void serveMocks(replay::MockHost &mocks, const std::shared_ptr<intercept::InterceptHub> &hub)
{
    QObject::connect(&mocks, &replay::MockHost::cannotServe, [](const QString &why) {
        std::fprintf(stderr, "socktap: cannot serve %s\n", qPrintable(why));
    });
    QObject::connect(&mocks, &replay::MockHost::unanswered, [](quint64 session, const QString &line) {
        std::fprintf(stderr, "socktap: mock session %llu: %s\n", static_cast<unsigned long long>(session),
                     qPrintable(line));
    });
    mocks.attach(hub);
}

// The capture store and where it lives on disk: --record FILE (the native format, written as traffic
// happens), or else payloads past the memory budget spill to raw segment files in the cache directory
// (under --max-capture-disk), removed at exit; the user saves the capture to keep it. A --record file
// that cannot be created is an error; without a cache directory the capture stays in memory only.
// What goes around the upstream proxy: loopback (unless "<-loopback>") and the bypass patterns.
QStringList directHosts(const proxy::ProxyConfig &config)
{
    QStringList direct;
    if (!config.upstreamProxyBypass.contains(QStringLiteral("<-loopback>")))
        direct << QStringLiteral("loopback");
    for (const QString &pattern : config.upstreamProxyBypass)
        if (pattern != u"<-loopback>")
            direct << pattern;
    return direct.isEmpty() ? QStringList {QStringLiteral("nothing")} : direct;
}

// socktap browser: the browser through the proxy at address:port, trusting caPem in its own profile.
std::unique_ptr<browser::BrowserLaunch> startBrowser(const app::AppOptions &o, const QHostAddress &address,
                                                     quint16 port, const QByteArray &caPem, QString *error)
{
    const auto found = browser::findBrowser(o.browser, error);
    if (!found)
        return nullptr;
    browser::LaunchOptions launch;
    launch.proxyHost = browser::proxyHostFor(address);
    launch.proxyPort = port;
    launch.caPem = caPem;
    launch.urls = o.browserUrls;
    launch.headless = o.browserHeadless;
    launch.extraArguments = o.browserArguments;
    auto started = std::make_unique<browser::BrowserLaunch>(*found, launch);
    if (!started->start(error))
        return nullptr;
    std::fprintf(stderr,
                 "socktap: started %s (pid %lld) through %s:%u with a throw-away profile in %s that trusts "
                 "Socktap's CA; closing the browser removes it\n",
                 qPrintable(found->name), static_cast<long long>(started->processId()),
                 qPrintable(launch.proxyHost), unsigned(port), qPrintable(started->profileDirectory()));
    return started;
}

int runHeadless(app::AppOptions options)
{
    if (!options.controlListen.isEmpty())
        printScriptLog(); // (an attached window may send scripts)
    if (options.rules && options.rules->hasHoldRules() && options.controlListen.isEmpty()) {
        std::fprintf(stderr,
                     "socktap: %s: 'hold' rules need a window to release what they hold; headless, use "
                     "drop, delay, replace or regex-replace, or --control for a window to attach\n",
                     qPrintable(options.rulesFile));
        return 1;
    }
    if (options.launchBrowser) {
        // Said before anything starts listening: there is nothing to run without it.
        QString why;
        if (!browser::findBrowser(options.browser, &why)) {
            std::fprintf(stderr, "socktap: %s\n", qPrintable(why));
            return 7;
        }
    }
    options.proxy.intercept = makeInterceptHub(options);
    replay::MockHost mocks; // mock rules' mocks, on this thread
    serveMocks(mocks, options.proxy.intercept);
    std::unique_ptr<certs::CertificateAuthority> ca;
    options.proxy.tls = setUpTls(options, ca);
    if (!options.proxy.tls)
        return 3;
    app::CaptureHome home;
    if (!home.create(options))
        return CaptureFileExit;
    capture::CaptureStore &store = *home.store;
    for (const capture::CaptureDirectory &c : home.unreported()) {
        std::fprintf(stderr,
                     "socktap: an earlier Socktap (pid %lld) did not stop cleanly; its capture of %s, %s is "
                     "in %s ('socktap open' it, or 'socktap recover' to list captures)\n",
                     static_cast<long long>(c.pid),
                     qPrintable(capture::counted(c.summary.sessions, "session")),
                     qPrintable(capture::counted(c.summary.messages, "message")), qPrintable(c.journal));
        capture::markReported(c.path);
    }
    const QString exposed = proxy::requireCredentialsBeyondLoopback(options.proxy);
    // Declared before the server, so it goes after the workers: a command's answer is queued to it.
    std::unique_ptr<app::ControlServer> control;
    proxy::ProxyServer server(options.proxy, store);
    QString error;
    if (!server.start(&error)) {
        std::fprintf(stderr, "socktap: %s\n", qPrintable(error));
        return 2;
    }
    if (!exposed.isEmpty())
        std::fprintf(stderr, "socktap: warning: %s\n", qPrintable(exposed));
    std::fprintf(stderr, "socktap: listening on %s as %s; capture budget %s; Ctrl+C to stop\n",
                 qPrintable(server.endpoint()), qPrintable(describeModes(options.proxy)),
                 qPrintable(QString::number(double(options.maxCaptureMemory) / (1 << 30), 'f', 2)
                            + QStringLiteral(" GiB")));
    std::fprintf(stderr, "socktap: up to %d sessions at once (open-file limit %d, two descriptors each)\n",
                 server.maxConnections(), proxy::ProxyServer::openFileLimit());
    QObject::connect(&server, &proxy::ProxyServer::acceptTrouble,
                     [](const QString &why) { std::fprintf(stderr, "socktap: %s\n", qPrintable(why)); });
    QObject::connect(&server, &proxy::ProxyServer::acceptRecovered,
                     [] { std::fprintf(stderr, "socktap: accepting new clients again\n"); });
    if (const auto &via = options.proxy.upstreamProxy)
        std::fprintf(
            stderr, "socktap: servers are reached through the upstream proxy %s (CONNECT), except %s\n",
            via->authority().constData(), qPrintable(directHosts(options.proxy).join(QStringLiteral(", "))));
    if (!options.recordFile.isEmpty())
        std::fprintf(stderr, "socktap: recording to %s\n", qPrintable(options.recordFile));
    std::unique_ptr<app::Demo> demo;
    if (options.demo) {
        demo = std::make_unique<app::Demo>(server.port());
        if (!demo->start(&error))
            std::fprintf(stderr, "socktap: the demo could not start: %s\n", qPrintable(error));
    }
    std::unique_ptr<browser::BrowserLaunch> launch;
    if (options.launchBrowser) {
        launch = startBrowser(options, server.address(), server.port(), ca->certificatePem(), &error);
        if (!launch) {
            std::fprintf(stderr, "socktap: %s\n", qPrintable(error));
            return 7;
        }
        // socktap browser headless: the browser's session is the whole run.
        QObject::connect(launch.get(), &browser::BrowserLaunch::finished, [&](int, const QString &message) {
            std::fprintf(stderr, "socktap: %s; its profile is removed; stopping\n", qPrintable(message));
            server.stop();
        });
    }
    // --control: this run's capture for 'socktap attach' elsewhere (its crash journal, streamed).
    if (!options.controlListen.isEmpty()) {
        const qsizetype colon = options.controlListen.lastIndexOf(QLatin1Char(':'));
        const QString host =
            options.controlListen.left(colon).remove(QLatin1Char('[')).remove(QLatin1Char(']'));
        bool ok = colon > 0;
        const uint port = options.controlListen.mid(colon + 1).toUInt(&ok);
        if (!ok || port > 65535) {
            std::fprintf(stderr, "socktap: --control %s: expected HOST:PORT\n",
                         qPrintable(options.controlListen));
            return 1;
        }
        QString token = options.controlToken;
        if (token.isEmpty()) { // 128 random bits
            const quint64 a = QRandomGenerator::system()->generate64(),
                          b = QRandomGenerator::system()->generate64();
            token = QString::number(a, 16).rightJustified(16, QLatin1Char('0'))
                + QString::number(b, 16).rightJustified(16, QLatin1Char('0'));
        }
        control =
            std::make_unique<app::ControlServer>(store.crashJournal(), &server, options.proxy.intercept);
        control->setHoldGrace(options.controlHoldGraceS);
        QString error;
        if (!ca || !control->listen(host, quint16(port), *ca, token, &error)) {
            std::fprintf(stderr, "socktap: %s\n",
                         qPrintable(ca ? error : QStringLiteral("--control needs Socktap's CA")));
            return 2;
        }
        std::fprintf(stderr, "socktap: control on %s:%u (socktap attach %s:%u --token %s --ca sha256:%s)\n",
                     qPrintable(host), unsigned(control->port()), qPrintable(host), unsigned(control->port()),
                     options.controlToken.isEmpty() ? qPrintable(token) : "<your --control-token>",
                     qPrintable(ca->fingerprintSha256()));
    }
    std::unique_ptr<app::ConsoleSink> sink;
    if (!options.quiet)
        sink = std::make_unique<app::ConsoleSink>(
            store, options.json ? app::ConsoleSink::Format::Json : app::ConsoleSink::Format::Text,
            options.decode);
    if (sink)
        sink->setShowHttp(options.showHttp);

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
        if (launch && launch->isRunning()) {
            QObject::disconnect(launch.get(), nullptr, nullptr, nullptr);
            launch.reset(); // the browser first (its profile removed), so it does not retry through us
        }
        server.stop();
    });
    QObject::connect(&server, &proxy::ProxyServer::stopped, [&] {
        if (sink)
            sink->drain();
        if (const auto journal = store.journal())
            journal->flush();
        const auto stats = store.stats();
        std::fprintf(stderr, "socktap: stopped; captured %s, %s\n",
                     qPrintable(capture::counted(stats.sessions, "session")),
                     qPrintable(capture::counted(stats.messages, "message")));
        if (sink)
            sink->reportLosses(true);
        if (!stats.journalError.isEmpty())
            std::fprintf(stderr, "socktap: %s\n", qPrintable(stats.journalError));
        else if (!options.recordFile.isEmpty())
            std::fprintf(stderr, "socktap: the capture is in %s\n", qPrintable(options.recordFile));
        if (home.hasCapture()) {
            home.keep(QString::fromLatin1(capture::ending::Stopped));
            std::fprintf(stderr,
                         "socktap: the capture is kept in %s ('socktap recover' lists kept captures; the "
                         "newest %d are kept)\n",
                         qPrintable(home.journalPath()), app::CaptureHome::KeptCaptures);
        }
        if (const QString why = store.stats().crashJournalError; !why.isEmpty())
            std::fprintf(stderr, "socktap: %s\n", qPrintable(why));
        QCoreApplication::exit(exitCode);
    });
    return QCoreApplication::exec();
}

bool haveDisplay()
{
    return !qEnvironmentVariableIsEmpty("DISPLAY") || !qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY")
        || !qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM");
}

int runGui(const app::AppOptions &options)
{
    std::unique_ptr<certs::CertificateAuthority> ca;
    app::AppOptions o = options;
    // Tools > Settings from earlier runs, where the command line is silent. SOCKTAP_PALETTE=dark forces
    // the dark theme (screenshots on machines whose desktop offers none).
    ui::WindowSettings settings = ui::WindowSettings::restore(
        ui::WindowSettings::from(o.proxy, o.maxCaptureMemory, ui::Theme::System), o.givenOptions);
    if (qEnvironmentVariable("SOCKTAP_PALETTE") == QLatin1String("dark"))
        settings.theme = ui::Theme::Dark;
    // A CA file saved in Settings that is gone since must not keep the window from starting (the command
    // line's own --upstream-ca files stay strict).
    if (!o.givenOptions.contains(QStringLiteral("upstream-ca")))
        settings.upstreamCaFiles.removeIf([](const QString &file) {
            if (QFileInfo(file).isFile())
                return false;
            std::fprintf(stderr,
                         "socktap: warning: %s, trusted for servers in Settings, is gone; not trusted\n",
                         qPrintable(file));
            return true;
        });
    settings.applyTo(o.proxy);
    o.maxCaptureMemory = settings.memoryBudget;
    if (settings.theme != ui::Theme::System)
        ui::applyTheme(settings.theme);
    o.proxy.tls = setUpTls(o, ca);
    const bool hadCredentials = !o.proxy.proxyCredentials.isEmpty();
    const QString exposed = proxy::requireCredentialsBeyondLoopback(o.proxy);
    if (!o.proxy.tls)
        return 3;
    o.proxy.intercept = makeInterceptHub(o); // (the window serves its mock rules: MockFeature)
    app::CaptureHome home;
    if (!home.create(o))
        return CaptureFileExit;
    capture::CaptureStore &store = *home.store;
    ui::MainWindow window(
        store, [&] { return std::make_unique<proxy::ProxyServer>(o.proxy, store); }, ca.get(),
        o.proxy.intercept);
    window.proxy()->setEditableConfig(&o.proxy, settings.theme,
                                      !hadCredentials && !o.proxy.proxyCredentials.isEmpty());
    window.show();
    if (!window.proxy()->startProxy()) {
        QMessageBox::warning(&window, QObject::tr("Socktap"),
                             QObject::tr("The proxy did not start: %1.\n\nChoose another address in Tools > "
                                         "Settings, or start Socktap with --listen HOST:PORT.")
                                 .arg(window.proxy()->lastStartError()));
    }
    if (o.launchBrowser && window.proxy()->isListening())
        window.browsers()->openBrowser(o.browser, o.browserUrls, o.browserHeadless, o.browserArguments);
    if (!o.captureFile.isEmpty())
        window.files()->openCaptureFile(o.captureFile); // socktap FILE: its sessions appear as it loads
    if (!o.attachTarget.isEmpty()) {
        QString error;
        if (!window.attachments()->attach(o.attachTarget, o.attachToken, o.attachCa, &error)) {
            std::fprintf(stderr, "socktap: --attach %s: %s\n", qPrintable(o.attachTarget), qPrintable(error));
            return 3;
        }
    }
    if (!exposed.isEmpty()) {
        // Said in the window too, not only on a terminal the user may not be looking at.
        std::fprintf(stderr, "socktap: warning: %s\n", qPrintable(exposed));
        auto *box =
            new QMessageBox(QMessageBox::Warning, QObject::tr("Socktap"), exposed, QMessageBox::Ok, &window);
        box->setAttribute(Qt::WA_DeleteOnClose);
        box->setTextInteractionFlags(Qt::TextSelectableByMouse);
        box->open();
    }
    std::unique_ptr<app::Demo> demo;
    if (o.demo && window.proxy()->isListening()) {
        demo = std::make_unique<app::Demo>(window.proxy()->proxyPort());
        QString error;
        if (!demo->start(&error))
            std::fprintf(stderr, "socktap: the demo could not start: %s\n", qPrintable(error));
        if (!o.screenshotDir.isEmpty()) {
            QObject::connect(demo.get(), &app::Demo::finished, &window, [&] {
                // Let the capture reach the window (one refresh), then tour the tabs.
                QTimer::singleShot(300, &window, [&] { app::takeScreenshots(&window, o.screenshotDir); });
            });
        }
    }
    std::vector<capture::CaptureDirectory> offered = home.unreported();
    if (!offered.empty())
        new ui::RecoveryOffer(&window, std::move(offered)); // owned by the window
    app::SignalWatcher signalWatcher;
    QObject::connect(&signalWatcher, &app::SignalWatcher::terminationRequested, &window, [&](int signal) {
        if (signal < 0)
            return;
        if (window.quitSignal()) {
            std::fprintf(stderr, "socktap: second signal, exiting now\n");
            std::_Exit(1);
        }
        const auto stats = store.stats();
        std::fprintf(stderr,
                     "socktap: signal %d: closing sessions with 1001 Going Away and quitting; the "
                     "capture (%s, %s) is kept for recovery\n",
                     signal, qPrintable(capture::counted(stats.sessions, "session")),
                     qPrintable(capture::counted(stats.messages, "message")));
        window.quitOnSignal(signal);
    });
    const int code = QApplication::exec();
    if (window.quitSignal()) {
        home.keep(capture::ending::signal(window.quitSignal()));
        if (home.hasCapture())
            std::fprintf(stderr, "socktap: the capture is kept in %s; the next start offers it back\n",
                         qPrintable(home.journalPath()));
    }
    return code;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication::setApplicationName(QStringLiteral("socktap"));
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
    if (parsed.options.formats)
        decode::FormatRegistry::setCurrent(parsed.options.formats); // a .proto schema (--proto)
    if (parsed.options.command == app::AppOptions::Command::Open
        || parsed.options.command == app::AppOptions::Command::Export) {
        QCoreApplication app(argc, argv);
        return app::runCaptureCommand(parsed.options);
    }
    if (parsed.options.command == app::AppOptions::Command::Recover) {
        QCoreApplication app(argc, argv);
        return app::runRecoverCommand(parsed.options);
    }
    if (parsed.options.command == app::AppOptions::Command::Replay) {
        QCoreApplication app(argc, argv);
        app::AppOptions o = parsed.options;
        std::unique_ptr<certs::CertificateAuthority> ca;
        auto tls = setUpTls(o, ca);
        if (!tls)
            return 3;
        o.memoryOnly = o.recordFile.isEmpty(); // the replay's capture is kept only if asked for
        app::CaptureHome home;
        if (!home.create(o))
            return CaptureFileExit;
        return app::runReplayCommand(o, *home.store, tls, ca->certificatePem());
    }
    if (parsed.options.command == app::AppOptions::Command::Attach) {
        QCoreApplication app(argc, argv);
        return app::runAttach(parsed.options);
    }
    if (parsed.options.command == app::AppOptions::Command::Mock) {
        QCoreApplication app(argc, argv);
        app::AppOptions o = parsed.options;
        if (o.rules && o.rules->hasHoldRules()) {
            std::fprintf(stderr, "socktap: %s: 'hold' rules need the window; a mock runs headless\n",
                         qPrintable(o.rulesFile));
            return 1;
        }
        std::unique_ptr<certs::CertificateAuthority> ca;
        auto tls = setUpTls(o, ca);
        if (!tls)
            return 3;
        o.memoryOnly = o.recordFile.isEmpty(); // the mock's capture is kept only if asked for
        app::CaptureHome home;
        if (!home.create(o))
            return CaptureFileExit;
        replay::MockHost mocks; // a mock rule in a mock's rules: served too
        auto hub = makeInterceptHub(o);
        serveMocks(mocks, hub);
        return app::runMockCommand(o, *home.store, tls, hub);
    }
    if (parsed.options.command != app::AppOptions::Command::Run) {
        QCoreApplication app(argc, argv);
        return runCaCommand(parsed.options);
    }
    // --json is for machines: it always runs headless, display or not.
    if (!parsed.options.headless && !parsed.options.json && haveDisplay()) {
        QApplication app(argc, argv);
        return runGui(parsed.options);
    }
    if (!parsed.options.headless && !parsed.options.json)
        std::fprintf(stderr,
                     "socktap: no display found, running headless (use --headless to say so, or set DISPLAY "
                     "for the window)\n");
    QCoreApplication app(argc, argv);
    return runHeadless(parsed.options);
}
