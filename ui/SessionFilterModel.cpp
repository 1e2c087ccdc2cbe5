#include "SessionFilterModel.h"

#include "SessionTableModel.h"

namespace socktap::ui {

SessionFilterModel::SessionFilterModel(QObject *parent)
    : QSortFilterProxyModel(parent)
{
    setSortRole(SessionTableModel::SortRole);
    setDynamicSortFilter(true);
}

void SessionFilterModel::setText(const QString &text)
{
    m_text = text.trimmed();
    invalidateFilter();
}

void SessionFilterModel::setMeaningMatches(std::optional<QSet<capture::SessionId>> sessions)
{
    m_meaning = std::move(sessions);
    invalidateFilter();
}

void SessionFilterModel::setShowHttp(bool show)
{
    m_showHttp = show;
    invalidateFilter();
}

bool SessionFilterModel::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    const QModelIndex index = sourceModel()->index(sourceRow, 0, sourceParent);
    // WebSockets only by default: plain HTTP and opaque tunnels (a browser's background connections, those
    // that failed) are a click away.
    const int kind = index.data(SessionTableModel::KindRole).toInt();
    if (!m_showHttp && (kind == int(capture::SessionKind::Http) || kind == int(capture::SessionKind::Tunnel)))
        return false;
    // "localhost:8080" reads as a query too (a field named localhost): what the text matches stays listed.
    if (m_meaning && m_meaning->contains(index.data(SessionTableModel::SessionIdRole).toULongLong()))
        return true;
    if (m_text.isEmpty())
        return !m_meaning;
    return index.data(SessionTableModel::FilterTextRole).toString().contains(m_text, Qt::CaseInsensitive);
}

} // namespace socktap::ui
