// The window's right side: the selected session's Handshake, Messages, Close, Timeline and Compose tabs,
// or a line saying to pick a session while none is. Keeps the timeline fresh while messages arrive
// (at most twice a second) and sends what Compose and Edit and resend prepare to the live session.
#pragma once

#include "CommandSender.h"

#include "core/capture/CaptureTypes.h"

#include <QStackedWidget>

class QLabel;
class QTabWidget;

namespace socktap::capture {
class CaptureStore;
}

namespace socktap::ui {

class CloseView;
class ComposePanel;
class HandshakeView;
class MessagesPanel;
class TimelineView;

class SessionInspector final : public QStackedWidget
{
    Q_OBJECT

public:
    enum Tab { HandshakeTab, MessagesTab, CloseTab, TimelineTab, ComposeTab };

    SessionInspector(capture::CaptureStore &store, const CommandSender &send, QWidget *parent);

    // `session` null: nothing selected. `replays`: the sessions that replay it. messagesToo: the message
    // list is loaded again (another session, or the capture was reloaded), not only the facts.
    void showSession(const capture::SessionInfo *session, const QList<capture::SessionId> &replays,
                     bool messagesToo);
    // New messages of the shown session.
    void appendNew();
    void setLive(capture::SessionId session, bool live);
    // Edit and resend: the message in Compose, ready to change and send.
    void editAndResend(capture::Direction from, quint8 opcode, const QByteArray &payload);

    QTabWidget *tabs() const { return m_tabs; }
    QLabel *noSessionHint() const { return m_noSession; }
    HandshakeView *handshakeView() const { return m_handshake; }
    MessagesPanel *messagesPanel() const { return m_messages; }
    CloseView *closeView() const { return m_close; }
    TimelineView *timelineView() const { return m_timeline; }
    ComposePanel *composePanel() const { return m_compose; }

private:
    void refreshTimeline();

    QTabWidget *m_tabs;
    QLabel *m_noSession;
    HandshakeView *m_handshake;
    MessagesPanel *m_messages;
    CloseView *m_close;
    TimelineView *m_timeline;
    ComposePanel *m_compose;
    bool m_hasSession = false;
    qint64 m_start = 0; // the shown session's upgrade (or accept) and close, for the timeline
    qint64 m_end = 0;
    QStringList m_faults; // the shown session's, for the timeline
    qint64 m_lastTimeline = 0;
};

} // namespace socktap::ui
