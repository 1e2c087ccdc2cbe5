#include "ComposePanel.h"

#include "MessageEditor.h"

#include "core/decode/FormatRegistry.h"
#include "core/ws/Frame.h"

#include <QAction>
#include <QComboBox>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalBlocker>
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
    m_mode = new QComboBox(this);
    m_mode->addItem(tr("Raw message"));
    m_mode->setToolTip(tr("Raw: the WebSocket message's type and bytes. As a format: its fields, as the "
                          "Decoded tab shows them, encoded by Socktap"));
    m_valueEdit = new QPlainTextEdit(this);
    m_valueEdit->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_valueEdit->setObjectName(QStringLiteral("composeValue"));
    m_valueHint = new QLabel(this);
    m_valueHint->setWordWrap(true);
    m_valueHint->setEnabled(false); // muted
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
    direction->addWidget(m_mode);
    direction->addStretch(1);
    auto *bottom = new QHBoxLayout;
    bottom->addWidget(m_sendButton);
    bottom->addWidget(m_result, 1);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addWidget(m_hint);
    layout->addLayout(direction);
    layout->addWidget(m_editor, 1);
    layout->addWidget(m_valueHint);
    layout->addWidget(m_valueEdit, 1);
    layout->addLayout(bottom);

    connect(m_sendButton, &QPushButton::clicked, this, &ComposePanel::send);
    connect(m_editor, &MessageEditor::changed, this, &ComposePanel::updateEnabled);
    connect(m_mode, &QComboBox::currentIndexChanged, this, &ComposePanel::updateMode);
    connect(m_target, &QComboBox::currentIndexChanged, this, &ComposePanel::fillValue);
    connect(m_valueEdit, &QPlainTextEdit::textChanged, this, &ComposePanel::updateEnabled);
    updateMode();
}

void ComposePanel::setFormatSource(FormatSource format, SampleSource sample)
{
    m_formatSource = std::move(format);
    m_sampleSource = std::move(sample);
    refreshFormat();
}

void ComposePanel::refreshFormat()
{
    const QString format = m_formatSource ? m_formatSource() : QString();
    const bool sessionChanged = std::exchange(m_sessionChanged, false);
    if (format == m_format && !sessionChanged)
        return;
    m_format = format;
    {
        const QSignalBlocker blocker(m_mode);
        while (m_mode->count() > 1)
            m_mode->removeItem(1);
        if (!m_format.isEmpty())
            m_mode->addItem(tr("As %1").arg(m_format));
        // A session with a format composes in it by default, as the Decoded tab opens by default.
        m_mode->setCurrentIndex(m_format.isEmpty() ? Raw : InFormat);
    }
    // What the value editor holds belonged to another session or format: the new one's latest message.
    m_filledWith = m_valueEdit->toPlainText();
    updateMode();
}

void ComposePanel::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    refreshFormat(); // decoding is lazy: the format may be known by now
}

void ComposePanel::updateMode()
{
    const bool inFormat = m_mode->currentIndex() == InFormat;
    m_editor->setVisible(!inFormat);
    m_valueEdit->setVisible(inFormat);
    m_valueHint->setVisible(inFormat);
    fillValue();
    updateEnabled();
}

void ComposePanel::fillValue()
{
    if (m_mode->currentIndex() != InFormat)
        return;
    // The user's own writing stays; what Socktap filled in follows the direction and the session.
    if (!m_valueEdit->toPlainText().isEmpty() && m_valueEdit->toPlainText() != m_filledWith)
        return;
    const bool toClient = m_target->currentIndex() == ToClient;
    const auto sample = m_sampleSource ? m_sampleSource(toClient) : std::nullopt;
    QString text = QStringLiteral("{}");
    if (sample && (sample->value.isObject() || sample->value.isArray()))
        text = QString::fromUtf8(sample->value.isObject() ? QJsonDocument(sample->value.toObject()).toJson()
                                                          : QJsonDocument(sample->value.toArray()).toJson())
                   .trimmed();
    m_valueHint->setText(sample
                             ? tr("The latest %1 message going this way, to change and send; Socktap "
                                  "encodes it as %1.")
                                   .arg(m_format)
                             : tr("No %1 message has gone this way yet: write the value as the Decoded tab "
                                  "shows one.")
                                   .arg(m_format));
    m_filledWith = text;
    m_valueEdit->setPlainText(text);
}

std::optional<intercept::OutgoingMessage> ComposePanel::composed(QString *error) const
{
    if (m_mode->currentIndex() != InFormat)
        return m_editor->message(error);
    const decode::Decoder *decoder = decode::FormatRegistry::current().find(m_format);
    if (!decoder) {
        *error = tr("Socktap does not know the format %1").arg(m_format);
        return std::nullopt;
    }
    QJsonParseError parsed;
    const QByteArray text = m_valueEdit->toPlainText().toUtf8();
    const QJsonDocument doc = QJsonDocument::fromJson(text, &parsed);
    if (parsed.error != QJsonParseError::NoError) {
        const QByteArray before = text.left(parsed.offset);
        *error = tr("Not JSON at line %1, column %2: %3")
                     .arg(before.count('\n') + 1)
                     .arg(parsed.offset - before.lastIndexOf('\n'))
                     .arg(parsed.errorString());
        return std::nullopt;
    }
    const QJsonValue value = doc.isObject() ? QJsonValue(doc.object()) : QJsonValue(doc.array());
    const bool toClient = m_target->currentIndex() == ToClient;
    const auto sample = m_sampleSource ? m_sampleSource(toClient) : std::nullopt;
    const decode::Message like {sample ? QByteArrayView(sample->payload) : QByteArrayView(),
                                sample ? sample->binary : decoder->binaryMessages(), toClient};
    const auto payload = decoder->compose(like, value, error);
    if (!payload)
        return std::nullopt;
    return intercept::OutgoingMessage {quint8(like.binary ? ws::Opcode::Binary : ws::Opcode::Text), *payload,
                                       1};
}

void ComposePanel::setSession(capture::SessionId id, bool live)
{
    if (id != m_session) {
        m_result->clear();
        m_sessionChanged = true;
    }
    m_session = id;
    m_live = live;
    if (m_sessionChanged && isVisible())
        refreshFormat();
    updateEnabled();
}

void ComposePanel::prefill(capture::Direction from, quint8 opcode, const QByteArray &payload)
{
    // Edit and resend is about these bytes: Raw, and the session's format settled now so that showing the
    // tab does not switch back to composing in it.
    refreshFormat();
    m_mode->setCurrentIndex(Raw);
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
    m_mode->setEnabled(usable);
    m_editor->setEnabled(usable);
    m_valueEdit->setEnabled(usable);
    const bool inFormat = m_mode->currentIndex() == InFormat;
    m_sendButton->setEnabled(
        usable
        && (inFormat ? !m_valueEdit->toPlainText().trimmed().isEmpty() : m_editor->message().has_value()));
}

void ComposePanel::send()
{
    if (!m_session || !m_live)
        return;
    QString error;
    auto message = composed(&error);
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
