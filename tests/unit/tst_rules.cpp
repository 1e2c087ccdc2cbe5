// Rules: the JSON of docs/rules.md (every action, every refusal with its exact sentence, the round trip),
// what a rule matches (anchored globs, sender, type, payload, regex) and what the pure helpers do
// (regexReplace's $N expansion, applyHeaderRules on request and response heads).
#include "core/intercept/Interceptor.h"
#include "core/intercept/Rule.h"

#include <QJsonDocument>
#include <QTemporaryDir>
#include <QTest>

using namespace socktap;
using namespace socktap::intercept;
using capture::Direction;

namespace {

constexpr Direction FromClient = Direction::ClientToServer;
constexpr Direction FromServer = Direction::ServerToClient;

// {"rules": [ruleObjects]}: most rows only care about the rules.
// The JSON is mostly in raw strings, which Qt 6.4's moc scans as ordinary ones: inside them a JSON string
// must not hold an unbalanced bracket, "/*" or \", or moc loses the class. The few that must are plain
// literals, or spell the quote as \u0022.
QByteArray withRules(const QByteArray &ruleObjects)
{
    return "{\"rules\": [" + ruleObjects + "]}";
}

// One rule parsed from its JSON object, failing the test (with the parser's error) when it is refused.
Rule parseOne(const QByteArray &ruleObject)
{
    QString error;
    const auto set = RuleSet::fromJson(withRules(ruleObject), &error);
    if (!set || set->rules.size() != 1)
        qFatal("rule refused: %s: %s", ruleObject.constData(), qPrintable(error));
    return set->rules.front();
}

QString refusal(const QByteArray &json)
{
    QString error;
    const auto set = RuleSet::fromJson(json, &error);
    return set ? QStringLiteral("(accepted)") : error;
}

// Field by field, because Rule has no operator== (and QRegularExpression compares by pattern anyway).
bool sameRule(const Rule &a, const Rule &b)
{
    const Match &m = a.match;
    const Match &n = b.match;
    return a.name == b.name && a.enabled == b.enabled && a.action == b.action && a.delayMs == b.delayMs
        && a.payload == b.payload && a.patternText == b.patternText
        && a.pattern.pattern() == b.pattern.pattern() && a.with == b.with && a.headerName == b.headerName
        && a.headerValue == b.headerValue && a.on == b.on && a.continueAfter == b.continueAfter
        && m.host == n.host && m.path == n.path && m.sender == n.sender && m.type == n.type
        && m.payload == n.payload && m.regexText == n.regexText && m.regex.pattern() == n.regex.pattern()
        && m.format == n.format && m.decodedTexts == n.decodedTexts && m.decoded.size() == n.decoded.size()
        && a.fieldPathText == b.fieldPathText && a.fieldPath == b.fieldPath && a.fieldValue == b.fieldValue;
}

http::Headers headers(std::initializer_list<std::pair<QByteArray, QByteArray>> fields)
{
    http::Headers h;
    for (const auto &[name, value] : fields)
        h.append(name, value);
    return h;
}

QByteArray wire(const http::Headers &h)
{
    QByteArray out;
    for (const http::HeaderField &f : h.fields())
        out += f.name + ": " + f.value + "\n";
    return out;
}

} // namespace

class TestRules final : public QObject
{
    Q_OBJECT

private slots:
    void actionNames()
    {
        QCOMPARE(actionName(Action::Drop), "drop");
        QCOMPARE(actionName(Action::Delay), "delay");
        QCOMPARE(actionName(Action::Replace), "replace");
        QCOMPARE(actionName(Action::RegexReplace), "regex-replace");
        QCOMPARE(actionName(Action::Hold), "hold");
        QCOMPARE(actionName(Action::SetHeader), "set-header");
        QCOMPARE(actionName(Action::RemoveHeader), "remove-header");
        QCOMPARE(actionName(Action::SetField), "set-field");
    }

    void defaults()
    {
        const Rule r = parseOne(R"({"action": "drop"})");
        QCOMPARE(r.action, Action::Drop);
        QVERIFY(r.enabled);
        QVERIFY(!r.continueAfter);
        QVERIFY(r.name.isEmpty());
        QCOMPARE(r.match.sender, SenderMatch::Both);
        QCOMPARE(r.match.type, TypeMatch::Any);
        QVERIFY(r.match.host.isEmpty() && r.match.path.isEmpty() && r.match.payload.isEmpty());
        QVERIFY(r.match.regexText.isEmpty());
        QVERIFY(!r.isHeaderRule());

        QString error;
        const auto empty = RuleSet::fromJson(R"({"rules": []})", &error);
        QVERIFY2(empty, qPrintable(error));
        QVERIFY(empty->isEmpty());
    }

    void parseEveryAction()
    {
        const Rule drop = parseOne(R"({"name": "no pings", "enabled": false, "continue": true,
            "match": {"host": "*.example.com", "path": "/chat*", "direction": "server", "type": "binary",
                      "payload": "ping", "regex": "p(i)ng"},
            "action": "drop"})");
        QCOMPARE(drop.action, Action::Drop);
        QCOMPARE(drop.name, QStringLiteral("no pings"));
        QVERIFY(!drop.enabled);
        QVERIFY(drop.continueAfter);
        QCOMPARE(drop.match.host, QStringLiteral("*.example.com"));
        QCOMPARE(drop.match.path, QStringLiteral("/chat*"));
        QCOMPARE(drop.match.sender, SenderMatch::Server);
        QCOMPARE(drop.match.type, TypeMatch::Binary);
        QCOMPARE(drop.match.payload, QByteArray("ping"));
        QCOMPARE(drop.match.regexText, QStringLiteral("p(i)ng"));
        QVERIFY(drop.match.regex.isValid());
        QCOMPARE(drop.match.regex.pattern(), QStringLiteral("p(i)ng"));

