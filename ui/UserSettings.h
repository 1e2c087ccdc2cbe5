// The window's settings file, ~/.config/socktap/socktap.conf (the same file's [options] section is the
// command line's configuration): one place that names it, for every feature that keeps something there.
#pragma once

#include <QFile>
#include <QSettings>

namespace socktap::ui {

inline QSettings userSettings()
{
    return QSettings(QStringLiteral("socktap"), QStringLiteral("socktap"));
}

// After writing something secret (an attached Socktap's token): the file is the user's alone.
inline void keepSettingsPrivate(QSettings &settings)
{
    settings.sync();
    QFile::setPermissions(settings.fileName(), QFile::ReadOwner | QFile::WriteOwner);
}

} // namespace socktap::ui
