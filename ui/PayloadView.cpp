#include "PayloadView.h"

#include "DecodedView.h"
#include "RecordText.h"
#include "SearchHighlighter.h"

#include "core/capture/JsonFormat.h"
#include "core/capture/JsonTree.h"
#include "core/capture/TextFormat.h"
#include "core/ws/CloseCode.h"
#include "core/ws/Utf8Validator.h"

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QFileDialog>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QTabWidget>
#include <QTableWidget>
#include <QToolButton>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace socktap::ui {

namespace {

constexpr qsizetype MaxTextShown = 4 << 20; // a 64 MiB message must not freeze the editor

// One node and its children, in the order they arrived; numbers as written.
void addJson(QTreeWidgetItem *item, const QString &key, const capture::JsonNode &node)
{
    using Type = capture::JsonNode::Type;
    item->setText(0, key);
    item->setText(2, QString::fromLatin1(capture::JsonNode::typeName(node.type)));
    if (node.type == Type::Object || node.type == Type::Array) {
        const bool isObject = node.type == Type::Object;
        item->setText(1,
                      (isObject ? QStringLiteral("{%1}") : QStringLiteral("[%1]")).arg(node.children.size()));
        for (size_t i = 0; i < node.children.size(); ++i)
            addJson(new QTreeWidgetItem(item), isObject ? node.children[i].key : QString::number(i),
                    node.children[i]);
        return;
    }
    item->setText(1, node.value);
}

QToolButton *button(const QString &text, QWidget *parent)
{
    auto *b = new QToolButton(parent);
    b->setText(text);
    b->setAutoRaise(true);
    return b;
}

} // namespace

PayloadView::PayloadView(QWidget *parent)
    : QWidget(parent)
{
    const QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
    m_summary = new QLabel(this);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    // It may be cut short rather than widen the whole inspector (which would squeeze the session list).
    m_summary->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    m_summary->setWordWrap(true); // beside the Copy buttons it wraps rather than hides its end
    m_tabs = new QTabWidget(this);
    m_text = new QPlainTextEdit(this);
    m_text->setReadOnly(true);
    m_text->setFont(mono);
    m_text->setPlaceholderText(tr("Select a message to see its payload"));
    m_highlighter = new SearchHighlighter(m_text->document());
    m_prettyBox = new QCheckBox(tr("Pretty JSON"), this);
    m_prettyBox->setToolTip(
        tr("Show JSON messages indented in the Text tab, keys in the order they arrived"));
    m_prettyBox->setEnabled(false);
    connect(m_prettyBox, &QCheckBox::toggled, this, &PayloadView::showText);
    m_json = new QTreeWidget(this);
    m_json->setHeaderLabels({tr("Key"), tr("Value"), tr("Type")});
    m_json->header()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    m_json->setUniformRowHeights(true);
    m_hex = new QPlainTextEdit(this);
    m_hex->setReadOnly(true);
    m_hex->setFont(mono);
    m_hex->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_frames = new QTableWidget(this);
    m_frames->setColumnCount(10);
    m_frames->setHorizontalHeaderLabels({tr("#"), tr("FIN"), tr("RSV1"), tr("RSV2"), tr("RSV3"), tr("Opcode"),
                                         tr("MASK"), tr("Mask key"), tr("Payload length"),
                                         tr("Header bytes")});
    m_frames->verticalHeader()->hide();
    m_frames->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_frames->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_decoded = new DecodedView(this);
    connect(m_decoded, &DecodedView::pairActivated, this, &PayloadView::pairActivated);
    m_tabs->addTab(m_decoded, tr("Decoded"));
    m_tabs->setTabToolTip(DecodedTab,
                          tr("What the message means in the session's protocol (Socket.IO, STOMP, "
                             "GraphQL, SignalR, JSON-RPC, ...)"));
    m_tabs->setTabEnabled(DecodedTab, false);
    m_tabs->addTab(m_text, tr("Text"));
    m_tabs->addTab(m_json, tr("JSON"));
    m_tabs->addTab(m_hex, tr("Hex"));
    m_tabs->addTab(m_frames, tr("Frames"));
    m_original = new QPlainTextEdit(this);
    m_original->setReadOnly(true);
    m_original->setFont(mono);
    m_tabs->addTab(m_original, tr("Original"));
    m_tabs->setTabToolTip(OriginalTab, tr("Edited messages: the payload as the peer sent it"));
    m_tabs->setTabEnabled(OriginalTab, false);
    m_note = new QLabel(this);
    m_note->setWordWrap(true);
    m_note->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_note->setStyleSheet(QStringLiteral("color: #b26a00"));
    m_note->hide();

    auto *bar = new QHBoxLayout;
    bar->addWidget(m_summary, 1);
    // Beside the tabs it changes (the summary row keeps its room for the message's facts).
    m_tabs->setCornerWidget(m_prettyBox, Qt::TopRightCorner);
    for (const auto &[label, slot] : std::initializer_list<std::pair<QString, void (PayloadView::*)()>> {
             {tr("Copy text"), &PayloadView::copyText},
             {tr("Copy hex"), &PayloadView::copyHex},
             {tr("Copy base64"), &PayloadView::copyBase64},
             {tr("Save…"), &PayloadView::save}}) {
        QToolButton *b = button(label, this);
        connect(b, &QToolButton::clicked, this, slot);
        bar->addWidget(b);
    }
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(bar);
    layout->addWidget(m_note);
    layout->addWidget(m_tabs, 1);
}

