#include "BrowserLauncher.h"

#include <QDeadlineTimer>
#include <QDir>
#include <QFile>
#include <QStandardPaths>
#include <QTimer>

#include <cerrno>
#include <csignal>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace socktap::browser {

namespace {

struct Known
{
    const char *id;
    const char *name;
    Browser::Family family;
    std::initializer_list<const char *> programs; // Debian's names first
};

const Known KnownBrowsers[] = {
    {"chromium", "Chromium", Browser::Family::Chromium, {"chromium", "chromium-browser"}},
    {"chrome", "Google Chrome", Browser::Family::Chromium, {"google-chrome", "google-chrome-stable"}},
    {"firefox", "Firefox", Browser::Family::Firefox, {"firefox", "firefox-esr"}},
};

// Enough of stderr to say why a browser failed, not a log's worth.
constexpr qsizetype StderrTail = 4000;

QString certutilMissing()
{
    return QStringLiteral("certutil (from the package libnss3-tools) is needed to trust Socktap's CA in the "
                          "browser's profile: sudo apt install libnss3-tools");
}

// Runs a short helper (certutil) to completion.
bool runTool(const QString &program, const QStringList &args, const QProcessEnvironment &env, QString *error)
{
    QProcess p;
    p.setProcessEnvironment(env);
    p.start(program, args);
    if (!p.waitForFinished(30000) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) {
        *error = QStringLiteral("%1 %2 failed: %3")
                     .arg(program, args.join(QLatin1Char(' ')),
                          QString::fromLocal8Bit(p.readAllStandardError()).trimmed());
        return false;
    }
    return true;
}

QByteArray firefoxPrefs(const LaunchOptions &o)
{
    const QByteArray host = o.proxyHost.toUtf8();
    const QByteArray port = QByteArray::number(o.proxyPort);
    QByteArray prefs;
    const auto pref = [&](const char *name, const QByteArray &value) {
        prefs += "user_pref(\"" + QByteArray(name) + "\", " + value + ");\n";
    };
    const auto quoted = [](const QByteArray &s) { return '"' + s + '"'; };
    // Every request through the proxy, loopback included (Firefox skips the proxy for localhost unless
    // told not to).
    pref("network.proxy.type", "1");
    pref("network.proxy.http", quoted(host));
    pref("network.proxy.http_port", port);
    pref("network.proxy.ssl", quoted(host));
    pref("network.proxy.ssl_port", port);
    pref("network.proxy.share_proxy_settings", "true");
    pref("network.proxy.no_proxies_on", quoted(""));
    pref("network.proxy.allow_hijacking_localhost", "true");
    // Trust comes from this profile's cert9.db only, never the system's.
    pref("security.enterprise_roots.enabled", "false");
    // No first-run screens, no background chatter in the capture.
    pref("browser.shell.checkDefaultBrowser", "false");
    pref("browser.aboutwelcome.enabled", "false");
    pref("browser.startup.homepage_override.mstone", quoted("ignore"));
    pref("startup.homepage_welcome_url", quoted(""));
    pref("startup.homepage_welcome_url.additional", quoted(""));
    pref("datareporting.policy.dataSubmissionEnabled", "false");
    pref("datareporting.healthreport.uploadEnabled", "false");
    pref("toolkit.telemetry.reportingpolicy.firstRun", "false");
    pref("app.update.auto", "false");
    pref("network.captive-portal-service.enabled", "false");
    pref("network.connectivity-service.enabled", "false");
    pref("browser.newtabpage.activity-stream.feeds.topsites", "false");
    return prefs;
}

// The environment variable that marks every process of one launch: Chromium's crash handlers leave the
// browser's process group (setsid) but inherit its environment; its zygote's children do the opposite.
constexpr char ProfileMarker[] = "SOCKTAP_BROWSER_PROFILE";

// /proc/PID/stat: "pid (comm) state ppid pgrp ...", where comm may hold spaces and parentheses.
bool readStat(const QString &pid, char *state, pid_t *group)
{
    QFile f(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return false;
    const QByteArray line = f.read(512);
    const qsizetype close = line.lastIndexOf(')');
    if (close < 0)
        return false;
    const QList<QByteArray> fields = line.mid(close + 2).split(' ');
    if (fields.size() < 3 || fields[0].isEmpty())
        return false;
    *state = fields[0][0];
    *group = pid_t(fields[2].toInt());
    return true;
}

} // namespace

// Profiles of browsers whose Socktap was killed (the pid in the name is gone): nothing else removes them.
// Only real directories of this user: in a shared /tmp, another user could plant a name (or a symlink to
// somewhere of ours) for the sweep to delete.
void removeAbandonedProfiles(const QString &directory)
{
    QDir temp(directory);
    const auto names = temp.entryList({QStringLiteral("socktap-browser-*")},
                                      QDir::Dirs | QDir::NoSymLinks | QDir::NoDotAndDotDot | QDir::Hidden);
    for (const QString &name : names) {
        bool ok = false;
        const pid_t pid = pid_t(name.section(QLatin1Char('-'), 2, 2).toInt(&ok));
        const QByteArray path = QFile::encodeName(temp.filePath(name));
        struct stat st
        { };
        if (!ok || pid <= 0 || ::lstat(path.constData(), &st) != 0 || !S_ISDIR(st.st_mode)
            || st.st_uid != ::getuid())
            continue;
        if (::kill(pid, 0) != 0 && errno == ESRCH)
            QDir(temp.filePath(name)).removeRecursively();
    }
}

QList<pid_t> processesOfLaunch(pid_t group, const QString &profile)
{
    QList<pid_t> found;
    const QByteArray marker = QByteArray(ProfileMarker) + '=' + QFile::encodeName(profile);
    const QStringList pids = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &name : pids) {
        bool ok = false;
        const pid_t pid = pid_t(name.toInt(&ok));
        char state = 0;
        pid_t pgrp = 0;
        // A zombie has finished: whether anyone reaps it (a container's init may not) is not our wait.
        if (!ok || pid == ::getpid() || !readStat(name, &state, &pgrp) || state == 'Z' || state == 'X')
            continue;
        bool ours = group > 0 && pgrp == group;
        if (!ours && !profile.isEmpty()) {
            QFile env(QStringLiteral("/proc/%1/environ").arg(name));
            if (env.open(QIODevice::ReadOnly))
                ours = env.readAll().split('\0').contains(marker);
        }
        if (ours)
            found.append(pid);
    }
    return found;
}


