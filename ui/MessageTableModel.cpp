#include "MessageTableModel.h"

#include "core/capture/JsonFormat.h"
#include "core/capture/TextFormat.h"
#include "core/ws/CloseCode.h"
#include "core/ws/Utf8Validator.h"

#include <QColor>
#include <QFont>

#include <algorithm>

namespace socktap::ui {

namespace MessageFlag = capture::MessageFlag;
using capture::MessageRecord;

namespace {

constexpr qsizetype PreviewBytes = 160;

// A message from a HAR file: no frames, so no size on the wire either.
bool wireUnknown(const MessageRecord &r)
{
    return r.frameCount == 0 && r.wireSize == 0;
}

constexpr qsizetype SearchBytes = 64 * 1024; // how much of each payload a search looks at

} // namespace

MessageTableModel::MessageTableModel(capture::CaptureStore &store, QObject *parent)
    : QAbstractTableModel(parent)
    , m_store(store)
{
    connect(&m_decoding, &MessageDecoding::advanced, this, [this] {
        if (rowCount() > 0)
            emit dataChanged(index(0, Summary), index(rowCount() - 1, Summary), {Qt::DisplayRole});
    });
}

void MessageTableModel::setSession(capture::SessionId id, qint64 sessionStart)
{
    beginResetModel();
    m_session = id;
    m_sessionStart = sessionStart;
    m_records.clear();
    m_visible.clear();
    m_previews.clear();
    m_firstIndex = id ? m_store.firstRetainedMessage(id) : 0;
    m_decoding.setSession(id, m_firstIndex);
    if (id) {
        const quint64 count = m_store.messageCount(id) - m_firstIndex;
        // In chunks, so the store's lock is never held for long.
        for (quint64 from = m_firstIndex; from < m_firstIndex + count; from += 65536) {
            const auto chunk = m_store.records(id, from, 65536);
            m_records.insert(m_records.end(), chunk.begin(), chunk.end());
        }
    }
    if (m_filtered)
        m_visible = select(0);
    endResetModel();
}

void MessageTableModel::appendNew()
{
    if (!m_session)
        return;
    const quint64 have = m_firstIndex + m_records.size();
    const quint64 count = m_store.messageCount(m_session);
    if (count <= have)
        return;
    const auto fresh = m_store.records(m_session, have, count - have);
    if (fresh.empty())
        return;
    const size_t firstNew = m_records.size();
    if (!m_filtered) {
        // Rows are records here: the model must not grow before beginInsertRows.
        beginInsertRows({}, int(firstNew), int(firstNew + fresh.size()) - 1);
        m_records.insert(m_records.end(), fresh.begin(), fresh.end());
        endInsertRows();
        return;
    }
    m_records.insert(m_records.end(), fresh.begin(), fresh.end());
    const std::vector<quint32> accepted = select(firstNew);
    if (m_hideChatter)
        m_hiddenChatter += m_decoding.chatterFrom(firstNew);
    if (accepted.empty())
        return;
    beginInsertRows({}, int(m_visible.size()), int(m_visible.size() + accepted.size()) - 1);
    m_visible.insert(m_visible.end(), accepted.begin(), accepted.end());
    endInsertRows();
}

bool MessageTableModel::isFiltered() const
{
    return m_direction != DirectionFilter::Both || m_type != TypeFilter::All || !m_search.pattern().isEmpty()
        || m_hideChatter || m_decoding.hasQuery();
}

void MessageTableModel::setHideChatter(bool hide)
{
    m_hideChatter = hide;
    rebuild();
}

void MessageTableModel::setDirectionFilter(DirectionFilter filter)
{
    m_direction = filter;
    rebuild();
}

void MessageTableModel::setTypeFilter(TypeFilter filter)
{
    m_type = filter;
    rebuild();
}

void MessageTableModel::setSearch(const QString &pattern, bool regex)
{
    // "event:chat", "$.args[0].price=10": what messages mean, not their bytes.
    m_decoding.setQuery(regex ? std::nullopt : decode::DecodedQuery::parse(pattern));
    if (m_decoding.hasQuery()) {
        m_search = QRegularExpression();
        m_asciiNeedle.clear();
        rebuild();
        return;
    }
    m_search = pattern.isEmpty() ? QRegularExpression()
                                 : QRegularExpression(regex ? pattern : QRegularExpression::escape(pattern),
                                                      QRegularExpression::CaseInsensitiveOption);
    const QByteArray latin = pattern.toLatin1();
    const bool ascii =
        !regex && std::all_of(pattern.begin(), pattern.end(), [](QChar c) { return c.unicode() < 0x80; });
    m_asciiNeedle = ascii ? latin.toLower() : QByteArray();
    rebuild();
}

bool MessageTableModel::accepts(size_t position) const
{
    const MessageRecord &r = m_records[position];
    const bool fromClient = r.direction() == capture::Direction::ClientToServer;
    if ((m_direction == DirectionFilter::FromClient && !fromClient)
        || (m_direction == DirectionFilter::FromServer && fromClient))
        return false;
    switch (m_type) {
    case TypeFilter::All:
        break;
    case TypeFilter::Text:
        if (r.opcode != quint8(ws::Opcode::Text))
            return false;
        break;
    case TypeFilter::Binary:
        if (r.opcode != quint8(ws::Opcode::Binary))
            return false;
        break;
    case TypeFilter::Control:
        if (!ws::isControl(r.opcode))
            return false;
        break;
    case TypeFilter::Ping:
        if (r.opcode != quint8(ws::Opcode::Ping))
            return false;
        break;
    case TypeFilter::Pong:
        if (r.opcode != quint8(ws::Opcode::Pong))
            return false;
        break;
    case TypeFilter::Close:
        if (r.opcode != quint8(ws::Opcode::Close))
            return false;
        break;
    }
    if (m_hideChatter && m_decoding.isChatter(position))
        return false;
    return m_decoding.matchesQuery(position);
}

bool MessageTableModel::matchesSearch(QByteArrayView payload) const
{
    if (!m_asciiNeedle.isEmpty()) {
        // ASCII case folding on the UTF-8 bytes directly: no decoding of a million payloads.
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c + 32) : c; };
        return std::search(payload.begin(), payload.end(), m_asciiNeedle.begin(), m_asciiNeedle.end(),
                           [&](char a, char b) { return lower(a) == b; })
            != payload.end();
    }
    return m_search.isValid() && QString::fromUtf8(payload).contains(m_search);
}