void PayloadView::clear()
{
    m_payload.clear();
    m_evicted = false;
    m_summary->clear();
    m_text->clear();
    m_plainText.clear();
    m_prettyText.clear();
    m_prettyBox->setEnabled(false);
    m_json->clear();
    m_hex->clear();
    m_frames->clearSpans();
    m_frames->setRowCount(0);
    m_note->clear();
    m_note->hide();
    m_original->clear();
    m_tabs->setTabEnabled(OriginalTab, false);
    m_decoded->clear();
    m_tabs->setTabEnabled(DecodedTab, false);
}

void PayloadView::setDecoded(const std::optional<decode::Decoded> &d, std::optional<quint64> pair,
                             qint64 pairMicros, bool pairIsAnswer)
{
    const bool worth = m_decoded->setDecoded(d, pair, pairMicros, pairIsAnswer);
    m_tabs->setTabEnabled(DecodedTab, worth);
    if (!worth) {
        if (m_tabs->currentIndex() == DecodedTab)
            m_tabs->setCurrentIndex(m_tabs->isTabEnabled(JsonTab) ? JsonTab : TextTab);
        return;
    }
    m_tabs->setCurrentIndex(DecodedTab);
}

QTreeWidget *PayloadView::decodedTree() const
{
    return m_decoded->tree();
}

QLabel *PayloadView::decodedHeader() const
{
    return m_decoded->header();
}

void PayloadView::setHighlight(const QRegularExpression &pattern)
{
    m_highlighter->setPattern(pattern);
}

QString PayloadView::text() const
{
    return m_text->toPlainText();
}

QString PayloadView::hexText() const
{
    return m_hex->toPlainText();
}

QString PayloadView::noteText() const
{
    return m_note->text();
}

QString PayloadView::originalText() const
{
    return m_original->toPlainText();
}

