// The main window: session list (filter box, HTTP toggle) on the left; for the selected session the
// Handshake, Messages, Close, Timeline and Compose tabs on the right; the Intercept pane (held messages)
// docked at the bottom; the proxy's address, a start/stop toggle and live counters in the status bar. The
// Session menu pauses, resumes and closes the selected live session; Tools > Rules edits the rules. Reads
// the capture through CaptureFeed; starts and stops the engine through a factory; sends commands to live
// sessions and takes their answers asynchronously: never waits on the network.
#pragma once

#include "CommandSender.h"

#include "core/capture/CaptureStore.h"
#include "core/intercept/InterceptHub.h"
#include "core/proxy/ProxyServer.h"

#include <QMainWindow>

#include <QHash>

#include <array>
#include <functional>
#include <memory>

class QAction;
class QCheckBox;
class QLabel;
class QLineEdit;
class QSplitter;
class QTabWidget;
class QTableView;
class QToolButton;

namespace socktap::certs {
class CertificateAuthority;
}

namespace socktap::ui {

class CaptureFeed;
class CloseView;
class ComposePanel;
class InterceptPane;
class HandshakeView;
class MessagesPanel;
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

    // Starts the proxy; false (and the reason shown) when it cannot listen.
    bool startProxy();
    void stopProxy();
    bool isListening() const;
    quint16 proxyPort() const;

    // For tests, the demo and screenshots.
    CaptureFeed *feed() const { return m_feed; }
    SessionTableModel *sessions() const { return m_sessions; }
    QTableView *sessionView() const { return m_sessionView; }
    QTabWidget *tabs() const { return m_tabs; }
    HandshakeView *handshakeView() const { return m_handshake; }
    MessagesPanel *messagesPanel() const { return m_messages; }
    CloseView *closeView() const { return m_close; }
    TimelineView *timelineView() const { return m_timeline; }
    ComposePanel *composePanel() const { return m_compose; }
    InterceptPane *interceptPane() const { return m_intercept; }
    QAction *pauseAction(capture::Direction from) const { return m_pause[int(from)]; }
    QAction *resumeAllAction() const { return m_resumeAll; }
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

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void buildMenus();
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
    void restoreLayout();
    void saveLayout();

    capture::CaptureStore &m_store;
    ServerFactory m_makeServer;
    certs::CertificateAuthority *m_ca;
    std::shared_ptr<intercept::InterceptHub> m_hub;
    std::unique_ptr<proxy::ProxyServer> m_server;
    bool m_stopping = false;

    CaptureFeed *m_feed;
    SessionTableModel *m_sessions;
    SessionFilterModel *m_filter;
    QSplitter *m_splitter;
    QTableView *m_sessionView;
    QLineEdit *m_filterBox;
    QCheckBox *m_showHttp;
    QTabWidget *m_tabs;
    HandshakeView *m_handshake;
    MessagesPanel *m_messages;
    CloseView *m_close;
    TimelineView *m_timeline;
    ComposePanel *m_compose;
    InterceptPane *m_intercept;
    QLabel *m_listening;
    QToolButton *m_toggle;
    QLabel *m_counters;
    QAction *m_startStop;
    QAction *m_follow;
    std::array<QAction *, 2> m_pause {}; // indexed by capture::Direction: who sent what is paused
    QAction *m_resumeAll = nullptr;
    QAction *m_closeSession = nullptr;
    QAction *m_rulesAction = nullptr;
    // What the window asked each session to pause (the engine does not report it back), per sender.
    QHash<capture::SessionId, std::array<bool, 2>> m_paused;
    capture::SessionId m_current = 0;
    qint64 m_lastTimeline = 0;
};

} // namespace socktap::ui
