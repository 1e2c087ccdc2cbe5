// RuleSet, continued: the rules JSON of docs/rules.md. fromJson and load check every field and report the
// first mistake as a sentence naming the rule and field; toJson writes back the same shape.
#include "Rule.h"

#include "RuleInternal.h"

#include <QDir>
#include <QFileInfo>

#include "core/decode/FormatRegistry.h"
#include "core/decode/JsonValue.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>

#include <cmath>
#include <initializer_list>
#include <utility>

namespace socktap::intercept {

using namespace detail;

namespace {

constexpr int MaxDelayMs = 600000; // ten minutes: longer is a typo, and would pin the message's memory

// "a, b or c": the wording of every "expected ..." list in the errors.
QString oneOf(const QStringList &items)
{
    if (items.size() < 2)
        return items.join(QString());
    return items.first(items.size() - 1).join(QStringLiteral(", ")) + QStringLiteral(" or ") + items.last();
}

template<typename E, size_t N>
QStringList spellingList(const Spelling<E> (&spellings)[N])
{
    QStringList out;
    for (const auto &s : spellings)
        out.append(QLatin1String(s.text));
    return out;
}

const QStringList RuleFields = {
    "name",           "enabled", "continue", "match",         "action",  "ms",           "payload",
    "pattern",        "with",    "header",   "value",         "on",      "holdPingPong", "path",
    "base64",         "forward", "status",   "retryAfter",    "times",   "reset",        "code",
    "reason",         "toward",  "stop",     "afterMessages", "afterMs", "jitterMs",     "spread",
    "bytesPerSecond", "file",    "session",  "timing",        "matchBy", "handshake"};
const QStringList MatchFields = {"host",   "path",    "direction", "type",   "payload", "regex",
                                 "format", "decoded", "event",     "method", "topic"};
// Match fields that look at a message; a header rule has no message, so naming one is a mistake.
const QStringList MessageMatchFields = {"direction", "type",  "payload", "regex", "format",
                                        "decoded",   "event", "method",  "topic"};

// The fields beyond name, enabled, continue, match and action that each action reads. Any other known
// field is refused, so that a leftover "ms" on a drop rule is noticed rather than ignored.
QStringList actionFields(Action a)
{
    switch (a) {
    case Action::Drop:
        return {};
    case Action::Hold:
        return {"holdPingPong"};
    case Action::Delay:
        return {"ms", "jitterMs", "spread"};
    case Action::Replace:
        return {"payload"};
    case Action::RegexReplace:
        return {"pattern", "with"};
    case Action::SetHeader:
        return {"header", "value", "on"};
    case Action::RemoveHeader:
        return {"header", "on"};
    case Action::SetField:
        return {"path", "value"};
    case Action::Respond:
        return {"payload", "base64", "forward"};
    case Action::Echo:
        return {"forward"};
    case Action::Refuse:
        return {"status", "retryAfter", "times", "reset"};
    case Action::Close:
        return {"code", "reason", "toward", "handshake", "afterMessages", "afterMs"};
    case Action::Reset:
        return {"toward", "afterMessages", "afterMs"};
    case Action::Stall:
        return {"stop", "afterMessages", "afterMs"};
    case Action::Throttle:
        return {"bytesPerSecond"};
    case Action::Mock:
        return {"file", "session", "timing", "matchBy"};
    }
    return {};
}

bool isCommonField(const QString &key)
{
    return key == u"name" || key == u"enabled" || key == u"continue" || key == u"match" || key == u"action";
}

std::nullopt_t failWith(QString *error, const QString &message)
{
    if (error)
        *error = message;
    return std::nullopt;
}

// "line 3, column 7 (offset 41)": editors show lines, the spec asks for the offset; give both.
QString jsonPosition(QByteArrayView json, int offset)
{
    const QByteArrayView before = json.first(qBound(0, offset, int(json.size())));
    const qsizetype line = before.count('\n') + 1;
    const qsizetype column = before.size() - (before.lastIndexOf('\n') + 1) + 1;
    return QStringLiteral("line %1, column %2 (offset %3)").arg(line).arg(column).arg(offset);
}

QString jsonKind(const QJsonValue &v)
{
    switch (v.type()) {
    case QJsonValue::Null:
        return QStringLiteral("null");
    case QJsonValue::Bool:
        return QStringLiteral("a boolean");
    case QJsonValue::Double:
        return QStringLiteral("a number");
    case QJsonValue::String:
        return QStringLiteral("a string");
    case QJsonValue::Array:
        return QStringLiteral("an array");
    case QJsonValue::Object:
        return QStringLiteral("an object");
    case QJsonValue::Undefined:
        break;
    }
    return QStringLiteral("nothing");
}

// Reads the fields of one JSON object (a rule, or its match), keeping the first error as
// "field 'match.host': why". Each reader leaves its output alone when the field is absent.
class FieldReader
{
public:
    FieldReader(const QJsonObject &object, QString prefix)
        : m_object(object)
        , m_prefix(std::move(prefix))
    { }

