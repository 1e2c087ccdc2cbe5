// The Compose tab: write a message (MessageEditor) and send it into the selected live session, to the
// server (as if the client sent it) or to the client (as if the server did). The result line says "sent"
// or why not ("session 4 has ended"). Disabled, with a hint, when no live WebSocket session is selected.
#pragma once

#include "CommandSender.h"

#include <QWidget>

class QComboBox;
class QLabel;
class QPushButton;

namespace socktap::ui {

class MessageEditor;

class ComposePanel final : public QWidget
{
    Q_OBJECT

public:
    enum Target { ToServer, ToClient };

    explicit ComposePanel(CommandSender send, QWidget *parent = nullptr);

    void setSession(capture::SessionId id, bool live);
    // Fills the editor ("Edit and resend"): `from` is who sent the original, so it goes the same way.
    void prefill(capture::Direction from, quint8 opcode, const QByteArray &payload);
    void send();

    MessageEditor *editor() const { return m_editor; }
    QComboBox *targetBox() const { return m_target; }
    QPushButton *sendButton() const { return m_sendButton; }
    QLabel *resultLabel() const { return m_result; }

private:
    void updateEnabled();

    CommandSender m_send;
    capture::SessionId m_session = 0;
    bool m_live = false;
    QLabel *m_hint;
    QComboBox *m_target;
    MessageEditor *m_editor;
    QPushButton *m_sendButton;
    QLabel *m_result;
};

} // namespace socktap::ui
