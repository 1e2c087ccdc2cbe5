// The socktap executable run as a user runs it, for tests: started with arguments (optionally under an
// open-file limit, or in a HOME of its own), its banner's port read, stderr and stdout collected.
#pragma once

#include "Peers.h"

#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>

#include <csignal>

namespace socktap::test {

struct Socktap
{
    QProcess process;
    quint16 port = 0;
    QByteArray err;
    QByteArray out;

    // A HOME, cache and configuration of its own (its CA, its kept captures), shared by the runs that
    // are given the same directory.
    void useHome(const QString &home)
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("HOME"), home);
        env.insert(QStringLiteral("XDG_CACHE_HOME"), home + QStringLiteral("/.cache"));
        env.insert(QStringLiteral("XDG_CONFIG_HOME"), home + QStringLiteral("/.config"));
        process.setProcessEnvironment(env);
    }
    // fileLimit > 0: started under that open-file limit, soft and hard (so Socktap cannot raise it).
    bool start(const QStringList &args, int fileLimit = 0)
    {
        if (fileLimit > 0)
            process.start(QStringLiteral("/bin/sh"),
                          QStringList {QStringLiteral("-c"),
                                       QStringLiteral("ulimit -n %1 && exec \"$0\" \"$@\"").arg(fileLimit),
                                       QStringLiteral(SOCKTAP_BINARY)}
                              + args);
        else
            process.start(QStringLiteral(SOCKTAP_BINARY), args);
        if (!process.waitForStarted(WaitMs))
            return false;
        // The banner on stderr names the port actually bound.
        const QRegularExpression re(QStringLiteral("listening on [^ ]+:(\\d+)"));
        return QTest::qWaitFor(
                   [&] {
                       err += process.readAllStandardError();
                       const auto m = re.match(QString::fromUtf8(err));
                       if (m.hasMatch())
                           port = quint16(m.captured(1).toUInt());
                       return port != 0 || process.state() == QProcess::NotRunning;
                   },
                   WaitMs)
            && port != 0;
    }
    // The window says the port it bound on stderr, as headless does: port 0, no race for a port probed free.
    bool startWindow(QStringList args)
    {
        return start(args << QStringLiteral("--listen") << QStringLiteral("127.0.0.1:0"));
    }
    bool stop(int signal = SIGTERM)
    {
        ::kill(pid_t(process.processId()), signal);
        const bool ok = process.waitForFinished(WaitMs);
        out += process.readAllStandardOutput();
        err += process.readAllStandardError();
        return ok;
    }
    bool waitError(const QByteArray &part)
    {
        return QTest::qWaitFor(
            [&] {
                err += process.readAllStandardError();
                return err.contains(part);
            },
            WaitMs);
    }
    // CPU time the process has used (user + system), in clock ticks.
    qint64 cpuTicks() const
    {
        QFile stat(QStringLiteral("/proc/%1/stat").arg(process.processId()));
        if (!stat.open(QIODevice::ReadOnly))
            return -1;
        const QByteArray line = stat.readAll();
        // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
        const QList<QByteArray> f = line.mid(line.lastIndexOf(')') + 2).split(' ');
        return f.size() > 12 ? f[11].toLongLong() + f[12].toLongLong() : -1;
    }
    bool waitOutput(const QByteArray &part)
    {
        return QTest::qWaitFor(
            [&] {
                out += process.readAllStandardOutput();
                return out.contains(part);
            },
            WaitMs);
    }
};

} // namespace socktap::test
