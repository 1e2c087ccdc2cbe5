// The window's left side: the session list with its filter box, the "Show HTTP and tunnels" toggle, the
// column chooser, the line about failed connections under it, and (while there are no sessions) the page
// that says how to get some. Column widths come from the font, so states, counts and sizes read whole.
#pragma once

#include "core/capture/CaptureTypes.h"

#include <QWidget>

#include <functional>
#include <vector>

class QCheckBox;
class QLineEdit;
class QStackedWidget;
class QTableView;

namespace socktap::capture {
class CaptureStore;
}

namespace socktap::ui {

class ColumnChooser;
class FailedConnectionsNotice;
class SessionFilterModel;
class SessionMeaningSearch;
class SessionTableModel;

class SessionListPane final : public QWidget
{
    Q_OBJECT

public:
    SessionListPane(capture::CaptureStore &store, SessionTableModel *sessions, QWidget *parent);

    // The page shown instead of the list while it is empty (BrowserFeature builds it).
    void setEmptyPage(QWidget *page);
    // Whether the list or the empty page shows; true when the empty page does.
    bool updateEmptyState();
    // The session of the list's current row (0 for none).
    capture::SessionId currentSession() const;
    bool selectSession(capture::SessionId id);
    // The sessions selected, in id order (`current` when no row is).
    std::vector<capture::SessionId> selectedSessions(capture::SessionId current) const;
    void focusFilter();
    bool showsHttp() const;
    void setShowHttp(bool on);

    // The format a session is decoded as when the user chose one, for the search by meaning.
    void setFormatChoice(std::function<QString(capture::SessionId)> choice);

    QTableView *view() const { return m_view; }
    QLineEdit *filterBox() const { return m_filterBox; }
    SessionMeaningSearch *meaningSearch() const { return m_meaning; }
    ColumnChooser *columns() const { return m_columns; }
    FailedConnectionsNotice *failedNotice() const { return m_failedNotice; }

private:
    void sizeColumns();

    SessionTableModel *m_sessions;
    SessionFilterModel *m_filter;
    QLineEdit *m_filterBox;
    QCheckBox *m_showHttp;
    QTableView *m_view;
    ColumnChooser *m_columns = nullptr;
    QStackedWidget *m_stack;
    QWidget *m_emptyPage = nullptr;
    FailedConnectionsNotice *m_failedNotice;
    SessionMeaningSearch *m_meaning;
};

} // namespace socktap::ui
