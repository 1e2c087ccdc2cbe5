// The messages of one session: a vector of the store's compact records (64 bytes each) and a vector of the
// rows that pass the filter, rebuilt only when the filter changes (as Wireshark's packet list does).
// Previews are formatted lazily and cached. New messages are appended in one insert per refresh.
#pragma once

#include "core/capture/CaptureStore.h"

#include <QAbstractTableModel>
#include <QCache>
#include <QRegularExpression>

#include <deque>
#include <vector>

namespace socktap::ui {

class MessageTableModel final : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column { Number, Direction, Time, Type, Size, WireSize, Flags, Preview, ColumnCount };
    enum Role { MessageIndexRole = Qt::UserRole + 1, SortRole };
    enum class DirectionFilter { Both, FromClient, FromServer };
    enum class TypeFilter { All, Text, Binary, Control, Ping, Pong, Close };

    explicit MessageTableModel(capture::CaptureStore &store, QObject *parent = nullptr);

    void setSession(capture::SessionId id, qint64 sessionStart);
    capture::SessionId sessionId() const { return m_session; }
    // Picks up messages the store gained since the last call.
    void appendNew();

    void setDirectionFilter(DirectionFilter filter);
    void setTypeFilter(TypeFilter filter);
    // Text or regular expression searched in payloads (empty: no search). Invalid patterns match nothing.
    void setSearch(const QString &pattern, bool regex);
    const QRegularExpression &searchExpression() const { return m_search; }
    bool isFiltered() const;

    quint64 messageIndex(int row) const; // the store's index of the message shown in row
    int rowOfMessage(quint64 index) const; // -1 when filtered out or unknown
    const capture::MessageRecord &record(int row) const;
    const std::deque<capture::MessageRecord> &records() const { return m_records; }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    bool accepts(size_t position) const; // direction and type only
    bool matchesSearch(QByteArrayView payload) const;
    // Positions in [from, m_records.size()) passing every filter; payloads searched under one store lock.
    std::vector<quint32> select(size_t from) const;
    void rebuild();
    QString preview(size_t position) const;
    size_t position(int row) const { return m_filtered ? m_visible[size_t(row)] : size_t(row); }

    capture::CaptureStore &m_store;
    capture::SessionId m_session = 0;
    qint64 m_sessionStart = 0;
    quint64 m_firstIndex = 0; // store index of m_records[0]
    std::deque<capture::MessageRecord> m_records; // a deque: appends never move the million already held
    std::vector<quint32> m_visible; // positions in m_records passing the filter (when m_filtered)
    bool m_filtered = false;
    DirectionFilter m_direction = DirectionFilter::Both;
    TypeFilter m_type = TypeFilter::All;
    QRegularExpression m_search;
    QByteArray m_asciiNeedle; // lower-case plain-text search when it is ASCII: searched without decoding
    mutable QCache<quint64, QString> m_previews {4096};
};

QString opcodeText(quint8 opcode);
QString flagsText(const capture::MessageRecord &r);

} // namespace socktap::ui
