// Rewrite and breakpoint rules: what a rule matches (host and path globs, who sent it, message type,
// payload substring or regex) and what it does (drop, delay, replace, regex-replace, hold; set or remove a
// handshake header). Parsed from and written to the JSON of docs/rules.md. Plain data and pure functions:
// no sockets, no threads, no sessions.
#pragma once

#include "core/capture/CaptureTypes.h"
#include "core/decode/DecodedQuery.h"
#include "core/http/HttpHead.h"

#include <QJsonObject>
#include <QRegularExpression>
#include <QString>

#include <optional>
#include <vector>

namespace socktap::intercept {

enum class SenderMatch : quint8 { Both, Client, Server }; // "direction": who sent the message
enum class TypeMatch : quint8 { Any, Text, Binary };
enum class HeadSide : quint8 { Request, Response }; // "on": which handshake head a header rule edits

// How a delay's jitter spreads around its `ms` (as netem's delay and distribution): uniformly within
// ms ± jitterMs, or normally with jitterMs as the standard deviation; never below 0.
enum class Spread : quint8 { Uniform, Normal };

enum class Action : quint8 {
    Drop, // the message is not forwarded
    Delay, // forwarded after delayMs
    Replace, // the whole payload becomes `payload`
    RegexReplace, // `pattern` replaced by `with` ($1-style groups, $$ for a dollar)
    Hold, // a breakpoint: held until the user forwards, edits or drops it (the window only)
    SetHeader, // handshake: set `name` to `value` on the request or response head
    RemoveHeader, // handshake: remove every `name` field
    SetField, // the decoded value's field at `path` set to `value`, re-encoded in the message's format
    Respond, // the sender is answered with `payload` (a template) or binary bytes; `forward`: the original
             // too
    Echo, // the sender gets its own message back; `forward`: the original goes on too
    Refuse, // handshake: the upgrade is answered with `status` (or a TCP reset), `times` attempts or all
    // Faults, on a trigger (the afterMessages-th matching message, or afterMs after the upgrade):
    Close, // Close `code`/`reason` sent toward the client, the server or both
    Reset, // both TCP connections end with a reset
    Stall, // what `stop` sends is no longer read: TCP stays up, nothing crosses (half-open)
    Throttle, // bandwidth: what a direction's sender sends is read at most bytesPerSecond
    Mock, // handshake: the upgrade is answered by Socktap's mock of a captured session, not the server
};
const char *actionName(Action a); // "drop", "delay", "replace", "regex-replace", "hold", ...

struct Match
{
    QString host; // glob ('*' any run, case-insensitive), empty: any
    QString path; // glob on path and query, empty: any
    SenderMatch sender = SenderMatch::Both;
    TypeMatch type = TypeMatch::Any;
    QByteArray payload; // substring, empty: any
    QString regexText; // empty: none
    QRegularExpression regex; // compiled regexText
    // What the message means (core/decode): the format it must decode as, and conditions on its decoded
    // value ("event:chat", "$.args[0].price=10"; "event", "method" and "topic" are shorthands for them).
    QString format;
    QStringList decodedTexts;
    std::vector<decode::DecodedQuery> decoded;
};

struct Rule
{
    QString name; // optional; shown in hits ("rule 2 'strip tokens'")
    bool enabled = true;
    Match match;
    Action action = Action::Drop;
    int delayMs = 0; // Delay
    int jitterMs = 0; // Delay: latency that varies by message (order is kept: a message waits behind
                      // an earlier one still delayed)
    Spread spread = Spread::Uniform;
    QByteArray payload; // Replace: the new payload (UTF-8 text)
    QString patternText; // RegexReplace
    QRegularExpression pattern;
    QString with; // RegexReplace: replacement with $1..$99 and $$
    QByteArray headerName; // SetHeader, RemoveHeader
    QByteArray headerValue; // SetHeader
    HeadSide on = HeadSide::Request; // SetHeader, RemoveHeader
    QString fieldPathText; // SetField: "$.args[0].price"
    QStringList fieldPath;
    QJsonValue fieldValue; // SetField: any JSON value
    // Respond: `payload` is a template: {{$.path}} is the JSON of the matched message's value there (its
    // decoded value, or the payload parsed as JSON), {{N}} the regex's group N. Binary: `payload` as is.
    bool respondBinary = false;
    bool forward = true; // Respond, Echo: "forward": false answers instead of forwarding
    int status = 503; // Refuse: the HTTP status the client gets
    int retryAfter = -1; // Refuse: Retry-After in seconds, -1 for none
    int times = 0; // Refuse: how many attempts are refused (0: every one)
    bool reset = false; // Refuse: a TCP reset instead of a status
    int closeCode = 1000; // Close: sent as given (a testing tool may send invalid codes)
    QByteArray closeReason; // Close: UTF-8, at most 123 bytes (RFC 6455 5.5)
    SenderMatch toward = SenderMatch::Both; // Close, Reset: toward the client, the server or both
    bool closeHandshake = true; // Close: false ends TCP right after the Close, no answer awaited
    SenderMatch stop = SenderMatch::Both; // Stall: whose messages stop crossing
    int afterMessages = 1; // Close, Reset, Stall: the fault comes with the Nth matching message...
    int afterMs = -1; // ...or this long after the upgrade (then the rule matches only host and path)
    int bytesPerSecond = 0; // Throttle
    QString mockFile; // Mock: the capture (native or HAR) whose session answers instead of the server
    int mockSession = 0; // Mock: that session (0: the capture's first WebSocket session)
    QString mockTiming = QStringLiteral("original"); // Mock: fast, original or conversation
    QString mockMatch = QStringLiteral("order"); // Mock: order or content
    bool continueAfter = false; // "continue": true: later rules are tried too
    // "holdPingPong": true (hold rules): Ping and Pong frames are held too. By default they pass a hold,
    // so that the peers' keepalive does not starve while the user looks (RFC 6455 5.5.2, 5.5.3).
    bool holdPingPong = false;