    const QString &error() const { return m_error; }
    bool has(const QString &key) const { return m_object.contains(key); }
    QJsonValue value(const QString &key) const { return m_object.value(key); }

    bool fail(const QString &key, const QString &why)
    {
        m_error = QStringLiteral("field '%1%2': %3").arg(m_prefix, key, why);
        return false;
    }

    bool refuseUnknown(const QStringList &known)
    {
        for (auto it = m_object.begin(); it != m_object.end(); ++it) {
            if (!known.contains(it.key()))
                return fail(it.key(), QStringLiteral("unknown field (expected %1)").arg(oneOf(known)));
        }
        return true;
    }

    bool text(const QString &key, QString *out)
    {
        const QJsonValue v = value(key);
        if (v.isUndefined())
            return true;
        if (!v.isString())
            return fail(key, QStringLiteral("expected a string"));
        *out = v.toString();
        return true;
    }

    bool bytes(const QString &key, QByteArray *out)
    {
        QString s;
        if (!text(key, &s))
            return false;
        if (has(key))
            *out = s.toUtf8();
        return true;
    }

    bool flag(const QString &key, bool *out)
    {
        const QJsonValue v = value(key);
        if (v.isUndefined())
            return true;
        if (!v.isBool())
            return fail(key, QStringLiteral("expected true or false"));
        *out = v.toBool();
        return true;
    }

    template<typename E, size_t N>
    bool choice(const QString &key, const char *what, const Spelling<E> (&spellings)[N], E *out)
    {
        QString s;
        if (!text(key, &s))
            return false;
        if (!has(key))
            return true;
        for (const auto &sp : spellings) {
            if (s == QLatin1String(sp.text)) {
                *out = sp.value;
                return true;
            }
        }
        return fail(key,
                    QStringLiteral("unknown %1 '%2' (expected %3)")
                        .arg(QLatin1String(what), s, oneOf(spellingList(spellings))));
    }

