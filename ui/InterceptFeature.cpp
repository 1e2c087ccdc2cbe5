#include "InterceptFeature.h"

#include "CloseSessionDialog.h"
#include "InterceptPane.h"
#include "MainWindow.h"
#include "ProxyFeature.h"
#include "RulesDialog.h"

#include <QAction>
#include <QMenu>
#include <QSignalBlocker>
#include <QStatusBar>

namespace socktap::ui {

InterceptFeature::InterceptFeature(MainWindow &window, ProxyFeature &proxy,
                                   std::shared_ptr<intercept::InterceptHub> hub, const CommandSender &send)
    : QObject(&window)
    , m_window(window)
    , m_proxy(proxy)
    , m_hub(hub ? std::move(hub) : std::make_shared<intercept::InterceptHub>())
    , m_pane(new InterceptPane(m_hub, send, &window))
{
    RulesDialog::loadSaved(*m_hub);
    // Bottom: what is held at breakpoints; hidden until something is.
    window.addDockWidget(Qt::BottomDockWidgetArea, m_pane);
    m_pane->hide();
    connect(m_pane, &InterceptPane::status, this,
            [this](const QString &text) { m_window.statusBar()->showMessage(text, 10000); });
    connect(m_pane, &InterceptPane::pauseEnded, this, [this](capture::SessionId id, capture::Direction from) {
        m_paused[id][int(from)] = false;
        update(m_current, m_proxy.isLive(m_current));
    });
    // Every session has ended with the engine.
    connect(&m_proxy, &ProxyFeature::stopped, this, [this] {
        m_paused.clear();
        m_stalled.clear();
    });
}

void InterceptFeature::addSessionActions(QMenu *session)
{
    const std::pair<capture::Direction, QString> pauses[] = {
        {capture::Direction::ClientToServer, tr("Pause &client → server")},
        {capture::Direction::ServerToClient, tr("Pause &server → client")}};
    for (const auto &[from, text] : pauses) {
        QAction *pause = session->addAction(text);
        pause->setCheckable(true);
        pause->setShortcut(
            QKeySequence(Qt::CTRL | (from == capture::Direction::ClientToServer ? Qt::Key_1 : Qt::Key_2)));
        pause->setToolTip(tr("Hold every message this side sends until you forward it (Intercept pane)"));
        // triggered, not toggled: only the user's clicks send a command, not the window's own updates.
        connect(pause, &QAction::triggered, this, [this, from](bool on) { setPaused(from, on); });
        m_pause[int(from)] = pause;
    }
    m_holdPingPong = session->addAction(tr("Pauses hold pings and pongs &too"));
    m_holdPingPong->setCheckable(true);
    m_holdPingPong->setToolTip(
        tr("Off (the default): Ping and Pong pass a pause, so the peers' keepalive does "
           "not time out while you look. On: the next pause holds them too."));
    m_resumeAll = session->addAction(tr("&Resume all"), this, &InterceptFeature::resumeAll);
    m_resumeAll->setToolTip(tr("Forward everything held in this session and stop pausing it"));
    session->addSeparator();
    // The pane's actions live here too, so F8 and friends work while the pane is hidden.
    for (QAction *a :
         {m_pane->forwardAction(), m_pane->editAction(), m_pane->dropAction(), m_pane->forwardAllAction()}) {
        session->addAction(a);
        m_window.addAction(a);
    }
    m_closeSession = new QAction(tr("&Close session…"), this);
    connect(m_closeSession, &QAction::triggered, this, &InterceptFeature::closeSession);
    const std::pair<capture::Direction, QString> stalls[] = {
        {capture::Direction::ClientToServer, tr("S&tall client → server (half-open)")},
        {capture::Direction::ServerToClient, tr("St&all server → client (half-open)")}};
    for (const auto &[from, text] : stalls) {
        QAction *stall = new QAction(text, this);
        stall->setCheckable(true);
        stall->setToolTip(tr("Stop reading what this side sends while TCP stays up: nothing crosses, pings "
                             "included, so the other side's heartbeat timeout fires (a fault, recorded on "
                             "the session). Uncheck to let it through again."));
        connect(stall, &QAction::triggered, this, [this, from](bool on) { setStalled(from, on); });
        m_stall[int(from)] = stall;
    }
}

void InterceptFeature::addToolsActions(QMenu *tools)
{
    m_rulesAction = tools->addAction(tr("&Rules…"), this, &InterceptFeature::showRules);
    // (Ctrl+R is Replay: one key, one action.)
    m_rulesAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R));
}

