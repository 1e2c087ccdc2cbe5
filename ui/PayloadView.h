// One message's payload four ways: Text, JSON (a collapsible tree, chosen automatically for valid JSON),
// Hex (offset, hex, ASCII) and Frames (every frame's header facts, so fragmentation shows). Copy as text,
// hex or base64; save to a file. Search matches are highlighted in the text.
#pragma once

#include "core/capture/CaptureTypes.h"

#include <QRegularExpression>
#include <QWidget>

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
    enum Tab { TextTab, JsonTab, HexTab, FramesTab };

    explicit PayloadView(QWidget *parent = nullptr);

    void setMessage(const capture::MessageView &message);
    void clear();
    void setHighlight(const QRegularExpression &pattern);

    // For tests and the window's Copy action.
    QTabWidget *tabs() const { return m_tabs; }
    QTreeWidget *jsonTree() const { return m_json; }
    QString text() const;
    QString hexText() const;
    QTableWidget *framesTable() const { return m_frames; }
    QByteArray payload() const { return m_payload; }

public slots:
    void copyText();
    void copyHex();
    void copyBase64();
    void save();

private:
    bool fillJson(const QByteArray &payload);
    void fillFrames(const capture::MessageView &message);

    QLabel *m_summary;
    QTabWidget *m_tabs;
    QPlainTextEdit *m_text;
    QTreeWidget *m_json;
    QPlainTextEdit *m_hex;
    QTableWidget *m_frames;
    SearchHighlighter *m_highlighter;
    QByteArray m_payload;
};

} // namespace socktap::ui
