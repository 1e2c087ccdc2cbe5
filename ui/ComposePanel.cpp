#include "ComposePanel.h"

#include "MessageEditor.h"

#include <QAction>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

namespace socktap::ui {

ComposePanel::ComposePanel(CommandSender send, QWidget *parent)
    : QWidget(parent)
    , m_send(std::move(send))
{
    m_hint = new QLabel(this);
    m_hint->setWordWrap(true);
    m_target = new QComboBox(this);
    m_target->addItem(tr("To the server (as if the client sent it)"));
    m_target->addItem(tr("To the client (as if the server sent it)"));
    m_editor = new MessageEditor(this);
    m_editor->setMessage(quint8(1), QByteArray());
    m_sendButton = new QPushButton(tr("Send"), this);
    m_sendButton->setToolTip(tr("Send the message into the session (Ctrl+Return)"));
    m_result = new QLabel(this);
    m_result->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_result->setWordWrap(true);
    // Ctrl+Return anywhere in the tab, the payload editor included (where Return is a new line).
    auto *sendKey = new QAction(this);
    sendKey->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
    sendKey->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    connect(sendKey, &QAction::triggered, this, &ComposePanel::send);
    addAction(sendKey);

    auto *direction = new QHBoxLayout;
    direction->addWidget(new QLabel(tr("Send"), this));
    direction->addWidget(m_target);
    direction->addStretch(1);
    auto *bottom = new QHBoxLayout;
    bottom->addWidget(m_sendButton);
    bottom->addWidget(m_result, 1);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addWidget(m_hint);
    layout->addLayout(direction);
    layout->addWidget(m_editor, 1);
    layout->addLayout(bottom);

    connect(m_sendButton, &QPushButton::clicked, this, &ComposePanel::send);
    connect(m_editor, &MessageEditor::changed, this, &ComposePanel::updateEnabled);
    updateEnabled();
}

void ComposePanel::setSession(capture::SessionId id, bool live)
{
    if (id != m_session)
        m_result->clear();
    m_session = id;
    m_live = live;
    updateEnabled();
}

void ComposePanel::prefill(capture::Direction from, quint8 opcode, const QByteArray &payload)
{
    m_target->setCurrentIndex(from == capture::Direction::ClientToServer ? ToServer : ToClient);
    m_editor->setMessage(opcode, payload);
    m_result->clear();
    m_editor->setFocus();
}

void ComposePanel::updateEnabled()
{
    const bool usable = m_session && m_live;
    m_hint->setVisible(!usable);
    m_hint->setText(m_session ? tr("Session #%1 is not a live WebSocket session: messages can only be sent "
                                   "into an open one.")
                                    .arg(m_session)
                              : tr("Select a live WebSocket session to send messages into it."));
    m_target->setEnabled(usable);
    m_editor->setEnabled(usable);
    m_sendButton->setEnabled(usable && m_editor->message().has_value());
}

void ComposePanel::send()
{
    if (!m_session || !m_live)
        return;
    QString error;
    auto message = m_editor->message(&error);
    if (!message) {
        m_result->setText(error);
        return;
    }
    intercept::SessionCommand command;
    command.kind = intercept::SessionCommand::Kind::Send;
    command.from = m_target->currentIndex() == ToServer ? capture::Direction::ClientToServer
                                                        : capture::Direction::ServerToClient;
    command.flag = capture::MessageFlag::Injected;
    command.message = std::move(message);
    m_result->setStyleSheet(QString());
    m_result->setText(tr("sending…"));
    const capture::SessionId session = m_session;
    m_send(session, command, this, [this, session](const intercept::CommandResult &result) {
        if (session != m_session)
            return; // the user moved on; the message list shows what happened
        m_result->setStyleSheet(result.ok ? QString() : QStringLiteral("color: #c62828"));
        m_result->setText(result.ok ? tr("sent") : result.error);
    });
}

} // namespace socktap::ui
