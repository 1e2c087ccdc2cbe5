#include "CompareView.h"

#include <QDialogButtonBox>
#include <QHeaderView>
#include <QLabel>
#include <QTabWidget>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace socktap::ui {

namespace {

using Verdict = replay::MessagePair::Verdict;

QString verdictText(Verdict v)
{
    switch (v) {
    case Verdict::Equal:
        return QObject::tr("equal");
    case Verdict::Different:
        return QObject::tr("different");
    case Verdict::Missing:
        return QObject::tr("missing");
    case Verdict::Extra:
        return QObject::tr("extra");
    }
    return {};
}

QColor verdictColor(Verdict v)
{
    switch (v) {
    case Verdict::Equal:
        return QColor(0x2e, 0x7d, 0x32);
    case Verdict::Different:
        return QColor(0xe6, 0x51, 0x00);
    case Verdict::Missing:
    case Verdict::Extra:
        return QColor(0xc6, 0x28, 0x28);
    }
    return {};
}

QString preview(const std::optional<replay::ComparedMessage> &m)
{
    if (!m)
        return QStringLiteral("—");
    if (m->payloadEvicted)
        return QObject::tr("(%1 bytes, no longer in the capture)").arg(m->payloadSize);
    if (m->opcode != 1)
        return QObject::tr("binary, %1 bytes").arg(m->payloadSize);
    QString text = QString::fromUtf8(m->payload.left(400));
    text.replace(QLatin1Char('\n'), QStringLiteral("⏎"));
    return text;
}

QString closeText(const replay::CloseSide &c)
{
    if (!c.sent)
        return QObject::tr("none");
    QString s = c.code ? QString::number(*c.code) : QObject::tr("no code");
    if (!c.reason.isEmpty())
        s += QStringLiteral(" \"%1\"").arg(QString::fromUtf8(c.reason));
    if (c.initiated)
        s += QObject::tr(" (closed first)");
    return s;
}

} // namespace

CompareView::CompareView(const replay::Comparison &c, const QString &title, QWidget *parent)
    : QDialog(parent)
{
    setWindowTitle(title);
    auto *layout = new QVBoxLayout(this);
    m_verdict = new QLabel(c.verdict(), this);
    m_verdict->setWordWrap(true);
    m_verdict->setStyleSheet(
        QStringLiteral("font-weight: bold; font-size: 120%; color: %1")
            .arg(c.serverMatched() ? QStringLiteral("#2e7d32") : QStringLiteral("#c62828")));
    layout->addWidget(m_verdict);
    m_tabs = new QTabWidget(this);
    m_server = pairsTree(c.server);
    m_client = pairsTree(c.client);
    m_tabs->addTab(m_server,
                   tr("Server → client (%1 equal, %2 different, %3 missing, %4 extra)")
                       .arg(c.server.equal)
                       .arg(c.server.different)
                       .arg(c.server.missing)
                       .arg(c.server.extra));
    m_tabs->addTab(m_client,
                   tr("Client → server (%1 equal, %2 different)")
                       .arg(c.client.equal)
                       .arg(c.client.different + c.client.missing + c.client.extra));
    layout->addWidget(m_tabs, 1);
    m_close = new QLabel(tr("Server's close: %1 → %2%3.   Client's close: %4 → %5.")
                             .arg(closeText(c.originalClose[1]), closeText(c.replayClose[1]),
                                  c.closeMatched() ? tr(" (matches)") : tr(" (differs)"),
                                  closeText(c.originalClose[0]), closeText(c.replayClose[0])),
                         this);
    m_close->setWordWrap(true);
    layout->addWidget(m_close);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::close);
    layout->addWidget(buttons);
    resize(1000, 560);
}

QTreeWidget *CompareView::pairsTree(const replay::DirectionComparison &d)
{
    auto *tree = new QTreeWidget(this);
    tree->setHeaderLabels({tr("#"), tr("Verdict"), tr("Original"), tr("Replay")});
    tree->setRootIsDecorated(true);
    tree->setUniformRowHeights(true);
    tree->setAlternatingRowColors(true);
    tree->header()->setSectionResizeMode(2, QHeaderView::Stretch);
    tree->header()->setSectionResizeMode(3, QHeaderView::Stretch);
    for (const replay::MessagePair &p : d.pairs) {
        auto *row = new QTreeWidgetItem(tree);
        row->setText(0, QString::number(std::max(p.originalIndex, p.replayIndex) + 1));
        row->setText(1, verdictText(p.verdict));
        row->setForeground(1, verdictColor(p.verdict));
        row->setText(2, preview(p.original));
        row->setText(3, preview(p.replay));
        row->setToolTip(2, preview(p.original));
        row->setToolTip(3, preview(p.replay));
        // The differences under the pair, expanded: what changed is the point.
        for (const QString &diff : p.differences) {
            auto *child = new QTreeWidgetItem(row);
            child->setText(2, diff);
            child->setFirstColumnSpanned(false);
        }
        if (!p.note.isEmpty())
            (new QTreeWidgetItem(row))->setText(2, p.note);
        row->setExpanded(true);
    }
    tree->resizeColumnToContents(0);
    tree->resizeColumnToContents(1);
    return tree;
}

} // namespace socktap::ui
