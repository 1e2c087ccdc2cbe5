// What a server did differently when a session was replayed: the original's messages and the replay's,
// aligned in order per direction, each pair equal, different (with a text or JSON diff of the payloads),
// missing (the original had it, the replay did not) or extra; Close codes compared apart; a one-line
// verdict. Data messages only are aligned: pings and pongs depend on timing, not on the server's logic, and
// so do an application protocol's heartbeats when its format is known.
// Sans-I/O: takes messages, returns a verdict.
#pragma once

#include "core/decode/Decoder.h"

#include <QByteArray>
#include <QJsonObject>
#include <QStringList>

#include <optional>
#include <vector>

namespace socktap::replay {

struct ComparedMessage
{
    quint8 opcode = 0; // Text or Binary
    QByteArray payload; // as kept
    quint64 payloadSize = 0; // whole (more than payload.size() when the capture truncated it)
    bool payloadEvicted = false; // the capture no longer holds it: cannot be compared
    QByteArray decodedJson; // what it means (compact JSON), when compare() decoded it; compared instead
};

struct CloseSide
{
    bool sent = false;
    bool initiated = false; // this side closed first
    std::optional<quint16> code;
    QByteArray reason;
};

struct MessagePair
{
    enum class Verdict { Equal, Different, Missing, Extra };
    Verdict verdict = Verdict::Equal;
    int originalIndex = -1; // in the direction's data messages, from 0; -1 for none
    int replayIndex = -1;
    std::optional<ComparedMessage> original;
    std::optional<ComparedMessage> replay;
    QStringList differences; // "$.count: 1 -> 2", "text differs at byte 12: ..."
    QString note; // "compared the 1,024 bytes kept of 2,000"
    bool uncompared = false; // a payload the capture no longer holds (or never kept): not compared
};

struct DirectionComparison
{
    std::vector<MessagePair> pairs;
    int equal = 0;
    int different = 0;
    int missing = 0;
    int extra = 0;
    int uncompared = 0; // pairs whose payloads could not be compared: never counted as a match
    int chatterIgnored = 0; // heartbeats left out of the alignment, original and replay together
    bool matched() const { return different == 0 && missing == 0 && extra == 0 && uncompared == 0; }
    // Counts a pair; keeps it too unless keep is false (a long mock run counts without keeping).
    void add(MessagePair pair, bool keep = true);
};

struct Comparison
{
    DirectionComparison client; // what was sent: differs only when the replay was edited or cut short
    DirectionComparison server; // what came back: the point of a replay
    CloseSide originalClose[2]; // [fromClient, fromServer]
    CloseSide replayClose[2];
    // The server's Close as far as it is the server's doing: one it started must be there again with the
    // same code; its answer to the client's Close too; a replay's own final Close is not compared.
    bool closeMatched() const;
    // The server's messages and its Close matched.
    bool serverMatched() const { return server.matched() && closeMatched(); }
    QString verdict() const; // one line
};

struct CompareOptions
{
    QStringList ignoreJsonKeys; // at any depth ("timestamp", "id")
    // The original session's handshake: messages are decoded (core/decode) in its format, heartbeats and
    // protocol chatter are left out (their number depends on timing, not on the server), and decoded
    // values are compared rather than bytes (Socket.IO's 42[...] as JSON, MessagePack as values).
    std::optional<decode::SessionHints> decodeAs;
};

Comparison compare(const std::vector<ComparedMessage> originalMessages[2],
                   const std::vector<ComparedMessage> replayMessages[2], const CloseSide originalClose[2],
                   const CloseSide replayClose[2], const CompareOptions &options = {});

// The differences between two payloads (empty when equal): a JSON diff when both parse as JSON, else
// where the text or bytes first differ.
QStringList payloadDifferences(quint8 opcode, const QByteArray &a, const QByteArray &b,
                               const CompareOptions &options = {});

// Two messages side by side: equal, or different with the differences.
MessagePair comparePair(const ComparedMessage &original, const ComparedMessage &replay,
                        const CompareOptions &options = {});
// Two lists aligned in order: pairs of equal index, then missing or extra ones.
DirectionComparison compareInOrder(const std::vector<ComparedMessage> &original,
                                   const std::vector<ComparedMessage> &replay,
                                   const CompareOptions &options = {});

// For the console and CI: every pair, then the verdict.
QString comparisonText(const Comparison &c);
QJsonObject comparisonJson(const Comparison &c);
// One direction's counts and the pairs that are not equal ("title: 3 equal, ..."), and as JSON.
QString directionText(const QString &title, const DirectionComparison &d);
QJsonObject directionJson(const DirectionComparison &d);

} // namespace socktap::replay