QString proxyHostFor(const QHostAddress &address)
{
    if (address == QHostAddress::Any || address == QHostAddress::AnyIPv4)
        return QStringLiteral("127.0.0.1");
    if (address == QHostAddress::AnyIPv6)
        return QStringLiteral("[::1]");
    if (address.protocol() == QAbstractSocket::IPv6Protocol)
        return QLatin1Char('[') + address.toString() + QLatin1Char(']');
    return address.toString();
}

QList<Browser> installedBrowsers()
{
    QList<Browser> found;
    for (const Known &k : KnownBrowsers) {
        for (const char *program : k.programs) {
            const QString path = QStandardPaths::findExecutable(QString::fromLatin1(program));
            if (!path.isEmpty()) {
                found.append({QString::fromLatin1(k.id), QString::fromLatin1(k.name), k.family, path});
                break;
            }
        }
    }
    return found;
}

QString noBrowserMessage()
{
    return QStringLiteral("No browser found: Socktap opens Chromium, Google Chrome or Firefox. Install one, "
                          "for example: sudo apt install chromium (or firefox-esr)");
}

std::optional<Browser> findBrowser(const QString &id, QString *error)
{
    const QList<Browser> found = installedBrowsers();
    if (id.isEmpty()) {
        if (found.isEmpty()) {
            *error = noBrowserMessage();
            return std::nullopt;
        }
        return found.front();
    }
    for (const Browser &b : found)
        if (b.id == id)
            return b;
    for (const Known &k : KnownBrowsers) {
        if (id != QLatin1String(k.id))
            continue;
        const QString packages = k.family == Browser::Family::Firefox ? QStringLiteral("firefox-esr")
            : id == u"chrome" ? QStringLiteral("google-chrome-stable (from Google's repository)")
                              : QStringLiteral("chromium");
        *error =
            QStringLiteral("%1 is not installed (none of %2 on PATH): install %3")
                .arg(QString::fromLatin1(k.name),
                     QStringList(k.programs.begin(), k.programs.end()).join(QStringLiteral(", ")), packages);
        return std::nullopt;
    }
    *error = QStringLiteral("unknown browser '%1': expected chromium, chrome or firefox").arg(id);
    return std::nullopt;
}

