// The session list: one row per WebSocket session, HTTP exchange or tunnel, in the order they began.
// Reads the capture store; updated in batches by CaptureFeed (one insert per refresh, one dataChanged per
// changed range). Display text is formatted in data(), never stored.
#pragma once

#include "core/capture/CaptureStore.h"

#include <QAbstractTableModel>
#include <QHash>

#include <vector>

namespace socktap::ui {

class SessionTableModel final : public QAbstractTableModel
{
    Q_OBJECT

public:
    // The first six are shown by default (compact enough for 1280 px); the rest are a right-click on the
    // header away.
    enum Column {
        Id,
        State,
        Url, // scheme://host:port/path in one
        Messages, // "12 ↑ 30 ↓"
        Bytes, // on the wire, both ways
        Close,
        Scheme,
        Host,
        Path,
        MessagesUp,
        MessagesDown,
        BytesUp,
        BytesDown,
        Started,
        Duration,
        Engine, // the remote Socktap it came from (File > Attach); empty for this one's
        ColumnCount
    };
    static constexpr Column FirstOptionalColumn = Scheme;
    enum Role {
        SortRole = Qt::UserRole + 1,
        SessionIdRole,
        KindRole, // capture::SessionKind as int
        FilterTextRole, // host, URL, state, error and engine, for the filter box
    };

    explicit SessionTableModel(capture::CaptureStore &store, QObject *parent = nullptr);

    void update(const QList<capture::SessionId> &ids);
    void reload();
    void clear();

    capture::SessionId sessionId(int row) const;
    int rowOf(capture::SessionId id) const;
    const capture::SessionInfo *session(int row) const;
    const capture::SessionCounters *counters(int row) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    struct Row
    {
        capture::SessionInfo info;
        capture::SessionCounters counters;
    };

    QVariant display(const Row &row, int column) const;
    static quint64 bothWays(const Row &row);
    QVariant sortValue(const Row &row, int column) const;

    capture::CaptureStore &m_store;
    std::vector<Row> m_rows;
    QHash<capture::SessionId, int> m_index;
};

// The icon for a session state: a coloured dot, readable in light and dark palettes.
QIcon stateIcon(capture::SessionState state);
QString schemeText(const capture::SessionInfo &s);
// "1000 Normal Closure" for WebSockets, "200" for HTTP, "" while open.
QString closeText(const capture::SessionInfo &s);

} // namespace socktap::ui
