#include "DecodedView.h"

#include "core/capture/TextFormat.h"
#include "core/decode/JsonValue.h"

#include <QHeaderView>
#include <QJsonArray>
#include <QJsonObject>
#include <QLabel>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace socktap::ui {

namespace {

// A decoded value as a tree (objects' keys in Qt's order: sorted).
void addValue(QTreeWidgetItem *item, const QString &key, const QJsonValue &value)
{
    item->setText(0, key);
    if (value.isObject()) {
        const QJsonObject o = value.toObject();
        item->setText(1, QStringLiteral("{%1}").arg(o.size()));
        item->setText(2, QStringLiteral("object"));
        for (auto it = o.begin(); it != o.end(); ++it)
            addValue(new QTreeWidgetItem(item), it.key(), it.value());
    } else if (value.isArray()) {
        const QJsonArray a = value.toArray();
        item->setText(1, QStringLiteral("[%1]").arg(a.size()));
        item->setText(2, QStringLiteral("array"));
        for (qsizetype i = 0; i < a.size(); ++i)
            addValue(new QTreeWidgetItem(item), QString::number(i), a.at(i));
    } else {
        item->setText(1, value.isString() ? value.toString() : decode::textOf(value));
        item->setText(2,
                      value.isString()       ? QStringLiteral("string")
                          : value.isDouble() ? QStringLiteral("number")
                          : value.isBool()   ? QStringLiteral("boolean")
                                             : QStringLiteral("null"));
    }
}

} // namespace

DecodedView::DecodedView(QWidget *parent)
    : QWidget(parent)
{
    m_header = new QLabel(this);
    m_header->setWordWrap(true);
    m_header->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::LinksAccessibleByMouse);
    connect(m_header, &QLabel::linkActivated, this,
            [this](const QString &link) { emit pairActivated(link.mid(1).toULongLong()); });
    m_tree = new QTreeWidget(this);
    m_tree->setHeaderLabels({tr("Field"), tr("Value"), tr("Type")});
    m_tree->header()->setStretchLastSection(false);
    m_tree->header()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    m_tree->header()->setSectionResizeMode(1, QHeaderView::Stretch); // values are what is read
    m_tree->header()->setSectionResizeMode(2, QHeaderView::ResizeToContents);
    m_tree->setUniformRowHeights(true);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 0);
    layout->addWidget(m_header);
    layout->addWidget(m_tree, 1);
}

void DecodedView::clear()
{
    m_header->clear();
    m_tree->clear();
}

bool DecodedView::setDecoded(const std::optional<decode::Decoded> &d, std::optional<quint64> pair,
                             qint64 pairMicros, bool pairIsAnswer)
{
    clear();
    // Plain JSON is what the JSON tab shows already; a protocol, or a reason it did not decode, is news.
    const bool worth = d && ((d->decoded() && d->format != QLatin1String("json")) || !d->error.isEmpty());
    if (!worth)
        return false;
    QStringList lines;
    if (d->decoded())
        lines << QStringLiteral("<b>%1</b> %2").arg(d->format.toHtmlEscaped(), d->summary.toHtmlEscaped())
                + (d->chatter ? tr(" <i>(heartbeat or protocol chatter)</i>") : QString());
    if (pair)
        lines << (pairIsAnswer ? tr("Answered by <a href=\"#%1\">message %2</a> after %3")
                               : tr("Answers <a href=\"#%1\">message %2</a>, %3 after it"))
                     .arg(*pair)
                     .arg(*pair + 1)
                     .arg(capture::duration(pairMicros));
    if (!d->error.isEmpty())
        lines << QStringLiteral("<span style=\"color:#d32f2f\">%1</span>").arg(d->error.toHtmlEscaped());
    m_header->setText(lines.join(QStringLiteral("<br>")));
    if (d->decoded()) {
        m_tree->setUpdatesEnabled(false);
        addValue(new QTreeWidgetItem(m_tree), d->format, d->value);
        m_tree->expandToDepth(2);
        m_tree->setUpdatesEnabled(true);
    }
    return true;
}

} // namespace socktap::ui