BrowserLaunch::BrowserLaunch(Browser browser, LaunchOptions options, QObject *parent)
    : QObject(parent)
    , m_browser(std::move(browser))
    , m_options(std::move(options))
{
    m_process.setProcessChannelMode(QProcess::SeparateChannels);
    // If Socktap dies without stopping it (SIGKILL, a crash), the browser gets SIGTERM rather than staying
    // on, pointed at a proxy that is gone. (Kept across the exec of Debian's chromium wrapper script.)
    // A Socktap that died between the fork and the prctl is caught by the parent check.
    m_process.setChildProcessModifier([parent = ::getpid()] {
        // A process group of its own: the browser's helpers (zygote, renderers, GPU, network) stay in it,
        // so the launch can tell when all of them have gone.
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != parent)
            ::_exit(1);
    });
    m_process.setStandardOutputFile(QProcess::nullDevice());
    connect(&m_process, &QProcess::readyReadStandardError, this, [this] {
        m_stderrTail += m_process.readAllStandardError();
        if (m_stderrTail.size() > StderrTail)
            m_stderrTail = m_stderrTail.right(StderrTail);
    });
    connect(&m_process, &QProcess::finished, this, &BrowserLaunch::onFinished);
}

BrowserLaunch::~BrowserLaunch()
{
    disconnect(&m_process, nullptr, this, nullptr);
    m_treeWait.stop();
    if (isRunning()) {
        signalTree(SIGTERM);
        if (!m_process.waitForFinished(3000)) {
            signalTree(SIGKILL);
            m_process.waitForFinished(3000);
        }
    }
    // Helpers outlive the browser's main process by a moment (and Chromium's crash handlers are not its
    // children): the profile is removed once none is left, so nothing writes into it afterwards.
    if (m_group > 0 && !waitForTree(3000)) {
        signalTree(SIGKILL);
        waitForTree(2000);
    }
    m_group = 0;
    removeProfile();
}

QList<pid_t> BrowserLaunch::remainingProcesses() const
{
    return m_group > 0 ? processesOfLaunch(m_group, profileDirectory()) : QList<pid_t>();
}

void BrowserLaunch::signalTree(int signal)
{
    if (m_group <= 0)
        return;
    ::kill(-m_group, signal);
    for (pid_t pid : remainingProcesses())
        ::kill(pid, signal);
}

bool BrowserLaunch::waitForTree(int ms)
{
    QDeadlineTimer deadline(ms);
    while (!remainingProcesses().isEmpty()) {
        if (deadline.hasExpired())
            return false;
        ::usleep(20000);
    }
    return true;
}

void BrowserLaunch::removeProfile()
{
    if (!m_dir)
        return;
    // A second pass for a file a helper wrote while the first one ran.
    if (!m_dir->remove())
        QDir(m_dir->path()).removeRecursively();
    m_dir.reset();
}

