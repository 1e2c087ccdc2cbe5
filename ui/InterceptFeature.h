// Acting on live traffic from the window: the Intercept pane (what is held at breakpoints, docked at the
// bottom), the Session menu's pauses, Resume all, the pane's Forward/Edit/Drop (so their keys work while it
// is hidden) and Close session, resending a message from the list, and Tools > Rules. It remembers what it
// asked each session to pause, since the engine does not report that back.
#pragma once

#include "CommandSender.h"

#include "core/capture/CaptureStore.h"
#include "core/intercept/InterceptHub.h"

#include <QHash>
#include <QObject>

#include <array>
#include <memory>

class QAction;
class QMenu;

namespace socktap::ui {

class InterceptPane;
class MainWindow;
class ProxyFeature;

class InterceptFeature final : public QObject
{
    Q_OBJECT

public:
    // At start, when the hub has no rules (no --rules), the saved ones are loaded.
    InterceptFeature(MainWindow &window, ProxyFeature &proxy, std::shared_ptr<intercept::InterceptHub> hub,
                     const CommandSender &send);

    InterceptPane *pane() const { return m_pane; }
    // Pauses, Pauses hold pings and pongs too, Resume all, and the pane's actions.
    void addSessionActions(QMenu *session);
    void addToolsActions(QMenu *tools);
    // The current session changed, or whether it is live: the actions follow.
    void update(capture::SessionId current, bool live);
    // Sends a message as the peer on the other side (ClientToServer goes to the server), flagged resent.
    void resend(capture::SessionId session, capture::Direction to, quint8 opcode, const QByteArray &payload);

    QAction *pauseAction(capture::Direction from) const { return m_pause[int(from)]; }
    QAction *resumeAllAction() const { return m_resumeAll; }
    QAction *holdPingPongAction() const { return m_holdPingPong; }
    QAction *closeSessionAction() const { return m_closeSession; }
    // Session > Stall client → server / server → client: a half-open path (a fault, for the client's
    // heartbeat timeout), checkable per session.
    const std::array<QAction *, 2> &stallActions() const { return m_stall; }
    QAction *rulesAction() const { return m_rulesAction; }
    const std::shared_ptr<intercept::InterceptHub> &hub() const { return m_hub; }

signals:
    // Tools > Rules was accepted: the hub has the new rules (the attached engines get them too).
    void rulesChanged();

private:
    void setPaused(capture::Direction from, bool on);
    void resumeAll();
    void closeSession();
    void setStalled(capture::Direction from, bool on);
    // What the window asked each session to pause or stall, per sender.
    using Toggles = QHash<capture::SessionId, std::array<bool, 2>>;
    void toggle(const intercept::SessionCommand &command, Toggles &state, const QString &failed,
                const QString &succeeded);
    void showRules();

    MainWindow &m_window;
    ProxyFeature &m_proxy;
    std::shared_ptr<intercept::InterceptHub> m_hub;
    InterceptPane *m_pane;
    std::array<QAction *, 2> m_pause {}; // indexed by capture::Direction: who sent what is paused
    QAction *m_resumeAll = nullptr;
    QAction *m_holdPingPong = nullptr;
    QAction *m_closeSession = nullptr;
    std::array<QAction *, 2> m_stall {};
    QAction *m_rulesAction = nullptr;
    capture::SessionId m_current = 0;
    Toggles m_paused;
    Toggles m_stalled;
};

} // namespace socktap::ui
