// The Messages tab: filters (direction, type, text or regex search), the message table, and the payload
// view for the selected message. Follows new messages unless the user has scrolled away from the bottom.
#pragma once

#include "MessageTableModel.h"

#include <QWidget>

class QCheckBox;
class QComboBox;
class QLineEdit;
class QTableView;

namespace socktap::ui {

class PayloadView;

class MessagesPanel final : public QWidget
{
    Q_OBJECT

public:
    MessagesPanel(capture::CaptureStore &store, QWidget *parent = nullptr);

    void setSession(capture::SessionId id, qint64 sessionStart);
    void appendNew();
    void setFollowing(bool follow) { m_followEnabled = follow; }
    void focusSearch();
    // Selects the row showing store message index (tests, and keeping the selection across filters).
    bool selectMessage(quint64 index);

    MessageTableModel *model() const { return m_model; }
    QTableView *view() const { return m_view; }
    PayloadView *payload() const { return m_payload; }
    QLineEdit *searchBox() const { return m_search; }

private:
    void onCurrentChanged();
    void applySearch();
    bool atBottom() const;

    capture::CaptureStore &m_store;
    MessageTableModel *m_model;
    QTableView *m_view;
    PayloadView *m_payload;
    QComboBox *m_direction;
    QComboBox *m_type;
    QLineEdit *m_search;
    QCheckBox *m_regex;
    bool m_followEnabled = true;
};

} // namespace socktap::ui
