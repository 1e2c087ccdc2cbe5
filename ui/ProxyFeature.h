// The window's proxy: the engine's lifecycle (start, stop, restart with new settings), the status bar's
// "Proxy on 127.0.0.1:8080" label and its Start/Stop button, Capture > Start/Stop, and Tools > Settings and
// Export CA certificate. The other features reach live sessions through it (isLive, sendCommand): the
// engine comes and goes with Start and Stop, and only this object knows whether it is there.
#pragma once

#include "CommandSender.h"
#include "SettingsDialog.h"

#include "core/capture/CaptureStore.h"
#include "core/proxy/ProxyServer.h"

#include <QObject>

#include <functional>
#include <memory>

class QAction;
class QLabel;
class QMenu;
class QStatusBar;
class QToolButton;

namespace socktap::certs {
class CertificateAuthority;
}

namespace socktap::ui {

class AttachFeature;
class MainWindow;

class ProxyFeature final : public QObject
{
    Q_OBJECT

public:
    using ServerFactory = std::function<std::unique_ptr<proxy::ProxyServer>()>;

    ProxyFeature(MainWindow &window, capture::CaptureStore &store, ServerFactory makeServer,
                 certs::CertificateAuthority *ca);
    ~ProxyFeature() override;

    // The label and the Start/Stop button, first in the status bar.
    void addStatusWidgets(QStatusBar *bar);
    // Capture > Start/Stop proxy.
    QAction *startStopAction() const { return m_startStop; }
    // Tools > Export CA certificate, Settings.
    void addToolsActions(QMenu *tools);

    // Starts the proxy; false (and the reason shown, and kept in lastStartError) when it cannot listen.
    bool startProxy();
    // Open sessions get 1001; stopped() follows.
    void stopProxy();
    // Stops the proxy, then runs `then` (queued): at once when it is not running.
    void stopThen(QObject *context, std::function<void()> then);
    bool hasServer() const { return m_server != nullptr; }
    bool isStopping() const { return m_stopping; }
    bool isListening() const;
    QString lastStartError() const { return m_lastStartError; }
    QString listeningText() const; // the status bar's proxy label
    quint16 proxyPort() const;
    // host:port as a client on this machine writes it (127.0.0.1 for a wildcard address).
    QString addressForClients() const;
    // The running server (null while stopped): its address, configuration and credentials.
    const proxy::ProxyServer *server() const { return m_server.get(); }
    const QByteArray proxyCredentials() const;

    // The remote engines (File > Attach): a session of theirs is theirs to act on.
    void setRemotes(AttachFeature *remotes) { m_remotes = remotes; }
    // Whether `id` is a WebSocket session its engine (this one, or a remote one) can still act on.
    bool isLive(capture::SessionId id) const;
    // Sends a command to a live session; `done` runs later in `context`'s thread (also when it fails).
    void sendCommand(capture::SessionId id, const intercept::SessionCommand &command, QObject *context,
                     CommandDone done);

    // The configuration the server factory reads: Settings edits it and restarts the proxy. Without it,
    // Settings changes only the capture's budget and the theme.
    // credentialsGenerated: its proxy credentials were made up at start (beyond loopback), so moving back
    // to loopback may drop them.
    void setEditableConfig(proxy::ProxyConfig *config, Theme theme, bool credentialsGenerated = false);
    WindowSettings currentSettings() const;
    // Applies settings at once: the budget, the theme, and (when they changed) the proxy restarted with
    // the new address and verification. A new address that cannot be had: back to the old one, the
    // reason in proxyRestarted (and shown). True when the proxy restarts (proxyRestarted follows).
    bool applySettings(const WindowSettings &settings);
    // What Settings' OK does: apply, then save what ends up running (a failed address is not kept).
    void settingsChosen(const WindowSettings &settings);
    // The warning shown when Settings moved the listener beyond loopback (credentials now required).
    QString exposureWarning() const { return m_exposureWarning; }

signals:
    // Started, stopped, or failed to start: the label, the actions and the empty page follow.
    void listeningChanged();
    // The engine has stopped: every session it held has ended.
    void stopped();
    // After applySettings restarted the proxy: ok, or why the new settings could not be used.
    void proxyRestarted(bool ok, const QString &error);
    // The capture's memory budget changed (the counters show it).
    void budgetChanged();

private:
    void updateListening();
    void showSettings();
    void exportCa();
    void restartProxy(const WindowSettings &before);
    void guardListener();
    // New TLS contexts trusting `files` for servers; false (and said) when one cannot be read.
    bool updateTrustedCas(const QStringList &files);

    MainWindow &m_window;
    capture::CaptureStore &m_store;
    ServerFactory m_makeServer;
    certs::CertificateAuthority *m_ca;
    std::unique_ptr<proxy::ProxyServer> m_server;
    AttachFeature *m_remotes = nullptr;
    bool m_stopping = false;
    proxy::ProxyConfig *m_config = nullptr;
    Theme m_theme = Theme::System;
    QString m_lastStartError;
    QString m_exposureWarning;
    bool m_generatedCredentials = false; // by the window, when Settings moved beyond loopback
    QLabel *m_listening; // "Proxy on 127.0.0.1:8080", or why it is stopped
    QToolButton *m_toggle;
    QAction *m_startStop;
};

} // namespace socktap::ui
