// The main window is a shell that composes the window's features (Qt Creator's shape: each feature owns its
// actions, docks, status bar parts and dialogs; the shell places them):
//   ProxyFeature      the engine's lifecycle, the proxy label, Settings, Export CA
//   FilesFeature      File menu: open, save, export, recent files, storage, the question at exit
//   InterceptFeature  the Intercept pane, pauses, Resume all, Close session, resend, Rules
//   ReplayFeature     Replay and its comparison, Copy as websocat/wscat
//   BrowserFeature    the empty list's page and Tools > Open <browser>
//   FormatsFeature    Session > Decode as (per session, or saved for a host and path)
// The shell itself holds the session list (filter box, HTTP toggle, columns, failed connections) and the
// inspectors of the selected session (Handshake, Messages, Close, Timeline, Compose tabs), the Edit,
// Capture, View and Help menus, the counters, the layout kept between runs, and quitting (a close or a
// signal goes through the features in order). Reads the capture through CaptureFeed; never waits on the
// network or the disk.
#pragma once

#include "CommandSender.h"
#include "SessionInspector.h"

#include "core/capture/CaptureStore.h"
#include "core/intercept/InterceptHub.h"
#include "core/proxy/ProxyServer.h"

#include <QMainWindow>
#include <QSet>

#include <functional>
#include <memory>
#include <vector>

class QLabel;
class QLineEdit;
class QMenu;
class QSplitter;
class QStackedWidget;
class QTabWidget;
class QTableView;

namespace socktap::certs {
class CertificateAuthority;
}

namespace socktap::ui {

class AttachFeature;
class BrowserFeature;
class CaptureFeed;
class CloseView;
class ColumnChooser;
class ComposePanel;
class FailedConnectionsNotice;
class FilesFeature;
class FormatsFeature;
class ScriptsFeature;
class HandshakeView;
class InterceptFeature;
class InterceptPane;
class MessagesPanel;
class ProxyFeature;
class MockFeature;
class ReplayFeature;
class SessionListPane;
class SessionTableModel;
class TimelineView;

class MainWindow final : public QMainWindow
{
    Q_OBJECT

public:
    using ServerFactory = std::function<std::unique_ptr<proxy::ProxyServer>()>;
    using Tab = SessionInspector::Tab;
    using enum SessionInspector::Tab;

    // The hub is the one the factory's servers share (ProxyConfig::intercept): the window shows what it
    // holds and edits its rules.
    MainWindow(capture::CaptureStore &store, ServerFactory makeServer, certs::CertificateAuthority *ca,
               std::shared_ptr<intercept::InterceptHub> hub, QWidget *parent = nullptr);
    ~MainWindow() override;

    ProxyFeature *proxy() const { return m_proxy; }
    FilesFeature *files() const { return m_files; }
    InterceptFeature *intercept() const { return m_intercept; }
    ReplayFeature *replay() const { return m_replay; }
    MockFeature *mocks() const { return m_mocks; }
    BrowserFeature *browsers() const { return m_browsers; }
    FormatsFeature *formats() const { return m_formats; }

    // A signal (SIGTERM, SIGINT: logout, kill, a service manager) ends the window: no question waits (an
    // open one is dismissed), open sessions get 1001 as on File > Quit, and the capture is kept for
    // recovery rather than asked about. The program ends within QuitDeadlineMs whatever happens.
    static constexpr int QuitDeadlineMs = 5000;
    void quitOnSignal(int signal);
    int quitSignal() const { return m_quitSignal; }

    bool selectSession(capture::SessionId id);
    capture::SessionId currentSession() const { return m_current; }
    // The sessions selected in the list, in id order (the current one when no row is selected).
    std::vector<capture::SessionId> selectedSessions() const;
    // The session list's context menu as it would open now (for tests; the caller owns it).
    QMenu *sessionContextMenu();

    // For tests, the demo and screenshots.
    CaptureFeed *feed() const { return m_feed; }
    SessionTableModel *sessions() const { return m_sessions; }
    QTableView *sessionView() const;
    QLineEdit *sessionFilterBox() const;
    ColumnChooser *sessionColumns() const;
    FailedConnectionsNotice *failedConnectionsNotice() const;
    SessionInspector *inspector() const { return m_inspector; }
    QTabWidget *tabs() const { return m_inspector->tabs(); }
    QLabel *noSessionHint() const { return m_inspector->noSessionHint(); }
    HandshakeView *handshakeView() const { return m_inspector->handshakeView(); }
    MessagesPanel *messagesPanel() const { return m_inspector->messagesPanel(); }
    CloseView *closeView() const { return m_inspector->closeView(); }
    TimelineView *timelineView() const { return m_inspector->timelineView(); }
    ComposePanel *composePanel() const { return m_inspector->composePanel(); }
    InterceptPane *interceptPane() const;
    QMenu *toolsMenu() const { return m_toolsMenu; }
    ScriptsFeature *scripts() const { return m_scripts; }
    AttachFeature *attachments() const { return m_attach; }

protected:
    void closeEvent(QCloseEvent *event) override;
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dropEvent(QDropEvent *event) override;

private:
    void buildInspectors();
    void buildMenus();
    void buildStatusBar();
    void updateSessionActions();
    void onSessionsChanged(const QList<capture::SessionId> &ids);
    void onMessagesAppended(const QSet<capture::SessionId> &sessions);
    void onCurrentSessionChanged();
    void showSession(bool messagesToo);
    void updateCounters();
    void updateEmptyState();
    void clearCapture();
    void copySelection();
    void showSessionMenu(const QPoint &at);
    void restoreLayout();
    void saveLayout();

    capture::CaptureStore &m_store;
    CaptureFeed *m_feed;
    SessionTableModel *m_sessions;
    ProxyFeature *m_proxy;
    FilesFeature *m_files;
    InterceptFeature *m_intercept;
    ReplayFeature *m_replay;
    MockFeature *m_mocks;
    BrowserFeature *m_browsers;
    FormatsFeature *m_formats;
    ScriptsFeature *m_scripts;
    AttachFeature *m_attach;

    QSplitter *m_splitter = nullptr;
    SessionListPane *m_list = nullptr;
    SessionInspector *m_inspector = nullptr;
    QLabel *m_counters = nullptr;
    QAction *m_follow = nullptr;
    QMenu *m_toolsMenu = nullptr;
    int m_quitSignal = 0;
    capture::SessionId m_current = 0;
};

} // namespace socktap::ui
