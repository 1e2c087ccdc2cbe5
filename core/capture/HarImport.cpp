// HAR import. The WebSocket fields read here, by who writes them:
// - Chrome DevTools (front_end/models/har/Log.ts, Importer.ts): `_resourceType: "websocket"`,
//   `_webSocketMessages: [{type: "send"|"receive", time: epoch seconds, opcode, data}]`, data base64 unless
//   opcode is 1 (the protocol's payloadData rule), continuation frames as opcode 0.
// - mitmproxy (mitmproxy/addons/savehar.py, `--set hardump=FILE`): the same message shape with opcode 1|2,
//   but the entry's URL keeps the handshake's http(s) scheme.
// - HTTP Toolkit (httptoolkit-ui src/model/http/har.ts): the same message shape with opcode 1|2, plus
//   `_webSocketClose: {code, reason, timestamp} | "aborted"`, and a request body that is not text in
//   `request._content: {text, encoding: "base64"}`.
// - Socktap (Har.cpp): all of the above plus `_socktap` on entries and messages and `_socktapControlFrames`.
// Everything else is ignored; null counts as absent, as the writers above use it for "none".
#include "Har.h"

#include "CaptureWriter.h"

#include "core/http/HeadWriter.h"
#include "core/http/RequestTarget.h"
#include "core/ws/Handshake.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QUrl>

#include <algorithm>
#include <cmath>

namespace socktap::capture {

namespace {

const QString UnknownFramesNote = QStringLiteral("imported from HAR: frames unknown");

const char *typeName(const QJsonValue &v)
{
    switch (v.type()) {
    case QJsonValue::Null:
        return "null";
    case QJsonValue::Bool:
        return "true or false";
    case QJsonValue::Double:
        return "a number";
    case QJsonValue::String:
        return "a string";
    case QJsonValue::Array:
        return "an array";
    case QJsonValue::Object:
        return "an object";
    case QJsonValue::Undefined:
        break;
    }
    return "nothing";
}

QString join(const QString &prefix, const QString &key)
{
    return prefix.isEmpty() ? key : prefix + '.' + key;
}

QString element(const QString &prefix, qsizetype index)
{
    return QStringLiteral("%1[%2]").arg(prefix).arg(index);
}

// Typed access to JSON members that remembers the first wrong type with its path, so conversion code reads
// straight through and checks ok() once. Absent and null members are "not there", never an error, unless
// required.
class JsonReader
{
public:
    bool ok() const { return m_error.isEmpty(); }
    QString error() const { return m_error; }
    void fail(const QString &path, const QString &what)
    {
        if (m_error.isEmpty())
            m_error = QStringLiteral("field '%1': %2").arg(path, what);
    }

    std::optional<QString> string(const QJsonObject &o, const QString &prefix, const QString &key,
                                  bool required = false)
    {
        const auto v = member(o, prefix, key, QJsonValue::String, "a string", required);
        return v ? std::optional(v->toString()) : std::nullopt;
    }
    std::optional<double> number(const QJsonObject &o, const QString &prefix, const QString &key,
                                 bool required = false)
    {
        const auto v = member(o, prefix, key, QJsonValue::Double, "a number", required);
        return v ? std::optional(v->toDouble()) : std::nullopt;
    }
    std::optional<bool> boolean(const QJsonObject &o, const QString &prefix, const QString &key)
    {
        const auto v = member(o, prefix, key, QJsonValue::Bool, "true or false", false);
        return v ? std::optional(v->toBool()) : std::nullopt;
    }
    std::optional<QJsonObject> object(const QJsonObject &o, const QString &prefix, const QString &key,
                                      bool required = false)
    {
        const auto v = member(o, prefix, key, QJsonValue::Object, "an object", required);
        return v ? std::optional(v->toObject()) : std::nullopt;
    }
    std::optional<QJsonArray> array(const QJsonObject &o, const QString &prefix, const QString &key,
                                    bool required = false)
    {
        const auto v = member(o, prefix, key, QJsonValue::Array, "an array", required);
        return v ? std::optional(v->toArray()) : std::nullopt;
    }
    // An array element that must be an object.
    std::optional<QJsonObject> object(const QJsonValue &v, const QString &path)
    {
        if (v.isObject())
            return v.toObject();
        fail(path, QStringLiteral("expected an object, found %1").arg(typeName(v)));
        return std::nullopt;
    }

private:
    std::optional<QJsonValue> member(const QJsonObject &o, const QString &prefix, const QString &key,
                                     QJsonValue::Type type, const char *expected, bool required)
    {
        const QJsonValue v = o.value(key);
        if (v.type() == type)
            return v;
        if (v.isUndefined() || v.isNull()) {
            if (required)
                fail(join(prefix, key), QStringLiteral("missing"));
        } else {
            fail(join(prefix, key), QStringLiteral("expected %1, found %2").arg(expected, typeName(v)));
        }
        return std::nullopt;
    }

