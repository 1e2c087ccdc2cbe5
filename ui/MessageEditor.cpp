#include "MessageEditor.h"

#include "core/ws/Frame.h"
#include "core/ws/Utf8Validator.h"

#include <QComboBox>
#include <QFontDatabase>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QStackedWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cctype>

namespace socktap::ui {

namespace {

constexpr int RawOpcode = -1; // the type combo's "raw opcode" entry
constexpr int NoCloseCode = -1; // the code box's "none": an empty Close payload

QByteArray withoutSpaces(const QString &text)
{
    QByteArray out = text.toLatin1();
    out.removeIf([](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; });
    return out;
}

} // namespace

MessageEditor::MessageEditor(QWidget *parent)
    : QWidget(parent)
{
    m_type = new QComboBox(this);
    const std::pair<QString, int> types[] = {
        {tr("Text"), int(ws::Opcode::Text)},   {tr("Binary"), int(ws::Opcode::Binary)},
        {tr("Ping"), int(ws::Opcode::Ping)},   {tr("Pong"), int(ws::Opcode::Pong)},
        {tr("Close"), int(ws::Opcode::Close)}, {tr("Raw opcode"), RawOpcode}};
    for (const auto &[label, opcode] : types)
        m_type->addItem(label, opcode);
    m_opcode = new QSpinBox(this);
    m_opcode->setRange(0, 15);
    m_opcode->setDisplayIntegerBase(16);
    m_opcode->setPrefix(QStringLiteral("0x"));
    m_opcode->setToolTip(tr("Any opcode, reserved ones (0x3-0x7, 0xB-0xF) too"));
    m_format = new QComboBox(this);
    m_format->addItems({tr("Text"), tr("JSON"), tr("Hex"), tr("Base64")});
    m_format->setToolTip(tr("How the payload below is written"));
    m_fragments = new QSpinBox(this);
    m_fragments->setRange(1, 1000);
    m_fragments->setToolTip(tr("Split the message into this many frames"));
    m_fragmentsLabel = new QLabel(tr("Frames"), this);

    m_payload = new QPlainTextEdit(this);
    m_payload->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_payload->setPlaceholderText(tr("Payload"));
    auto *closePage = new QWidget(this);
    m_closeCode = new QSpinBox(closePage);
    m_closeCode->setRange(NoCloseCode, 65535);
    m_closeCode->setSpecialValueText(tr("none (empty payload)"));
    m_closeCode->setValue(1000);
    m_closeCode->setToolTip(tr("Sent as given: invalid codes (0, 1005, 1006, 5000...) are allowed"));
    m_closeReason = new QLineEdit(closePage);
    m_closeReason->setPlaceholderText(tr("Reason (UTF-8)"));
    auto *closeForm = new QFormLayout(closePage);
    closeForm->addRow(tr("Code"), m_closeCode);
    closeForm->addRow(tr("Reason"), m_closeReason);
    m_body = new QStackedWidget(this);
    m_body->addWidget(m_payload);
    m_body->addWidget(closePage);

    m_error = new QLabel(this);
    m_error->setWordWrap(true);
    m_error->setStyleSheet(QStringLiteral("color: #c62828"));
    m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto *top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Type"), this));
    top->addWidget(m_type);
    top->addWidget(m_opcode);
    top->addSpacing(8);
    top->addWidget(new QLabel(tr("Payload as"), this));
    top->addWidget(m_format);
    top->addSpacing(8);
    top->addWidget(m_fragmentsLabel);
    top->addWidget(m_fragments);
    top->addStretch(1);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(top);
    layout->addWidget(m_body, 1);
    layout->addWidget(m_error);

    connect(m_type, &QComboBox::currentIndexChanged, this, &MessageEditor::onTypeChanged);
    connect(m_format, &QComboBox::currentIndexChanged, this, &MessageEditor::onFormatChanged);
    connect(m_payload, &QPlainTextEdit::textChanged, this, &MessageEditor::validate);
    connect(m_closeCode, &QSpinBox::valueChanged, this, &MessageEditor::validate);
    connect(m_closeReason, &QLineEdit::textChanged, this, &MessageEditor::validate);
    connect(m_opcode, &QSpinBox::valueChanged, this, &MessageEditor::validate);
    connect(m_fragments, &QSpinBox::valueChanged, this, &MessageEditor::changed);
    onTypeChanged();
}

void MessageEditor::setFragmentsVisible(bool visible)
{
    m_fragments->setVisible(visible);
    m_fragmentsLabel->setVisible(visible);
}

quint8 MessageEditor::opcode() const
{
    const int chosen = m_type->currentData().toInt();
    return quint8(chosen == RawOpcode ? m_opcode->value() : chosen);
}

bool MessageEditor::isClose() const
{
    return opcode() == quint8(ws::Opcode::Close);
}

void MessageEditor::setMessage(quint8 opcode, const QByteArray &payload, int fragments)
{
    const int typeIndex = m_type->findData(int(opcode));
    m_type->setCurrentIndex(typeIndex >= 0 ? typeIndex : m_type->findData(RawOpcode));
    m_opcode->setValue(opcode & 0x0f);
    m_fragments->setValue(std::clamp(fragments, 1, 1000));
    if (opcode == quint8(ws::Opcode::Close)) {
        m_closeCode->setValue(payload.size() >= 2 ? (quint8(payload[0]) << 8) | quint8(payload[1])
                                                  : NoCloseCode);
        m_closeReason->setText(QString::fromUtf8(payload.size() > 2 ? payload.sliced(2) : QByteArray()));
    }
    // Text when it reads as text; bytes that are not UTF-8 would be mangled by a text editor.
    const bool text = ws::Utf8Validator::isValid(payload);
    const bool json = text && !payload.isEmpty() && !QJsonDocument::fromJson(payload).isNull();
    const int format = !text ? HexFormat : json ? JsonFormat : TextFormat;
    {
        const QSignalBlocker blocker(m_format);
        m_format->setCurrentIndex(format);
        m_lastFormat = format;
    }
    m_payload->setPlainText(encode(format, payload));
    validate();
}

std::optional<QByteArray> MessageEditor::decode(int format, QString *error) const
{
    const QString text = m_payload->toPlainText();
    switch (format) {
    case JsonFormat: {
        QJsonParseError parse;
        QJsonDocument::fromJson(text.toUtf8(), &parse);
        if (parse.error != QJsonParseError::NoError) {
            *error = tr("Invalid JSON at offset %1: %2").arg(parse.offset).arg(parse.errorString());
            return std::nullopt;
        }
        return text.toUtf8(); // sent as typed: the user's spacing is part of the test
    }
    case HexFormat: {
        const QByteArray digits = withoutSpaces(text);
        const bool hex =
            std::all_of(digits.begin(), digits.end(), [](char c) { return std::isxdigit(uchar(c)); });
        if (!hex || digits.size() % 2) {
            *error = tr("Invalid hex: write pairs of hex digits (spaces and line breaks are ignored)");
            return std::nullopt;
        }
        return QByteArray::fromHex(digits);
    }
    case Base64Format: {
        const auto decoded =
            QByteArray::fromBase64Encoding(withoutSpaces(text), QByteArray::AbortOnBase64DecodingErrors);
        if (!decoded) {
            *error = tr("Invalid base64");
            return std::nullopt;
        }
        return decoded.decoded;
    }
    default:
        return text.toUtf8();
    }
}

QString MessageEditor::encode(int format, const QByteArray &bytes) const
{
    switch (format) {
    case HexFormat:
        return QString::fromLatin1(bytes.toHex(' '));
    case Base64Format:
        return QString::fromLatin1(bytes.toBase64());
    default:
        return QString::fromUtf8(bytes);
    }
}

void MessageEditor::onTypeChanged()
{
    m_opcode->setVisible(m_type->currentData().toInt() == RawOpcode);
    m_body->setCurrentIndex(isClose() ? 1 : 0);
    m_format->setEnabled(!isClose());
    validate();
}

void MessageEditor::onFormatChanged(int format)
{
    // Convert what is written, so switching to Hex shows the same bytes; refuse when it does not parse.
    QString error;
    const auto bytes = decode(m_lastFormat, &error);
    const bool textual = format == TextFormat || format == JsonFormat;
    if (bytes && textual && !ws::Utf8Validator::isValid(*bytes))
        error = tr("These bytes are not valid UTF-8: keep them as Hex or Base64");
    if (!bytes || !error.isEmpty()) {
        const QSignalBlocker blocker(m_format);
        m_format->setCurrentIndex(m_lastFormat);
        m_error->setText(error);
        return;
    }
    m_lastFormat = format;
    m_payload->setPlainText(encode(format, *bytes));
    validate();
}

void MessageEditor::validate()
{
    QString error;
    const auto m = message(&error);
    if (!m)
        m_error->setText(error);
    else if (ws::isControl(m->opcode) && m->payload.size() > qsizetype(ws::MaxControlPayload))
        m_error->setText(
            tr("Note: control frames carry at most 125 bytes; the peer may fail the connection"));
    else
        m_error->clear();
    emit changed();
}

std::optional<intercept::OutgoingMessage> MessageEditor::message(QString *error) const
{
    QString why;
    intercept::OutgoingMessage out;
    out.opcode = opcode();
    out.fragments = m_fragments->isHidden() ? 1 : m_fragments->value();
    if (isClose()) {
        // Built by hand rather than with ws::ClosePayload::build: invalid codes are the point of a test.
        if (m_closeCode->value() != NoCloseCode) {
            const quint16 code = quint16(m_closeCode->value());
            out.payload.append(char(code >> 8)).append(char(code & 0xff));
            out.payload.append(m_closeReason->text().toUtf8());
        }
        return out;
    }
    const auto bytes = decode(m_format->currentIndex(), &why);
    if (!bytes) {
        if (error)
            *error = why;
        return std::nullopt;
    }
    out.payload = *bytes;
    return out;
}

} // namespace socktap::ui
