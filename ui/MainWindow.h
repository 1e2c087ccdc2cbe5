// The main window: session list (filter box, HTTP toggle) on the left; for the selected session the
// Handshake, Messages, Close, Timeline and Compose tabs on the right; the Intercept pane (held messages)
// docked at the bottom; the proxy's address, a start/stop toggle, where the capture lives and live counters
// in the status bar. The File menu opens capture files (native or HAR, also dropped on the window) into the
// current capture, saves it and exports HAR or text, each on a thread of its own with progress and Cancel
// in the status bar (MainWindowFiles.cpp). The Session menu pauses, resumes and closes the selected live
// session; Tools > Rules edits the rules; Tools > Open browser starts a browser through the proxy. Reads the
// capture through CaptureFeed; starts and stops the engine through a factory; sends commands to live sessions
// and takes their answers asynchronously: never waits on the network or the disk.
#pragma once

#include "CommandSender.h"
#include "SettingsDialog.h"

#include "core/capture/CaptureStore.h"
#include "core/capture/NativeFile.h"
#include "core/intercept/InterceptHub.h"
#include "core/proxy/ProxyServer.h"
#include "core/replay/Replayer.h"

#include <QMainWindow>
#include <QPointer>
#include <QStackedWidget>

#include <QHash>
#include <QSet>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

class QAction;
class QCheckBox;
class QLabel;
class QLineEdit;
class QMenu;
class QMimeData;
class QProgressBar;
class QPushButton;
class QSplitter;
class QTabWidget;
class QTableView;
class QToolButton;

namespace socktap::certs {
class CertificateAuthority;
}
namespace socktap::browser {
class BrowserLaunch;
}

namespace socktap::ui {

class CaptureFeed;
class CloseView;
class ColumnChooser;
class ComposePanel;
class FailedConnectionsNotice;
class FileJob;
class InterceptPane;
class HandshakeView;
class MessagesPanel;
class CompareView;
class SessionFilterModel;
class SessionTableModel;
class TimelineView;

class MainWindow final : public QMainWindow
{
    Q_OBJECT

public:
    using ServerFactory = std::function<std::unique_ptr<proxy::ProxyServer>()>;
    enum Tab { HandshakeTab, MessagesTab, CloseTab, TimelineTab, ComposeTab };

    // The hub is the one the factory's servers share (ProxyConfig::intercept): the window shows what it
    // holds and edits its rules. At start, when it has no rules (no --rules), the saved ones are loaded.
    MainWindow(capture::CaptureStore &store, ServerFactory makeServer, certs::CertificateAuthority *ca,
               std::shared_ptr<intercept::InterceptHub> hub, QWidget *parent = nullptr);
    ~MainWindow() override;

    // Starts the proxy; false (and the reason shown, and kept in lastStartError) when it cannot listen.
    bool startProxy();
    QString lastStartError() const { return m_lastStartError; }
    // The configuration the server factory reads: Settings edits it and restarts the proxy. Without it,
    // Settings changes only the capture's budget and the theme.
    // credentialsGenerated: its proxy credentials were made up at start (beyond loopback), so moving back
    // to loopback may drop them.
    void setEditableConfig(proxy::ProxyConfig *config, Theme theme, bool credentialsGenerated = false);
    WindowSettings currentSettings() const;
    // Applies settings at once: the budget, the theme, and (when they changed) the proxy restarted with
    // the new address and verification. A new address that cannot be had: back to the old one, the
    // reason in proxyRestarted (and shown).
    // True when the proxy restarts (proxyRestarted follows).
    bool applySettings(const WindowSettings &settings);
    // What Settings' OK does: apply, then save what ends up running (a failed address is not kept).
    void settingsChosen(const WindowSettings &settings);
    // The warning shown when Settings moved the listener beyond loopback (credentials now required).
    QString exposureWarning() const { return m_exposureWarning; }
    void stopProxy();
    // A signal (SIGTERM, SIGINT: logout, kill, a service manager) ends the window: no question waits (an
    // open one is dismissed), open sessions get 1001 as on File > Quit, and the capture is kept for
    // recovery rather than asked about. The program ends within QuitDeadlineMs whatever happens.
    static constexpr int QuitDeadlineMs = 5000;
    void quitOnSignal(int signal);
    int quitSignal() const { return m_quitSignal; }
    bool isListening() const;
    QString listeningText() const; // the status bar's proxy label
    quint16 proxyPort() const;

