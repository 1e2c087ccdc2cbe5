// The Compose tab: write a message (MessageEditor) and send it into the selected live session, to the
// server (as if the client sent it) or to the client (as if the server did). The result line says "sent"
// or why not ("session 4 has ended"). Disabled, with a hint, when no live WebSocket session is selected.
// When the session speaks a format (socket.io, signalr, stomp, mqtt, ...), "As <format>" composes at that
// level: the value as the Decoded tab shows one (starting from the latest such message going the same
// way), encoded by the format (core/decode's compose) and framed like that message.
#pragma once

#include "CommandSender.h"

#include <QByteArray>
#include <QJsonValue>
#include <QWidget>

#include <functional>
#include <optional>

class QComboBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;

namespace socktap::ui {

class MessageEditor;

class ComposePanel final : public QWidget
{
    Q_OBJECT

public:
    enum Target { ToServer, ToClient };

    enum Mode { Raw, InFormat };
    // A message of the session in its format: its bytes (for framing) and its decoded value.
    struct Sample
    {
        QByteArray payload;
        bool binary = false;
        QJsonValue value;
    };
    using FormatSource = std::function<QString()>;
    using SampleSource = std::function<std::optional<Sample>(bool fromServer)>;

    explicit ComposePanel(CommandSender send, QWidget *parent = nullptr);
    // Where the session's format and its latest message each way come from (the message list's decoding).
    void setFormatSource(FormatSource format, SampleSource sample);

    void setSession(capture::SessionId id, bool live);
    // Fills the editor ("Edit and resend"): `from` is who sent the original, so it goes the same way.
    void prefill(capture::Direction from, quint8 opcode, const QByteArray &payload);
    void send();
    // The session's format is known now (or another session is shown): offers "As <format>".
    void refreshFormat();

    MessageEditor *editor() const { return m_editor; }
    QComboBox *modeBox() const { return m_mode; }
    QPlainTextEdit *valueEdit() const { return m_valueEdit; }
    QComboBox *targetBox() const { return m_target; }
    QPushButton *sendButton() const { return m_sendButton; }
    QLabel *resultLabel() const { return m_result; }

protected:
    void showEvent(QShowEvent *event) override;

private:
    void updateEnabled();
    void updateMode();
    void fillValue();
    std::optional<intercept::OutgoingMessage> composed(QString *error) const;

    CommandSender m_send;
    FormatSource m_formatSource;
    SampleSource m_sampleSource;
    QString m_format;
    QComboBox *m_mode;
    QPlainTextEdit *m_valueEdit;
    QLabel *m_valueHint;
    QString m_filledWith; // what fillValue() put in the value editor: replaced only while unchanged
    bool m_sessionChanged = false;
    capture::SessionId m_session = 0;
    bool m_live = false;
    QLabel *m_hint;
    QComboBox *m_target;
    MessageEditor *m_editor;
    QPushButton *m_sendButton;
    QLabel *m_result;
};

} // namespace socktap::ui
