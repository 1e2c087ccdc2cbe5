#include "SessionTableModel.h"

#include "core/capture/Clock.h"
#include "core/capture/TextFormat.h"
#include "core/ws/CloseCode.h"

#include <QDateTime>
#include <QIcon>
#include <QPainter>
#include <QPixmap>

namespace socktap::ui {

using capture::SessionKind;
using capture::SessionState;

QIcon stateIcon(SessionState state)
{
    static QHash<int, QIcon> cache;
    if (const auto it = cache.constFind(int(state)); it != cache.cend())
        return *it;
    QColor color;
    switch (state) {
    case SessionState::Connecting:
        color = QColor(0x9e, 0x9e, 0x9e);
        break;
    case SessionState::Open:
        color = QColor(0x2e, 0xa0, 0x43);
        break;
    case SessionState::Closing:
        color = QColor(0xe6, 0x9a, 0x00);
        break;
    case SessionState::Closed:
        color = QColor(0x5c, 0x7c, 0xa8);
        break;
    case SessionState::Failed:
        color = QColor(0xd3, 0x2f, 0x2f);
        break;
    case SessionState::Rejected:
        color = QColor(0x8e, 0x24, 0xaa);
        break;
    }
    QPixmap pixmap(16, 16);
    pixmap.fill(Qt::transparent);
    QPainter p(&pixmap);
    p.setRenderHint(QPainter::Antialiasing);
    p.setPen(color.darker(130));
    p.setBrush(color);
    p.drawEllipse(QRectF(3, 3, 10, 10));
    p.end();
    return cache[int(state)] = QIcon(pixmap);
}

QString schemeText(const capture::SessionInfo &s)
{
    if (s.kind == SessionKind::Tunnel)
        return QStringLiteral("tunnel");
    return QString::fromLatin1(s.scheme);
}

// The state as the list says it: a session read from a file written while it was open is "open when
// saved", never "open" (nothing says it still is).
QString stateText(const capture::SessionInfo &s)
{
    if (s.openWhenSaved)
        return QStringLiteral("open when saved");
    return QString::fromLatin1(capture::stateName(s.state));
}

QString closeText(const capture::SessionInfo &s)
{
    if (s.kind == SessionKind::Http || s.state == SessionState::Rejected)
        return s.response.status ? QString::number(s.response.status) : QString();
    if (s.kind == SessionKind::WebSocket && s.state == SessionState::Closed)
        return s.close.recorded() ? ws::closeCodeLabel(s.close.effectiveCode()) : QStringLiteral("not recorded");
    if (s.state == SessionState::Failed)
        return s.response.status ? QString::number(s.response.status) : QStringLiteral("failed");
    return {};
}

// A session that ended badly: failed, or a WebSocket without its closing handshake (1006 on the client:
// a reset, a timeout, a TCP end mid-conversation). Why, for the tooltip; empty for a clean end.
QString abnormalEnd(const capture::SessionInfo &s)
{
    if (s.state == SessionState::Failed)
        return s.error.isEmpty() ? QObject::tr("failed") : s.error;
    if (s.kind != SessionKind::WebSocket || s.state != SessionState::Closed)
        return {};
    const capture::EndReason end = s.close.end;
    if (end == capture::EndReason::Closed || end == capture::EndReason::ProxyShutdown
        || end == capture::EndReason::UserReset)
        return {};
    if ((end == capture::EndReason::ClientEof || end == capture::EndReason::ServerEof)
        && s.close.handshakeCompleted())
        return {};
    return QObject::tr("ended abnormally: %1").arg(capture::endReasonText(end));
}

SessionTableModel::SessionTableModel(capture::CaptureStore &store, QObject *parent)
    : QAbstractTableModel(parent)
    , m_store(store)
{ }

void SessionTableModel::update(const QList<capture::SessionId> &ids)
{
    std::vector<Row> fresh;
    int firstChanged = INT_MAX, lastChanged = -1;
    for (const capture::SessionId id : ids) {
        auto info = m_store.session(id);
        if (!info)
            continue; // evicted under the memory budget meanwhile
        Row row {std::move(*info), m_store.counters(id)};
        if (const auto it = m_index.constFind(id); it != m_index.cend()) {
            m_rows[size_t(*it)] = std::move(row);
            firstChanged = std::min(firstChanged, *it);
            lastChanged = std::max(lastChanged, *it);
        } else {
            fresh.push_back(std::move(row));
        }
    }
    if (lastChanged >= 0)
        emit dataChanged(index(firstChanged, 0), index(lastChanged, ColumnCount - 1));
    if (fresh.empty())
        return;
    const int first = int(m_rows.size());
    beginInsertRows({}, first, first + int(fresh.size()) - 1);
    for (Row &r : fresh) {
        m_index.insert(r.info.id, int(m_rows.size()));
        m_rows.push_back(std::move(r));
    }
    endInsertRows();
}

void SessionTableModel::reload()
{
    beginResetModel();
    m_rows.clear();
    m_index.clear();
    for (const capture::SessionId id : m_store.sessionIds()) {
        if (auto info = m_store.session(id)) {
            m_index.insert(id, int(m_rows.size()));
            m_rows.push_back({std::move(*info), m_store.counters(id)});
        }
    }
    endResetModel();
}

void SessionTableModel::clear()
{
    beginResetModel();
    m_rows.clear();
    m_index.clear();
    endResetModel();
}

capture::SessionId SessionTableModel::sessionId(int row) const
{
    return row >= 0 && row < int(m_rows.size()) ? m_rows[size_t(row)].info.id : 0;
}

int SessionTableModel::rowOf(capture::SessionId id) const
{
    return m_index.value(id, -1);
}

const capture::SessionInfo *SessionTableModel::session(int row) const
{
    return row >= 0 && row < int(m_rows.size()) ? &m_rows[size_t(row)].info : nullptr;
}

const capture::SessionCounters *SessionTableModel::counters(int row) const
{
    return row >= 0 && row < int(m_rows.size()) ? &m_rows[size_t(row)].counters : nullptr;
}

int SessionTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int SessionTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant SessionTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Id:
        return tr("#");
    case State:
        return tr("State");
    case Url:
        return tr("URL");
    case Messages:
        return tr("Messages");
    case Bytes:
        return tr("Bytes");
    case Scheme:
        return tr("Scheme");
    case Host:
        return tr("Host");
    case Path:
        return tr("Path");
    case MessagesUp:
        return tr("Msgs ↑");
    case MessagesDown:
        return tr("Msgs ↓");
    case BytesUp:
        return tr("Bytes ↑");
    case BytesDown:
        return tr("Bytes ↓");
    case Started:
        return tr("Started");
    case Duration:
        return tr("Duration");
    case Engine:
        return tr("Engine");
    case Close:
        return tr("Close / status");
    default:
        return {};
    }
}