        const Rule delay = parseOne(R"({"match": {"direction": "client", "type": "text"},
                                        "action": "delay", "ms": 500})");
        QCOMPARE(delay.action, Action::Delay);
        QCOMPARE(delay.delayMs, 500);
        QCOMPARE(delay.match.sender, SenderMatch::Client);
        QCOMPARE(delay.match.type, TypeMatch::Text);
        QCOMPARE(parseOne(R"({"action": "delay", "ms": 0})").delayMs, 0);
        QCOMPARE(parseOne(R"({"action": "delay", "ms": 600000})").delayMs, 600000);
        QCOMPARE(parseOne(R"({"action": "delay", "ms": 2.0})").delayMs, 2); // JSON has no integers

        const Rule replace =
            parseOne(R"({"action": "replace", "payload": "{\u0022ok\u0022: \u0022é\u0022}"})");
        QCOMPARE(replace.action, Action::Replace);
        QCOMPARE(replace.payload, QByteArray("{\"ok\": \"\xc3\xa9\"}")); // UTF-8
        QCOMPARE(parseOne(R"({"action": "replace", "payload": ""})").payload, QByteArray());

        const Rule rx =
            parseOne(R"j({"action": "regex-replace", "pattern": "token=(\\w+)", "with": "token=[$1]"})j");
        QCOMPARE(rx.action, Action::RegexReplace);
        QCOMPARE(rx.patternText, QStringLiteral("token=(\\w+)"));
        QVERIFY(rx.pattern.isValid());
        QCOMPARE(rx.pattern.pattern(), rx.patternText);
        QCOMPARE(rx.with, QStringLiteral("token=[$1]"));

        const Rule hold = parseOne(R"({"match": {"regex": "secret"}, "action": "hold"})");
        QCOMPARE(hold.action, Action::Hold);

        const Rule set = parseOne(R"({"match": {"host": "api.test"}, "action": "set-header",
                                      "name": "X-Debug", "value": "1"})");
        QCOMPARE(set.action, Action::SetHeader);
        QVERIFY(set.isHeaderRule());
        QCOMPARE(set.headerName, QByteArray("X-Debug"));
        QCOMPARE(set.headerValue, QByteArray("1"));
        QCOMPARE(set.on, HeadSide::Request);
        QVERIFY(set.name.isEmpty()); // "name" is the header's name here

        const Rule remove = parseOne(R"({"action": "remove-header", "name": "Sec-WebSocket-Protocol",
                                         "on": "response"})");
        QCOMPARE(remove.action, Action::RemoveHeader);
        QVERIFY(remove.isHeaderRule());
        QCOMPARE(remove.headerName, QByteArray("Sec-WebSocket-Protocol"));
        QCOMPARE(remove.on, HeadSide::Response);
        QCOMPARE(parseOne(R"({"action": "remove-header", "name": "A", "on": "request"})").on,
                 HeadSide::Request);
    }

    void headerRuleWithLabel()
    {
        // "header" holds the header's name so that "name" can be the label.
        const Rule r = parseOne(R"({"name": "no cookies", "action": "remove-header", "header": "Cookie"})");
        QCOMPARE(r.name, QStringLiteral("no cookies"));
        QCOMPARE(r.headerName, QByteArray("Cookie"));
        QCOMPARE(r.label(4), QStringLiteral("rule 4 'no cookies'"));
    }

    void parseErrors_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("error");
        const QByteArray ok = R"({"action": "drop"}, )";

        // The document.
        QTest::newRow("top level array") << QByteArray("[]")
                                         << "expected a JSON object with a 'rules' array at the top level, "
                                            "found an array";
        QTest::newRow("no rules") << QByteArray("{}") << "the top-level object has no 'rules' array";
        QTest::newRow("rules not array") << QByteArray(R"({"rules": {"action": "drop"}})")
                                         << "field 'rules': expected an array of rules, found an object";
        QTest::newRow("unknown top-level field") << QByteArray(R"({"rules": [], "rulez": []})")
                                                 << "unknown top-level field 'rulez' (expected only 'rules')";
        QTest::newRow("rule not object")
            << withRules(ok + "\"drop\"") << "rule 2: expected an object, found a string";

        // Fields and values nobody knows.
        QTest::newRow("unknown rule field")
            << withRules(R"({"action": "drop", "mtach": {}})")
            << "rule 1: field 'mtach': unknown field (expected name, enabled, "
               "continue, match, action, ms, payload, "
               "pattern, with, header, value, on, holdPingPong, path, base64, forward, status, retryAfter, "
               "times, reset, code, reason, toward, stop, afterMessages, afterMs, jitterMs, spread, "
               "bytesPerSecond, file, session, timing, matchBy or handshake)";
        QTest::newRow("unknown match field")
            << withRules(ok + R"({"action": "drop", "match": {"hots": "a"}})")
            << "rule 2: field 'match.hots': unknown field (expected host, path, "
               "direction, type, payload, regex, format, decoded, event, method or topic)";
        QTest::newRow("unknown action") << withRules(ok + R"({"action": "explode"})")
                                        << "rule 2: field 'action': unknown action 'explode' (expected drop, "
                                           "delay, replace, regex-replace, "
                                           "hold, set-header, remove-header, set-field, respond, echo, "
                                           "refuse, close, reset, stall, throttle or mock)";
        QTest::newRow("missing action") << withRules(R"({"name": "x"})")
                                        << "rule 1: field 'action': missing (every rule needs one of drop, "
                                           "delay, replace, regex-replace, "
                                           "hold, set-header, remove-header, set-field, respond, echo, "
                                           "refuse, close, reset, stall, throttle or mock)";
        QTest::newRow("unknown format") << withRules(R"({"action": "drop", "match": {"format": "socketio"}})")
                                        << "rule 1: field 'match.format': unknown format 'socketio' "
                                           "(expected socket.io, engine.io, signalr, mqtt, "
                                           "sockjs, stomp, graphql-transport-ws, graphql-ws, phoenix, "
                                           "actioncable, wamp, json-rpc, msgpack, cbor, "
                                           "protobuf or json)";
        QTest::newRow("not a query") << withRules(R"({"action": "drop", "match": {"decoded": ["chat"]}})")
                                     << "rule 1: field 'match.decoded': 'chat' is not a query (expected "
                                        "FIELD:VALUE or $.path[=VALUE], "
                                        "docs/formats.md)";
        QTest::newRow("decoded not strings") << withRules(R"({"action": "drop", "match": {"decoded": [1]}})")
                                             << "rule 1: field 'match.decoded': expected strings (queries)";
        QTest::newRow("decoded on a header rule")
            << withRules(R"({"action": "remove-header", "name": "A", "match": {"event": "x"}})")
            << "rule 1: field 'match.event': handshake rules (set-header, remove-header, refuse, mock) match "
               "only "
               "host and path";
        QTest::newRow("refuse with a status out of range")
            << withRules(R"({"action": "refuse", "status": 101, "match": {"path": "/ws"}})")
            << "rule 1: field 'status': 101 is out of range (expected 400 to 599)";
        QTest::newRow("refuse with a negative count")
            << withRules(R"({"action": "refuse", "times": -1})")
            << "rule 1: field 'times': -1 is out of range (expected 1 to 1000000)";
        QTest::newRow("refuse with a reset and a status")
            << withRules(R"({"action": "refuse", "reset": true, "status": 503})")
            << "rule 1: field 'reset': a reset sends no status: give one of them";
        QTest::newRow("mock without file")
            << withRules(R"({"action": "mock"})")
            << "rule 1: field 'file': missing (action 'mock' needs the capture "
               "whose session answers)";
        QTest::newRow("mock bad timing")
            << withRules(R"({"action": "mock", "file": "a.socktap", "timing": "slow"})")
            << "rule 1: field 'timing': 'slow': expected fast, original or conversation";
        QTest::newRow("mock bad session")
            << withRules(R"({"action": "mock", "file": "a.socktap", "session": 0})")
            << "rule 1: field 'session': 0 is out of range (expected 1 to 1073741824)";
        QTest::newRow("refuse matching a message")
            << withRules(R"({"action": "refuse", "match": {"direction": "client"}})")
            << "rule 1: field 'match.direction': handshake rules (set-header, remove-header, refuse, mock) "
               "match "
               "only "
               "host and path";
        QTest::newRow("set-field without path")
            << withRules(R"({"action": "set-field", "value": 1})")
            << "rule 1: field 'path': missing (action 'set-field' needs it)";
        QTest::newRow("set-field without value")
            << withRules(R"({"action": "set-field", "path": "$.a"})")
            << "rule 1: field 'value': missing (action 'set-field' needs it)";
        QTest::newRow("set-field bad path")
            << withRules(R"({"action": "set-field", "path": "args.0", "value": 1})")
            << "rule 1: field 'path': 'args.0' is not a JSON path into the decoded value (like "
               "$.args[0].price)";
        QTest::newRow("unknown direction")
            << withRules(R"({"action": "drop", "match": {"direction": "up"}})")
            << "rule 1: field 'match.direction': unknown direction 'up' (expected client, server or both)";
        QTest::newRow("unknown type")
            << withRules(R"({"action": "drop", "match": {"type": "TEXT"}})")
            << "rule 1: field 'match.type': unknown type 'TEXT' (expected text, binary "
               "or any)";
        QTest::newRow("unknown on")
            << withRules(R"({"action": "remove-header", "name": "A", "on": "both"})")
            << "rule 1: field 'on': unknown head 'both' (expected request or response)";
        QTest::newRow("field of another action")
            << withRules(R"({"action": "drop", "ms": 5})") << "rule 1: field 'ms': not used by action 'drop'";
        QTest::newRow("message match on header rule")
            << withRules(R"({"action": "set-header", "name": "A", "value": "b", "match": {"type": "text"}})")
            << "rule 1: field 'match.type': handshake rules (set-header, remove-header, refuse, mock) match "
               "only "
               "host and path";

        // Wrong JSON types, one row per kind of field.
        QTest::newRow("string field: action")
            << withRules(R"({"action": 1})") << "rule 1: field 'action': expected a string";
        QTest::newRow("string field: direction")
            << withRules(R"({"action": "drop", "match": {"direction": 1}})")
            << "rule 1: field 'match.direction': expected a string";
        QTest::newRow("string field: host") << withRules(R"({"action": "drop", "match": {"host": null}})")
                                            << "rule 1: field 'match.host': expected a string";
        QTest::newRow("string field: name")
            << withRules(R"({"action": "drop", "name": ["x"]})") << "rule 1: field 'name': expected a string";
        QTest::newRow("string field: payload") << withRules(R"({"action": "replace", "payload": {}})")
                                               << "rule 1: field 'payload': expected a string";
        QTest::newRow("string field: with")
            << withRules(R"({"action": "regex-replace", "pattern": "a", "with": 3})")
            << "rule 1: field 'with': expected a string";
        QTest::newRow("bool field: enabled") << withRules(R"({"action": "drop", "enabled": "yes"})")
                                             << "rule 1: field 'enabled': expected true or false";
        QTest::newRow("bool field: continue") << withRules(R"({"action": "drop", "continue": 1})")
                                              << "rule 1: field 'continue': expected true or false";
        QTest::newRow("object field: match")
            << withRules(R"({"action": "drop", "match": []})") << "rule 1: field 'match': expected an object";
        QTest::newRow("number field: ms as string")
            << withRules(ok + ok + R"({"action": "delay", "ms": "500"})")
            << "rule 3: field 'ms': expected a whole number of milliseconds";
        QTest::newRow("number field: fractional ms")
            << withRules(ok + ok + R"({"action": "delay", "ms": 1.5})")
            << "rule 3: field 'ms': expected a whole number of milliseconds";

        // Values out of range.
        QTest::newRow("negative ms")
            << withRules(R"({"action": "delay", "ms": -1})")
            << "rule 1: field 'ms': -1 is out of range (expected 0 to 600000 milliseconds)";
        QTest::newRow("huge ms") << withRules(R"({"action": "delay", "ms": 600001})")
                                 << "rule 1: field 'ms': 600001 is out of range (expected 0 to 600000 "
                                    "milliseconds)";
        QTest::newRow("enormous ms") << withRules(R"({"action": "delay", "ms": 1e300})")
                                     << "rule 1: field 'ms': 1e+300 is out of range (expected 0 to 600000 "
                                        "milliseconds)";

        // Regular expressions.
        QTest::newRow("bad match regex")
            << withRules("{\"action\": \"drop\", \"match\": {\"regex\": \"(\"}}")
            << "rule 1: field 'match.regex': invalid regular expression '(': missing "
               "closing parenthesis at offset 1";
        QTest::newRow("bad pattern") << withRules(
            "{\"action\": \"regex-replace\", \"pattern\": \"a[\", \"with\": \"\"}")
                                     << "rule 1: field 'pattern': invalid regular expression 'a[': missing "
                                        "terminating ] for character class at offset 2";
        QTest::newRow("empty pattern")
            << withRules(R"({"action": "regex-replace", "pattern": "", "with": "x"})")
            << "rule 1: field 'pattern': empty (it would match between every character)";
        QTest::newRow("group the pattern lacks")
            << withRules(R"j({"action": "regex-replace", "pattern": "(a)(b)", "with": "$2$3"})j")
            << "rule 1: field 'with': $3 refers to a group the pattern does not have (it has 2 groups)";
        QTest::newRow("group without groups")
            << withRules(R"({"action": "regex-replace", "pattern": "ab", "with": "[$1]"})")
            << "rule 1: field 'with': $1 refers to a group the pattern does not have (it has no groups)";

        // Required fields.
        QTest::newRow("delay without ms")
            << withRules(R"({"action": "delay"})") << "rule 1: field 'ms': missing (action 'delay' needs it)";
        QTest::newRow("replace without payload")
            << withRules(R"({"action": "replace"})")
            << "rule 1: field 'payload': missing (action 'replace' needs it)";
        QTest::newRow("regex-replace without pattern")
            << withRules(R"({"action": "regex-replace", "with": "x"})")
            << "rule 1: field 'pattern': missing (action 'regex-replace' needs it)";
        QTest::newRow("regex-replace without with")
            << withRules(R"({"action": "regex-replace", "pattern": "x"})")
            << "rule 1: field 'with': missing (action 'regex-replace' needs it)";
        QTest::newRow("set-header without name")
            << withRules(R"({"action": "set-header", "value": "1"})")
            << "rule 1: field 'name': missing (action 'set-header' needs the header's name)";
        QTest::newRow("set-header without value")
            << withRules(R"({"action": "set-header", "name": "X-Debug"})")
            << "rule 1: field 'value': missing (action 'set-header' needs it)";
        QTest::newRow("remove-header without name")
            << withRules(R"({"action": "remove-header"})")
            << "rule 1: field 'name': missing (action 'remove-header' needs the header's name)";

        // Headers that would break the head.
        QTest::newRow("bad header name") << withRules(R"({"action": "remove-header", "name": "X Debug"})")
                                         << "rule 1: field 'name': 'X Debug' is not a valid header name";
        QTest::newRow("bad header field name")
            << withRules(R"({"action": "remove-header", "name": "label", "header": "A:B"})")
            << "rule 1: field 'header': 'A:B' is not a valid header name";
        QTest::newRow("header value with CRLF")
            << withRules(R"({"action": "set-header", "name": "A", "value": "1\r\nEvil: yes"})")
            << "rule 1: field 'value': a header value cannot contain CR, LF or NUL";
    }

    void parseErrors()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, error);
        QCOMPARE(refusal(json), error);
    }

    void invalidJson_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("position");
        QTest::newRow("unclosed array")
            << QByteArray("{\"rules\": [\n  {\"action\": \"drop\"}\n") << "line 3";
        QTest::newRow("trailing comma") << QByteArray("{\"rules\": [{\"action\": \"drop\"},]}") << "line 1";
        QTest::newRow("empty file") << QByteArray() << "line 1, column 1 (offset 0)";
        QTest::newRow("not JSON") << QByteArray("rules: []") << "line 1, column 2 (offset 1)";
    }

    void invalidJson()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, position);
        QJsonParseError expected;
        QVERIFY(QJsonDocument::fromJson(json, &expected).isNull());
        const QString error = refusal(json);
        QVERIFY2(error.startsWith(QStringLiteral("invalid JSON at line ")), qPrintable(error));
        QVERIFY2(error.contains(position), qPrintable(error));
        QVERIFY2(error.contains(QStringLiteral("(offset %1)").arg(expected.offset)), qPrintable(error));
        QVERIFY2(error.endsWith(QStringLiteral(": ") + expected.errorString()), qPrintable(error));
    }

    void load()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString good = dir.filePath(QStringLiteral("good.json"));
        const QString bad = dir.filePath(QStringLiteral("bad.json"));
        for (const auto &[path, text] :
             {std::pair {good, QByteArray(R"({"rules": [{"action": "hold"}]})")},
              std::pair {bad, QByteArray(R"({"rules": [{"action": "explode"}]})")}}) {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(text);
        }
        QString error;
        const auto set = RuleSet::load(good, &error);
        QVERIFY2(set, qPrintable(error));
        QCOMPARE(set->rules.size(), size_t(1));
        QCOMPARE(set->rules[0].action, Action::Hold);

        QVERIFY(!RuleSet::load(bad, &error));
        QVERIFY2(error.startsWith(bad + QStringLiteral(": rule 1: field 'action': unknown action 'explode'")),
                 qPrintable(error));

        const QString missing = dir.filePath(QStringLiteral("missing.json"));
        QVERIFY(!RuleSet::load(missing, &error));
        QFile probe(missing);
        QVERIFY(!probe.open(QIODevice::ReadOnly));
        QCOMPARE(error, missing + QStringLiteral(": ") + probe.errorString());
    }

    void roundTrip()
    {
        const QByteArray json = withRules(R"j(
            {"name": "no pings", "match": {"direction": "server", "type": "binary", "payload": "p"}, "action": "drop"},
            {"enabled": false, "match": {"host": "*.Example.com", "path": "/a/b*?x=*"}, "action": "delay", "ms": 0},
            {"continue": true, "match": {"regex": "^\\{.*\\}$"}, "action": "replace", "payload": "{\u0022é\u0022: 1}"},
            {"action": "regex-replace", "pattern": "(\\w+)=(\\d+)", "with": "$2=$1 $$ $"},
            {"match": {"direction": "client"}, "action": "hold"},
            {"match": {"host": "h", "path": "/p"}, "action": "set-header", "name": "X-Debug", "value": "1"},
            {"name": "no protocol", "action": "remove-header", "header": "Sec-WebSocket-Protocol", "on": "response"},
            {"action": "set-header", "name": "X-Empty", "value": "", "on": "response", "continue": true},
            {"match": {"format": "socket.io", "decoded": ["event:chat", "$.args[0].price"]}, "action": "set-field",
             "path": "$.args[0].price", "value": {"n": [1, "two"]}},
            {"match": {"host": "api.test"}, "action": "mock", "file": "c.socktap", "session": 2, "timing": "fast",
             "matchBy": "content"},
            {"action": "mock", "file": "d.socktap"}
        )j");
        QString error;
        const auto first = RuleSet::fromJson(json, &error);
        QVERIFY2(first, qPrintable(error));
        const QJsonObject written = first->toJson();
        const auto second = RuleSet::fromJson(QJsonDocument(written).toJson(), &error);
        QVERIFY2(second, qPrintable(error));
        QCOMPARE(second->rules.size(), first->rules.size());
        for (size_t i = 0; i < first->rules.size(); ++i)
            QVERIFY2(sameRule(first->rules[i], second->rules[i]),
                     qPrintable(QStringLiteral("rule %1").arg(i + 1)));
        QCOMPARE(second->toJson(), written);
    }

    void toJsonOmitsDefaults()
    {
        RuleSet set;
        set.rules.push_back(parseOne(R"({"action": "drop"})"));
        set.rules.push_back(parseOne(R"({"action": "remove-header", "name": "Cookie"})"));
        const QByteArray compact = QJsonDocument(set.toJson()).toJson(QJsonDocument::Compact);
        QCOMPARE(compact,
                 QByteArray(R"({"rules":[{"action":"drop"},{"action":"remove-header","name":"Cookie"}]})"));
    }

    void globs_data()
    {
        QTest::addColumn<QString>("hostGlob");
        QTest::addColumn<QString>("pathGlob");
        QTest::addColumn<QByteArray>("host");
        QTest::addColumn<QByteArray>("path");
        QTest::addColumn<bool>("matches");

        QTest::newRow("empty globs match anything") << ""
                                                    << "" << QByteArray("x.test") << QByteArray("/") << true;
        QTest::newRow("exact host") << "example.com"
                                    << "" << QByteArray("example.com") << QByteArray("/") << true;
        QTest::newRow("host case-insensitive") << "Example.COM"
                                               << "" << QByteArray("eXample.com") << QByteArray("/") << true;
        QTest::newRow("subdomain star") << "*.example.com"
                                        << "" << QByteArray("api.example.com") << QByteArray("/") << true;
        QTest::newRow("star spans dots") << "*.example.com"
                                         << "" << QByteArray("a.b.example.com") << QByteArray("/") << true;
        QTest::newRow("anchored at the end")
            << "*.example.com"
            << "" << QByteArray("example.com.evil") << QByteArray("/") << false;
        QTest::newRow("anchored suffix")
            << "*.example.com"
            << "" << QByteArray("api.example.com.evil") << QByteArray("/") << false;
        QTest::newRow("star needs the dot") << "*.example.com"
                                            << "" << QByteArray("example.com") << QByteArray("/") << false;
        QTest::newRow("anchored at the start")
            << "example.com"
            << "" << QByteArray("evilexample.com") << QByteArray("/") << false;
        QTest::newRow("dot is literal") << "a.b"
                                        << "" << QByteArray("axb") << QByteArray("/") << false;
        QTest::newRow("star alone") << "*"
                                    << "" << QByteArray("anything") << QByteArray("/") << true;
        QTest::newRow("star in the middle") << "api-*.test"
                                            << "" << QByteArray("api-eu.test") << QByteArray("/") << true;
        QTest::newRow("star matches empty") << "api*.test"
                                            << "" << QByteArray("api.test") << QByteArray("/") << true;
        QTest::newRow("path star spans slashes")
            << ""
            << "/chat/*" << QByteArray("h") << QByteArray("/chat/a/b/c") << true;
        QTest::newRow("path star spans query")
            << ""
            << "/chat*" << QByteArray("h") << QByteArray("/chat?room=1") << true;
        QTest::newRow("path anchored") << ""
                                       << "/chat" << QByteArray("h") << QByteArray("/chat/more") << false;
        QTest::newRow("path anchored at start")
            << ""
            << "/chat" << QByteArray("h") << QByteArray("/x/chat") << false;
        QTest::newRow("path case-sensitive") << ""
                                             << "/Chat" << QByteArray("h") << QByteArray("/chat") << false;
        QTest::newRow("path query literal")
            << ""
            << "/s?token=*" << QByteArray("h") << QByteArray("/s?token=abc") << true;
        QTest::newRow("question mark is literal") << ""
                                                  << "/s?x" << QByteArray("h") << QByteArray("/sax") << false;
        QTest::newRow("brackets are literal") << ""
                                              << "/[ab]" << QByteArray("h") << QByteArray("/a") << false;
        QTest::newRow("brackets match themselves")
            << ""
            << "/[ab]" << QByteArray("h") << QByteArray("/[ab]") << true;
        QTest::newRow("regex characters are literal")
            << ""
            << "/a+(b)$" << QByteArray("h") << QByteArray("/a+(b)$") << true;
        QTest::newRow("several stars backtrack")
            << ""
            << "/*/x/*.js" << QByteArray("h") << QByteArray("/a/x/b/x/c.json.js") << true;
        QTest::newRow("several stars fail")
            << ""
            << "/*/x/*.js" << QByteArray("h") << QByteArray("/a/y/c.js") << false;
        QTest::newRow("both must match") << "*.test"
                                         << "/ok" << QByteArray("a.test") << QByteArray("/no") << false;
    }

    void globs()
    {
        QFETCH(QString, hostGlob);
        QFETCH(QString, pathGlob);
        QFETCH(QByteArray, host);
        QFETCH(QByteArray, path);
        QFETCH(bool, matches);
        Rule r;
        r.match.host = hostGlob;
        r.match.path = pathGlob;
        QCOMPARE(r.matchesTarget(host, path), matches);
        r.enabled = false;
        QVERIFY(!r.matchesTarget(host, path));
    }

    void senders()
    {
        Rule r;
        QVERIFY(r.matchesSender(FromClient));
        QVERIFY(r.matchesSender(FromServer));
        r.match.sender = SenderMatch::Client;
        QVERIFY(r.matchesSender(FromClient));
        QVERIFY(!r.matchesSender(FromServer));
        QVERIFY(r.matchesMessage(FromClient, 1, "x"));
        QVERIFY(!r.matchesMessage(FromServer, 1, "x"));
        r.match.sender = SenderMatch::Server;
        QVERIFY(!r.matchesSender(FromClient));
        QVERIFY(r.matchesSender(FromServer));
        QVERIFY(!r.matchesMessage(FromClient, 1, "x"));
        QVERIFY(r.matchesMessage(FromServer, 1, "x"));
    }

    void types_data()
    {
        QTest::addColumn<int>("type");
        QTest::addColumn<int>("opcode");
        QTest::addColumn<bool>("matches");
        const int any = int(TypeMatch::Any), text = int(TypeMatch::Text), binary = int(TypeMatch::Binary);
        QTest::newRow("any text") << any << 1 << true;
        QTest::newRow("any binary") << any << 2 << true;
        QTest::newRow("any close") << any << 8 << true;
        QTest::newRow("any ping") << any << 9 << true;
        QTest::newRow("any pong") << any << 10 << true;
        QTest::newRow("text text") << text << 1 << true;
        QTest::newRow("text binary") << text << 2 << false;
        QTest::newRow("text ping") << text << 9 << false;
        QTest::newRow("text close") << text << 8 << false;
        QTest::newRow("binary binary") << binary << 2 << true;
        QTest::newRow("binary text") << binary << 1 << false;
        QTest::newRow("binary pong") << binary << 10 << false;
    }

    void types()
    {
        QFETCH(int, type);
        QFETCH(int, opcode);
        QFETCH(bool, matches);
        Rule r;
        r.match.type = TypeMatch(type);
        QCOMPARE(r.matchesMessage(FromServer, quint8(opcode), "payload"), matches);
    }

    void payloadAndRegex()
    {
        Rule r = parseOne(R"({"match": {"payload": "tok"}, "action": "drop"})");
        QVERIFY(r.matchesMessage(FromClient, 1, "a token"));
        QVERIFY(!r.matchesMessage(FromClient, 1, "a TOKEN")); // a byte substring: case counts
        QVERIFY(r.matchesMessage(FromClient, 2, QByteArray("\x00tok\xff", 5)));
        QVERIFY(!r.matchesMessage(FromClient, 1, ""));

        // Non-ASCII substrings compare as UTF-8 bytes.
        r = parseOne(R"({"match": {"payload": "é"}, "action": "drop"})");
        QVERIFY(r.matchesMessage(FromClient, 1, "caf\xc3\xa9"));
        QVERIFY(!r.matchesMessage(FromClient, 2, "caf\xe9"));

        // The regex searches anywhere; text is read as UTF-8, so "é" is one character.
        r = parseOne(R"({"match": {"regex": "^caf.$"}, "action": "drop"})");
        QVERIFY(r.matchesMessage(FromClient, 1, "caf\xc3\xa9"));
        QVERIFY(!r.matchesMessage(FromClient, 2, "caf\xc3\xa9")); // binary: Latin-1, two characters
        QVERIFY(r.matchesMessage(FromClient, 2, "caf\xe9"));
        r = parseOne(R"({"match": {"regex": "\\x{e9}"}, "action": "drop"})");
        QVERIFY(r.matchesMessage(FromClient, 2, QByteArray("\x01\xe9\x02", 3)));
        QVERIFY(r.matchesMessage(FromClient, 1, "caf\xc3\xa9"));
        QVERIFY(!r.matchesMessage(FromClient, 1, "cafe"));
        r = parseOne(R"j({"match": {"regex": "id\u0022:\\s*(\\d+)"}, "action": "drop"})j");
        QVERIFY(r.matchesMessage(FromServer, 1, R"({"x": 1, "id": 42})"));
        QVERIFY(!r.matchesMessage(FromServer, 1, R"({"id": "42"})"));

        // Payload and regex must both match; control frames match when the type is "any".
        r = parseOne(R"({"match": {"payload": "a", "regex": "b$"}, "action": "drop"})");
        QVERIFY(r.matchesMessage(FromClient, 1, "ab"));
        QVERIFY(!r.matchesMessage(FromClient, 1, "ba"));
        QVERIFY(!r.matchesMessage(FromClient, 1, "b"));
        QVERIFY(r.matchesMessage(FromServer, 9, "ab"));

        // A rule built in code with only the text still matches by it.
        Rule coded;
        coded.match.regexText = QStringLiteral("^x");
        QVERIFY(coded.matchesMessage(FromClient, 1, "xy"));
        QVERIFY(!coded.matchesMessage(FromClient, 1, "yx"));
    }

    void rulesOnWhatMessagesMean()
    {
        // A Socket.IO session: a set-field rule edits an event's argument and the message is re-encoded
        // in its framing; decoded conditions pick the event; what cannot be re-encoded is forwarded as it
        // came, with a note saying why.
        QString error;
        const auto set = RuleSet::fromJson(withRules(R"(
            {"name": "reprice", "match": {"direction": "client", "event": "order"}, "action": "set-field",
             "path": "$.args[0].price", "value": 99},
            {"match": {"format": "socket.io", "decoded": "$.args[0].secret"}, "action": "drop"},
            {"match": {"format": "engine.io"}, "action": "delay", "ms": 5}
        )"),
                                           &error);
        QVERIFY2(set, qPrintable(error));
        auto rules = std::make_shared<const RuleSet>(*set);
        intercept::Interceptor session(rules, "h", "/socket.io/?EIO=4&transport=websocket");
        QVERIFY(session.gates(FromClient));
        Verdict v = session.decide(FromClient, 1, R"(421["order",{"price":10,"qty":2}])");
        QVERIFY(v.payload);
        QCOMPARE(*v.payload, QByteArray(R"(421["order",{"price":99,"qty":2}])"));
        QCOMPARE(v.note(), QStringLiteral("rule 1 'reprice': set-field"));
        v = session.decide(FromClient, 1, R"(42["chat",{"secret":1}])");
        QVERIFY(v.drop);
        v = session.decide(FromServer, 1, "2"); // an Engine.IO ping: format engine.io
        QCOMPARE(v.delayMs, 5);
        v = session.decide(FromClient, 1, R"(42["chat",{"text":"hi"}])"); // no rule's conditions
        QVERIFY(v.forwardsAsIs());
        // A binary event matches but cannot be re-encoded: forwarded as it came, and said.
        v = session.decide(FromClient, 1, R"(451-["order",{"price":1},{"_placeholder":true,"num":0}])");
        QVERIFY(!v.payload && !v.drop);
        QVERIFY2(v.note().contains("set-field not applied: socket.io: only text events and acks"),
                 qPrintable(v.note()));
        // The path is not in the message: the same.
        v = session.decide(FromClient, 1, R"(42["order","no object"])");
        QVERIFY2(v.note().contains("$.args[0].price is not in this message"), qPrintable(v.note()));
        // A session of another format: the event shorthand finds no "event" field.
        intercept::Interceptor rpc(rules, "h", "/rpc", "jsonrpc");
        QVERIFY(rpc.decide(FromClient, 1, R"({"jsonrpc":"2.0","method":"order","id":1})").forwardsAsIs());
    }

    void headerAndDisabledRulesMatchNoMessage()
    {
        const Rule header = parseOne(R"({"action": "set-header", "name": "A", "value": "1"})");
        QVERIFY(!header.matchesMessage(FromClient, 1, "x"));
        QVERIFY(!header.matchesMessage(FromServer, 2, "x"));
        QVERIFY(!header.matchesSender(FromClient));
        QVERIFY(header.matchesTarget("any.test", "/"));

        const Rule disabled = parseOne(R"({"enabled": false, "action": "drop"})");
        QVERIFY(!disabled.matchesMessage(FromClient, 1, "x"));
        QVERIFY(!disabled.matchesSender(FromClient));
        QVERIFY(!disabled.matchesSender(FromServer));
        QVERIFY(!disabled.matchesTarget("any.test", "/"));
    }

    void labels()
    {
        Rule r;
        QCOMPARE(r.label(2), QStringLiteral("rule 2"));
        r.name = QStringLiteral("strip tokens");
        QCOMPARE(r.label(2), QStringLiteral("rule 2 'strip tokens'"));
        r.name = QStringLiteral("%1 odd");
        QCOMPARE(r.label(7), QStringLiteral("rule 7 '%1 odd'"));
    }

    void faultCountsSurviveAnEditThatKeepsTheRule()
    {
        // A close at the client's third message: two messages, then the rules are edited (another rule
        // added); the kept rule fires at the third message all the same, an edited one starts again.
        QString error;
        const auto first = RuleSet::fromJson(
            withRules(
                R"({"match": {"direction": "client"}, "action": "close", "code": 4001, "afterMessages": 3})"),
            &error);
        QVERIFY2(first, qPrintable(error));
        intercept::Interceptor before(std::make_shared<const RuleSet>(*first), "h", "/");
        QVERIFY(before.decide(FromClient, 1, "a").faults.empty());
        QVERIFY(before.decide(FromClient, 1, "b").faults.empty());
        RuleSet edited = *first;
        edited.rules.insert(edited.rules.begin(),
                            *RuleSet::fromJson(withRules(R"({"action": "delay", "ms": 0,
            "match": {"direction": "server"}})"),
                                               &error)
                                 ->rules.begin());
        intercept::Interceptor after(std::make_shared<const RuleSet>(edited), "h", "/");
        after.keepCountsOf(before);
        QCOMPARE(after.decide(FromClient, 1, "c").faults.size(), size_t(1)); // the third
        RuleSet changed = *first;
        changed.rules.front().closeCode = 4002;
        intercept::Interceptor again(std::make_shared<const RuleSet>(changed), "h", "/");
        again.keepCountsOf(before);
        QVERIFY(again.decide(FromClient, 1, "c").faults.empty()); // counted afresh: its first
    }

    void hasHoldRules()
    {
        QString error;
        auto set =
            RuleSet::fromJson(withRules(R"({"action": "drop"}, {"action": "delay", "ms": 1})"), &error);
        QVERIFY2(set, qPrintable(error));
        QVERIFY(!set->hasHoldRules());
        set = RuleSet::fromJson(withRules(R"({"action": "drop"}, {"action": "hold"})"), &error);
        QVERIFY(set->hasHoldRules());
        // A disabled breakpoint holds nothing, so a headless start need not refuse it.
        set = RuleSet::fromJson(withRules(R"({"action": "hold", "enabled": false})"), &error);
        QVERIFY(!set->hasHoldRules());
    }

    void regexReplace_data()
    {
        QTest::addColumn<QString>("pattern");
        QTest::addColumn<QString>("with");
        QTest::addColumn<QByteArray>("payload");
        QTest::addColumn<QByteArray>("expected");

        QTest::newRow("plain") << "secret"
                               << "***" << QByteArray("a secret, another secret")
                               << QByteArray("a ***, another ***");
        QTest::newRow("$1") << "token=(\\w+)"
                            << "token=<$1>" << QByteArray("?token=abc&x=1") << QByteArray("?token=<abc>&x=1");
        QTest::newRow("swap groups") << "(\\w+)@(\\w+)"
                                     << "$2 at $1" << QByteArray("me@host, you@there")
                                     << QByteArray("host at me, there at you");
        QTest::newRow("$0 is the match") << "\\d+"
                                         << "[$0]" << QByteArray("a1b22") << QByteArray("a[1]b[22]");
        QTest::newRow("$$ is a dollar") << "(\\d+)"
                                        << "$$$1" << QByteArray("cost 5") << QByteArray("cost $5");
        QTest::newRow("lone dollar is literal") << "x"
                                                << "$ and $a" << QByteArray("x") << QByteArray("$ and $a");
        QTest::newRow("trailing dollar") << "x"
                                         << "y$" << QByteArray("x") << QByteArray("y$");
        QTest::newRow("group that did not take part")
            << "(a)|(b)"
            << "[$1|$2]" << QByteArray("ab") << QByteArray("[a|][|b]");
        QTest::newRow("group the pattern lacks") << "(a)"
                                                 << "<$1$7>" << QByteArray("a") << QByteArray("<a>");
        QTest::newRow("$10 with one group") << "(a)"
                                            << "$10" << QByteArray("a") << QByteArray("a0");
        QTest::newRow("$10 with ten groups") << "(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)"
                                             << "$10$1" << QByteArray("abcdefghij") << QByteArray("ja");
        QTest::newRow("$99 spelled out") << "(x)"
                                         << "$99" << QByteArray("x") << QByteArray("9");
        QTest::newRow("no match keeps bytes")
            << "zzz"
            << "y" << QByteArray("\xff\xfe not UTF-8") << QByteArray("\xff\xfe not UTF-8");
        QTest::newRow("empty matches") << "x*"
                                       << "-" << QByteArray("abc") << QByteArray("-a-b-c-");
        QTest::newRow("empty and non-empty") << "x*"
                                             << "-" << QByteArray("axxb") << QByteArray("-a--b-");
        QTest::newRow("empty matches around non-BMP") << ""
                                                      << "|"
                                                      << QByteArray("a\xf0\x9f\x98\x80"
                                                                    "b")
                                                      << QByteArray("|a|\xf0\x9f\x98\x80|b|");
        QTest::newRow("lookahead only") << "(?=b)"
                                        << "^" << QByteArray("abab") << QByteArray("a^ba^b");
        QTest::newRow("UTF-8 text") << "caf(.)"
                                    << "tea$1" << QByteArray("un caf\xc3\xa9 !")
                                    << QByteArray("un tea\xc3\xa9 !");
        QTest::newRow("UTF-8 replacement")
            << "cafe"
            << "caf\u00e9 \u2615" << QByteArray("cafe") << QByteArray("caf\xc3\xa9 \xe2\x98\x95");
        QTest::newRow("JSON value") << "(\"token\":\\s*\")[^\"]*\""
                                    << "$1REDACTED\"" << QByteArray(R"({"token": "abc.def", "n": 1})")
                                    << QByteArray(R"({"token": "REDACTED", "n": 1})");
        QTest::newRow("empty payload") << "^"
                                       << "start" << QByteArray() << QByteArray("start");
        QTest::newRow("delete") << "\\s+"
                                << "" << QByteArray(" a  b ") << QByteArray("ab");
    }

    void regexReplace()
    {
        QFETCH(QString, pattern);
        QFETCH(QString, with);
        QFETCH(QByteArray, payload);
        QFETCH(QByteArray, expected);
        const QRegularExpression re(pattern);
        QVERIFY2(re.isValid(), qPrintable(re.errorString()));
        QCOMPARE(intercept::regexReplace(re, with, payload), expected);
    }

    void regexReplaceInvalidPattern()
    {
        QCOMPARE(intercept::regexReplace(QRegularExpression(QStringLiteral("(")), QStringLiteral("x"), "a(b"),
                 QByteArray("a(b"));
    }

    void applyHeaderRules()
    {
        QString error;
        const auto set = RuleSet::fromJson(withRules(R"(
            {"action": "set-header", "name": "X-Debug", "value": "1"},
            {"match": {"host": "*.api.test"}, "action": "set-header", "name": "X-Api", "value": "yes"},
            {"action": "drop"},
            {"name": "no cookies", "action": "remove-header", "header": "Cookie"},
            {"action": "remove-header", "name": "Sec-WebSocket-Protocol", "on": "response"},
            {"enabled": false, "action": "remove-header", "name": "Origin"},
            {"match": {"path": "/admin*"}, "action": "remove-header", "name": "Origin", "continue": false},
            {"action": "set-header", "name": "Server", "value": "socktap", "on": "response"}
        )"),
                                           &error);
        QVERIFY2(set, qPrintable(error));

        http::Headers request = headers({{"Host", "eu.api.test"},
                                         {"Cookie", "a=1"},
                                         {"Origin", "http://x"},
                                         {"x-debug", "0"},
                                         {"Cookie", "b=2"}});
        QStringList notes =
            intercept::applyHeaderRules(*set, HeadSide::Request, "eu.api.test", "/chat", request);
        QCOMPARE(
            notes,
            (QStringList {"rule 1: set X-Debug: 1 on the request", "rule 2: set X-Api: yes on the request",
                          "rule 4 'no cookies': removed Cookie (2 fields) from the request"}));
        // Set keeps the field where it was (and its spelling); disabled rule 6 left Origin alone, and rule
        // 7's path did not match.
        QCOMPARE(wire(request), QByteArray("Host: eu.api.test\nOrigin: http://x\nx-debug: 1\nX-Api: yes\n"));

        // Applying again changes nothing, so there is nothing to report.
        QCOMPARE(intercept::applyHeaderRules(*set, HeadSide::Request, "eu.api.test", "/chat", request),
                 QStringList());

        http::Headers other = headers({{"Origin", "http://x"}, {"Cookie", "c=3"}});
        notes = intercept::applyHeaderRules(*set, HeadSide::Request, "other.test", "/admin/x", other);
        QCOMPARE(notes,
                 (QStringList {"rule 1: set X-Debug: 1 on the request",
                               "rule 4 'no cookies': removed Cookie from the request",
                               "rule 7: removed Origin from the request"}));
        QCOMPARE(wire(other), QByteArray("X-Debug: 1\n"));

        http::Headers response =
            headers({{"Upgrade", "websocket"}, {"Sec-WebSocket-Protocol", "chat"}, {"Cookie", "kept"}});
        notes = intercept::applyHeaderRules(*set, HeadSide::Response, "eu.api.test", "/chat", response);
        QCOMPARE(notes,
                 (QStringList {"rule 5: removed Sec-WebSocket-Protocol from the response",
                               "rule 8: set Server: socktap on the response"}));
        QCOMPARE(wire(response), QByteArray("Upgrade: websocket\nCookie: kept\nServer: socktap\n"));

        http::Headers untouched = headers({{"A", "b"}});
        QCOMPARE(intercept::applyHeaderRules(RuleSet {}, HeadSide::Request, "h", "/", untouched),
                 QStringList());
        QCOMPARE(wire(untouched), QByteArray("A: b\n"));
    }
};

QTEST_GUILESS_MAIN(TestRules)
#include "tst_rules.moc"
