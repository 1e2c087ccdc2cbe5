// A browser through Socktap in one click (HTTP Toolkit's "intercept a fresh browser", done with what Debian
// ships): the browser runs with a throw-away profile in a temporary directory that sends every request to
// the proxy (loopback included) and trusts Socktap's root CA in that profile only: an NSS database in a
// temporary HOME for Chromium and Chrome (they read $HOME/.pki/nssdb on Linux), the profile's own
// cert9.db for Firefox. The user's profiles and the system trust store are never touched; the directory
// is removed when the browser exits (or when Socktap stops it).
#pragma once

#include <QHostAddress>
#include <QObject>
#include <QProcess>
#include <QStringList>
#include <QTemporaryDir>
#include <QTimer>

#include <sys/types.h>

#include <memory>
#include <optional>

namespace socktap::browser {

struct Browser
{
    enum class Family { Chromium, Firefox };
    QString id; // what `socktap browser ID` takes: chromium, chrome or firefox
    QString name; // for people: "Chromium", "Google Chrome", "Firefox"
    Family family = Family::Chromium;
    QString program; // absolute path
};

// The browsers on this machine's PATH, in order of preference (Chromium, Chrome, Firefox).
QList<Browser> installedBrowsers();
// id empty: the first installed. Otherwise that browser, or nullopt with *error saying what to install.
std::optional<Browser> findBrowser(const QString &id, QString *error);
// Which Debian packages provide each browser, for a machine that has none.
QString noBrowserMessage();

// The host a local browser should dial for a proxy listening on address (a wildcard means loopback).
QString proxyHostFor(const QHostAddress &address);

// Removes the throw-away profiles in directory whose Socktap (the pid in the name) is gone, if they are
// directories of this user (never a symlink, never another user's). start() runs it on the temporary
// directory.
void removeAbandonedProfiles(const QString &directory);
// The live processes of one launch: those in its process group, and those carrying its profile marker
// in their environment (Chromium's crash handlers start sessions of their own). Zombies do not count.
QList<pid_t> processesOfLaunch(pid_t group, const QString &profile);

struct LaunchOptions
{
    QString proxyHost = QStringLiteral("127.0.0.1");
    quint16 proxyPort = 0;
    QByteArray caPem; // Socktap's root CA certificate, trusted in the throw-away profile
    QStringList urls; // opened at start (none: the browser's blank page)
    bool headless = false; // no window (CI); Chromium also drops its sandbox then, as containers need
    QStringList extraArguments;
};

class BrowserLaunch final : public QObject
{
    Q_OBJECT

public:
    BrowserLaunch(Browser browser, LaunchOptions options, QObject *parent = nullptr);
    // Stops a browser still running (SIGTERM, then SIGKILL) and removes its profile.
    ~BrowserLaunch() override;

    // Prepares the profile and starts the browser. False with *error when something is missing
    // (certutil, a writable temporary directory) or the browser does not start.
    bool start(QString *error);
    // Asks the browser to quit; finished() follows.
    void stop();

    const Browser &browser() const { return m_browser; }
    QString profileDirectory() const { return m_dir ? m_dir->path() : QString(); }
    qint64 processId() const { return m_process.processId(); }
    bool isRunning() const { return m_process.state() != QProcess::NotRunning; }
    // The browser's processes still alive, its main process and every helper (empty once finished()).
    QList<pid_t> remainingProcesses() const;

    // The arguments the browser is started with (after the profile is prepared).
    QStringList arguments() const;

signals:
    // The browser exited and its profile is gone. message: how it ended, with the tail of its stderr when
    // it failed.
    void finished(int exitCode, const QString &message);

private:
    bool prepareChromium(QString *error);
    bool prepareFirefox(QString *error);
    bool trustCa(const QString &database, QString *error);
    void onFinished(int exitCode, QProcess::ExitStatus status);
    void signalTree(int signal);
    bool waitForTree(int ms);
    void removeProfile();

    Browser m_browser;
    LaunchOptions m_options;
    std::unique_ptr<QTemporaryDir> m_dir;
    QProcess m_process;
    QByteArray m_stderrTail;
    pid_t m_group = 0;
    QTimer m_treeWait;
};

} // namespace socktap::browser
