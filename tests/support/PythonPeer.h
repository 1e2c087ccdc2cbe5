// A peer written in Python on Debian's python3-websockets (tests/support/*.py), or in JavaScript on the
// protocols' own npm packages (tests/peers/*.mjs), run as a child process:
// started with its arguments, its "port N" banner read, killed when the test is done.
#pragma once

#include "Peers.h"

#include <QProcess>
#include <QUrl>

namespace socktap::test {

struct PythonPeer
{
    QProcess process;
    quint16 port = 0;
    QByteArray banner; // the first line, or what it said instead

    // script: a file name in tests/support (needs SOCKTAP_SOURCE_DIR). True once it printed its port.
    bool start(const QString &script, const QStringList &args)
    {
        // Debian's interpreter: the one on PATH may be another Python without python3-websockets.
        return startProgram(QStringLiteral("/usr/bin/python3"),
                            QStringList {QStringLiteral(SOCKTAP_SOURCE_DIR "/tests/support/") + script}
                                + args);
    }
    // script: a file name in tests/peers, run by Node.js with the npm packages scripts/test.sh installed
    // there (package-lock.json).
    bool startNode(const QString &script, const QStringList &args)
    {
        return startProgram(QStringLiteral("node"),
                            QStringList {QStringLiteral(SOCKTAP_SOURCE_DIR "/tests/peers/") + script} + args);
    }
    bool startProgram(const QString &program, const QStringList &args)
    {
        process.start(program, args);
        if (!QTest::qWaitFor([&] { return process.canReadLine() || process.state() == QProcess::NotRunning; },
                             WaitMs))
            return false;
        banner = process.readLine().trimmed();
        if (!banner.startsWith("port ")) {
            banner += process.readAllStandardError();
            return false;
        }
        port = quint16(banner.mid(5).toUInt());
        return port != 0;
    }
    QUrl url(const QString &scheme, const QString &path) const
    {
        return QUrl(QStringLiteral("%1://127.0.0.1:%2%3").arg(scheme).arg(port).arg(path));
    }
    ~PythonPeer()
    {
        process.kill();
        process.waitForFinished();
    }
};

} // namespace socktap::test
