// After a replay: the original and the replay side by side, one row per aligned pair of messages, each
// marked equal, different (with the differences), missing or extra; a tab per direction; the closes;
// and the one-line verdict on top.
#pragma once

#include "core/replay/Comparison.h"

#include <QDialog>

class QLabel;
class QTabWidget;
class QTreeWidget;

namespace socktap::ui {

class CompareView final : public QDialog
{
    Q_OBJECT

public:
    CompareView(const replay::Comparison &comparison, const QString &title, QWidget *parent = nullptr);

    QLabel *verdictLabel() const { return m_verdict; }
    QTreeWidget *serverTree() const { return m_server; }
    QTreeWidget *clientTree() const { return m_client; }
    QLabel *closeLabel() const { return m_close; }

private:
    QTreeWidget *pairsTree(const replay::DirectionComparison &d);

    QLabel *m_verdict;
    QTabWidget *m_tabs;
    QTreeWidget *m_server;
    QTreeWidget *m_client;
    QLabel *m_close;
};

} // namespace socktap::ui