    QString m_error;
};

// ISO 8601 as HAR writers produce it: "2024-05-01T12:00:00.123Z" (Chrome), "2023-08-29T13:03:20.195591+00:00"
// (mitmproxy), "2024-05-01T14:00:00.123+02:00" (HTTP Toolkit). Microseconds kept; no zone means UTC.
std::optional<qint64> parseIsoMicros(const QString &text)
{
    static const QRegularExpression re(QStringLiteral(
        R"(^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$)"));
    const auto m = re.match(text.trimmed());
    if (!m.hasMatch())
        return std::nullopt;
    const QDate date(m.captured(1).toInt(), m.captured(2).toInt(), m.captured(3).toInt());
    const QTime time(m.captured(4).toInt(), m.captured(5).toInt(), m.captured(6).toInt());
    if (!date.isValid() || !time.isValid())
        return std::nullopt;
    qint64 micros = QDateTime(date, time, Qt::UTC).toMSecsSinceEpoch() * 1000;
    micros += m.captured(7).left(6).leftJustified(6, QChar('0')).toLongLong();
    const QString zone = m.captured(8);
    if (zone.size() > 1) {
        const QString digits = QString(zone).remove(':');
        const int minutes = digits.mid(1, 2).toInt() * 60 + digits.mid(3, 2).toInt();
        micros -= (zone[0] == '-' ? -1 : 1) * qint64(minutes) * 60'000'000;
    }
    return micros;
}

http::Version parseVersion(const QString &text)
{
    static const QRegularExpression re(QStringLiteral(R"(^HTTP/(\d)(?:\.(\d))?$)"),
                                       QRegularExpression::CaseInsensitiveOption);
    const auto m = re.match(text.trimmed());
    if (!m.hasMatch())
        return {}; // "h3", "" and friends: the head is shown as HTTP/1.1
    return {m.captured(1).toInt(), m.captured(2).isEmpty() ? 0 : m.captured(2).toInt()};
}

QString dialectOf(const QString &creator)
{
    const QString name = creator.toLower();
    if (name == u"webinspector")
        return QStringLiteral("chrome");
    if (name.contains(u"mitmproxy"))
        return QStringLiteral("mitmproxy");
    if (name.contains(u"http toolkit") || name.contains(u"httptoolkit"))
        return QStringLiteral("httptoolkit");
    if (name.contains(u"socktap"))
        return QStringLiteral("socktap");
    return QStringLiteral("har");
}

template<typename E, typename NameOf>
std::optional<E> enumFromName(const QString &name, NameOf nameOf, E last)
{
    for (int i = 0; i <= int(last); ++i)
        if (name == QLatin1String(nameOf(E(i))))
            return E(i);
    return std::nullopt;
}

std::optional<QByteArray> fromBase64(const QString &text)
{
    auto decoded = QByteArray::fromBase64Encoding(text.toLatin1(), QByteArray::AbortOnBase64DecodingErrors);
    if (!decoded)
        return std::nullopt;
    return *decoded;
}

struct ImportedMessage
{
    Direction direction = Direction::ClientToServer;
    quint8 opcode = 0;
    QByteArray payload;
    QByteArray wirePayload;
    QByteArray original;
    qint64 time = 0;
    qint64 duration = 0;
    quint64 payloadSize = 0;
    quint64 wireSize = 0; // 0: unknown
    quint64 frameCount = 0; // 0: unknown
    std::vector<ws::FrameInfo> frames;
    quint16 flags = 0;
    quint32 violations = 0;
    std::optional<quint16> closeCode;
    QString note;
    std::optional<qint64> order; // Socktap's own index, to interleave control frames exactly
    int fragments = 1;
};

struct ImportedSession
{
    SessionInfo info;
    std::vector<ImportedMessage> messages;
};

// Socktap's own files carry each message's place; with two arrays and no places, time decides; a single
// array is in order already.
void sortMessages(std::vector<ImportedMessage> &messages, bool twoArrays)
{
    const bool placed =
        std::all_of(messages.begin(), messages.end(), [](const auto &m) { return m.order.has_value(); });
    if (placed)
        std::stable_sort(messages.begin(), messages.end(),
                         [](const auto &a, const auto &b) { return *a.order < *b.order; });
    else if (twoArrays)
        std::stable_sort(messages.begin(), messages.end(),
                         [](const auto &a, const auto &b) { return a.time < b.time; });
}

// One entry of log.entries; fails through the reader, skips through `skip` (a reason for the warning).
class EntryImporter
{
public:
    explicit EntryImporter(JsonReader &reader)
        : r(reader)
    { }

