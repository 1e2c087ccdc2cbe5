#include "FileMenu.h"
#include "UserSettings.h"

#include "FilesFeature.h"
#include "MainWindow.h"

#include <QAction>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMenuBar>
#include <QSettings>

namespace socktap::ui {

namespace {

constexpr int MaxRecentFiles = 8;
const QString RecentKey = QStringLiteral("files/recent");
const QString LastDirKey = QStringLiteral("files/lastDirectory");


QString withSuffix(QString path, const QString &suffix)
{
    if (!path.isEmpty() && QFileInfo(path).suffix().isEmpty())
        path += QLatin1Char('.') + suffix;
    return path;
}

} // namespace

FileMenu::FileMenu(MainWindow &window, FilesFeature &files)
    : QObject(&files)
    , m_window(window)
    , m_files(files)
{ }

QMenu *FileMenu::build(QMenuBar *bar)
{
    m_fileMenu = bar->addMenu(tr("&File"));
    m_openAction = m_fileMenu->addAction(tr("&Open…"), this, &FileMenu::openWithDialog);
    m_openAction->setShortcut(QKeySequence::Open);
    m_openAction->setToolTip(tr("Add the sessions of a Socktap capture or a HAR file to this capture"));
    m_recentMenu = m_fileMenu->addMenu(tr("Open &Recent"));
    connect(m_recentMenu, &QMenu::aboutToShow, this, &FileMenu::fillRecentMenu);
    fillRecentMenu();
    m_fileMenu->addSeparator();
    m_saveAction = m_fileMenu->addAction(tr("&Save"), this, &FileMenu::save);
    m_saveAction->setShortcut(QKeySequence::Save);
    m_saveAsAction = m_fileMenu->addAction(tr("Save &As…"), this, &FileMenu::saveAs);
    m_saveAsAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S));
    QMenu *exportMenu = m_fileMenu->addMenu(tr("&Export"));
    m_exportHarAll =
        exportMenu->addAction(tr("&HAR of all sessions…"), this, [this] { exportHarWithDialog(false); });
    m_exportHarSelected =
        exportMenu->addAction(tr("HAR of &selected sessions…"), this, [this] { exportHarWithDialog(true); });
    m_exportText =
        exportMenu->addAction(tr("Selected session as &text…"), this, &FileMenu::exportTextWithDialog);
    m_fileMenu->addSeparator();
    QAction *quit = m_fileMenu->addAction(tr("&Quit"), &m_window, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);
    return m_fileMenu;
}

void FileMenu::updateActions(bool idle)
{
    if (!m_fileMenu)
        return;
    const bool selected = !m_window.selectedSessions().empty();
    m_openAction->setEnabled(idle);
    m_recentMenu->setEnabled(idle);
    m_saveAction->setEnabled(idle);
    m_saveAsAction->setEnabled(idle);
    m_exportHarAll->setEnabled(idle);
    m_exportHarSelected->setEnabled(idle && selected);
    m_exportText->setEnabled(idle && m_window.currentSession() != 0);
}

QStringList FileMenu::recentFiles() const
{
    QStringList files = userSettings().value(RecentKey).toStringList();
    files.removeIf([](const QString &f) { return !QFileInfo::exists(f); });
    return files;
}

void FileMenu::addRecentFile(const QString &path)
{
    QStringList files = recentFiles();
    const QString absolute = QFileInfo(path).absoluteFilePath();
    files.removeAll(absolute);
    files.prepend(absolute);
    userSettings().setValue(RecentKey, files.mid(0, MaxRecentFiles));
    fillRecentMenu();
}

