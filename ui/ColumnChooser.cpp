#include "ColumnChooser.h"

#include <QHeaderView>
#include <QMenu>
#include <QTableView>

namespace socktap::ui {

ColumnChooser::ColumnChooser(QTableView *view, const QList<int> &hiddenByDefault)
    : QObject(view)
    , m_view(view)
{
    for (int column : hiddenByDefault)
        view->setColumnHidden(column, true);
    QHeaderView *header = view->horizontalHeader();
    header->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(header, &QWidget::customContextMenuRequested, this, [this, header](const QPoint &at) {
        QMenu *m = menu();
        m->setAttribute(Qt::WA_DeleteOnClose);
        m->popup(header->mapToGlobal(at));
    });
}

QMenu *ColumnChooser::menu() const
{
    auto *menu = new QMenu(m_view);
    QAbstractItemModel *model = m_view->model();
    QHeaderView *header = m_view->horizontalHeader();
    const int visible = header->count() - header->hiddenSectionCount();
    for (int column = 0; column < model->columnCount(); ++column) {
        QAction *a = menu->addAction(model->headerData(column, Qt::Horizontal).toString());
        a->setCheckable(true);
        a->setChecked(!m_view->isColumnHidden(column));
        a->setEnabled(m_view->isColumnHidden(column) || visible > 1);
        connect(a, &QAction::toggled, m_view, [view = m_view, column](bool on) {
            view->setColumnHidden(column, !on);
            if (on && view->columnWidth(column) < 24)
                view->resizeColumnToContents(column);
        });
    }
    return menu;
}

} // namespace socktap::ui