    std::optional<ImportedSession> convert(const QJsonObject &entry, QString *skip);
    QStringList takeWarnings() { return std::exchange(m_warnings, {}); }

private:
    http::Headers headers(const QJsonObject &o, const QString &prefix);
    bool readTarget(const QString &url, bool webSocket, SessionInfo &info, QString *skip);
    void readRequest(const QJsonObject &request, SessionInfo &info);
    void readResponse(const QJsonObject &response, SessionInfo &info);
    void readTimes(const QJsonObject &entry, SessionInfo &info);
    void readMessages(const QJsonObject &entry, const QString &key, std::vector<ImportedMessage> &out);
    std::optional<ImportedMessage> readMessage(const QJsonObject &m, const QString &path);
    void readSocktapMessage(const QJsonObject &extra, const QString &path, ImportedMessage &out);
    void readSocktapSession(const QJsonObject &extra, SessionInfo &info);
    void readSocktapTls(const QJsonObject &tls, const QString &at, TlsInfo &out);
    CloseInfo readSocktapClose(const QJsonObject &close, const QString &at);
    QByteArray base64(const QJsonObject &o, const QString &prefix, const QString &key);
    QStringList strings(const QJsonObject &o, const QString &prefix, const QString &key);
    QByteArray contentText(const QJsonObject &content, const QString &at);
    void readCloseSide(const QJsonObject &close, const QString &path, Direction d, CloseInfo &out);
    void readHttpToolkitClose(const QJsonObject &entry, SessionInfo &info);
    static void deriveClose(const std::vector<ImportedMessage> &messages, CloseInfo &close);

