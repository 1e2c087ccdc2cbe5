#include "SearchHighlighter.h"

#include <QColor>

namespace socktap::ui {

void SearchHighlighter::setPattern(const QRegularExpression &pattern)
{
    m_pattern = pattern;
    rehighlight();
}

void SearchHighlighter::highlightBlock(const QString &text)
{
    if (m_pattern.pattern().isEmpty() || !m_pattern.isValid())
        return;
    QTextCharFormat format;
    format.setBackground(QColor(0xff, 0xd5, 0x4f));
    format.setForeground(Qt::black);
    for (auto it = m_pattern.globalMatch(text); it.hasNext();) {
        const auto m = it.next();
        if (m.capturedLength() > 0)
            setFormat(int(m.capturedStart()), int(m.capturedLength()), format);
    }
}

} // namespace socktap::ui
