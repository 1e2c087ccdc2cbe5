// File > Attach to Socktap (issue 22): the window attached to headless Socktaps elsewhere (their
// --control), as many as the user likes. Each is a proxy::RemoteEngine over the window's own store and
// hub: its sessions appear in the list with their engine (a column, and the filter matches it) and local
// ids, its held messages in the Intercept pane, and ProxyFeature sends a command for one of its sessions
// here instead of to the local engine, so everything the window does to a session works on a remote one.
// Rules edited in Tools > Rules go to every attached engine too. The engines (address, token, CA file) are
// remembered and offered again; the status bar says how each link is.
#pragma once

#include "CommandSender.h"

#include "core/capture/CaptureStore.h"
#include "core/intercept/InterceptHub.h"

#include <QObject>

#include <map>
#include <memory>
#include <vector>

class QAction;
class QLabel;
class QMenu;
class QStatusBar;

namespace socktap::certs {
class CertificateAuthority;
}
namespace socktap::proxy {
class RemoteEngine;
}

namespace socktap::ui {

class MainWindow;

class AttachFeature final : public QObject
{
    Q_OBJECT

public:
    // ca: this user's CA, trusted for remotes attached without a CA file (null: a file is needed).
    AttachFeature(MainWindow &window, capture::CaptureStore &store,
                  std::shared_ptr<intercept::InterceptHub> hub, certs::CertificateAuthority *ca);
    ~AttachFeature() override;

    // File > Attach to Socktap… and Detach, inserted before `before`.
    void addFileActions(QMenu *file, QAction *before);
    void addStatusWidgets(QStatusBar *bar);

    // Attaches to target (HOST:PORT) with token, trusting caFile (empty: this user's own CA). Null with
    // *error when the CA cannot be read or target is already attached; the link itself comes up later.
    proxy::RemoteEngine *attach(const QString &target, const QString &token, const QString &caFile,
                                QString *error);
    void detach(proxy::RemoteEngine *engine);
    const std::vector<proxy::RemoteEngine *> &engines() const { return m_engines; }

    // The engine a session came from (null: the local one).
    proxy::RemoteEngine *engineOf(capture::SessionId id) const;
    // Sends the hub's rules, or its scripts, to every attached engine.
    void pushRules();
    void pushScripts();

signals:
    void enginesChanged();

private:
    void showAttachDialog();
    void updateStatus();
    void remember(const QString &target, const QString &token, const QString &caFile);

    MainWindow &m_window;
    capture::CaptureStore &m_store;
    std::shared_ptr<intercept::InterceptHub> m_hub;
    certs::CertificateAuthority *m_ca;
    std::vector<proxy::RemoteEngine *> m_engines;
    std::map<QString, proxy::RemoteEngine *> m_detached; // by address
    QMenu *m_detachMenu = nullptr;
    QLabel *m_status = nullptr;
};

} // namespace socktap::ui
