#include "SessionListPane.h"

#include "ColumnChooser.h"
#include "FailedConnectionsNotice.h"
#include "SessionFilterModel.h"
#include "SessionMeaningSearch.h"
#include "SessionTableModel.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLineEdit>
#include <QStackedWidget>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>

namespace socktap::ui {

SessionListPane::SessionListPane(capture::CaptureStore &store, SessionTableModel *sessions, QWidget *parent)
    : QWidget(parent)
    , m_sessions(sessions)
    , m_filter(new SessionFilterModel(this))
{
    m_filter->setSourceModel(m_sessions);
    m_filterBox = new QLineEdit(this);
    m_filterBox->setPlaceholderText(tr("Filter sessions: host, URL, state, or what they say (event:chat)"));
    m_filterBox->setToolTip(
        tr("Text matches host, URL, state and error. event:NAME, method:NAME, topic:FILTER, "
           "format:NAME or a JSON path ($.args[0].price=10) keeps the sessions with a "
           "message that means that (docs/formats.md)"));
    m_filterBox->setClearButtonEnabled(true);
    m_showHttp = new QCheckBox(tr("Show HTTP and tunnels"), this);
    m_showHttp->setToolTip(
        tr("Also list the plain HTTP requests and the opaque (or failed) tunnels that passed "
           "through; by default the list shows WebSocket sessions only"));
    m_view = new QTableView(this);
    m_view->setObjectName(QStringLiteral("sessions"));
    m_view->setModel(m_filter);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(SessionTableModel::Id, Qt::AscendingOrder);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    // Several rows for File > Export > HAR of selected sessions; the current row is the one inspected.
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->verticalHeader()->hide();
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 6);
    m_view->setWordWrap(false);
    // Cut at the end: the scheme, host and port of a URL stay readable (the middle cut hid the port).
    m_view->setTextElideMode(Qt::ElideRight);
    m_view->setAlternatingRowColors(true);
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    sizeColumns();
    QList<int> optional;
    for (int c = SessionTableModel::FirstOptionalColumn; c < SessionTableModel::ColumnCount; ++c)
        optional.append(c);
    m_columns = new ColumnChooser(m_view, optional);
    auto *filterRow = new QHBoxLayout;
    filterRow->addWidget(m_filterBox, 1);
    filterRow->addWidget(m_showHttp);
    m_stack = new QStackedWidget(this);
    m_stack->addWidget(m_view);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(filterRow);
    layout->addWidget(m_stack, 1);
    m_failedNotice = new FailedConnectionsNotice(store, this);
    layout->addWidget(m_failedNotice);
    connect(m_failedNotice, &FailedConnectionsNotice::showRequested, this,
            [this] { m_showHttp->setChecked(true); });
    connect(m_showHttp, &QCheckBox::toggled, m_failedNotice, &FailedConnectionsNotice::setShown);
    m_meaning = new SessionMeaningSearch(store, this);
    connect(m_filterBox, &QLineEdit::textChanged, this, [this](const QString &text) {
        auto query = decode::DecodedQuery::parse(text.trimmed());
        const bool byMeaning = query.has_value();
        m_meaning->setQuery(std::move(query));
        m_filter->setText(text);
        if (!byMeaning)
            m_filter->setMeaningMatches(std::nullopt);
    });
    connect(m_meaning, &SessionMeaningSearch::matchesChanged, this, [this] {
        if (m_meaning->active())
            m_filter->setMeaningMatches(m_meaning->matches());
    });
    connect(m_showHttp, &QCheckBox::toggled, m_filter, &SessionFilterModel::setShowHttp);
}

void SessionListPane::sizeColumns()
{
    // Compact by default: state, the URL (which takes what room there is), messages, bytes, close; the
    // rest from the header's context menu.
    m_view->horizontalHeader()->setStretchLastSection(false);
    m_view->horizontalHeader()->setSectionResizeMode(SessionTableModel::Url, QHeaderView::Stretch);
    m_view->horizontalHeader()->setMinimumSectionSize(24);
    // Widths from what the columns hold, in this font: a state, counts past 100 and a size must read whole
    // at 1280x800 (fixed pixel widths cut them to "re…ed" and "104…5 ↓").
    const QFontMetrics metrics = m_view->fontMetrics();
    const auto fit = [&](const QString &widest, int extra = 16) {
        return metrics.horizontalAdvance(widest) + extra;
    };
    m_view->setColumnWidth(SessionTableModel::Id, fit(QStringLiteral("999")));
    m_view->setColumnWidth(SessionTableModel::State, fit(QStringLiteral("connecting"), 40)); // + its dot
    m_view->setColumnWidth(SessionTableModel::Messages, fit(QStringLiteral("999 ↑ 999 ↓")));
    m_view->setColumnWidth(SessionTableModel::Bytes, fit(QStringLiteral("999.9 KiB")));
    m_view->setColumnWidth(SessionTableModel::Close, 148);
    m_view->setColumnWidth(SessionTableModel::Scheme, 52);
    m_view->setColumnWidth(SessionTableModel::Host, 128);
    m_view->setColumnWidth(SessionTableModel::Path, 84);
    for (int c : {SessionTableModel::MessagesUp, SessionTableModel::MessagesDown})
        m_view->setColumnWidth(c, 58);
    for (int c : {SessionTableModel::BytesUp, SessionTableModel::BytesDown, SessionTableModel::Duration})
        m_view->setColumnWidth(c, 84);
    m_view->setColumnWidth(SessionTableModel::Started, 100); // hh:mm:ss.zzz
    m_view->setColumnWidth(SessionTableModel::Engine, fit(QStringLiteral("staging.example:9443")));
}

void SessionListPane::setFormatChoice(std::function<QString(capture::SessionId)> choice)
{
    m_meaning->setFormatChoice(std::move(choice));
}

void SessionListPane::setEmptyPage(QWidget *page)
{
    m_emptyPage = page;
    m_stack->addWidget(page);
}

bool SessionListPane::updateEmptyState()
{
    const bool empty = m_sessions->rowCount() == 0 && m_emptyPage;
    m_stack->setCurrentWidget(empty ? m_emptyPage : m_view);
    return empty;
}

capture::SessionId SessionListPane::currentSession() const
{
    const QModelIndex index = m_filter->mapToSource(m_view->currentIndex());
    return index.isValid() ? m_sessions->sessionId(index.row()) : 0;
}

bool SessionListPane::selectSession(capture::SessionId id)
{
    const int row = m_sessions->rowOf(id);
    if (row < 0)
        return false;
    const QModelIndex index = m_filter->mapFromSource(m_sessions->index(row, 0));
    if (!index.isValid())
        return false;
    m_view->setCurrentIndex(index);
    return true;
}

std::vector<capture::SessionId> SessionListPane::selectedSessions(capture::SessionId current) const
{
    std::vector<capture::SessionId> ids;
    for (const QModelIndex &row : m_view->selectionModel()->selectedRows())
        if (const capture::SessionId id = m_sessions->sessionId(m_filter->mapToSource(row).row()))
            ids.push_back(id);
    if (ids.empty() && current)
        ids.push_back(current);
    std::sort(ids.begin(), ids.end());
    return ids;
}

void SessionListPane::focusFilter()
{
    m_filterBox->setFocus();
}

bool SessionListPane::showsHttp() const
{
    return m_showHttp->isChecked();
}

void SessionListPane::setShowHttp(bool on)
{
    m_showHttp->setChecked(on);
}

} // namespace socktap::ui
