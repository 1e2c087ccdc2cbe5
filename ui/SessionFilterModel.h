// Filters and sorts the session list: free text over host, URL, state and error; plain HTTP entries
// hidden unless asked for.
#pragma once

#include <QSortFilterProxyModel>

namespace socktap::ui {

class SessionFilterModel final : public QSortFilterProxyModel
{
    Q_OBJECT

public:
    explicit SessionFilterModel(QObject *parent = nullptr);
    void setText(const QString &text);
    void setShowHttp(bool show);
    bool showHttp() const { return m_showHttp; }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    QString m_text;
    bool m_showHttp = false;
};

} // namespace socktap::ui