bool BrowserLaunch::start(QString *error)
{
    removeAbandonedProfiles(QDir::tempPath());
    // The pid in the name says whose it is, for the sweep above.
    m_dir = std::make_unique<QTemporaryDir>(QDir::tempPath()
                                            + QStringLiteral("/socktap-browser-%1-XXXXXX").arg(::getpid()));
    if (!m_dir->isValid()) {
        *error = QStringLiteral("cannot create a temporary profile: %1").arg(m_dir->errorString());
        return false;
    }
    // Every process of this launch carries the marker, whatever group it moves to; and the browser's own
    // files (crash reports, caches, configuration) stay in the throw-away directory.
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QString::fromLatin1(ProfileMarker), m_dir->path());
    env.insert(QStringLiteral("XDG_CONFIG_HOME"), m_dir->filePath(QStringLiteral("home/.config")));
    env.insert(QStringLiteral("XDG_CACHE_HOME"), m_dir->filePath(QStringLiteral("home/.cache")));
    m_process.setProcessEnvironment(env);
    const bool prepared =
        m_browser.family == Browser::Family::Firefox ? prepareFirefox(error) : prepareChromium(error);
    if (!prepared)
        return false;
    m_process.start(m_browser.program, arguments());
    if (!m_process.waitForStarted(10000)) {
        *error = QStringLiteral("%1 (%2) did not start: %3")
                     .arg(m_browser.name, m_browser.program, m_process.errorString());
        return false;
    }
    m_group = pid_t(m_process.processId()); // its own group (setpgid above)
    return true;
}

void BrowserLaunch::stop()
{
    if (!isRunning())
        return;
    signalTree(SIGTERM);
    // A browser that ignores SIGTERM (or shows a "close tabs?" prompt) is not left behind.
    QTimer::singleShot(5000, this, [this] {
        if (isRunning())
            signalTree(SIGKILL);
    });
}

bool BrowserLaunch::trustCa(const QString &database, QString *error)
{
    const QString certutil = QStandardPaths::findExecutable(QStringLiteral("certutil"));
    if (certutil.isEmpty()) {
        *error = certutilMissing();
        return false;
    }
    const QString caFile = m_dir->filePath(QStringLiteral("socktap-ca.pem"));
    QFile ca(caFile);
    if (!ca.open(QIODevice::WriteOnly) || ca.write(m_options.caPem) != m_options.caPem.size()) {
        *error = QStringLiteral("cannot write %1: %2").arg(caFile, ca.errorString());
        return false;
    }
    ca.close();
    if (!QDir().mkpath(database)) {
        *error = QStringLiteral("cannot create %1").arg(database);
        return false;
    }
    const QProcessEnvironment env = m_process.processEnvironment().isEmpty()
        ? QProcessEnvironment::systemEnvironment()
        : m_process.processEnvironment();
    const QString db = QStringLiteral("sql:") + database;
    // "C,,": a CA trusted to issue server certificates (and nothing else).
    return runTool(certutil, {"-d", db, "-N", "--empty-password"}, env, error)
        && runTool(certutil, {"-d", db, "-A", "-t", "C,,", "-n", "Socktap CA", "-i", caFile}, env, error);
}

bool BrowserLaunch::prepareChromium(QString *error)
{
    // Chromium and Chrome on Linux read certificate trust from $HOME/.pki/nssdb only (not from the
    // profile), so the browser gets a temporary HOME of its own.
    const QString home = m_dir->filePath(QStringLiteral("home"));
    QProcessEnvironment env = m_process.processEnvironment();
    env.insert(QStringLiteral("HOME"), home);
    m_process.setProcessEnvironment(env);
    return trustCa(home + QStringLiteral("/.pki/nssdb"), error);
}

bool BrowserLaunch::prepareFirefox(QString *error)
{
    const QString profile = m_dir->filePath(QStringLiteral("profile"));
    if (!trustCa(profile, error))
        return false;
    QFile prefs(profile + QStringLiteral("/user.js"));
    const QByteArray text = firefoxPrefs(m_options);
    if (!prefs.open(QIODevice::WriteOnly) || prefs.write(text) != text.size()) {
        *error = QStringLiteral("cannot write %1: %2").arg(prefs.fileName(), prefs.errorString());
        return false;
    }
    return true;
}

