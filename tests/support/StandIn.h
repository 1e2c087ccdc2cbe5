// A stand-in for a program a test must not really run (a browser): a shell script, executable, at
// dir/name. Empty on failure.
#pragma once

#include <QDir>
#include <QFile>

namespace socktap::test {

inline QString writeStandIn(const QString &dir, const QString &name, const QByteArray &script)
{
    QFile file(QDir(dir).filePath(name));
    if (!file.open(QIODevice::WriteOnly) || file.write("#!/bin/sh\n" + script) < 0)
        return {};
    file.close();
    return file.setPermissions(file.permissions() | QFileDevice::ExeOwner) ? file.fileName() : QString();
}

} // namespace socktap::test