    // For tests, the demo and screenshots.
    CaptureFeed *feed() const { return m_feed; }
    SessionTableModel *sessions() const { return m_sessions; }
    QTableView *sessionView() const { return m_sessionView; }
    QTabWidget *tabs() const { return m_tabs; }
    QLabel *noSessionHint() const { return m_noSession; }
    FailedConnectionsNotice *failedConnectionsNotice() const { return m_failedNotice; }
    HandshakeView *handshakeView() const { return m_handshake; }
    MessagesPanel *messagesPanel() const { return m_messages; }
    CloseView *closeView() const { return m_close; }
    TimelineView *timelineView() const { return m_timeline; }
    ComposePanel *composePanel() const { return m_compose; }
    InterceptPane *interceptPane() const { return m_intercept; }
    QAction *pauseAction(capture::Direction from) const { return m_pause[int(from)]; }
    QAction *resumeAllAction() const { return m_resumeAll; }
    QAction *holdPingPongAction() const { return m_holdPingPong; }
    QAction *closeSessionAction() const { return m_closeSession; }
    QAction *rulesAction() const { return m_rulesAction; }
    const std::shared_ptr<intercept::InterceptHub> &hub() const { return m_hub; }
    // Whether `id` is a WebSocket session the engine can still act on.
    bool isLive(capture::SessionId id) const;
    // Sends a command to a live session; `done` runs later in `context`'s thread (also when it fails).
    void sendCommand(capture::SessionId id, const intercept::SessionCommand &command, QObject *context,
                     CommandDone done);
    bool selectSession(capture::SessionId id);
    capture::SessionId currentSession() const { return m_current; }
    // The sessions selected in the list, in id order (the current one when no row is selected).
    std::vector<capture::SessionId> selectedSessions() const;

    // Capture files. Each starts a job on another thread and returns false when it cannot start (another
    // job runs); the outcome shows in the status bar, errors also in a message box, and fileJobFinished
    // says when it is done. The dialogs of the File menu end in these.
    // Adds the sessions of a native capture or HAR file to the capture (new ids); selects nothing.
    bool openCaptureFile(const QString &path);
    // Writes every session in the native format; later Saves reuse the name.
    bool saveCaptureTo(const QString &path);
    // HAR 1.2 of these sessions (all when empty).
    bool exportHarTo(const QString &path, const std::vector<capture::SessionId> &sessions);
    // The conversation of one session as text.
    bool exportTextTo(const QString &path, capture::SessionId session);
    bool isBusy() const { return m_job != nullptr; }
    // Stops the running job at its next progress report (an open keeps what it read so far).
    void cancelFileJob();
    QString lastFileError() const { return m_lastFileError; }
    QStringList lastFileWarnings() const { return m_lastFileWarnings; }
    QString savePath() const { return m_savePath; }
    // Whether quitting now would lose something: the capture changed since it was last saved, and no
    // --record file holds it (sessions opened from files are not counted: the files hold them).
    bool hasUnsavedCapture() const;
    // Recently opened and saved files, newest first, those that still exist.
    QStringList recentFiles() const;

    QMenu *fileMenu() const { return m_fileMenu; }
    QMenu *recentMenu() const { return m_recentMenu; }
    QProgressBar *jobProgress() const { return m_jobProgress; }
    QToolButton *jobCancelButton() const { return m_jobCancel; }
    QLabel *storageLabel() const { return m_storage; }
    QLabel *warningsLabel() const { return m_warnings; }

    // Replays (MainWindowReplay.cpp). replaySession asks how (ReplayDialog), then startReplay plays the
    // plan through this window's proxy, so the replay appears as a session linked to its original; when
    // it ends, the comparison opens (CompareView). One replay at a time; false with why otherwise.
    void replaySession(capture::SessionId id);
    bool startReplay(replay::ReplayPlan plan, replay::Replayer::Options options,
                     const QStringList &ignoreJsonKeys, QString *error = nullptr);
    void cancelReplay();
    bool isReplaying() const { return m_replayer != nullptr; }
    QAction *replayAction() const { return m_replayAction; }
    // The session list's context menu as it would open now (for tests; the caller owns it).
    QMenu *sessionContextMenu();
    CompareView *compareView() const;
    QLabel *replayStatus() const { return m_replayStatus; }
    // What the list's place shows while there are no sessions.
    QLabel *emptyHint() const { return m_emptyHint; }
    QPushButton *emptyBrowserButton() const { return m_emptyBrowser; }
    QPushButton *copyProxyAddressButton() const { return m_copyAddress; }

