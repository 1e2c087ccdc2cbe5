// The File menu and its dialogs: Open, Open Recent, Save, Save As, Export HAR (all or selected) and text,
// Quit; the dialogs only pick names and hand them to FilesFeature, which does the work. Remembers the
// recent files and the last directory between runs.
#pragma once

#include <QObject>
#include <QStringList>

class QAction;
class QMenu;
class QMenuBar;

namespace socktap::ui {

class FilesFeature;
class MainWindow;

class FileMenu final : public QObject
{
    Q_OBJECT

public:
    FileMenu(MainWindow &window, FilesFeature &files);

    QMenu *build(QMenuBar *bar);
    // idle: no file job runs. The export actions also follow the selection.
    void updateActions(bool idle);
    // Recently opened and saved files, newest first, those that still exist.
    QStringList recentFiles() const;
    void addRecentFile(const QString &path);
    // A name for the capture (empty when the user cancelled); starts in the last directory used.
    QString askSavePath();
    void exportHarWithDialog(bool selectedOnly);

    QMenu *fileMenu() const { return m_fileMenu; }
    QMenu *recentMenu() const { return m_recentMenu; }

private:
    void fillRecentMenu();
    void openWithDialog();
    void save();
    void saveAs();
    void exportTextWithDialog();
    QString lastDirectory() const;

    MainWindow &m_window;
    FilesFeature &m_files;
    QMenu *m_fileMenu = nullptr;
    QMenu *m_recentMenu = nullptr;
    QAction *m_openAction = nullptr;
    QAction *m_saveAction = nullptr;
    QAction *m_saveAsAction = nullptr;
    QAction *m_exportHarAll = nullptr;
    QAction *m_exportHarSelected = nullptr;
    QAction *m_exportText = nullptr;
};

} // namespace socktap::ui