void InterceptFeature::update(capture::SessionId current, bool live)
{
    m_current = current;
    const auto paused = m_paused.value(current, {false, false});
    for (int from = 0; from < 2; ++from) {
        const QSignalBlocker blocker(m_pause[size_t(from)]);
        m_pause[size_t(from)]->setEnabled(live);
        m_pause[size_t(from)]->setChecked(live && paused[size_t(from)]);
    }
    m_resumeAll->setEnabled(live);
    m_closeSession->setEnabled(live);
    const auto stalled = m_stalled.value(current, {false, false});
    for (int from = 0; from < 2; ++from) {
        const QSignalBlocker blocker(m_stall[size_t(from)]);
        m_stall[size_t(from)]->setEnabled(live);
        m_stall[size_t(from)]->setChecked(live && stalled[size_t(from)]);
    }
}

void InterceptFeature::setPaused(capture::Direction from, bool on)
{
    intercept::SessionCommand command;
    command.kind = intercept::SessionCommand::Kind::SetPause;
    command.from = from;
    command.on = on;
    command.holdPingPong = m_holdPingPong->isChecked();
    toggle(command, m_paused, tr("Pause failed: %1"), QString());
}

void InterceptFeature::setStalled(capture::Direction from, bool on)
{
    intercept::SessionCommand command;
    command.kind = intercept::SessionCommand::Kind::Stall;
    command.from = from;
    command.on = on;
    const QString side =
        QStringLiteral("%1 → %2").arg(QLatin1String(capture::directionName(from)),
                                      QLatin1String(capture::directionName(capture::opposite(from))));
    toggle(command, m_stalled, tr("Stall failed: %1"),
           (on ? tr("Session %1: %2 stalled") : tr("Session %1: %2 resumed")).arg(m_current).arg(side));
}

void InterceptFeature::toggle(const intercept::SessionCommand &command, Toggles &state, const QString &failed,
                              const QString &succeeded)
{
    // Checked at once (the menu follows the click); a session that has ended, or refused, unchecks it.
    const capture::SessionId id = m_current;
    const int from = int(command.from);
    state[id][from] = command.on;
    m_proxy.sendCommand(id, command, this, [this, id, from, &state, failed, succeeded](const auto &result) {
        if (!result.ok) {
            state[id][from] = false;
            update(m_current, m_proxy.isLive(m_current));
        }
        if (!result.ok || !succeeded.isEmpty())
            m_window.statusBar()->showMessage(result.ok ? succeeded : failed.arg(result.error), 10000);
    });
    update(m_current, m_proxy.isLive(m_current));
}

void InterceptFeature::resumeAll()
{
    const capture::SessionId id = m_current;
    for (const auto from : {capture::Direction::ClientToServer, capture::Direction::ServerToClient}) {
        intercept::SessionCommand command;
        command.kind = intercept::SessionCommand::Kind::ReleaseAll;
        command.from = from;
        m_proxy.sendCommand(id, command, this, [this, id, from](const intercept::CommandResult &result) {
            if (!result.ok) {
                m_window.statusBar()->showMessage(tr("Resume failed: %1").arg(result.error), 10000);
                return;
            }
            m_paused[id][int(from)] = false;
            update(m_current, m_proxy.isLive(m_current));
        });
    }
}

void InterceptFeature::closeSession()
{
    const capture::SessionId id = m_current;
    auto *dialog = new CloseSessionDialog(id, &m_window);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, id, dialog] {
        const intercept::SessionCommand command = dialog->command();
        const bool reset = command.kind == intercept::SessionCommand::Kind::Reset;
        m_proxy.sendCommand(id, command, this, [this, id, reset](const intercept::CommandResult &result) {
            m_window.statusBar()->showMessage(
                result.ok ? (reset ? tr("Session %1 reset").arg(id) : tr("Close sent in session %1").arg(id))
                          : tr("Close failed: %1").arg(result.error),
                10000);
        });
    });
    dialog->open();
}

void InterceptFeature::resend(capture::SessionId session, capture::Direction to, quint8 opcode,
                              const QByteArray &payload)
{
    intercept::SessionCommand command;
    command.kind = intercept::SessionCommand::Kind::Send;
    command.from = to; // sent as the peer on that side: ClientToServer goes to the server
    command.flag = capture::MessageFlag::Resent;
    command.message = intercept::OutgoingMessage {opcode, payload, 1};
    const QString where = to == capture::Direction::ClientToServer ? tr("the server") : tr("the client");
    m_proxy.sendCommand(session, command, this, [this, where](const intercept::CommandResult &result) {
        m_window.statusBar()->showMessage(
            result.ok ? tr("Resent to %1").arg(where) : tr("Resend failed: %1").arg(result.error), 10000);
    });
}

void InterceptFeature::showRules()
{
    auto *dialog = new RulesDialog(m_hub, &m_window);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this] {
        emit rulesChanged();
        m_window.statusBar()->showMessage(tr("%n rule(s) in use", nullptr, int(m_hub->rules()->rules.size())),
                                          5000);
    });
    dialog->open();
}

} // namespace socktap::ui