void FileMenu::fillRecentMenu()
{
    m_recentMenu->clear();
    const QStringList files = recentFiles();
    if (files != userSettings().value(RecentKey).toStringList())
        userSettings().setValue(RecentKey, files); // forget the ones that were moved or deleted
    for (int i = 0; i < files.size(); ++i) {
        const QString file = files[i];
        QAction *a =
            m_recentMenu->addAction(QStringLiteral("&%1 %2").arg(i + 1).arg(QFileInfo(file).fileName()), this,
                                    [this, file] { m_files.openCaptureFile(file); });
        a->setToolTip(file);
        a->setStatusTip(file);
    }
    if (files.isEmpty())
        m_recentMenu->addAction(tr("No recent files"))->setEnabled(false);
    m_recentMenu->addSeparator();
    m_recentMenu
        ->addAction(tr("&Clear"), this,
                    [this] {
                        userSettings().remove(RecentKey);
                        fillRecentMenu();
                    })
        ->setEnabled(!files.isEmpty());
    m_recentMenu->menuAction()->setToolTip(tr("Files opened or saved lately"));
}

QString FileMenu::lastDirectory() const
{
    const QString dir = userSettings().value(LastDirKey).toString();
    return QFileInfo(dir).isDir() ? dir : QDir::homePath();
}

void FileMenu::openWithDialog()
{
    const QString path = QFileDialog::getOpenFileName(
        &m_window, tr("Open capture"), lastDirectory(),
        tr("Captures (*.socktap *.jsonl *.har);;Socktap captures (*.socktap *.jsonl);;HAR files (*.har);;All "
           "files (*)"));
    if (path.isEmpty())
        return;
    userSettings().setValue(LastDirKey, QFileInfo(path).absolutePath());
    m_files.openCaptureFile(path);
}

QString FileMenu::askSavePath()
{
    const QString start = m_files.savePath().isEmpty()
        ? QDir(lastDirectory()).filePath(QStringLiteral("capture.socktap"))
        : m_files.savePath();
    const QString path = withSuffix(QFileDialog::getSaveFileName(&m_window, tr("Save capture"), start,
                                                                 tr("Socktap captures (*.socktap *.jsonl)")),
                                    QStringLiteral("socktap"));
    if (!path.isEmpty())
        userSettings().setValue(LastDirKey, QFileInfo(path).absolutePath());
    return path;
}

void FileMenu::save()
{
    const QString path = m_files.savePath().isEmpty() ? askSavePath() : m_files.savePath();
    if (!path.isEmpty())
        m_files.saveCaptureTo(path);
}

void FileMenu::saveAs()
{
    const QString path = askSavePath();
    if (!path.isEmpty())
        m_files.saveCaptureTo(path);
}

void FileMenu::exportHarWithDialog(bool selectedOnly)
{
    const std::vector<capture::SessionId> sessions =
        selectedOnly ? m_window.selectedSessions() : std::vector<capture::SessionId> {};
    if (selectedOnly && sessions.empty())
        return;
    const QString name = sessions.size() == 1 ? QStringLiteral("session-%1.har").arg(sessions.front())
                                              : QStringLiteral("capture.har");
    const QString path = withSuffix(
        QFileDialog::getSaveFileName(&m_window,
                                     selectedOnly ? tr("Export selected sessions as HAR")
                                                  : tr("Export all sessions as HAR"),
                                     QDir(lastDirectory()).filePath(name), tr("HAR files (*.har)")),
        QStringLiteral("har"));
    if (path.isEmpty())
        return;
    userSettings().setValue(LastDirKey, QFileInfo(path).absolutePath());
    m_files.exportHarTo(path, sessions);
}

void FileMenu::exportTextWithDialog()
{
    const capture::SessionId session = m_window.currentSession();
    if (!session)
        return;
    const QString path =
        withSuffix(QFileDialog::getSaveFileName(
                       &m_window, tr("Export session %1 as text").arg(session),
                       QDir(lastDirectory()).filePath(QStringLiteral("session-%1.txt").arg(session)),
                       tr("Text files (*.txt);;All files (*)")),
                   QStringLiteral("txt"));
    if (path.isEmpty())
        return;
    userSettings().setValue(LastDirKey, QFileInfo(path).absolutePath());
    m_files.exportTextTo(path, session);
}

} // namespace socktap::ui