    // A browser through this window's proxy with a throw-away profile that trusts the CA
    // (MainWindowBrowser.cpp): id empty for the first installed. It runs until the user closes it or the
    // window closes (its profile removed either way). False with *error (also shown) when none is found or
    // it cannot start.
    bool openBrowser(const QString &id = {}, const QStringList &urls = {}, bool headless = false,
                     const QStringList &extraArguments = {}, QString *error = nullptr);
    // The browsers started from this window that are still running.
    QList<browser::BrowserLaunch *> browsers() const;
    QMenu *toolsMenu() const { return m_toolsMenu; }
    ColumnChooser *sessionColumns() const { return m_sessionColumns; }

signals:
    // After applySettings restarted the proxy: ok, or why the new settings could not be used.
    void proxyRestarted(bool ok, const QString &error);
    // A replay ended: compared (error empty), failed or was cancelled.
    void replayFinished(const QString &error);

    // A file job ended (error is empty on success, "cancelled" when cancelled).
    void fileJobFinished(bool ok, const QString &error);

protected:
    void closeEvent(QCloseEvent *event) override;
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dropEvent(QDropEvent *event) override;

private:
    // What quitting does about an unsaved capture once the user has been asked (or need not be).
    enum class ExitSave { Unasked, Discard, Save };
    // The store's counts before an open, to tell whether only the file's sessions arrived meanwhile.
    struct OpenBaseline
    {
        quint64 sessions = 0;
        quint64 messages = 0;
    };

    void buildMenus();
    void buildFileMenu();
    void fillRecentMenu();
    void addRecentFile(const QString &path);
    void buildJobStatus();
    void updateStorage();
    // Where the capture is, in one phrase: the status bar and the quit question say the same.
    QString storageText(const capture::CaptureStore::Stats &s, bool elide) const;
    void startJob(FileJob *job, std::function<void(bool ok, const QString &error)> done);
    void updateJobProgress();
    void finishOpen(const QString &path, const std::optional<capture::OpenResult> &result,
                    const QString &error, const OpenBaseline &baseline);
    void noteChanges(const QList<capture::SessionId> &ids);
    void settleOpenChanges(const std::optional<capture::OpenResult> &result, const OpenBaseline &baseline);
    void showFileWarnings(const QString &path, const QStringList &warnings);
    void reportFileError(const QString &title, const QString &error);
    // In the status bar and a box that does not wait (tests and the capture go on).
    void warn(const QString &title, const QString &message);
    void openNextQueued();
    void openWithDialog();
    void save();
    void saveAs();
    void exportHarWithDialog(bool selectedOnly);
    void exportTextWithDialog();
    QString askSavePath();
    bool askSaveBeforeQuit();
    bool savePromptSuppressed() const;
    void updateFileActions();
    QStringList droppedCaptures(const QMimeData *mime) const;
    void buildSessionMenu();
    void buildStatusBar();
    void updateSessionActions();
    void setPaused(capture::Direction from, bool on);
    void resumeAll();
    void closeSession();
    void resend(capture::Direction to, quint8 opcode, const QByteArray &payload);
    void editAndResend(capture::Direction from, quint8 opcode, const QByteArray &payload);
    void showRules();
    void onSessionsChanged(const QList<capture::SessionId> &ids);
    void onMessagesAppended(const QSet<capture::SessionId> &sessions);
    void onCurrentSessionChanged();
    void showSession(bool messagesToo);
    void refreshTimeline();
    void updateCounters();
    void updateListening();
    void clearCapture();
    void copySelection();
    void exportCa();
    void showSettings();
    void restartProxy(const WindowSettings &before);
    void guardListener();
    void restoreLayout();
    void finishReplay();
    void updateEmptyState();
    void buildEmptyPage(QWidget *parent);
    void addBrowserActions(QMenu *tools);
    QString proxyAddressForClients() const;
    void showSessionMenu(const QPoint &at);
    void compareReplay(const replay::ReplayPlan &plan, capture::SessionId replayId,
                       const QStringList &ignoreJsonKeys);
    void saveLayout();
    QString lastDirectory() const;