    bool regex(const QString &key, QString *text, QRegularExpression *compiled)
    {
        if (!this->text(key, text))
            return false;
        if (text->isEmpty())
            return true;
        *compiled = QRegularExpression(*text);
        if (!compiled->isValid()) {
            return fail(
                key,
                QStringLiteral("invalid regular expression '%1': %2 at offset %3")
                    .arg(*text, compiled->errorString(), QString::number(compiled->patternErrorOffset())));
        }
        return true;
    }

private:
    const QJsonObject &m_object;
    QString m_prefix;
    QString m_error;
};

// "format", "decoded" (a list of docs/formats.md queries) and the shorthands "event", "method", "topic".
bool readDecodedMatch(FieldReader &r, Match *m)
{
    if (!r.text(QStringLiteral("format"), &m->format))
        return false;
    const QStringList formats = decode::FormatRegistry::current().formatNames();
    if (!m->format.isEmpty() && !formats.contains(m->format))
        return r.fail(QStringLiteral("format"),
                      QStringLiteral("unknown format '%1' (expected %2)").arg(m->format, oneOf(formats)));
    QStringList texts;
    const QJsonValue decoded = r.value(QStringLiteral("decoded"));
    if (!decoded.isUndefined()) {
        const QJsonArray list = decoded.isString() ? QJsonArray {decoded} : decoded.toArray();
        if ((!decoded.isString() && !decoded.isArray()) || list.isEmpty())
            return r.fail(QStringLiteral("decoded"), QStringLiteral("expected a query or a list of them"));
        for (const QJsonValue &v : list) {
            if (!v.isString())
                return r.fail(QStringLiteral("decoded"), QStringLiteral("expected strings (queries)"));
            texts << v.toString();
        }
    }
    for (const char *shorthand : {"event", "method", "topic"}) {
        QString value;
        if (!r.text(QLatin1String(shorthand), &value))
            return false;
        if (r.has(QLatin1String(shorthand)))
            texts << QLatin1String(shorthand) + QLatin1Char(':') + value;
    }
    for (const QString &text : texts) {
        const auto query = decode::DecodedQuery::parse(text);
        if (!query)
            return r.fail(QStringLiteral("decoded"),
                          QStringLiteral("'%1' is not a query (expected FIELD:VALUE or $.path[=VALUE], "
                                         "docs/formats.md)")
                              .arg(text));
        m->decoded.push_back(*query);
    }
    // Only the "decoded" list is written back: the shorthands become queries in it.
    m->decodedTexts = texts;
    return true;
}

// targetOnly: why this rule may match only host and path (it sees no message), or empty; withDirection:
// it may match the direction too (a throttle: it slows a direction, not messages).
bool readMatch(const QJsonObject &object, const QString &targetOnly, bool withDirection, Match *m,
               QString *error)
{
    FieldReader r(object, QStringLiteral("match."));
    bool ok = r.refuseUnknown(MatchFields);
    for (const QString &key : MessageMatchFields) {
        if (ok && !targetOnly.isEmpty() && r.has(key) && !(withDirection && key == u"direction"))
            ok = r.fail(key, targetOnly);
    }
    ok = ok && r.text(QStringLiteral("host"), &m->host) && r.text(QStringLiteral("path"), &m->path)
        && r.choice(QStringLiteral("direction"), "direction", SenderSpellings, &m->sender)
        && r.choice(QStringLiteral("type"), "type", TypeSpellings, &m->type)
        && r.bytes(QStringLiteral("payload"), &m->payload)
        && r.regex(QStringLiteral("regex"), &m->regexText, &m->regex) && readDecodedMatch(r, m);
    if (!ok)
        *error = r.error();
    return ok;
}

bool isWholeNumber(double d)
{
    return std::isfinite(d) && d == std::floor(d);
}

// An optional whole number in [low, high], in `unit` when it has one ("milliseconds"); left as it was
// when absent.
bool readWhole(FieldReader &r, const QString &key, int low, int high, int *out, const QString &unit = {})
{
    const QJsonValue v = r.value(key);
    if (v.isUndefined())
        return true;
    const QString inUnit = unit.isEmpty() ? QString() : QLatin1Char(' ') + unit;
    if (!v.isDouble() || !isWholeNumber(v.toDouble()))
        return r.fail(key,
                      QStringLiteral("expected a whole number%1")
                          .arg(unit.isEmpty() ? QString() : QStringLiteral(" of ") + unit));
    const double d = v.toDouble();
    if (d < low || d > high)
        return r.fail(key,
                      QStringLiteral("%1 is out of range (expected %2 to %3%4)")
                          .arg(QString::number(d, 'g', 16))
                          .arg(low)
                          .arg(high)
                          .arg(inUnit));
    *out = int(d);
    return true;
}

QString groupCount(int groups)
{
    if (groups == 0)
        return QStringLiteral("no groups");
    return groups == 1 ? QStringLiteral("1 group") : QStringLiteral("%1 groups").arg(groups);
}

bool readRegexReplace(FieldReader &r, Rule *rule)
{
    for (const QString &key : {QStringLiteral("pattern"), QStringLiteral("with")}) {
        if (!r.has(key))
            return r.fail(key, QStringLiteral("missing (action 'regex-replace' needs it)"));
    }
    if (!r.regex(QStringLiteral("pattern"), &rule->patternText, &rule->pattern)
        || !r.text(QStringLiteral("with"), &rule->with))
        return false;
    if (rule->patternText.isEmpty())
        return r.fail(QStringLiteral("pattern"),
                      QStringLiteral("empty (it would match between every character)"));
    // A reference to a group the pattern lacks is always empty: almost certainly a typo, so say so now.
    const int groups = rule->pattern.captureCount();
    for (const ReplacementPiece &p : parseReplacement(rule->with, groups)) {
        if (p.group > groups) {
            return r.fail(QStringLiteral("with"),
                          QStringLiteral("$%1 refers to a group the pattern does not have (it has %2)")
                              .arg(QString::number(p.group), groupCount(groups)));
        }
    }
    return true;
}

// For header rules "name" is the header's name (as the issue specifies); a rule that also wants a label
// puts the header's name in "header" and the label in "name".
bool readHeader(FieldReader &r, Rule *rule)
{
    const QString action = QLatin1String(actionName(rule->action));
    const QString key = r.has(QStringLiteral("header")) ? QStringLiteral("header") : QStringLiteral("name");
    if (!r.has(key))
        return r.fail(QStringLiteral("name"),
                      QStringLiteral("missing (action '%1' needs the header's name)").arg(action));
    QString name;
    if (!r.text(key, &name))
        return false;
    if (key == u"header" && !r.text(QStringLiteral("name"), &rule->name))
        return false;
    rule->headerName = name.toUtf8();
    if (!http::isToken(rule->headerName))
        return r.fail(key, QStringLiteral("'%1' is not a valid header name").arg(name));
    if (rule->action == Action::SetHeader) {
        if (!r.has(QStringLiteral("value")))
            return r.fail(QStringLiteral("value"), QStringLiteral("missing (action 'set-header' needs it)"));
        if (!r.bytes(QStringLiteral("value"), &rule->headerValue))
            return false;
        // A CR or LF would let a rule smuggle extra header lines (or a body) into the head.
        if (rule->headerValue.contains('\r') || rule->headerValue.contains('\n')
            || rule->headerValue.contains('\0'))
            return r.fail(QStringLiteral("value"),
                          QStringLiteral("a header value cannot contain CR, LF or NUL"));
    }
    return r.choice(QStringLiteral("on"), "head", SideSpellings, &rule->on);
}

bool readAction(FieldReader &r, Rule *rule)
{
    const QString key = QStringLiteral("action");
    if (!r.has(key)) {
        return r.fail(
            key,
            QStringLiteral("missing (every rule needs one of %1)").arg(oneOf(spellingList(ActionSpellings))));
    }
    if (!r.choice(key, "action", ActionSpellings, &rule->action))
        return false;
    const QStringList allowed = actionFields(rule->action);
    for (const QString &field : RuleFields) {
        if (r.has(field) && !isCommonField(field) && !allowed.contains(field)) {
            return r.fail(
                field,
                QStringLiteral("not used by action '%1'").arg(QLatin1String(actionName(rule->action))));
        }
    }
    return true;
}

// A fault's own fields and its trigger.
bool readFault(FieldReader &r, Rule *rule)
{
    const QString afterMessages = QStringLiteral("afterMessages");
    const QString afterMs = QStringLiteral("afterMs");
    if (r.has(afterMessages) && r.has(afterMs))
        return r.fail(afterMs,
                      QStringLiteral("a fault comes after N matching messages or after a time, not both"));
    if (!readWhole(r, afterMessages, 1, 1000000000, &rule->afterMessages)
        || !readWhole(r, afterMs, 0, 86400000, &rule->afterMs, QStringLiteral("milliseconds"))
        || !r.choice(QStringLiteral("stop"), "stop", SenderSpellings, &rule->stop)
        || !r.choice(QStringLiteral("toward"), "toward", SenderSpellings, &rule->toward))
        return false;
    if (rule->action != Action::Close)
        return true;
    if (!readWhole(r, QStringLiteral("code"), 0, 65535, &rule->closeCode)
        || !r.bytes(QStringLiteral("reason"), &rule->closeReason)
        || !r.flag(QStringLiteral("handshake"), &rule->closeHandshake))
        return false;
    if (rule->closeReason.size() > 123) // a Close frame's payload is at most 125 bytes (RFC 6455 5.5)
        return r.fail(QStringLiteral("reason"),
                      QStringLiteral("%1 bytes of UTF-8; a Close frame holds a reason of at most 123")
                          .arg(rule->closeReason.size()));
    return true;
}

bool readActionFields(FieldReader &r, Rule *rule)
{
    switch (rule->action) {
    case Action::Drop:
        return true;
    case Action::Hold:
        return r.flag(QStringLiteral("holdPingPong"), &rule->holdPingPong);
    case Action::Delay:
        if (!r.has(QStringLiteral("ms")))
            return r.fail(QStringLiteral("ms"), QStringLiteral("missing (action 'delay' needs it)"));
        return readWhole(r, QStringLiteral("ms"), 0, MaxDelayMs, &rule->delayMs,
                         QStringLiteral("milliseconds"))
            && readWhole(r, QStringLiteral("jitterMs"), 0, MaxDelayMs, &rule->jitterMs,
                         QStringLiteral("milliseconds"))
            && r.choice(QStringLiteral("spread"), "spread", SpreadSpellings, &rule->spread);
    case Action::Replace:
        if (!r.has(QStringLiteral("payload")))
            return r.fail(QStringLiteral("payload"), QStringLiteral("missing (action 'replace' needs it)"));
        return r.bytes(QStringLiteral("payload"), &rule->payload);
    case Action::RegexReplace:
        return readRegexReplace(r, rule);
    case Action::SetHeader:
    case Action::RemoveHeader:
        return readHeader(r, rule);
    case Action::SetField: {
        for (const QString &key : {QStringLiteral("path"), QStringLiteral("value")}) {
            if (!r.has(key))
                return r.fail(key, QStringLiteral("missing (action 'set-field' needs it)"));
        }
        if (!r.text(QStringLiteral("path"), &rule->fieldPathText))
            return false;
        const auto path = decode::parseJsonPath(rule->fieldPathText);
        if (!path || path->isEmpty())
            return r.fail(
                QStringLiteral("path"),
                QStringLiteral("'%1' is not a JSON path into the decoded value (like $.args[0].price)")
                    .arg(rule->fieldPathText));
        rule->fieldPath = *path;
        rule->fieldValue = r.value(QStringLiteral("value"));
        return true;
    }
    case Action::Respond: {
        const bool text = r.has(QStringLiteral("payload"));
        if (text == r.has(QStringLiteral("base64")))
            return r.fail(QStringLiteral("payload"),
                          QStringLiteral("action 'respond' needs 'payload' (text, a template) or 'base64' "
                                         "(binary), one of them"));
        if (!text) {
            QString encoded;
            if (!r.text(QStringLiteral("base64"), &encoded))
                return false;
            const auto decoded =
                QByteArray::fromBase64Encoding(encoded.toLatin1(), QByteArray::AbortOnBase64DecodingErrors);
            if (!decoded)
                return r.fail(QStringLiteral("base64"), QStringLiteral("not base64 (RFC 4648)"));
            rule->payload = *decoded;
            rule->respondBinary = true;
        } else if (!r.bytes(QStringLiteral("payload"), &rule->payload)) {
            return false;
        }
        return r.flag(QStringLiteral("forward"), &rule->forward);
    }
    case Action::Echo:
        return r.flag(QStringLiteral("forward"), &rule->forward);
    case Action::Refuse:
        if (r.has(QStringLiteral("reset")) && r.has(QStringLiteral("status")))
            return r.fail(QStringLiteral("reset"),
                          QStringLiteral("a reset sends no status: give one of them"));
        // A refusal is an error status: a 1xx would be an interim answer (101 would claim the upgrade),
        // and a 2xx or 3xx is no refusal a client's reconnect logic meets.
        return readWhole(r, QStringLiteral("status"), 400, 599, &rule->status)
            && readWhole(r, QStringLiteral("retryAfter"), 0, 86400, &rule->retryAfter)
            && readWhole(r, QStringLiteral("times"), 1, 1000000, &rule->times)
            && r.flag(QStringLiteral("reset"), &rule->reset);
    case Action::Close:
    case Action::Reset:
    case Action::Stall:
        return readFault(r, rule);
    case Action::Throttle:
        if (!r.has(QStringLiteral("bytesPerSecond")))
            return r.fail(QStringLiteral("bytesPerSecond"),
                          QStringLiteral("missing (action 'throttle' needs it)"));
        return readWhole(r, QStringLiteral("bytesPerSecond"), 1, 2000000000, &rule->bytesPerSecond);
    case Action::Mock:
        if (!r.has(QStringLiteral("file")))
            return r.fail(QStringLiteral("file"),
                          QStringLiteral("missing (action 'mock' needs the capture whose session answers)"));
        if (!r.text(QStringLiteral("file"), &rule->mockFile)
            || !r.text(QStringLiteral("timing"), &rule->mockTiming)
            || !r.text(QStringLiteral("matchBy"), &rule->mockMatch)
            || !readWhole(r, QStringLiteral("session"), 1, 1 << 30, &rule->mockSession))
            return false;
        if (rule->mockFile.isEmpty())
            return r.fail(QStringLiteral("file"), QStringLiteral("empty: expected a capture file"));
        if (rule->mockTiming != u"fast" && rule->mockTiming != u"original"
            && rule->mockTiming != u"conversation")
            return r.fail(
                QStringLiteral("timing"),
                QStringLiteral("'%1': expected fast, original or conversation").arg(rule->mockTiming));
        if (rule->mockMatch != u"order" && rule->mockMatch != u"content")
            return r.fail(QStringLiteral("matchBy"),
                          QStringLiteral("'%1': expected order or content").arg(rule->mockMatch));
        return true;
    }
    return true;
}

// The order of checks puts typos first: an unknown field explains most other errors.
bool readRule(const QJsonObject &object, Rule *rule, QString *error)
{
    FieldReader r(object, QString());
    bool ok = r.refuseUnknown(RuleFields) && readAction(r, rule) && readActionFields(r, rule)
        && r.flag(QStringLiteral("enabled"), &rule->enabled)
        && r.flag(QStringLiteral("continue"), &rule->continueAfter);
    if (ok && !rule->isHeaderRule())
        ok = r.text(QStringLiteral("name"), &rule->name);
    if (!ok) {
        *error = r.error();
        return false;
    }
    const QJsonValue match = r.value(QStringLiteral("match"));
    if (!match.isUndefined() && !match.isObject()) {
        r.fail(QStringLiteral("match"), QStringLiteral("expected an object"));
        *error = r.error();
        return false;
    }
    const QString targetOnly = rule->isHandshakeRule()
        ? QStringLiteral("handshake rules (set-header, remove-header, refuse, mock) match only host and path")
        : rule->isTimedFault()
        ? QStringLiteral("a fault after a time (afterMs) looks at no message: it matches only host and path")
        : rule->action == Action::Throttle ? QStringLiteral(
              "a throttle slows every byte of a direction: it matches only host, path and direction")
                                           : QString();
    if (match.isObject()
        && !readMatch(match.toObject(), targetOnly, rule->action == Action::Throttle, &rule->match, error))
        return false;
    // A respond template's {{N}} needs the match's regex, read just now.
    if (rule->action == Action::Respond && !rule->respondBinary) {
        if (const QString why =
                templateError(rule->payload, rule->match.regex, !rule->match.regexText.isEmpty());
            !why.isEmpty()) {
            r.fail(QStringLiteral("payload"), why);
            *error = r.error();
            return false;
        }
    }
    return true;
}

QJsonObject matchToJson(const Match &m)
{
    QJsonObject o;
    if (!m.host.isEmpty())
        o[QStringLiteral("host")] = m.host;
    if (!m.path.isEmpty())
        o[QStringLiteral("path")] = m.path;
    if (m.sender != SenderMatch::Both)
        o[QStringLiteral("direction")] = QLatin1String(spell(SenderSpellings, m.sender));
    if (m.type != TypeMatch::Any)
        o[QStringLiteral("type")] = QLatin1String(spell(TypeSpellings, m.type));
    if (!m.payload.isEmpty())
        o[QStringLiteral("payload")] = QString::fromUtf8(m.payload);
    if (!m.regexText.isEmpty())
        o[QStringLiteral("regex")] = m.regexText;
    if (!m.format.isEmpty())
        o[QStringLiteral("format")] = m.format;
    if (!m.decodedTexts.isEmpty())
        o[QStringLiteral("decoded")] = QJsonArray::fromStringList(m.decodedTexts);
    return o;
}

void headerToJson(const Rule &r, QJsonObject &o)
{
    const QString header = QString::fromUtf8(r.headerName);
    if (r.name.isEmpty()) {
        o[QStringLiteral("name")] = header;
    } else {
        o[QStringLiteral("name")] = r.name;
        o[QStringLiteral("header")] = header;
    }
    if (r.action == Action::SetHeader)
        o[QStringLiteral("value")] = QString::fromUtf8(r.headerValue);
    if (r.on != HeadSide::Request)
        o[QStringLiteral("on")] = QLatin1String(spell(SideSpellings, r.on));
}

QJsonObject ruleToJson(const Rule &r)
{
    QJsonObject o;
    if (r.isHeaderRule())
        headerToJson(r, o);
    else if (!r.name.isEmpty())
        o[QStringLiteral("name")] = r.name;
    if (!r.enabled)
        o[QStringLiteral("enabled")] = false;
    if (const QJsonObject m = matchToJson(r.match); !m.isEmpty())
        o[QStringLiteral("match")] = m;
    o[QStringLiteral("action")] = QLatin1String(actionName(r.action));
    switch (r.action) {
    case Action::Delay:
        o[QStringLiteral("ms")] = r.delayMs;
        if (r.jitterMs > 0)
            o[QStringLiteral("jitterMs")] = r.jitterMs;
        if (r.spread != Spread::Uniform)
            o[QStringLiteral("spread")] = QLatin1String(spell(SpreadSpellings, r.spread));
        break;
    case Action::Replace:
        o[QStringLiteral("payload")] = QString::fromUtf8(r.payload);
        break;
    case Action::RegexReplace:
        o[QStringLiteral("pattern")] = r.patternText;
        o[QStringLiteral("with")] = r.with;
        break;
    case Action::SetField:
        o[QStringLiteral("path")] = r.fieldPathText;
        o[QStringLiteral("value")] = r.fieldValue;
        break;
    case Action::Respond:
        if (r.respondBinary)
            o[QStringLiteral("base64")] = QString::fromLatin1(r.payload.toBase64());
        else
            o[QStringLiteral("payload")] = QString::fromUtf8(r.payload);
        [[fallthrough]];
    case Action::Echo:
        if (!r.forward)
            o[QStringLiteral("forward")] = false;
        break;
    case Action::Refuse:
        if (r.reset)
            o[QStringLiteral("reset")] = true;
        else
            o[QStringLiteral("status")] = r.status;
        if (r.retryAfter >= 0)
            o[QStringLiteral("retryAfter")] = r.retryAfter;
        if (r.times > 0)
            o[QStringLiteral("times")] = r.times;
        break;
    case Action::Close:
        o[QStringLiteral("code")] = r.closeCode;
        if (!r.closeReason.isEmpty())
            o[QStringLiteral("reason")] = QString::fromUtf8(r.closeReason);
        if (!r.closeHandshake)
            o[QStringLiteral("handshake")] = false;
        [[fallthrough]];
    case Action::Reset:
        if (r.toward != SenderMatch::Both)
            o[QStringLiteral("toward")] = QLatin1String(spell(SenderSpellings, r.toward));
        [[fallthrough]];
    case Action::Stall:
        if (r.action == Action::Stall && r.stop != SenderMatch::Both)
            o[QStringLiteral("stop")] = QLatin1String(spell(SenderSpellings, r.stop));
        if (r.afterMs >= 0)
            o[QStringLiteral("afterMs")] = r.afterMs;
        else if (r.afterMessages != 1)
            o[QStringLiteral("afterMessages")] = r.afterMessages;
        break;
    case Action::Throttle:
        o[QStringLiteral("bytesPerSecond")] = r.bytesPerSecond;
        break;
    case Action::Mock:
        o[QStringLiteral("file")] = r.mockFile;
        if (r.mockSession > 0)
            o[QStringLiteral("session")] = r.mockSession;
        if (r.mockTiming != u"original")
            o[QStringLiteral("timing")] = r.mockTiming;
        if (r.mockMatch != u"order")
            o[QStringLiteral("matchBy")] = r.mockMatch;
        break;
    case Action::Drop:
    case Action::Hold:
    case Action::SetHeader:
    case Action::RemoveHeader:
        break;
    }
    if (r.continueAfter)
        o[QStringLiteral("continue")] = true;
    if (r.action == Action::Hold && r.holdPingPong)
        o[QStringLiteral("holdPingPong")] = true;
    return o;
}

} // namespace

QJsonObject ruleJson(const Rule &rule)
{
    return ruleToJson(rule);
}

std::optional<RuleSet> RuleSet::fromJson(QByteArrayView json, QString *error)
{
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(json.toByteArray(), &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        return failWith(error,
                        QStringLiteral("invalid JSON at %1: %2")
                            .arg(jsonPosition(json, parseError.offset), parseError.errorString()));
    }
    if (!doc.isObject()) {
        return failWith(error,
                        QStringLiteral("expected a JSON object with a 'rules' array at the top level, "
                                       "found %1")
                            .arg(doc.isArray() ? QStringLiteral("an array") : QStringLiteral("nothing")));
    }
    const QJsonObject top = doc.object();
    for (auto it = top.begin(); it != top.end(); ++it) {
        if (it.key() != u"rules")
            return failWith(
                error, QStringLiteral("unknown top-level field '%1' (expected only 'rules')").arg(it.key()));
    }
    if (!top.contains(QStringLiteral("rules")))
        return failWith(error, QStringLiteral("the top-level object has no 'rules' array"));
    const QJsonValue list = top.value(QStringLiteral("rules"));
    if (!list.isArray())
        return failWith(
            error, QStringLiteral("field 'rules': expected an array of rules, found %1").arg(jsonKind(list)));

    RuleSet set;
    const QJsonArray array = list.toArray();
    for (qsizetype i = 0; i < array.size(); ++i) {
        const QString prefix = QStringLiteral("rule %1: ").arg(i + 1);
        if (!array[i].isObject())
            return failWith(error,
                            prefix + QStringLiteral("expected an object, found %1").arg(jsonKind(array[i])));
        Rule rule;
        QString why;
        if (!readRule(array[i].toObject(), &rule, &why))
            return failWith(error, prefix + why);
        set.rules.push_back(std::move(rule));
    }
    return set;
}

std::optional<RuleSet> RuleSet::load(const QString &file, QString *error)
{
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly))
        return failWith(error, QStringLiteral("%1: %2").arg(file, f.errorString()));
    QString why;
    auto set = fromJson(f.readAll(), &why);
    if (!set)
        return failWith(error, QStringLiteral("%1: %2").arg(file, why));
    // A mock rule's capture is found beside the rules file that names it, wherever Socktap was started.
    for (Rule &r : set->rules)
        if (r.action == Action::Mock && QFileInfo(r.mockFile).isRelative())
            r.mockFile = QFileInfo(file).absoluteDir().filePath(r.mockFile);
    return set;
}

QJsonObject RuleSet::toJson() const
{
    QJsonArray list;
    for (const Rule &r : rules)
        list.append(ruleToJson(r));
    return QJsonObject {{QStringLiteral("rules"), list}};
}

} // namespace socktap::intercept
