// What the messages of one session mean (core/decode), for the message list (MessageTableModel, which owns
// it and the records it reads). Decoded in capture order, as far as the rows shown need, a slice of at most
// ~20 ms at a time (the rest follows from the event loop), and kept as a summary and two bits per message;
// the Decoded tab decodes the one selected message again. Search by meaning runs a second pass of its own.
// Positions count from the first record the model holds; store indexes are the store's.
#pragma once

#include "core/capture/CaptureStore.h"
#include "core/decode/DecodedQuery.h"
#include "core/decode/SessionDecoder.h"

#include <QObject>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace socktap::ui {

class MessageDecoding final : public QObject
{
    Q_OBJECT

public:
    // The format a session is decoded as when the user chose one; empty: what its subprotocol, URL or first
    // messages say.
    using FormatChoice = std::function<QString(capture::SessionId)>;

    // `records` are the model's, read as they grow; they must outlive this.
    MessageDecoding(capture::CaptureStore &store, const std::deque<capture::MessageRecord> &records);

    void setFormatChoice(FormatChoice choice) { m_formatChoice = std::move(choice); }
    // Starts over for session `id` (0: none), whose records start at store index `firstIndex`; asks the
    // format choice again. A query set stays set.
    void setSession(capture::SessionId id, quint64 firstIndex);

    QString formatName() const;
    // The Summary column at `position`: "…" while the pass has not reached it.
    QString summary(size_t position);
    // Whether the pass found the message at `position` to be chatter (false until it reaches it).
    bool isChatter(size_t position) const;
    // How many messages from `position` on that the pass has reached are chatter.
    quint64 chatterFrom(size_t position) const;
    // Decodes every record held now, with no time limit (hiding chatter needs them all).
    void decodeAll();
    void decodeThrough(quint64 index);
    std::optional<decode::Decoded> decodedMessage(quint64 index) const;
    std::optional<decode::Pair> pairOf(quint64 index);
    std::optional<quint64> latestDecoded(bool fromServer, size_t within);

    // Search by meaning (nullopt: none). Setting it forgets what an earlier query matched.
    void setQuery(std::optional<decode::DecodedQuery> query);
    bool hasQuery() const { return m_query.has_value(); }
    // Matches the query against positions [matched so far, end).
    void matchQueryUpTo(size_t end);
    // True without a query; with one, whether the message at `position` has been matched and matches.
    bool matchesQuery(size_t position) const;

signals:
    // The pass went further from the event loop: summaries shown may have changed.
    void advanced();

private:
    // Decodes positions [decoded so far, last] in order, for at most `budgetMs` (-1: no limit); schedules
    // the rest from the event loop when the budget runs out.
    void decodeUpTo(size_t last, int budgetMs);
    void continueDecoding();
    // Decodes positions [from, to) in order with `decoder`; `each` gets each one's result (null for a
    // control frame, or a payload cut, evicted or too large to decode).
    void decodeRange(decode::SessionDecoder &decoder, size_t from, size_t to,
                     const std::function<void(const decode::Decoded *)> &each) const;

    capture::CaptureStore &m_store;
    const std::deque<capture::MessageRecord> &m_records;
    capture::SessionId m_session = 0;
    quint64 m_firstIndex = 0; // store index of m_records[0]

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
    std::unique_ptr<decode::SessionDecoder> m_decoder;
    std::vector<Brief> m_briefs; // m_briefs.size(): how far the pass has reached
    size_t m_decodeTarget = 0; // the pass continues to here from the event loop
    bool m_decodeScheduled = false;
    std::optional<decode::DecodedQuery> m_query;
    std::unique_ptr<decode::SessionDecoder> m_queryDecoder;
    std::vector<bool> m_queryMatches; // per position, while m_query is set
};

} // namespace socktap::ui