void PayloadView::setMessage(const capture::MessageView &m)
{
    clear();
    const capture::MessageRecord &r = m.record;
    m_payload = m.payload;
    m_evicted = m.payloadEvicted;
    m_isText = r.opcode == quint8(ws::Opcode::Text);
    // Imported from HAR (no frames, no wire size): unknown, never a made-up "0 B".
    const QString wire = r.frameCount == 0 && r.wireSize == 0
        ? tr("size on the wire unknown")
        : tr("%1 on the wire").arg(capture::byteSize(r.wireSize));
    QString summary = QStringLiteral("#%1 %2 %3, %4 decoded, %5")
                          .arg(m.index + 1)
                          .arg(r.direction() == capture::Direction::ClientToServer ? tr("client → server")
                                                                                   : tr("server → client"))
                          .arg(opcodeText(r.opcode), capture::byteSize(r.payloadSize), wire);
    if (r.frameCount > 1)
        summary += tr(", %1 frames").arg(r.frameCount);
    if (r.has(capture::MessageFlag::Compressed))
        summary += tr(", permessage-deflate");
    m_summary->setText(summary);
    m_summary->setToolTip(summary);

    QString text;
    if (m.payloadEvicted) {
        text = tr("The payload was evicted: the capture's memory budget (--max-capture-memory) was full.");
    } else if (r.opcode == quint8(ws::Opcode::Close)) {
        const quint16 code = r.closeCode ? r.closeCode : ws::CloseCode::NoStatusReceived;
        const auto info = ws::closeCodeInfo(code);
        text = QStringLiteral("%1 %2\n%3\n\nReason: %4")
                   .arg(code)
                   .arg(info.name, info.meaning,
                        QString::fromUtf8(m.payload.size() > 2 ? m.payload.sliced(2) : QByteArray()));
    } else if (ws::Utf8Validator::isValid(m.payload.first(std::min(m.payload.size(), MaxTextShown)))) {
        text = QString::fromUtf8(m.payload.first(std::min(m.payload.size(), MaxTextShown)));
        if (r.opcode == quint8(ws::Opcode::Binary))
            text.prepend(tr("[binary message, shown as UTF-8 because it is valid UTF-8]\n"));
    } else {
        text = tr("[binary payload: see Hex]");
    }
    if (r.has(capture::MessageFlag::Truncated))
        text += tr("\n\n[capture truncated: %1 of %2 kept]")
                    .arg(capture::byteSize(r.capturedSize), capture::byteSize(r.payloadSize));
    if (r.violations)
        text += tr("\n\n[protocol violation: %1]")
                    .arg(ws::describe(r.violationFlags()).join(QStringLiteral("; ")));
    m_plainText = text;
    m_hex->setPlainText(capture::hexDump(m.payload));
    fillFrames(m);
    fillChanges(m);
    // (Not for a truncated message: its JSON would be cut off, and the Text tab says so.)
    const bool json = r.opcode == quint8(ws::Opcode::Text) && !r.has(capture::MessageFlag::Truncated)
        && !m.payloadEvicted && fillJson(m.payload);
    m_prettyBox->setEnabled(json);
    showText();
    m_tabs->setTabEnabled(JsonTab, json);
    if (json)
        m_tabs->setCurrentIndex(JsonTab);
    else if (m_tabs->currentIndex() == JsonTab || !m_tabs->isTabEnabled(m_tabs->currentIndex()))
        m_tabs->setCurrentIndex(TextTab);
}

void PayloadView::fillChanges(const capture::MessageView &m)
{
    const QStringList changes = capture::changeNames(m.record);
    QString note =
        changes.isEmpty() ? QString() : tr("Changed by Socktap (%1)").arg(changes.join(QStringLiteral(", ")));
    if (!m.note.isEmpty())
        note += (note.isEmpty() ? QString() : QStringLiteral(": ")) + m.note;
    m_note->setText(note);
    m_note->setVisible(!note.isEmpty());
    const bool edited = m.record.has(capture::MessageFlag::Edited);
    m_tabs->setTabEnabled(OriginalTab, edited);
    if (!edited)
        return;
    // Text when it reads as text (the usual case for an edit), else the same dump as Hex.
    m_original->setPlainText(ws::Utf8Validator::isValid(m.original) ? QString::fromUtf8(m.original)
                                                                    : capture::hexDump(m.original));
}

