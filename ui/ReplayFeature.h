// Session > Replay: plays a session's client side again through the window's own proxy, so the replay
// appears as a session linked to its original, then compares what came back (CompareView). Also the
// session list's "Copy as websocat/wscat command", which reads the same replay plan. One replay at a time.
#pragma once

#include "core/capture/CaptureStore.h"
#include "core/replay/Replayer.h"

#include <QObject>
#include <QPointer>

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

class CompareView;
class MainWindow;
class ProxyFeature;

class ReplayFeature final : public QObject
{
    Q_OBJECT

public:
    ReplayFeature(MainWindow &window, capture::CaptureStore &store, ProxyFeature &proxy,
                  certs::CertificateAuthority *ca);
    ~ReplayFeature() override;

    // Session > Replay (enabled for a WebSocket session while no replay runs).
    QAction *replayAction() const { return m_replayAction; }
    // The replay's progress and its Cancel button.
    void addStatusWidgets(QStatusBar *bar);
    void update(capture::SessionId current);
    // Copy URL, Copy as websocat / wscat command, for the session list's context menu.
    void addCopyActions(QMenu *menu, capture::SessionId session);

    // Asks how (ReplayDialog), then startReplay plays the plan; when it ends, the comparison opens.
    void replaySession(capture::SessionId id);
    // False with why when a replay runs or the proxy cannot start.
    bool startReplay(replay::ReplayPlan plan, replay::Replayer::Options options,
                     const QStringList &ignoreJsonKeys, QString *error = nullptr);
    void cancelReplay();
    bool isReplaying() const { return m_replayer != nullptr; }
    CompareView *compareView() const;
    QLabel *replayStatus() const { return m_replayStatus; }

signals:
    // A replay ended: compared (error empty), failed or was cancelled.
    void replayFinished(const QString &error);

private:
    void finishReplay();
    void compareReplay(const replay::ReplayPlan &plan, capture::SessionId replayId,
                       const QStringList &ignoreJsonKeys);

    MainWindow &m_window;
    capture::CaptureStore &m_store;
    ProxyFeature &m_proxy;
    certs::CertificateAuthority *m_ca;
    QAction *m_replayAction;
    std::unique_ptr<replay::Replayer> m_replayer;
    QStringList m_replayIgnore;
    QLabel *m_replayStatus = nullptr;
    QToolButton *m_replayCancel = nullptr;
    QPointer<CompareView> m_compareView;
};

} // namespace socktap::ui
