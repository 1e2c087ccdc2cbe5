// A WebSocket message as the user writes it: the type (Text, Binary, Ping, Pong, Close or any raw opcode,
// reserved ones too, since Socktap is a testing tool), the payload as Text, JSON (validated), Hex or Base64,
// the number of frames to split it into, and for Close a code (invalid ones allowed) and a reason. Used by
// the Intercept pane's Edit dialog and by the Compose tab; knows nothing of sessions.
#pragma once

#include "core/intercept/SessionCommand.h"

#include <QWidget>

#include <optional>

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QSpinBox;
class QStackedWidget;

namespace socktap::ui {

class MessageEditor final : public QWidget
{
    Q_OBJECT

public:
    enum Format { TextFormat, JsonFormat, HexFormat, Base64Format };

    explicit MessageEditor(QWidget *parent = nullptr);

    // Fills the editor (for Close, the code and reason are taken apart from the payload).
    void setMessage(quint8 opcode, const QByteArray &payload, int fragments = 1);
    // The message as written, or nullopt with a sentence in *error (invalid JSON, hex or base64).
    std::optional<intercept::OutgoingMessage> message(QString *error = nullptr) const;
    void setFragmentsVisible(bool visible);

    // For tests and screenshots.
    QComboBox *typeBox() const { return m_type; }
    QSpinBox *opcodeBox() const { return m_opcode; }
    QComboBox *formatBox() const { return m_format; }
    QPlainTextEdit *payloadEdit() const { return m_payload; }
    QSpinBox *fragmentsBox() const { return m_fragments; }
    QSpinBox *closeCodeBox() const { return m_closeCode; }
    QLineEdit *closeReasonEdit() const { return m_closeReason; }
    QLabel *errorLabel() const { return m_error; }

signals:
    void changed();

private:
    quint8 opcode() const;
    bool isClose() const;
    void onTypeChanged();
    void onFormatChanged(int format);
    void validate();
    // The payload editor's bytes read in `format`; nullopt (and *error) when they do not parse.
    std::optional<QByteArray> decode(int format, QString *error) const;
    QString encode(int format, const QByteArray &bytes) const;

    QComboBox *m_type;
    QSpinBox *m_opcode;
    QComboBox *m_format;
    QStackedWidget *m_body; // payload editor, or Close code and reason
    QPlainTextEdit *m_payload;
    QSpinBox *m_closeCode;
    QLineEdit *m_closeReason;
    QSpinBox *m_fragments;
    QLabel *m_fragmentsLabel;
    QLabel *m_error;
    int m_lastFormat = TextFormat;
};

} // namespace socktap::ui