QStringList BrowserLaunch::arguments() const
{
    QStringList args;
    if (m_browser.family == Browser::Family::Firefox) {
        args << QStringLiteral("--no-remote") << QStringLiteral("--new-instance")
             << QStringLiteral("--profile") << m_dir->filePath(QStringLiteral("profile"));
        if (m_options.headless)
            args << QStringLiteral("--headless");
    } else {
        args
            << QStringLiteral("--user-data-dir=") + m_dir->filePath(QStringLiteral("profile"))
            << QStringLiteral("--proxy-server=http://%1:%2").arg(m_options.proxyHost).arg(m_options.proxyPort)
            // Without it, Chromium sends loopback addresses around the proxy.
            << QStringLiteral("--proxy-bypass-list=<-loopback>") << QStringLiteral("--no-first-run")
            << QStringLiteral("--no-default-browser-check")
            // A throw-away profile needs no keyring (which would prompt for a password on some desktops).
            << QStringLiteral("--password-store=basic")
            // Fewer background connections in the capture (no sync, updates, field trials, safe-browsing
            // pings, translation, hints; much of the set Puppeteer uses for the same reason, minus what a
            // user would miss, such as extensions and the popup blocker).
            << QStringLiteral("--disable-background-networking") << QStringLiteral("--disable-sync")
            << QStringLiteral("--disable-component-update") << QStringLiteral("--disable-default-apps")
            << QStringLiteral("--disable-client-side-phishing-detection")
            << QStringLiteral("--disable-component-extensions-with-background-pages")
            << QStringLiteral("--disable-domain-reliability") << QStringLiteral("--disable-breakpad")
            << QStringLiteral("--metrics-recording-only")
            << QStringLiteral("--disable-features=Translate,MediaRouter,OptimizationHints,"
                              "OptimizationGuideModelDownloading,OptimizationHintsFetching,"
                              "OptimizationTargetPrediction,AutofillServerCommunication");
        if (m_options.headless)
            args << QStringLiteral("--headless=new") << QStringLiteral("--disable-gpu");
        // Chromium refuses to run as root with its sandbox, and containers usually cannot give it one.
        if (m_options.headless || ::geteuid() == 0)
            args << QStringLiteral("--no-sandbox");
    }
    return args + m_options.extraArguments + m_options.urls;
}

void BrowserLaunch::onFinished(int exitCode, QProcess::ExitStatus status)
{
    m_stderrTail += m_process.readAllStandardError();
    QString message = status == QProcess::CrashExit
        ? QStringLiteral("%1 was stopped or crashed").arg(m_browser.name)
        : QStringLiteral("%1 exited with status %2").arg(m_browser.name).arg(exitCode);
    if ((status == QProcess::CrashExit || exitCode != 0) && !m_stderrTail.trimmed().isEmpty())
        message += QStringLiteral("; it said: ") + QString::fromLocal8Bit(m_stderrTail.trimmed().right(600));
    // The profile goes with the browser: once its last helper has gone (they follow the main process
    // within moments; after 3 s they are stopped), so that none writes into a removed directory.
    const QDeadlineTimer deadline(3000);
    m_treeWait.setInterval(20);
    disconnect(&m_treeWait, nullptr, this, nullptr);
    connect(&m_treeWait, &QTimer::timeout, this, [this, deadline, exitCode, message] {
        if (!remainingProcesses().isEmpty() && !deadline.hasExpired())
            return;
        m_treeWait.stop();
        if (!remainingProcesses().isEmpty()) {
            signalTree(SIGKILL);
            waitForTree(2000);
        }
        m_group = 0; // gone: its id may be reused by an unrelated group
        removeProfile();
        emit finished(exitCode, message);
    });
    m_treeWait.start();
}

} // namespace socktap::browser
