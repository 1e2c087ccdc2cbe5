// Tools > Scripts (issue 21): the JavaScript addons of this window. A list of script files (added, removed,
// turned on and off, put in order), an editor for the selected one whose Save reloads it at once, and a
// console pane with what the scripts log and every error (file:line, the session). Files changed by another
// editor are reloaded too. The list is saved between runs, like the rules; --script on the command line
// wins for that run. Each reload gives every live session the new scripts at its next message, with its
// session.state kept.
#pragma once

#include "core/intercept/InterceptHub.h"

#include <QDialog>
#include <QFileSystemWatcher>
#include <QObject>

class QAction;
class QListWidget;
class QLabel;
class QMenu;
class QPlainTextEdit;
class QPushButton;
class QTimer;

namespace socktap::ui {

class MainWindow;

class ScriptsFeature final : public QObject
{
    Q_OBJECT

public:
    ScriptsFeature(MainWindow &window, std::shared_ptr<intercept::InterceptHub> hub);

    void addToolsActions(QMenu *tools);
    void show();
    QDialog *dialog() const { return m_dialog; }

    struct Entry
    {
        QString path;
        bool enabled = true;
        QString error; // it did not load: "FILE:LINE: message" (then it is left out)
    };
    const QList<Entry> &entries() const { return m_entries; }
    // Replaces the list, loads the scripts and saves the list.
    void setEntries(QList<Entry> entries);
    // Reads every enabled file again and gives the hub the scripts that load; `always`: even when they are
    // what runs already (the Reload button: a disabled script runs again).
    void reload(bool always = true);

signals:
    // The hub runs another set of scripts (the attached engines get it too).
    void scriptsReplaced();
    // The scripts' formats may have changed: what shows decoded messages decodes them again.
    void formatsReplaced();

private:
    void buildDialog();
    void refreshList();
    void showSelected();
    void saveEditor();
    void pollConsole();
    void watch();
    int selectedRow() const;

    MainWindow &m_window;
    std::shared_ptr<intercept::InterceptHub> m_hub;
    QList<Entry> m_entries;
    int m_timeoutMs = 100;
    QFileSystemWatcher m_watcher;
    QTimer *m_reloadSoon = nullptr; // (an editor's save is often a remove and a write: reload once after)

    QDialog *m_dialog = nullptr;
    QListWidget *m_list = nullptr;
    QPlainTextEdit *m_editor = nullptr;
    QLabel *m_editorLabel = nullptr;
    QPushButton *m_save = nullptr;
    QPlainTextEdit *m_console = nullptr;
    QLabel *m_consoleNote = nullptr;
    QTimer *m_poll = nullptr;
    quint64 m_consoleSeq = 0;
    QString m_editing; // the path shown in the editor
};

} // namespace socktap::ui
