// The main window: session list (filter box, HTTP toggle) on the left; for the selected session the
// Handshake, Messages, Close and Timeline tabs on the right; the proxy's address, a start/stop toggle and
// live counters in the status bar. Reads the capture through CaptureFeed; starts and stops the engine
// through a factory; never waits on the network.
#pragma once

#include "core/capture/CaptureStore.h"
#include "core/proxy/ProxyServer.h"

#include <QMainWindow>

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
    enum Tab { HandshakeTab, MessagesTab, CloseTab, TimelineTab };

    MainWindow(capture::CaptureStore &store, ServerFactory makeServer, certs::CertificateAuthority *ca,
               QWidget *parent = nullptr);
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
    bool selectSession(capture::SessionId id);
    capture::SessionId currentSession() const { return m_current; }

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void buildMenus();
    void buildStatusBar();
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
    QLabel *m_listening;
    QToolButton *m_toggle;
    QLabel *m_counters;
    QAction *m_startStop;
    QAction *m_follow;
    capture::SessionId m_current = 0;
    qint64 m_lastTimeline = 0;
};

} // namespace socktap::ui