    capture::CaptureStore &m_store;
    ServerFactory m_makeServer;
    certs::CertificateAuthority *m_ca;
    std::shared_ptr<intercept::InterceptHub> m_hub;
    std::unique_ptr<proxy::ProxyServer> m_server;
    bool m_stopping = false;
    proxy::ProxyConfig *m_config = nullptr;
    Theme m_theme = Theme::System;
    QString m_lastStartError;
    QString m_exposureWarning;
    bool m_generatedCredentials = false; // by the window, when Settings moved beyond loopback

    CaptureFeed *m_feed;
    SessionTableModel *m_sessions;
    SessionFilterModel *m_filter;
    QSplitter *m_splitter;
    QTableView *m_sessionView;
    QLineEdit *m_filterBox;
    QCheckBox *m_showHttp;
    FailedConnectionsNotice *m_failedNotice = nullptr;
    QTabWidget *m_tabs;
    QStackedWidget *m_inspectors = nullptr; // m_tabs, or m_noSession while nothing is selected
    QLabel *m_noSession = nullptr;
    HandshakeView *m_handshake;
    MessagesPanel *m_messages;
    CloseView *m_close;
    TimelineView *m_timeline;
    ComposePanel *m_compose;
    InterceptPane *m_intercept;
    QLabel *m_listening; // "Proxy on 127.0.0.1:8080", or why it is stopped
    QToolButton *m_toggle;
    QLabel *m_counters;
    QAction *m_startStop;
    QAction *m_follow;
    std::array<QAction *, 2> m_pause {}; // indexed by capture::Direction: who sent what is paused
    QAction *m_resumeAll = nullptr;
    QAction *m_holdPingPong = nullptr;
    QAction *m_closeSession = nullptr;
    QAction *m_replayAction = nullptr;
    QLabel *m_emptyHint = nullptr;
    QWidget *m_emptyPage = nullptr;
    QPushButton *m_emptyBrowser = nullptr;
    QPushButton *m_copyAddress = nullptr;
    QMenu *m_toolsMenu = nullptr;
    ColumnChooser *m_sessionColumns = nullptr;
    QStackedWidget *m_sessionStack = nullptr;
    std::unique_ptr<replay::Replayer> m_replayer;
    QStringList m_replayIgnore;
    QLabel *m_replayStatus = nullptr;
    QToolButton *m_replayCancel = nullptr;
    QPointer<CompareView> m_compareView;
    QAction *m_rulesAction = nullptr;
    QMenu *m_fileMenu = nullptr;
    QMenu *m_recentMenu = nullptr;
    QAction *m_openAction = nullptr;
    QAction *m_saveAction = nullptr;
    QAction *m_saveAsAction = nullptr;
    QAction *m_exportHarAll = nullptr;
    QAction *m_exportHarSelected = nullptr;
    QAction *m_exportText = nullptr;
    QWidget *m_jobBox = nullptr;
    QLabel *m_jobLabel = nullptr;
    QProgressBar *m_jobProgress = nullptr;
    QToolButton *m_jobCancel = nullptr;
    QLabel *m_warnings = nullptr;
    QLabel *m_storage = nullptr;
    FileJob *m_job = nullptr;
    QStringList m_openQueue; // dropped files waiting for the running job
    QString m_savePath;
    // Unsaved changes: m_changes counts the feed's updates of sessions that no opened file holds (live
    // traffic); a save remembers the count it saved. Updates that arrive while a file opens cannot be told
    // apart until its session ids are known, so they wait in m_openingIds.
    quint64 m_changes = 0;
    quint64 m_savedChanges = 0;
    bool m_opening = false;
    QSet<capture::SessionId> m_openingIds;
    bool m_lostTrackWhileOpening = false;
    ExitSave m_exitSave = ExitSave::Unasked;
    int m_quitSignal = 0;
    QString m_exitSavePath;
    bool m_closeWhenIdle = false;
    QString m_lastFileError;
    QStringList m_lastFileWarnings;
    // What the window asked each session to pause (the engine does not report it back), per sender.
    QHash<capture::SessionId, std::array<bool, 2>> m_paused;
    capture::SessionId m_current = 0;
    qint64 m_lastTimeline = 0;
};

} // namespace socktap::ui