bool PayloadView::fillJson(const QByteArray &payload)
{
    m_prettyText.clear();
    // As the Text tab, only what the window can show at once: past it, Hex and Save have the payload.
    if (payload.size() > MaxTextShown)
        return false;
    // Objects and arrays: a bare number or string is text, not a tree.
    const auto tree = capture::parseJsonTree(payload);
    if (!tree
        || (tree->type != capture::JsonNode::Type::Object && tree->type != capture::JsonNode::Type::Array))
        return false;
    m_json->setUpdatesEnabled(false);
    addJson(new QTreeWidgetItem(m_json), tr("(root)"), *tree);
    m_json->expandToDepth(1);
    m_json->setUpdatesEnabled(true);
    m_prettyText = capture::prettyJson(*tree);
    return true;
}

void PayloadView::showText()
{
    const bool pretty = m_prettyBox->isChecked() && !m_prettyText.isEmpty();
    m_text->setPlainText(pretty ? m_prettyText : m_plainText);
}

void PayloadView::fillFrames(const capture::MessageView &m)
{
    const int rows = int(m.frames.size());
    m_frames->setRowCount(rows);
    auto cell = [&](int row, int column, const QString &text) {
        m_frames->setItem(row, column, new QTableWidgetItem(text));
    };
    // A note across the whole row, so that it does not widen the "#" column.
    auto noteRow = [&](const QString &text) {
        m_frames->setRowCount(rows + 1);
        cell(rows, 0, text);
        m_frames->setSpan(rows, 0, 1, m_frames->columnCount());
    };
    if (rows == 0 && m.record.frameCount == 0) {
        // A HAR file keeps messages, not frames: say so rather than show an empty table.
        noteRow(tr("frames unknown (imported from HAR)"));
        return;
    }
    for (int i = 0; i < rows; ++i) {
        const ws::FrameInfo &f = m.frames[size_t(i)];
        const auto yes = [](bool b) { return b ? QStringLiteral("1") : QStringLiteral("0"); };
        cell(i, 0, QString::number(i + 1));
        cell(i, 1, yes(f.fin()));
        cell(i, 2, yes(f.rsv1()));
        cell(i, 3, yes(f.bits & 0x20));
        cell(i, 4, yes(f.bits & 0x10));
        cell(i, 5, QStringLiteral("0x%1 %2").arg(f.opcode, 1, 16).arg(opcodeText(f.opcode)));
        cell(i, 6, yes(f.masked()));
        cell(i, 7, f.masked() ? QStringLiteral("%1").arg(f.maskKey, 8, 16, QLatin1Char('0')) : QString());
        cell(i, 8, QString::number(f.length));
        cell(i, 9, QString::number(f.headerSize));
    }
    if (quint64(rows) < m.record.frameCount)
        noteRow(tr("… %1 more frames not kept").arg(m.record.frameCount - quint64(rows)));
}

void PayloadView::copyText()
{
    QApplication::clipboard()->setText(QString::fromUtf8(m_payload));
}

void PayloadView::copyHex()
{
    QApplication::clipboard()->setText(QString::fromLatin1(m_payload.toHex(' ')));
}

void PayloadView::copyBase64()
{
    QApplication::clipboard()->setText(QString::fromLatin1(m_payload.toBase64()));
}

void PayloadView::save()
{
    // A text message suggests .txt (or .json), anything else .bin.
    const QString suggested = m_prettyBox->isEnabled() ? QStringLiteral("payload.json")
        : m_isText                                     ? QStringLiteral("payload.txt")
                                                       : QStringLiteral("payload.bin");
    const QString file = QFileDialog::getSaveFileName(this, tr("Save payload"), suggested);
    if (file.isEmpty())
        return;
    QString error;
    if (!saveTo(file, &error))
        QMessageBox::warning(this, tr("Save payload"), error);
}

bool PayloadView::saveTo(const QString &path, QString *error) const
{
    QFile out(path);
    if (!out.open(QIODevice::WriteOnly | QIODevice::Truncate) || out.write(m_payload) != m_payload.size()) {
        if (error)
            *error = tr("Cannot write %1: %2").arg(path, out.errorString());
        return false;
    }
    return true;
}

} // namespace socktap::ui
