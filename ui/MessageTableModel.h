// The messages of one session: a vector of the store's compact records (64 bytes each) and a vector of the
// rows that pass the filter, rebuilt only when the filter changes (as Wireshark's packet list does).
// Previews are formatted lazily and cached. New messages are appended in one insert per refresh.
// What messages mean (core/decode) is decoded in capture order, as far as the rows shown need, a slice of
// at most ~20 ms at a time (the rest follows from the event loop), and kept as a summary and two bits per
// message; the Decoded tab decodes the one selected message again.
#pragma once

#include "core/capture/CaptureStore.h"
#include "core/decode/DecodedQuery.h"
#include "core/decode/SessionDecoder.h"

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
    using FormatChoice = std::function<QString(capture::SessionId)>;
    void setFormatChoice(FormatChoice choice) { m_formatChoice = std::move(choice); }
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
    QString formatName() const;
    // Message `index` decoded on its own (for the inspector): the value, with the summary the in-order pass
    // gave it when it has been reached.
    std::optional<decode::Decoded> decodedMessage(quint64 index) const;
    // The message paired with `index` (an answer's request; a request's first answer once the pass has
    // reached it). Decodes through `index` first.
    std::optional<decode::Pair> pairOf(quint64 index) const;
    // The latest message going this way that decoded in the session's format and is not chatter (what
    // Compose starts from), among the last `within` messages; nullopt for none.
    std::optional<quint64> latestDecoded(bool fromServer, size_t within = 2000) const;
    // Decodes, in order, every message up to `index` now (tests, jumping to a pair).
    void decodeThrough(quint64 index);
    const QRegularExpression &searchExpression() const { return m_search; }
    bool searchesMeaning() const { return m_query.has_value(); }
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
    // Decodes positions [decoded so far, last] in order, for at most `budgetMs` (-1: no limit); schedules
    // the rest from the event loop when the budget runs out.
    void decodeUpTo(size_t last, int budgetMs) const;
    void continueDecoding();
    // Decodes positions [from, to) in order with `decoder`; `each` gets each one's result (null for a
    // control frame, or a payload cut, evicted or too large to decode).
    void decodeRange(decode::SessionDecoder &decoder, size_t from, size_t to,
                     const std::function<void(const decode::Decoded *)> &each) const;
    void matchQueryUpTo(size_t end) const;
    QString summary(size_t position) const;

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

    // What the in-order pass found, per position in m_records.
    struct Brief
    {
        QString summary; // "format: summary", or empty
        quint8 bits = 0; // Chatter, Decoded
    };
    static constexpr quint8 ChatterBit = 1;
    static constexpr quint8 DecodedBit = 2;
    decode::SessionHints m_hints;
    FormatChoice m_formatChoice;
    QString m_chosenFormat; // the session's, from m_formatChoice
    mutable std::unique_ptr<decode::SessionDecoder> m_decoder;
    mutable std::vector<Brief> m_briefs; // m_briefs.size(): how far the pass has reached
    mutable size_t m_decodeTarget = 0; // the pass continues to here from the event loop
    mutable bool m_decodeScheduled = false;
    std::optional<decode::DecodedQuery> m_query;
    mutable std::unique_ptr<decode::SessionDecoder> m_queryDecoder;
    mutable std::vector<bool> m_queryMatches; // per position, while m_query is set
    bool m_hideChatter = false;
    quint64 m_hiddenChatter = 0;
};

QString opcodeText(quint8 opcode);
QString flagsText(const capture::MessageRecord &r);

} // namespace socktap::ui
