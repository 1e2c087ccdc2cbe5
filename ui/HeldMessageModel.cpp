#include "HeldMessageModel.h"

#include "MessageTableModel.h"

#include "core/capture/Clock.h"
#include "core/capture/TextFormat.h"
#include "core/ws/CloseCode.h"
#include "core/ws/Frame.h"
#include "core/ws/Utf8Validator.h"

#include <QColor>

#include <algorithm>

namespace socktap::ui {

namespace {

constexpr qsizetype PreviewBytes = 160;

bool sameMessage(const intercept::HeldMessage &a, const intercept::HeldMessage &b)
{
    return a.session == b.session && a.from == b.from && a.id == b.id;
}

} // namespace

QString heldForText(qint64 micros)
{
    const qint64 ms = std::max<qint64>(0, micros / 1000);
    if (ms < 1000)
        return QStringLiteral("%1 ms").arg(ms);
    if (ms < 60'000)
        return QStringLiteral("%1 s").arg(double(ms) / 1000.0, 0, 'f', 1);
    const qint64 s = ms / 1000;
    return QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
}

HeldMessageModel::HeldMessageModel(QObject *parent)
    : QAbstractTableModel(parent)
{ }

void HeldMessageModel::setHeld(std::vector<intercept::HeldMessage> held)
{
    // Removals first (anywhere), then what is new (the hub appends, so new messages come last).
    for (int row = int(m_held.size()) - 1; row >= 0; --row) {
        const auto &mine = m_held[size_t(row)];
        if (std::none_of(held.begin(), held.end(), [&](const auto &h) { return sameMessage(h, mine); })) {
            beginRemoveRows({}, row, row);
            m_held.erase(m_held.begin() + row);
            endRemoveRows();
        }
    }
    std::vector<intercept::HeldMessage> fresh;
    for (auto &h : held) {
        if (std::none_of(m_held.begin(), m_held.end(),
                         [&](const auto &mine) { return sameMessage(h, mine); }))
            fresh.push_back(std::move(h));
    }
    if (fresh.empty())
        return;
    beginInsertRows({}, int(m_held.size()), int(m_held.size() + fresh.size()) - 1);
    std::move(fresh.begin(), fresh.end(), std::back_inserter(m_held));
    endInsertRows();
}

void HeldMessageModel::tick()
{
    if (!m_held.empty())
        emit dataChanged(index(0, HeldFor), index(rowCount() - 1, HeldFor), {Qt::DisplayRole});
}

int HeldMessageModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_held.size());
}

int HeldMessageModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant HeldMessageModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Session:
        return tr("Session");
    case Url:
        return tr("URL");
    case From:
        return tr("Dir");
    case Type:
        return tr("Type");
    case Size:
        return tr("Size");
    case HeldFor:
        return tr("Held for");
    case Preview:
        return tr("Preview");
    case Note:
        return tr("Why");
    default:
        return {};
    }
}

QString HeldMessageModel::preview(const intercept::HeldMessage &m) const
{
    const QByteArray bytes = m.payload.first(std::min(m.payload.size(), PreviewBytes));
    QString text;
    if (m.opcode == quint8(ws::Opcode::Close)) {
        text = bytes.size() >= 2 ? ws::closeCodeLabel(quint16((quint8(bytes[0]) << 8) | quint8(bytes[1])))
                                 : tr("(no status code)");
        if (bytes.size() > 2)
            text += QStringLiteral(" \"%1\"").arg(QString::fromUtf8(bytes.sliced(2)));
    } else if (m.opcode != quint8(ws::Opcode::Binary) && ws::Utf8Validator::isValid(bytes)) {
        text = QString::fromUtf8(bytes).simplified();
    } else {
        text = QString::fromLatin1(bytes.first(std::min<qsizetype>(bytes.size(), 24)).toHex(' '));
    }
    if (m.payload.size() > bytes.size() || m.truncated)
        text += QStringLiteral("…");
    return text;
}

QVariant HeldMessageModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const intercept::HeldMessage &m = m_held[size_t(index.row())];
    const bool fromClient = m.from == capture::Direction::ClientToServer;
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Session:
            return QStringLiteral("#%1").arg(m.session);
        case Url:
            return QString::fromLatin1(m.url);
        case From:
            return fromClient ? QStringLiteral("→") : QStringLiteral("←");
        case Type:
            return opcodeText(m.opcode);
        case Size:
            return capture::byteSize(quint64(m.payload.size()));
        case HeldFor:
            return heldForText(capture::nowMicros() - m.heldSince);
        case Preview:
            return preview(m);
        case Note:
            return m.note;
        default:
            return {};
        }
    }
    if (role == Qt::ToolTipRole) {
        switch (index.column()) {
        case From:
            return fromClient ? tr("sent by the client, waiting to go to the server")
                              : tr("sent by the server, waiting to go to the client");
        case Size:
            return m.truncated ? tr("larger than the capture cap: can be forwarded or dropped, not edited")
                               : QVariant();
        case Url:
        case Note:
            return data(index, Qt::DisplayRole);
        default:
            return {};
        }
    }
    if (role == Qt::ForegroundRole && index.column() == From)
        return fromClient ? QColor(0x1e, 0x78, 0xc8) : QColor(0x2e, 0xa0, 0x43);
    if (role == Qt::TextAlignmentRole && (index.column() == Size || index.column() == HeldFor))
        return QVariant(Qt::AlignRight | Qt::AlignVCenter);
    return {};
}

} // namespace socktap::ui
