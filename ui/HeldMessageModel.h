// The messages held at breakpoints, as the Intercept pane lists them: one row per held message, oldest
// first, with how long it has been held (ticking: tick() refreshes that column only). setHeld() applies
// the hub's list as removals and appends, so the selection survives when other messages come and go.
#pragma once

#include "core/intercept/HeldMessage.h"

#include <QAbstractTableModel>

#include <vector>

namespace socktap::ui {

class HeldMessageModel final : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column { Session, Url, From, Type, Size, HeldFor, Preview, Note, ColumnCount };

    explicit HeldMessageModel(QObject *parent = nullptr);

    void setHeld(std::vector<intercept::HeldMessage> held);
    const intercept::HeldMessage &message(int row) const { return m_held[size_t(row)]; }
    const std::vector<intercept::HeldMessage> &messages() const { return m_held; }
    // Refreshes the "held for" column (called on a timer).
    void tick();

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QString preview(const intercept::HeldMessage &m) const;

    std::vector<intercept::HeldMessage> m_held;
};

// "850 ms", "12.4 s", "3:07": how long a message has waited.
QString heldForText(qint64 micros);

} // namespace socktap::ui
