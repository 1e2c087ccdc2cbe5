// What stands behind the File menu (FileMenu): opening capture files (also dropped on the window), saving,
// exporting HAR and text, each as a FileJob on its own thread with progress and Cancel in the status bar;
// and quitting, which may wait for a job, ask about an unsaved capture (CaptureStatus knows whether it is)
// and save before the window closes. Tests drive the same code as the menu through openCaptureFile(),
// saveCaptureTo() and the export methods.
#pragma once

#include "core/capture/CaptureStore.h"
#include "core/capture/NativeFile.h"

#include <QObject>
#include <QStringList>

#include <functional>
#include <optional>
#include <vector>

class QLabel;
class QMenu;
class QMenuBar;
class QMimeData;
class QProgressBar;
class QStatusBar;
class QToolButton;
class QWidget;

namespace socktap::ui {

class CaptureFeed;
class CaptureStatus;
class FileJob;
class FileMenu;
class MainWindow;

class FilesFeature final : public QObject
{
    Q_OBJECT

public:
    FilesFeature(MainWindow &window, capture::CaptureStore &store, CaptureFeed *feed);
    // Cancels a running job and waits for its thread, before what it reports to goes.
    ~FilesFeature() override;

    QMenu *buildMenu(QMenuBar *bar);
    // The job's progress and Cancel, the warnings link, where the capture lives.
    void addStatusWidgets(QStatusBar *bar);
    // The selection or the current session changed, or a job started or ended: the menu follows.
    void updateActions();
    CaptureStatus *status() const { return m_status; }
    FileMenu *menu() const { return m_menu; }

    // Each starts a job on another thread and returns false when it cannot start (another job runs); the
    // outcome shows in the status bar, errors also in a message box, and fileJobFinished says when it is
    // done.
    // Adds the sessions of a native capture or HAR file to the capture (new ids); selects nothing.
    bool openCaptureFile(const QString &path);
    // Writes every session in the native format; later Saves reuse the name.
    bool saveCaptureTo(const QString &path);
    // HAR 1.2 of these sessions (all when empty).
    bool exportHarTo(const QString &path, const std::vector<capture::SessionId> &sessions);
    // The conversation of one session as text.
    bool exportTextTo(const QString &path, capture::SessionId session);
    bool isBusy() const { return m_job != nullptr; }
    QString busyWith() const; // the running job's title
    // Stops the running job at its next progress report (an open keeps what it read so far).
    void cancelFileJob();
    QString lastFileError() const { return m_lastFileError; }
    QString savePath() const { return m_savePath; }

    // Files a drop would open (captures and HAR files); openDropped queues them one job after the other.
    QStringList droppedCaptures(const QMimeData *mime) const;
    void openDropped(const QStringList &files);

    // Quitting, in the order the window's close goes through them.
    // A job runs: the window closes once it ends (a save or export finishes, an open stops). True when
    // the close must wait.
    bool deferClose();
    // Asks about an unsaved capture (once); false when the user chose Cancel.
    bool readyToQuit();
    // After the proxy stopped: true when the user asked to save, so the close waits (the window closes when
    // the save ends, and stays when it fails or cannot start).
    bool saveBeforeClose();
    // A signal ends the program: nothing is asked, the capture stays on disk for recovery.
    void quitWithoutAsking();

    QProgressBar *jobProgress() const { return m_jobProgress; }
    QToolButton *jobCancelButton() const { return m_jobCancel; }

signals:
    // A file job ended (error is empty on success, "cancelled" when cancelled).
    void fileJobFinished(bool ok, const QString &error);
    // A file's sessions are in: the counters follow.
    void opened();

private:
    // What quitting does about an unsaved capture once the user has been asked (or need not be).
    enum class ExitSave { Unasked, Discard, Save };

    void startJob(FileJob *job, std::function<void(bool ok, const QString &error)> done);
    bool refuseWhileBusy();
    void updateJobProgress();
    void finishOpen(const QString &path, const std::optional<capture::OpenResult> &result,
                    const QString &error);
    void reportFileError(const QString &title, const QString &error);
    void openNextQueued();
    bool askSaveBeforeQuit();
    bool savePromptSuppressed() const;

    MainWindow &m_window;
    capture::CaptureStore &m_store;
    CaptureFeed *m_feed;
    CaptureStatus *m_status;
    FileMenu *m_menu;
    QWidget *m_jobBox = nullptr;
    QLabel *m_jobLabel = nullptr;
    QProgressBar *m_jobProgress = nullptr;
    QToolButton *m_jobCancel = nullptr;
    FileJob *m_job = nullptr;
    QStringList m_openQueue; // dropped files waiting for the running job
    QString m_savePath;
    ExitSave m_exitSave = ExitSave::Unasked;
    QString m_exitSavePath;
    bool m_closeWhenIdle = false;
    QString m_lastFileError;
};

} // namespace socktap::ui
