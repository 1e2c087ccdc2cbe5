#include "Recovery.h"

#include "TextFormat.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStandardPaths>

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace socktap::capture {

namespace {

constexpr char EndedFile[] = "ended";
constexpr char ReportedPrefix[] = "reported:";
constexpr char LockFile[] = "running.lock";

QByteArray lockPath(const QString &directory)
{
    return QFile::encodeName(QDir(directory).filePath(QString::fromLatin1(LockFile)));
}

// Whether the run that owns a capture directory is alive. Its lock file says so exactly: the owner holds an
// flock on it for its whole life and the kernel releases it however the process ends, even when its pid
// is later reused by another program. Directories from before the lock file fall back to the pid.
bool processRunning(const QString &directory, qint64 pid)
{
    const int fd = ::open(lockPath(directory).constData(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
        ::close(fd);
        return held;
    }
    return pid > 0 && (::kill(pid_t(pid), 0) == 0 || errno != ESRCH);
}

quint64 directoryBytes(const QString &path)
{
    quint64 total = 0;
    for (const QFileInfo &f : QDir(path).entryInfoList(QDir::Files | QDir::Hidden | QDir::NoSymLinks))
        total += quint64(f.size());
    return total;
}

QString readEnding(const QString &directory)
{
    QFile f(QDir(directory).filePath(QString::fromLatin1(EndedFile)));
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QString::fromUtf8(f.readAll()).trimmed();
}

} // namespace

bool CaptureDirectory::reported() const
{
    return ending.startsWith(QLatin1String(ReportedPrefix));
}

bool CaptureDirectory::endedAbnormally() const
{
    return !running && (ending.isEmpty() || ending.startsWith(QLatin1String("signal")));
}

QString CaptureDirectory::howItEnded() const
{
    if (running)
        return QStringLiteral("still running (pid %1)").arg(pid);
    const QString how = reported() ? ending.mid(int(sizeof ReportedPrefix) - 1).trimmed() : ending;
    if (how.isEmpty())
        return QStringLiteral("did not stop cleanly (killed or crashed)");
    if (how.startsWith(QLatin1String("signal")))
        return QStringLiteral("ended by %1, capture kept").arg(how);
    if (how == QLatin1String(ending::Stopped))
        return QStringLiteral("stopped");
    return how;
}

QString ending::signal(int number)
{
    return QStringLiteral("signal %1").arg(number);
}

QString capturesRoot()
{
    return QStandardPaths::writableLocation(QStandardPaths::CacheLocation) + QStringLiteral("/captures");
}

QString createCaptureDirectory(const QString &root, QString *error)
{
    const QString path =
        root
        + QStringLiteral("/capture-%1-%2")
              .arg(QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss")))
              .arg(::getpid());
    // 0700: the capture holds cookies, tokens and message contents.
    if (!QDir().mkpath(path)
        || !QFile::setPermissions(path, QFileDevice::ReadOwner | QFileDevice::WriteOwner
                                            | QFileDevice::ExeOwner)) {
        *error = QStringLiteral("cannot create %1").arg(path);
        return {};
    }
    // Held until this process ends (never closed, not inherited by children such as a browser): a later
    // Socktap tells a live run from a dead one by it, whatever the pid became.
    const QByteArray lock = lockPath(path);
    const int fd = ::open(lock.constData(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (fd >= 0)
            ::close(fd);
        *error = QStringLiteral("cannot lock %1").arg(QString::fromLocal8Bit(lock));
        return {};
    }
    return path;
}

std::vector<CaptureDirectory> listCaptureDirectories(const QString &root, bool includeRunning)
{
    std::vector<CaptureDirectory> out;
    QDir dir(root);
    const QStringList names =
        dir.entryList({QStringLiteral("capture-*")}, QDir::Dirs | QDir::NoDotAndDotDot | QDir::NoSymLinks,
                      QDir::Name | QDir::Reversed); // the date in the name: newest first
    for (const QString &name : names) {
        CaptureDirectory c;
        c.path = dir.filePath(name);
        bool ok = false;
        c.pid = name.section(QLatin1Char('-'), -1).toLongLong(&ok);
        if (!ok || c.pid <= 0 || c.pid == ::getpid())
            continue;
        c.running = processRunning(c.path, c.pid);
        if (c.running && !includeRunning)
            continue;
        c.started = QDateTime::fromString(name.section(QLatin1Char('-'), 1, 2), QStringLiteral("yyyyMMdd-HHmmss"));
        c.journal = QDir(c.path).filePath(QString::fromLatin1(BatchJournal::FileName));
        c.ending = readEnding(c.path);
        QString error;
        if (QFile::exists(c.journal)) {
            if (const auto summary = summarizeJournal(c.journal, &error)) {
                c.summary = *summary;
            } else {
                // Unreadable here (another version's journal, a damaged start): kept and listed, never
                // taken for an empty one.
                c.summary.bytes = quint64(QFileInfo(c.journal).size());
                c.summary.damage = error;
            }
        }
        out.push_back(std::move(c));
    }
    return out;
}

void markEnded(const QString &directory, const QString &how)
{
    QFile f(QDir(directory).filePath(QString::fromLatin1(EndedFile)));
    if (f.open(QIODevice::WriteOnly | QIODevice::Truncate))
        f.write(how.toUtf8() + '\n');
}

void markReported(const QString &directory)
{
    const QString how = readEnding(directory);
    if (!how.startsWith(QLatin1String(ReportedPrefix)))
        markEnded(directory, QLatin1String(ReportedPrefix) + QLatin1Char(' ') + how);
}

QStringList pruneCaptureDirectories(const QString &root, int keep, quint64 maxBytes)
{
    QStringList removed;
    int kept = 0;
    quint64 bytes = 0;
    for (const CaptureDirectory &c : listCaptureDirectories(root)) {
        // Spill segments are raw payload bytes that only their own run could place: nothing reads them.
        QDir dir(c.path);
        for (const QString &segment : dir.entryList({QStringLiteral("payloads-*")}, QDir::Files))
            dir.remove(segment);
        if (c.summary.sessions == 0 && c.summary.messages == 0 && c.summary.damage.isEmpty()
            && c.summary.bytes <= sizeof BatchJournal::Magic) {
            dir.removeRecursively();
            continue;
        }
        const quint64 size = directoryBytes(c.path);
        if (kept < keep && bytes + size <= maxBytes) {
            ++kept;
            bytes += size;
            continue;
        }
        removed << QStringLiteral("%1 (%2, %3, %4)")
                       .arg(c.path, counted(c.summary.sessions, "session"), counted(c.summary.messages, "message"),
                            c.howItEnded());
        dir.removeRecursively();
    }
    return removed;
}

} // namespace socktap::capture