quint64 SessionTableModel::bothWays(const Row &r)
{
    const capture::SessionInfo &s = r.info;
    if (s.kind == SessionKind::Tunnel)
        return s.tunnelBytes[0] + s.tunnelBytes[1];
    if (s.kind == SessionKind::Http)
        return s.requestBodySize + s.responseBodySize;
    return r.counters.wireBytes[0] + r.counters.wireBytes[1];
}

QVariant SessionTableModel::display(const Row &r, int column) const
{
    const capture::SessionInfo &s = r.info;
    const bool tunnel = s.kind == SessionKind::Tunnel;
    switch (column) {
    case Id:
        return QString::number(s.id);
    case State:
        if (const capture::SessionId original = s.replayOf())
            return tr("%1 (replay of %2)").arg(stateText(s)).arg(original);
        if (!s.mock.isEmpty())
            return tr("%1 (mock)").arg(stateText(s)); // the server was Socktap's mock of a capture
        return stateText(s);
    case Url:
        if (s.kind == SessionKind::Http)
            return QStringLiteral("%1 %2").arg(QString::fromLatin1(s.request.method),
                                               QString::fromLatin1(s.url()));
        return QString::fromLatin1(s.url());
    case Messages:
        if (tunnel || s.kind == SessionKind::Http)
            return QString();
        return QStringLiteral("%1 ↑ %2 ↓").arg(r.counters.messages[0]).arg(r.counters.messages[1]);
    case Bytes:
        return capture::byteSize(bothWays(r));
    case Scheme:
        return schemeText(s);
    case Host:
        return s.port ? QStringLiteral("%1:%2").arg(QString::fromLatin1(s.host)).arg(s.port)
                      : QString::fromLatin1(s.host);
    case Path:
        return s.kind == SessionKind::Http
            ? QStringLiteral("%1 %2").arg(QString::fromLatin1(s.request.method), QString::fromLatin1(s.path))
            : QString::fromLatin1(s.path);
    case MessagesUp:
        return tunnel || s.kind == SessionKind::Http ? QString() : QString::number(r.counters.messages[0]);
    case MessagesDown:
        return tunnel || s.kind == SessionKind::Http ? QString() : QString::number(r.counters.messages[1]);
    case BytesUp:
        return capture::byteSize(tunnel                            ? s.tunnelBytes[0]
                                     : s.kind == SessionKind::Http ? s.requestBodySize
                                                                   : r.counters.wireBytes[0]);
    case BytesDown:
        return capture::byteSize(tunnel                            ? s.tunnelBytes[1]
                                     : s.kind == SessionKind::Http ? s.responseBodySize
                                                                   : r.counters.wireBytes[1]);
    case Started:
        return QDateTime::fromMSecsSinceEpoch(s.acceptedAt / 1000).toString(QStringLiteral("hh:mm:ss.zzz"));
    case Duration: {
        if (s.openWhenSaved && !s.closedAt)
            return QString(); // how long it stayed open is not in the file
        const qint64 end = s.closedAt ? s.closedAt : capture::nowMicros();
        return capture::duration(std::max<qint64>(0, end - (s.requestAt ? s.requestAt : s.acceptedAt)));
    }
    case Close:
        return closeText(s);
    case Engine:
        return s.engine;
    default:
        return {};
    }
}

