// The Intercept pane (a dock at the bottom): the messages held at breakpoints (paused directions and hold
// rules) across every session, with Forward (F8), Edit…, Drop and Forward all (Shift+F8). Polls the hub's
// held list on a timer, as CaptureFeed polls the store; shows itself when something gets held. Commands go
// out through the window and answer asynchronously; their errors appear next to the buttons.
#pragma once

#include "CommandSender.h"

#include "core/intercept/InterceptHub.h"

#include <QDockWidget>

#include <memory>

class QAction;
class QLabel;
class QTableView;
class QTimer;

namespace socktap::ui {

class HeldMessageModel;

class InterceptPane final : public QDockWidget
{
    Q_OBJECT

public:
    InterceptPane(std::shared_ptr<intercept::InterceptHub> hub, CommandSender send,
                  QWidget *parent = nullptr);

    // Reads the hub's held list now (the timer does this ~20 times a second).
    void refresh();
    void forwardSelected();
    void dropSelected();
    void forwardAll();
    // Opens the editor for the selected (or oldest) held message; its OK forwards the edited message.
    void editSelected();

    HeldMessageModel *model() const { return m_model; }
    QTableView *view() const { return m_view; }
    QAction *forwardAction() const { return m_forward; }
    QAction *editAction() const { return m_edit; }
    QAction *dropAction() const { return m_drop; }
    QAction *forwardAllAction() const { return m_forwardAll; }
    QLabel *statusLabel() const { return m_status; }

signals:
    // ReleaseAll succeeded for this session and sender: the engine no longer pauses it.
    void pauseEnded(capture::SessionId session, capture::Direction from);
    void status(const QString &text);

private:
    QAction *makeAction(const QString &text, const QKeySequence &key, void (InterceptPane::*slot)());
    QList<int> targetRows() const; // selected rows, or the oldest when nothing is selected
    void release(const intercept::HeldMessage &m, std::optional<intercept::OutgoingMessage> edited);
    void report(const intercept::CommandResult &result, const QString &what);
    void updateActions();

    std::shared_ptr<intercept::InterceptHub> m_hub;
    CommandSender m_send;
    HeldMessageModel *m_model;
    QTableView *m_view;
    QLabel *m_status;
    QAction *m_forward;
    QAction *m_edit;
    QAction *m_drop;
    QAction *m_forwardAll;
    QTimer *m_poll;
    QTimer *m_tick;
    quint64 m_generation = ~quint64(0);
};

} // namespace socktap::ui
