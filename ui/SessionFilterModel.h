// Filters and sorts the session list: free text over host, URL, state and error, or what messages mean
// ("event:chat": the sessions SessionMeaningSearch found); plain HTTP entries hidden unless asked for.
#pragma once

#include "core/capture/CaptureTypes.h"

#include <QSet>
#include <QSortFilterProxyModel>

namespace socktap::ui {

class SessionFilterModel final : public QSortFilterProxyModel
{
    Q_OBJECT

public:
    explicit SessionFilterModel(QObject *parent = nullptr);
    void setText(const QString &text);
    void setShowHttp(bool show);
    // By meaning: only these sessions (nullopt: the text filter).
    void setMeaningMatches(std::optional<QSet<capture::SessionId>> sessions);
    bool showHttp() const { return m_showHttp; }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    QString m_text;
    bool m_showHttp = false;
    std::optional<QSet<capture::SessionId>> m_meaning;
};

} // namespace socktap::ui