QVariant SessionTableModel::sortValue(const Row &r, int column) const
{
    const capture::SessionInfo &s = r.info;
    switch (column) {
    case Id:
        return qulonglong(s.id);
    case State:
        return int(s.state);
    case Messages:
        return qulonglong(r.counters.messages[0] + r.counters.messages[1]);
    case Bytes:
        return qulonglong(bothWays(r));
    case MessagesUp:
        return qulonglong(r.counters.messages[0]);
    case MessagesDown:
        return qulonglong(r.counters.messages[1]);
    case BytesUp:
        return qulonglong(s.kind == SessionKind::Tunnel ? s.tunnelBytes[0] : r.counters.wireBytes[0]);
    case BytesDown:
        return qulonglong(s.kind == SessionKind::Tunnel ? s.tunnelBytes[1] : r.counters.wireBytes[1]);
    case Started:
        return qlonglong(s.acceptedAt);
    case Duration:
        if (s.openWhenSaved && !s.closedAt)
            return qlonglong(0);
        return qlonglong((s.closedAt ? s.closedAt : capture::nowMicros()) - s.acceptedAt);
    case Close:
        return s.kind == SessionKind::WebSocket ? int(s.close.effectiveCode()) : s.response.status;
    default:
        return display(r, column);
    }
}

QVariant SessionTableModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= int(m_rows.size()))
        return {};
    const Row &r = m_rows[size_t(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        return display(r, index.column());
    case Qt::DecorationRole:
        if (index.column() != State)
            return {};
        // Not the live green of an open session: its state is only what the file says.
        return stateIcon(r.info.openWhenSaved ? SessionState::Connecting : r.info.state);
    case Qt::ToolTipRole:
        if (!r.info.error.isEmpty())
            return r.info.error;
        if (const QString why = abnormalEnd(r.info); !why.isEmpty())
            return why;
        if (!r.info.firstViolation.isEmpty())
            return tr("Protocol violation: %1").arg(r.info.firstViolation);
        return QString::fromLatin1(r.info.url());
    case Qt::TextAlignmentRole:
        switch (index.column()) {
        case Messages:
        case Bytes:
        case MessagesUp:
        case MessagesDown:
        case BytesUp:
        case BytesDown:
        case Duration:
            return QVariant(Qt::AlignRight | Qt::AlignVCenter);
        default:
            return QVariant();
        }
    case Qt::ForegroundRole:
        if (r.info.violations && index.column() == Close)
            return QColor(0xd3, 0x2f, 0x2f);
        // Abnormal ends (1006, resets, timeouts, failures) stand out from clean closes.
        if ((index.column() == State || index.column() == Close) && !abnormalEnd(r.info).isEmpty())
            return QColor(0xe6, 0x51, 0x00);
        return {};
    case SortRole:
        return sortValue(r, index.column());
    case SessionIdRole:
        return qulonglong(r.info.id);
    case KindRole:
        return int(r.info.kind);
    case FilterTextRole:
        return QStringLiteral("%1 %2 %3 %4 %5")
            .arg(QString::fromLatin1(r.info.url()), stateText(r.info), schemeText(r.info), r.info.error,
                 r.info.engine);
    default:
        return {};
    }
}

} // namespace socktap::ui
