// The payload view's search highlight: every match of the message list's search in the Text tab, on a
// yellow background.
#pragma once

#include <QRegularExpression>
#include <QSyntaxHighlighter>

namespace socktap::ui {

class SearchHighlighter final : public QSyntaxHighlighter
{
public:
    using QSyntaxHighlighter::QSyntaxHighlighter;
    void setPattern(const QRegularExpression &pattern);

protected:
    void highlightBlock(const QString &text) override;

private:
    QRegularExpression m_pattern;
};

} // namespace socktap::ui
