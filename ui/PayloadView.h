// One message's payload four ways: Text, JSON (a collapsible tree, chosen automatically for valid JSON),
// Hex (offset, hex, ASCII) and Frames (every frame's header facts, so fragmentation shows); for a message
// Socktap changed, what it did (the note) and, when edited, the Original payload the peer sent. Copy as
// text, hex or base64; save to a file. Search matches are highlighted in the text.
#pragma once

#include "core/capture/CaptureTypes.h"

#include <QRegularExpression>
#include <QWidget>

class QCheckBox;
class QLabel;
class QPlainTextEdit;
class QTabWidget;
class QTableWidget;
class QTreeWidget;

namespace socktap::ui {

class SearchHighlighter;

class PayloadView final : public QWidget
{
    Q_OBJECT

public:
    enum Tab { TextTab, JsonTab, HexTab, FramesTab, OriginalTab };

    explicit PayloadView(QWidget *parent = nullptr);

    void setMessage(const capture::MessageView &message);
    void clear();
    void setHighlight(const QRegularExpression &pattern);

    // For tests and the window's Copy action.
    QTabWidget *tabs() const { return m_tabs; }
    QCheckBox *prettyJsonBox() const { return m_prettyBox; }
    QTreeWidget *jsonTree() const { return m_json; }
    QString text() const;
    QString hexText() const;
    QTableWidget *framesTable() const { return m_frames; }
    QByteArray payload() const { return m_payload; }
    bool payloadEvicted() const { return m_evicted; }
    QString noteText() const;
    QString originalText() const;
    // The payload as received, byte for byte (what Save… writes).
    bool saveTo(const QString &path, QString *error = nullptr) const;

public slots:
    void copyText();
    void copyHex();
    void copyBase64();
    void save();

private:
    bool fillJson(const QByteArray &payload);
    void showText();
    void fillFrames(const capture::MessageView &message);
    void fillChanges(const capture::MessageView &message);

    QLabel *m_summary;
    QTabWidget *m_tabs;
    QPlainTextEdit *m_text;
    QTreeWidget *m_json;
    QPlainTextEdit *m_hex;
    QTableWidget *m_frames;
    QLabel *m_note; // what Socktap did to this message, and which rule
    QPlainTextEdit *m_original;
    SearchHighlighter *m_highlighter;
    QCheckBox *m_prettyBox;
    QString m_plainText; // the Text tab's text as received, and indented when it is JSON
    QString m_prettyText;
    QByteArray m_payload;
    bool m_evicted = false;
    bool m_isText = false;
};

} // namespace socktap::ui