    JsonReader &r;
    QStringList m_warnings;
};

http::Headers EntryImporter::headers(const QJsonObject &o, const QString &prefix)
{
    http::Headers out;
    const auto list = r.array(o, prefix, QStringLiteral("headers"));
    if (!list)
        return out;
    const QString path = join(prefix, QStringLiteral("headers"));
    for (qsizetype i = 0; i < list->size(); ++i) {
        const QString at = element(path, i);
        const auto field = r.object(list->at(i), at);
        if (!field)
            return out;
        const auto name = r.string(*field, at, QStringLiteral("name"), true);
        const auto value = r.string(*field, at, QStringLiteral("value"));
        if (name)
            out.append(name->toLatin1(), value.value_or(QString()).toLatin1());
    }
    return out;
}

// An optional base64 member, decoded; not base64 is an error.
QByteArray EntryImporter::base64(const QJsonObject &o, const QString &prefix, const QString &key)
{
    const auto text = r.string(o, prefix, key);
    if (!text)
        return {};
    const auto decoded = fromBase64(*text);
    if (!decoded)
        r.fail(join(prefix, key), QStringLiteral("not valid base64"));
    return decoded.value_or(QByteArray());
}

// A HAR content object's text: base64 when `encoding` says so, UTF-8 otherwise.
QByteArray EntryImporter::contentText(const QJsonObject &content, const QString &at)
{
    if (r.string(content, at, QStringLiteral("encoding")) == QStringLiteral("base64"))
        return base64(content, at, QStringLiteral("text"));
    return r.string(content, at, QStringLiteral("text")).value_or(QString()).toUtf8();
}

QStringList EntryImporter::strings(const QJsonObject &o, const QString &prefix, const QString &key)
{
    QStringList out;
    if (const auto list = r.array(o, prefix, key))
        for (const QJsonValue &v : *list)
            out.append(v.toString());
    return out;
}

bool EntryImporter::readTarget(const QString &url, bool webSocket, SessionInfo &info, QString *skip)
{
    QByteArray encoded = QUrl(url, QUrl::TolerantMode).toEncoded(QUrl::RemoveFragment);
    // mitmproxy names a WebSocket by its handshake's http(s) URL; the session is ws(s).
    if (webSocket && encoded.startsWith("http:"))
        encoded.replace(0, 4, "ws");
    else if (webSocket && encoded.startsWith("https:"))
        encoded.replace(0, 5, "wss");
    QString why;
    const auto target = http::RequestTarget::parseAbsolute(encoded, &why);
    if (!target) {
        *skip = QStringLiteral("request.url \"%1\" is not an http(s) or ws(s) URL (%2)").arg(url, why);
        return false;
    }
    info.scheme = target->scheme;
    info.host = target->host;
    info.port = target->port;
    info.path = target->pathAndQuery;
    return true;
}

void EntryImporter::readRequest(const QJsonObject &request, SessionInfo &info)
{
    const QString p = QStringLiteral("request");
    http::RequestHead &head = info.request;
    head.method = r.string(request, p, QStringLiteral("method")).value_or(QStringLiteral("GET")).toLatin1();
    head.version = parseVersion(r.string(request, p, QStringLiteral("httpVersion")).value_or(QString()));
    head.headers = headers(request, p);
    info.requestBodySize =
        quint64(std::max(0.0, r.number(request, p, QStringLiteral("bodySize")).value_or(0)));
    QByteArray body;
    if (const auto post = r.object(request, p, QStringLiteral("postData")))
        body = r.string(*post, join(p, QStringLiteral("postData")), QStringLiteral("text"))
                   .value_or(QString())
                   .toUtf8();
    if (const auto content = r.object(request, p, QStringLiteral("_content"))) // HTTP Toolkit: not text
        body = contentText(*content, join(p, QStringLiteral("_content")));
    if (!body.isEmpty())
        info.requestBodySize = std::max<quint64>(info.requestBodySize, quint64(body.size()));
    info.requestBody = body;
}

void EntryImporter::readResponse(const QJsonObject &response, SessionInfo &info)
{
    const QString p = QStringLiteral("response");
    http::ResponseHead &head = info.response;
    head.status = int(r.number(response, p, QStringLiteral("status")).value_or(0));
    head.reason = r.string(response, p, QStringLiteral("statusText")).value_or(QString()).toLatin1();
    head.version = parseVersion(r.string(response, p, QStringLiteral("httpVersion")).value_or(QString()));
    head.headers = headers(response, p);
    if (head.status)
        head.raw = http::serialize(head);
    if (const auto error = r.string(response, p, QStringLiteral("_error")))
        info.error = *error; // Chrome's failure description
    const auto content = r.object(response, p, QStringLiteral("content"));
    if (!content)
        return;
    const QString at = join(p, QStringLiteral("content"));
    info.responseBody = contentText(*content, at);
    const double size = r.number(*content, at, QStringLiteral("size")).value_or(-1);
    info.responseBodySize = size >= 0 ? quint64(size) : quint64(info.responseBody.size());
}

void EntryImporter::readTimes(const QJsonObject &entry, SessionInfo &info)
{
    const auto started = r.string(entry, {}, QStringLiteral("startedDateTime"));
    if (!started)
        return;
    const auto micros = parseIsoMicros(*started);
    if (!micros) {
        r.fail(QStringLiteral("startedDateTime"),
               QStringLiteral("not an ISO 8601 date and time: \"%1\"").arg(*started));
        return;
    }
    info.acceptedAt = info.requestAt = info.upgradedAt = *micros;
    // The response head arrived after everything before "receive" (HAR 1.2: ssl is part of connect).
    if (const auto timings = r.object(entry, {}, QStringLiteral("timings"))) {
        double before = 0;
        for (const char *key : {"blocked", "dns", "connect", "send", "wait"})
            before +=
                std::max(0.0, r.number(*timings, QStringLiteral("timings"), QLatin1String(key)).value_or(0));
        info.upgradedAt += qint64(std::llround(before * 1000));
    }
    const double time = r.number(entry, {}, QStringLiteral("time")).value_or(0);
    info.closedAt = *micros + qint64(std::llround(std::max(0.0, time) * 1000));
}

std::optional<ImportedMessage> EntryImporter::readMessage(const QJsonObject &m, const QString &path)
{
    const auto type = r.string(m, path, QStringLiteral("type"));
    const auto time = r.number(m, path, QStringLiteral("time"));
    const auto opcode = r.number(m, path, QStringLiteral("opcode"));
    const auto data = r.string(m, path, QStringLiteral("data"));
    const auto extra = r.object(m, path, QStringLiteral("_socktap"));
    if (!r.ok())
        return std::nullopt;
    // Chrome's importer skips what lacks one of the four, and "error" items are not frames.
    QString why;
    if (!type || !time || !opcode || !data)
        why = QStringLiteral("it lacks type, time, opcode or data");
    else if (*type != u"send" && *type != u"receive")
        why = QStringLiteral("its type is \"%1\"").arg(*type);
    else if (*opcode < 0 || *opcode > 15 || *opcode != std::floor(*opcode)
             || ws::isReservedOpcode(quint8(*opcode)))
        why = QStringLiteral("its opcode %1 is not a WebSocket opcode").arg(*opcode);
    if (!why.isEmpty()) {
        m_warnings.append(QStringLiteral("%1 skipped: %2").arg(path, why));
        return std::nullopt;
    }
    ImportedMessage out;
    out.direction = *type == u"send" ? Direction::ClientToServer : Direction::ServerToClient;
    out.opcode = quint8(*opcode);
    out.time = qint64(std::llround(*time * 1e6));
    if (out.opcode == quint8(ws::Opcode::Text)) {
        out.payload = data->toUtf8();
    } else if (const auto decoded = fromBase64(*data)) {
        out.payload = *decoded;
    } else {
        r.fail(join(path, QStringLiteral("data")),
               QStringLiteral("not valid base64 (opcode %1)").arg(out.opcode));
        return std::nullopt;
    }
    out.payloadSize = quint64(out.payload.size());
    if (out.opcode == quint8(ws::Opcode::Close) && out.payload.size() >= 2)
        out.closeCode = quint16((quint8(out.payload[0]) << 8) | quint8(out.payload[1]));
    if (extra)
        readSocktapMessage(*extra, join(path, QStringLiteral("_socktap")), out);
    return out;
}

ws::FrameInfo frameFrom(JsonReader &r, const QJsonObject &f, const QString &at)
{
    ws::FrameInfo frame;
    const auto bit = [&](const char *key, quint8 mask) {
        if (r.boolean(f, at, QLatin1String(key)).value_or(false))
            frame.bits |= mask;
    };
    bit("fin", 0x80);
    bit("rsv1", 0x40);
    bit("rsv2", 0x20);
    bit("rsv3", 0x10);
    bit("masked", 0x08);
    frame.opcode = quint8(r.number(f, at, QStringLiteral("opcode")).value_or(0));
    frame.length = quint64(r.number(f, at, QStringLiteral("length")).value_or(0));
    frame.headerSize = quint8(r.number(f, at, QStringLiteral("headerSize")).value_or(0));
    if (const auto key = r.string(f, at, QStringLiteral("maskKey"))) {
        bool ok = false;
        frame.maskKey = key->toUInt(&ok, 16);
        if (!ok)
            r.fail(join(at, QStringLiteral("maskKey")), QStringLiteral("not 8 hex digits: \"%1\"").arg(*key));
    }
    return frame;
}

void EntryImporter::readSocktapMessage(const QJsonObject &x, const QString &path, ImportedMessage &out)
{
    if (x.contains(QStringLiteral("dataBase64")))
        out.payload = base64(x, path, QStringLiteral("dataBase64"));
    if (const auto frames = r.array(x, path, QStringLiteral("frames"))) {
        for (qsizetype i = 0; i < frames->size(); ++i) {
            const QString at = element(join(path, QStringLiteral("frames")), i);
            if (const auto f = r.object(frames->at(i), at))
                out.frames.push_back(frameFrom(r, *f, at));
        }
    }
    out.frameCount =
        quint64(r.number(x, path, QStringLiteral("frameCount")).value_or(double(out.frames.size())));
    out.wireSize = quint64(r.number(x, path, QStringLiteral("wireSize")).value_or(0));
    out.payloadSize =
        quint64(r.number(x, path, QStringLiteral("payloadSize")).value_or(double(out.payload.size())));
    // Exact microseconds: the message's seconds as a double may be a rounding away.
    out.time = qint64(r.number(x, path, QStringLiteral("time")).value_or(double(out.time)));
    out.duration = qint64(r.number(x, path, QStringLiteral("duration")).value_or(0));
    out.note = r.string(x, path, QStringLiteral("note")).value_or(QString());
    out.violations = quint32(r.number(x, path, QStringLiteral("violations")).value_or(0));
    if (const auto code = r.number(x, path, QStringLiteral("closeCode")))
        out.closeCode = quint16(*code);
    if (const auto index = r.number(x, path, QStringLiteral("index")))
        out.order = qint64(*index);
    if (const auto flags = r.array(x, path, QStringLiteral("flags")))
        for (const QJsonValue &name : *flags)
            for (const auto &[flag, flagName] : messageFlagNames())
                if (name.toString() == QLatin1String(flagName))
                    out.flags |= flag;
    out.wirePayload = base64(x, path, QStringLiteral("wirePayload"));
    out.original = base64(x, path, QStringLiteral("original"));
    if (r.boolean(x, path, QStringLiteral("payloadEvicted")).value_or(false)) {
        const QString evicted = QStringLiteral("payload no longer held when exported");
        out.note = out.note.isEmpty() ? evicted : out.note + QStringLiteral("; ") + evicted;
    }
}

void EntryImporter::readMessages(const QJsonObject &entry, const QString &key,
                                 std::vector<ImportedMessage> &out)
{
    const auto list = r.array(entry, {}, key);
    if (!list)
        return;
    for (qsizetype i = 0; i < list->size() && r.ok(); ++i) {
        const QString path = element(key, i);
        const auto item = r.object(list->at(i), path);
        auto message = item ? readMessage(*item, path) : std::nullopt;
        if (!message)
            continue;
        if (message->opcode != quint8(ws::Opcode::Continuation)) {
            out.push_back(std::move(*message));
            continue;
        }
        // Chrome lists each frame of a fragmented message; the capture keeps messages.
        const auto previous = std::find_if(out.rbegin(), out.rend(), [&](const ImportedMessage &m) {
            return m.direction == message->direction && !ws::isControl(m.opcode);
        });
        if (previous == out.rend()) {
            m_warnings.append(QStringLiteral("%1 skipped: a continuation frame without a message").arg(path));
            continue;
        }
        previous->payload += message->payload;
        previous->payloadSize = quint64(previous->payload.size());
        previous->duration = message->time - previous->time;
        ++previous->fragments;
    }
}

void EntryImporter::readCloseSide(const QJsonObject &close, const QString &path, Direction d, CloseInfo &out)
{
    const auto side = r.object(close, path, QLatin1String(directionName(d)));
    if (!side)
        return;
    const int i = directionIndex(d);
    const QString at = join(path, QLatin1String(directionName(d)));
    out.closeSent[i] = r.boolean(*side, at, QStringLiteral("sent")).value_or(false);
    if (const auto code = r.number(*side, at, QStringLiteral("code")))
        out.code[i] = quint16(*code);
    out.reason[i] = r.string(*side, at, QStringLiteral("reason")).value_or(QString()).toUtf8();
    if (const auto exact = r.string(*side, at, QStringLiteral("reasonBase64")))
        out.reason[i] = fromBase64(*exact).value_or(QByteArray());
}

void EntryImporter::readSocktapSession(const QJsonObject &x, SessionInfo &info)
{
    const QString p = QStringLiteral("_socktap");
    if (const auto mode = r.string(x, p, QStringLiteral("mode")))
        info.mode = enumFromName(*mode, modeName, ProxyMode::Reverse).value_or(info.mode);
    if (const auto state = r.string(x, p, QStringLiteral("state")))
        info.state = enumFromName(*state, stateName, SessionState::Rejected).value_or(info.state);
    if (const auto client = r.object(x, p, QStringLiteral("client"))) {
        info.clientAddress = r.string(*client, join(p, QStringLiteral("client")), QStringLiteral("address"))
                                 .value_or(QString());
        info.clientPort =
            quint16(r.number(*client, join(p, QStringLiteral("client")), QStringLiteral("port")).value_or(0));
    }
    const auto time = [&](const char *key, qint64 &out) {
        out = qint64(r.number(x, p, QLatin1String(key)).value_or(double(out)));
    };
    time("acceptedAt", info.acceptedAt);
    time("requestAt", info.requestAt);
    time("upgradedAt", info.upgradedAt);
    time("closedAt", info.closedAt);
    info.error = r.string(x, p, QStringLiteral("error")).value_or(info.error);
    info.firstViolation = r.string(x, p, QStringLiteral("firstViolation")).value_or(QString());
    info.violations =
        ws::Violations::fromInt(quint32(r.number(x, p, QStringLiteral("violations")).value_or(0)));
    info.handshakeProblems = strings(x, p, QStringLiteral("handshakeProblems"));
    info.handshakeNotes = strings(x, p, QStringLiteral("handshakeNotes"));
    info.faults = strings(x, p, QStringLiteral("faults"));
    info.mock = r.string(x, p, QStringLiteral("mock")).value_or(QString());
    info.engine = r.string(x, p, QStringLiteral("engine")).value_or(QString());
    if (info.kind == SessionKind::Http) {
        info.requestBodySize =
            quint64(r.number(x, p, QStringLiteral("requestBodySize")).value_or(double(info.requestBodySize)));
        info.responseBodySize = quint64(
            r.number(x, p, QStringLiteral("responseBodySize")).value_or(double(info.responseBodySize)));
    }
    if (const auto tls = r.object(x, p, QStringLiteral("tls")))
        readSocktapTls(*tls, join(p, QStringLiteral("tls")), info.tls);
    if (const auto close = r.object(x, p, QStringLiteral("close")))
        info.close = readSocktapClose(*close, join(p, QStringLiteral("close")));
}

void EntryImporter::readSocktapTls(const QJsonObject &tls, const QString &at, TlsInfo &out)
{
    const auto text = [&](const char *key) {
        return r.string(tls, at, QLatin1String(key)).value_or(QString());
    };
    out.intercepted = r.boolean(tls, at, QStringLiteral("intercepted")).value_or(false);
    out.sni = text("sni").toLatin1();
    out.clientProtocol = text("clientProtocol");
    out.clientCipher = text("clientCipher");
    out.upstreamProtocol = text("upstreamProtocol");
    out.upstreamCipher = text("upstreamCipher");
    out.upstreamSubject = text("upstreamSubject");
    out.upstreamIssuer = text("upstreamIssuer");
    out.upstreamValidity = text("upstreamValidity");
    out.upstreamVerification = text("upstreamVerification");
    out.upstreamVerified = r.boolean(tls, at, QStringLiteral("upstreamVerified")).value_or(false);
}

CloseInfo EntryImporter::readSocktapClose(const QJsonObject &close, const QString &at)
{
    CloseInfo c;
    if (const auto first = r.string(close, at, QStringLiteral("firstCloser")))
        c.firstCloser = *first == u"server" ? Direction::ServerToClient : Direction::ClientToServer;
    readCloseSide(close, at, Direction::ClientToServer, c);
    readCloseSide(close, at, Direction::ServerToClient, c);
    c.end = enumFromName(r.string(close, at, QStringLiteral("end")).value_or(QString()), endReasonName,
                         EndReason::Fault)
                .value_or(EndReason::None);
    c.detail = r.string(close, at, QStringLiteral("detail")).value_or(QString());
    c.firstCloseTime = qint64(r.number(close, at, QStringLiteral("firstCloseTime")).value_or(0));
    c.tcpEndTime = qint64(r.number(close, at, QStringLiteral("tcpEndTime")).value_or(0));
    return c;
}

void EntryImporter::readHttpToolkitClose(const QJsonObject &entry, SessionInfo &info)
{
    const QJsonValue v = entry.value(QStringLiteral("_webSocketClose"));
    if (v.isString() && v.toString() == u"aborted") {
        info.close.detail = QStringLiteral("HTTP Toolkit recorded the connection as aborted");
        return;
    }
    const auto close = r.object(entry, {}, QStringLiteral("_webSocketClose"));
    if (!close)
        return;
    const QString at = QStringLiteral("_webSocketClose");
    const auto code = r.number(*close, at, QStringLiteral("code"));
    const auto reason = r.string(*close, at, QStringLiteral("reason")).value_or(QString());
    // Neither the side that sent it nor how TCP ended is recorded, so neither is claimed (end stays None):
    // the detail says what is known.
    info.close.detail = code
        ? QStringLiteral("HTTP Toolkit recorded close code %1 \"%2\"; which side sent it is "
                         "not in the HAR")
              .arg(*code)
              .arg(reason)
        : QStringLiteral("HTTP Toolkit recorded a close without a code");
    if (const auto timestamp = r.number(*close, at, QStringLiteral("timestamp")))
        info.close.tcpEndTime = info.closedAt = qint64(std::llround(*timestamp * 1e6));
}

// Close frames the HAR listed (Socktap's control frames) say who closed, with what, without `_socktap.close`.
void EntryImporter::deriveClose(const std::vector<ImportedMessage> &messages, CloseInfo &close)
{
    for (const ImportedMessage &m : messages) {
        if (m.opcode != quint8(ws::Opcode::Close))
            continue;
        const int i = directionIndex(m.direction);
        if (!close.firstCloser) {
            close.firstCloser = m.direction;
            close.firstCloseTime = m.time;
        }
        close.closeSent[i] = true;
        close.code[i] = m.closeCode;
        close.reason[i] = m.payload.mid(2);
    }
    if (close.handshakeCompleted())
        close.end = EndReason::Closed;
}

std::optional<ImportedSession> EntryImporter::convert(const QJsonObject &entry, QString *skip)
{
    const auto request = r.object(entry, {}, QStringLiteral("request"), true);
    const auto response = r.object(entry, {}, QStringLiteral("response"));
    const auto url =
        request ? r.string(*request, QStringLiteral("request"), QStringLiteral("url"), true) : std::nullopt;
    const auto resourceType = r.string(entry, {}, QStringLiteral("_resourceType"));
    const auto extra = r.object(entry, {}, QStringLiteral("_socktap"));
    if (!r.ok() || !url)
        return std::nullopt;
    ImportedSession s;
    SessionInfo &info = s.info;
    info.mode = ProxyMode::Explicit;
    readRequest(*request, info);
    if (response)
        readResponse(*response, info);
    const bool webSocket = resourceType.value_or(QString()).compare(u"websocket", Qt::CaseInsensitive) == 0
        || entry.value(QStringLiteral("_webSocketMessages")).isArray()
        || (info.response.status == 101 && ws::Handshake::isUpgradeRequest(info.request));
    info.kind = webSocket ? SessionKind::WebSocket : SessionKind::Http;
    if (!readTarget(*url, webSocket, info, skip))
        return std::nullopt;
    info.request.target = info.path; // origin form, as the server saw it
    info.request.raw = http::serialize(info.request); // rebuilt: a HAR keeps fields, not bytes
    readTimes(entry, info);
    if (webSocket) {
        const auto claimed = ws::Handshake::claimedResponse(info.response);
        info.subprotocol = claimed.protocol;
        info.extensions = claimed.extensions;
        info.deflate = claimed.deflate;
        readMessages(entry, QStringLiteral("_webSocketMessages"), s.messages);
        readMessages(entry, QStringLiteral("_socktapControlFrames"), s.messages);
        readHttpToolkitClose(entry, info);
    }
    if (info.response.status == 0)
        info.state = SessionState::Failed;
    else if (webSocket && info.response.status != 101)
        info.state = SessionState::Rejected;
    else
        info.state = SessionState::Closed;
    if (extra)
        readSocktapSession(*extra, info);
    if (!r.ok())
        return std::nullopt;
    sortMessages(s.messages, entry.value(QStringLiteral("_socktapControlFrames")).isArray());
    if (webSocket && !(extra && extra->contains(QStringLiteral("close"))))
        deriveClose(s.messages, info.close);
    if (!s.messages.empty())
        info.closedAt = std::max(info.closedAt, s.messages.back().time);
    return s;
}

QString noteFor(const ImportedMessage &m)
{
    if (m.frameCount > 0 || m.note.contains(UnknownFramesNote))
        return m.note;
    QString note = UnknownFramesNote;
    if (m.fragments > 1)
        note += QStringLiteral(" (%1 fragments joined)").arg(m.fragments);
    return m.note.isEmpty() ? note : m.note + QStringLiteral("; ") + note;
}

void writeMessage(CaptureWriter &writer, SessionId id, const ImportedMessage &m)
{
    MessageFacts f;
    f.opcode = m.opcode;
    f.payload = m.payload;
    f.wirePayload = m.wirePayload;
    f.original = m.original;
    f.payloadSize = std::max<quint64>(m.payloadSize, quint64(m.payload.size()));
    f.wireSize = m.wireSize;
    f.frameCount = m.frameCount;
    f.frames = m.frames;
    f.compressed = m.flags & MessageFlag::Compressed;
    f.truncated = m.flags & MessageFlag::Truncated;
    f.incomplete = m.flags & MessageFlag::Incomplete;
    f.violations = ws::Violations::fromInt(m.violations);
    f.firstFrameTime = m.time;
    f.lastFrameTime = m.time + m.duration;
    f.closeCode = m.closeCode;
    f.flags = m.flags;
    f.note = noteFor(m);
    writer.message(id, m.direction, f);
}

std::optional<HarImportResult> fail(QString *error, const QString &fileName, const QString &what)
{
    if (error)
        *error = QStringLiteral("%1: %2").arg(fileName, what);
    return std::nullopt;
}

} // namespace

std::optional<HarImportResult> importHar(const QByteArray &json, const QString &fileName, CaptureStore &store,
                                         QString *error)
{
    // Some Windows tools write a byte order mark, which is not JSON.
    const QByteArray text = json.startsWith("\xEF\xBB\xBF") ? json.mid(3) : json;
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(text, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return fail(
            error, fileName,
            QStringLiteral("not JSON: %1 at offset %2").arg(parseError.errorString()).arg(parseError.offset));
    const QJsonValue log = doc.object().value(QStringLiteral("log"));
    if (!log.isObject())
        return fail(error, fileName, QStringLiteral("not a HAR file: no \"log\" object"));
    const QJsonValue entries = log.toObject().value(QStringLiteral("entries"));
    if (entries.isUndefined() || entries.isNull())
        return fail(error, fileName, QStringLiteral("not a HAR file: no \"log.entries\" array"));
    if (!entries.isArray())
        return fail(
            error, fileName,
            QStringLiteral("not a HAR file: \"log.entries\" is %1, not an array").arg(typeName(entries)));

    HarImportResult result;
    const QJsonValue creator = log.toObject().value(QStringLiteral("creator"));
    result.dialect = dialectOf(creator.toObject().value(QStringLiteral("name")).toString());
    std::vector<ImportedSession> sessions;
    const QJsonArray list = entries.toArray();
    for (qsizetype i = 0; i < list.size(); ++i) {
        const QString where = QStringLiteral("entry %1").arg(i + 1);
        if (!list.at(i).isObject())
            return fail(error, fileName,
                        QStringLiteral("%1: expected an object, found %2").arg(where, typeName(list.at(i))));
        JsonReader reader;
        EntryImporter importer(reader);
        QString skip;
        auto session = importer.convert(list.at(i).toObject(), &skip);
        if (!reader.ok())
            return fail(error, fileName, where + QStringLiteral(": ") + reader.error());
        for (const QString &w : importer.takeWarnings())
            result.warnings.append(where + QStringLiteral(": ") + w);
        if (session)
            sessions.push_back(std::move(*session));
        else
            result.warnings.append(where + QStringLiteral(": skipped: ") + skip);
    }

    // Everything converted: only now does the store see any of it, so a bad file adds nothing.
    CaptureWriter writer(store);
    for (ImportedSession &s : sessions) {
        s.info.id = store.newSessionId();
        writer.session(s.info);
        for (const ImportedMessage &m : s.messages)
            writeMessage(writer, s.info.id, m);
        ++result.sessions;
        result.messages += s.messages.size();
    }
    writer.flush();
    return result;
}

std::optional<HarImportResult> importHar(QIODevice &in, const QString &fileName, CaptureStore &store,
                                         QString *error)
{
    if (!in.isReadable())
        return fail(error, fileName, QStringLiteral("cannot read: %1").arg(in.errorString()));
    return importHar(in.readAll(), fileName, store, error);
}

} // namespace socktap::capture