std::vector<quint32> MessageTableModel::select(size_t from) const
{
    std::vector<quint32> out;
    std::vector<const MessageRecord *> candidates;
    std::vector<quint32> positions;
    if (m_hideChatter)
        m_decoding.decodeAll(); // chatter is known only once decoded
    m_decoding.matchQueryUpTo(m_records.size());
    for (size_t i = from; i < m_records.size(); ++i) {
        if (!accepts(i))
            continue;
        positions.push_back(quint32(i));
        candidates.push_back(&m_records[i]);
    }
    if (m_search.pattern().isEmpty())
        return positions;
    m_store.visitPayloads(candidates, SearchBytes, [&](size_t k, QByteArrayView payload) {
        if (matchesSearch(payload))
            out.push_back(positions[k]);
    });
    return out;
}

void MessageTableModel::rebuild()
{
    beginResetModel();
    m_filtered = isFiltered();
    m_hiddenChatter = 0;
    if (m_hideChatter && !m_records.empty()) {
        m_decoding.decodeAll();
        m_hiddenChatter = m_decoding.chatterFrom(0);
    }
    m_visible = m_filtered ? select(0) : std::vector<quint32>();
    endResetModel();
}

quint64 MessageTableModel::messageIndex(int row) const
{
    return m_firstIndex + position(row);
}

int MessageTableModel::rowOfMessage(quint64 index) const
{
    if (index < m_firstIndex || index >= m_firstIndex + m_records.size())
        return -1;
    const quint32 pos = quint32(index - m_firstIndex);
    if (!m_filtered)
        return int(pos);
    const auto it = std::lower_bound(m_visible.begin(), m_visible.end(), pos);
    return it != m_visible.end() && *it == pos ? int(it - m_visible.begin()) : -1;
}

const MessageRecord &MessageTableModel::record(int row) const
{
    return m_records[position(row)];
}

int MessageTableModel::rowCount(const QModelIndex &parent) const
{
    if (parent.isValid())
        return 0;
    return int(m_filtered ? m_visible.size() : m_records.size());
}

int MessageTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant MessageTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Number:
        return tr("#");
    case Direction:
        return tr("Dir");
    case Time:
        return tr("Time");
    case Type:
        return tr("Type");
    case Size:
        return tr("Size");
    case WireSize:
        return tr("On wire");
    case Flags:
        return tr("Flags");
    case Summary:
        return tr("Summary");
    case Preview:
        return tr("Preview");
    default:
        return {};
    }
}

QString MessageTableModel::preview(size_t pos) const
{
    const quint64 key = m_firstIndex + pos;
    if (const QString *cached = m_previews.object(key))
        return *cached;
    const MessageRecord &r = m_records[pos];
    bool evicted = false;
    const QByteArray bytes = m_store.payload(r, &evicted, PreviewBytes);
    QString text;
    if (r.opcode == quint8(ws::Opcode::Close)) {
        text = r.closeCode ? ws::closeCodeLabel(r.closeCode) : tr("(no status code)");
        if (bytes.size() > 2)
            text += QStringLiteral(" \"%1\"").arg(QString::fromUtf8(bytes.sliced(2)));
    } else if (evicted) {
        text = tr("[payload evicted: capture memory budget]");
    } else if (r.opcode != quint8(ws::Opcode::Binary)
               && ws::Utf8Validator::isValid(
                   bytes.first(bytes.size() - std::min<qsizetype>(3, bytes.size())))) {
        text = QString::fromUtf8(bytes).simplified();
    } else {
        text = QString::fromLatin1(bytes.first(std::min<qsizetype>(bytes.size(), 24)).toHex(' '));
    }
    if (r.payloadSize > quint64(bytes.size()) && !evicted && r.opcode != quint8(ws::Opcode::Close))
        text += QStringLiteral("…");
    m_previews.insert(key, new QString(text));
    return text;
}

QVariant MessageTableModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const size_t pos = position(index.row());
    const MessageRecord &r = m_records[pos];
    const bool fromClient = r.direction() == capture::Direction::ClientToServer;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case Number:
            return QString::number(m_firstIndex + pos + 1);
        case Direction:
            return fromClient ? QStringLiteral("→") : QStringLiteral("←");
        case Time:
            return QStringLiteral("+%1").arg(double(r.time - m_sessionStart) / 1e6, 0, 'f', 6);
        case Type:
            return opcodeText(r.opcode);
        case Size:
            return capture::byteSize(r.payloadSize);
        case WireSize:
            // Imported from HAR: unknown, not 0 B.
            return wireUnknown(r) ? QStringLiteral("?") : capture::byteSize(r.wireSize);
        case Flags:
            return flagsText(r);
        case Summary:
            return m_decoding.summary(pos);
        case Preview:
            return preview(pos);
        default:
            return {};
        }
    case Qt::ToolTipRole:
        switch (index.column()) {
        case Direction:
            return fromClient ? tr("client to server") : tr("server to client");
        case Time:
            return capture::isoTime(r.time);
        case WireSize:
            return wireUnknown(r) ? tr("Unknown: imported from a HAR file, which keeps messages, not frames")
                                  : QString();
        case Flags:
            return r.violations ? ws::describe(r.violationFlags()).join(QLatin1Char('\n')) : flagsText(r);
        default:
            return {};
        }
    case Qt::FontRole:
        if (r.has(MessageFlag::Dropped)) {
            // Struck out: it is in the capture, but the peer never got it.
            QFont font;
            font.setStrikeOut(true);
            return font;
        }
        return {};
    case Qt::ForegroundRole:
        if (r.has(MessageFlag::Dropped))
            return QColor(0x9e, 0x9e, 0x9e);
        if (index.column() == Flags && r.has(MessageFlag::Changed))
            return QColor(0xb2, 0x6a, 0x00); // what Socktap changed stands out from what the peers sent
        if (r.violations)
            return QColor(0xd3, 0x2f, 0x2f);
        if (fromClient && index.column() == Direction)
            return QColor(0x1e, 0x78, 0xc8);
        if (!fromClient && index.column() == Direction)
            return QColor(0x2e, 0xa0, 0x43);
        return {};
    case Qt::TextAlignmentRole:
        return index.column() == Size || index.column() == WireSize || index.column() == Time
            ? QVariant(Qt::AlignRight | Qt::AlignVCenter)
            : QVariant();
    case MessageIndexRole:
        return qulonglong(m_firstIndex + pos);
    case SortRole:
        return qulonglong(m_firstIndex + pos);
    default:
        return {};
    }
}

} // namespace socktap::ui
