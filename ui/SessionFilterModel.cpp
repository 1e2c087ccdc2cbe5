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

void SessionFilterModel::setShowHttp(bool show)
{
    m_showHttp = show;
    invalidateFilter();
}

bool SessionFilterModel::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    const QModelIndex index = sourceModel()->index(sourceRow, 0, sourceParent);
    if (!m_showHttp && index.data(SessionTableModel::KindRole).toInt() == int(capture::SessionKind::Http))
        return false;
    if (m_text.isEmpty())
        return true;
    return index.data(SessionTableModel::FilterTextRole).toString().contains(m_text, Qt::CaseInsensitive);
}

} // namespace socktap::ui
