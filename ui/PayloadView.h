// One message's payload five ways: Decoded (what it means in the session's protocol: the protocol's fields, a
// tree of the value, and a link to its request or answer), Text, JSON (a collapsible tree, chosen
// automatically for valid JSON), Hex (offset, hex, ASCII) and Frames (every frame's header facts, so
// fragmentation shows); for a message Socktap changed, what it did (the note) and, when edited, the Original
// payload the peer sent. Copy as text, hex or base64; save to a file. Search matches are highlighted in the
// text. The Decoded tab is a DecodedView.
#pragma once

#include "core/capture/CaptureTypes.h"
#include "core/decode/Decoded.h"

#include <optional>

#include <QRegularExpression>
#include <QWidget>

class QCheckBox;
class QLabel;
class QPlainTextEdit;
class QTabWidget;
class QTableWidget;
class QTreeWidget;

namespace socktap::ui {

class DecodedView;
class SearchHighlighter;

class PayloadView final : public QWidget
{
    Q_OBJECT

public:
    enum Tab { DecodedTab, TextTab, JsonTab, HexTab, FramesTab, OriginalTab };

    explicit PayloadView(QWidget *parent = nullptr);

    void setMessage(const capture::MessageView &message);
    void clear();
    void setHighlight(const QRegularExpression &pattern);
    // After setMessage: what the message means (nullopt: nothing decoded it), and its pair as the index of
    // the other message, how long between them, and whether that one is the answer. Shown in the Decoded
    // tab, which is chosen when the session has a format.
    void setDecoded(const std::optional<decode::Decoded> &decoded, std::optional<quint64> pair = std::nullopt,
                    qint64 pairMicros = 0, bool pairIsAnswer = false);

    // For tests and the window's Copy action.
    QTabWidget *tabs() const { return m_tabs; }
    QCheckBox *prettyJsonBox() const { return m_prettyBox; }
    QTreeWidget *jsonTree() const { return m_json; }
    QTreeWidget *decodedTree() const;
    QLabel *decodedHeader() const;
    QString text() const;
    QString hexText() const;
    QTableWidget *framesTable() const { return m_frames; }
    QByteArray payload() const { return m_payload; }
    bool payloadEvicted() const { return m_evicted; }
    QString noteText() const;
    QString originalText() const;
    // The payload as received, byte for byte (what Save… writes).
    bool saveTo(const QString &path, QString *error = nullptr) const;

signals:
    // The user followed the link to a message's request or answer (its store index).
    void pairActivated(quint64 index);

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
    DecodedView *m_decoded;
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