    bool isHeaderRule() const { return action == Action::SetHeader || action == Action::RemoveHeader; }
    // Rules that act on the upgrade rather than on messages (they match only host and path).
    bool isHandshakeRule() const
    {
        return isHeaderRule() || action == Action::Refuse || action == Action::Mock;
    }
    bool isFaultRule() const
    {
        return action == Action::Close || action == Action::Reset || action == Action::Stall;
    }
    // A fault on a timer from the upgrade: no message is looked at.
    bool isTimedFault() const { return isFaultRule() && afterMs >= 0; }
    // Whether applying it needs the message decoded (a format or decoded condition, or set-field).
    bool needsDecoding() const
    {
        return !match.format.isEmpty() || !match.decoded.empty() || action == Action::SetField;
    }
    // The format and decoded conditions, on the message decoded in its session's format.
    bool matchesDecoded(const decode::Decoded &decoded) const;
    // "rule 2 'strip tokens'" (1-based index; the name only when there is one).
    QString label(int index) const;
    // Host and path only: whether this rule can ever apply to a session with this target.
    bool matchesTarget(QByteArrayView host, QByteArrayView path) const;
    bool matchesHost(QByteArrayView host) const; // enabled, and its host glob (if any) matches
    // Sender, type, payload and regex: whether it applies to one message (the target already matched).
    // Text is matched as UTF-8, binary as Latin-1, for the regex. Control frames never match a message
    // rule that names a type; with type "any" they do.
    bool matchesMessage(capture::Direction from, quint8 opcode, QByteArrayView payload) const;
    // Whether it can apply to messages sent by `from` at all (ignores payload).
    bool matchesSender(capture::Direction from) const;
};

// RegexReplace on one payload: every match of pattern replaced by `with`, with $1..$99 expanded to the
// groups (empty when a group did not take part) and $$ to '$'. Text payloads are treated as UTF-8.
QByteArray regexReplace(const QRegularExpression &pattern, const QString &with, QByteArrayView payload);

// Respond's template filled from the matched message: `value` is its decoded value (or its payload as
// JSON; undefined when it is neither). nullopt with `why` when a path is not in the message.
std::optional<QByteArray> fillTemplate(const Rule &rule, const QJsonValue &value, QByteArrayView payload,
                                       QString *why);
// The {{...}} placeholders of a template: a sentence for the first that is not a JSON path or a group the
// regex has, or empty.
QString templateError(const QByteArray &payload, const QRegularExpression &regex, bool hasRegex);
// What a fault rule does, for notes: "close 4001 'bye' toward the client (at matching message 3)".
QString faultText(const Rule &rule);
// A delay rule's delay for one message: delayMs with its jitter drawn (0 to ten minutes).
int drawDelay(const Rule &rule);

struct RuleSet
{
    std::vector<Rule> rules;

    bool isEmpty() const { return rules.empty(); }
    // Parses the rules JSON (docs/rules.md). On failure returns nullopt and sets *error to a precise
    // sentence naming the rule (1-based) and field: "rule 2: field 'action': unknown action 'explode'
    // (expected drop, delay, replace, regex-replace, hold, set-header or remove-header)".
    static std::optional<RuleSet> fromJson(QByteArrayView json, QString *error);
    // Reads and parses a file; errors start with the file name: "rules.json: rule 2: ...".
    static std::optional<RuleSet> load(const QString &file, QString *error);
    // The same JSON shape fromJson reads (round trip: fromJson(toJson()) gives equal rules).
    QJsonObject toJson() const;
    // Rules with Action::Hold, which need a person to release what they hold.
    bool hasHoldRules() const;
};

// One rule as the rules JSON writes it: two rules that write the same are the same rule.
QJsonObject ruleJson(const Rule &rule);

// Where a mock rule's mock listens (on loopback), or why it does not: set by whoever serves the mocks
// (core/replay's MockHost) when the rules change. Keyed by mockKey().
struct MockRoute
{
    quint16 port = 0; // 0: not serving, `error` says why
    QString label; // "mock of FILE session N": what the session records say
    QString error;
};
QString mockKey(const Rule &rule); // the file, session and options: rules that agree share one mock

// Handshake header rules applied to a head in place. Returns one note per rule that changed something
// ("rule 3: set X-Debug: 1 on the request").
QStringList applyHeaderRules(const RuleSet &rules, HeadSide side, QByteArrayView host, QByteArrayView path,
                             http::Headers &headers);

} // namespace socktap::intercept
