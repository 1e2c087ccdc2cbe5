// The messages of one session: a vector of the store's compact records (64 bytes each) and a vector of the
// rows that pass the filter, rebuilt only when the filter changes (as Wireshark's packet list does).
// Previews are formatted lazily and cached. New messages are appended in one insert per refresh.
// What messages mean (the Summary column, chatter, pairs, search by meaning) comes from MessageDecoding.
#pragma once

#include "MessageDecoding.h"
#include "RecordText.h" // opcodeText and flagsText, which the model's users have from here

#include "core/capture/CaptureStore.h"

#include <QAbstractTableModel>
#include <QCache>
#include <QRegularExpression>

#include <deque>
#include <functional>
#include <vector>

namespace socktap::ui {

class MessageTableModel final : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column { Number, Direction, Time, Type, Size, WireSize, Flags, Summary, Preview, ColumnCount };
    enum Role { MessageIndexRole = Qt::UserRole + 1, SortRole };
    enum class DirectionFilter { Both, FromClient, FromServer };
    enum class TypeFilter { All, Text, Binary, Control, Ping, Pong, Close };

    explicit MessageTableModel(capture::CaptureStore &store, QObject *parent = nullptr);

    void setSession(capture::SessionId id, qint64 sessionStart);
    // The format a session is decoded as when the user chose one (Session > Decode as); empty: what its
    // subprotocol, URL or first messages say. Asked at every setSession.
    using FormatChoice = MessageDecoding::FormatChoice;
    void setFormatChoice(FormatChoice choice) { m_decoding.setFormatChoice(std::move(choice)); }
    capture::SessionId sessionId() const { return m_session; }
    // Picks up messages the store gained since the last call.
    void appendNew();

    void setDirectionFilter(DirectionFilter filter);
    void setTypeFilter(TypeFilter filter);
    // Text or regular expression searched in payloads (empty: no search). Invalid patterns match nothing.
    // Not a regex and in decode::DecodedQuery's form ("event:chat", "topic:sensors/#", "$.a[0].b=1"): what
    // messages mean is searched instead, over the whole session.
    void setSearch(const QString &pattern, bool regex);
    // Hides heartbeats and protocol housekeeping (decoded chatter); they are counted in hiddenChatter().
    // Decodes the whole session first.
    void setHideChatter(bool hide);
    bool hidesChatter() const { return m_hideChatter; }
    quint64 hiddenChatter() const { return m_hiddenChatter; }
    // The session's format ("socket.io", ...), empty while none is known.
    QString formatName() const { return m_decoding.formatName(); }
    // Message `index` decoded on its own (for the inspector): the value, with the summary the in-order pass
    // gave it when it has been reached.
    std::optional<decode::Decoded> decodedMessage(quint64 index) const
    {
        return m_decoding.decodedMessage(index);
    }
    // The message paired with `index` (an answer's request; a request's first answer once the pass has
    // reached it). Decodes through `index` first.
    std::optional<decode::Pair> pairOf(quint64 index) const { return m_decoding.pairOf(index); }
    // The latest message going this way that decoded in the session's format and is not chatter (what
    // Compose starts from), among the last `within` messages; nullopt for none.
    std::optional<quint64> latestDecoded(bool fromServer, size_t within = 2000) const
    {
        return m_decoding.latestDecoded(fromServer, within);
    }
    // Decodes, in order, every message up to `index` now (tests, jumping to a pair).
    void decodeThrough(quint64 index) { m_decoding.decodeThrough(index); }
    const QRegularExpression &searchExpression() const { return m_search; }
    bool searchesMeaning() const { return m_decoding.hasQuery(); }
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
    // Mutable as the previews are: showing a row (const data()) takes the pass that far.
    mutable MessageDecoding m_decoding {m_store, m_records};
    bool m_hideChatter = false;
    quint64 m_hiddenChatter = 0;
};

} // namespace socktap::ui
