// Right-click on a table's header: a menu of its columns to show or hide (Fiddler's and DevTools'
// "customise columns"). Columns hidden by default start hidden; the header's saved state (which
// MainWindow keeps between runs) remembers the user's choice.
#pragma once

#include <QObject>

class QMenu;
class QTableView;

namespace socktap::ui {

class ColumnChooser final : public QObject
{
    Q_OBJECT

public:
    ColumnChooser(QTableView *view, const QList<int> &hiddenByDefault);
    // The menu as it would open now (the caller owns it): one checkable action per column; the last
    // visible column cannot be hidden.
    QMenu *menu() const;

private:
    QTableView *m_view;
};

} // namespace socktap::ui
