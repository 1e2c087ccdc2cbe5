#include "NativeFormat.h"

#include "core/ws/Utf8Validator.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <charconv>
#include <cstring>

namespace socktap::capture::native {

namespace {

// --- names shared by the encoder and the decoder ---

constexpr const char *KindNames[] = {"websocket", "http", "tunnel"};
constexpr const char *ModeNames[] = {"explicit", "connect", "reverse"};
constexpr const char *StateNames[] = {"connecting", "open", "closing", "closed", "failed", "rejected"};
constexpr const char *EndNames[] = {"none",         "closed",          "client-eof", "server-eof",
                                    "client-reset", "server-reset",    "timeout",    "shutdown",
                                    "strict-close", "upstream-failed", "tls-error",  "client-error",
                                    "user-reset",   "refused",         "fault"};
static_assert(std::size(EndNames) == size_t(EndReason::Fault) + 1);

// --- the fast message encoder: a million lines a second must not cost the relay its speed ---

void appendNumber(QByteArray &out, quint64 v)
{
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr - buf);
}

void appendSigned(QByteArray &out, qint64 v)
{
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr - buf);
}

// A JSON string from UTF-8 bytes (RFC 8259 7): quote, backslash and controls escaped, the rest as is.
void appendJsonString(QByteArray &out, QByteArrayView utf8)
{
    static constexpr char Hex[] = "0123456789abcdef";
    out.append('"');
    const char *p = utf8.data();
    const char *end = p + utf8.size();
    const char *run = p;
    for (; p != end; ++p) {
        const auto c = quint8(*p);
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        out.append(run, p - run);
        run = p + 1;
        switch (c) {
        case '"':
            out.append("\\\"", 2);
            break;
        case '\\':
            out.append("\\\\", 2);
            break;
        case '\n':
            out.append("\\n", 2);
            break;
        case '\r':
            out.append("\\r", 2);
            break;
        case '\t':
            out.append("\\t", 2);
            break;
        default: {
            const char esc[6] = {'\\', 'u', '0', '0', Hex[c >> 4], Hex[c & 15]};
            out.append(esc, 6);
        }
        }
    }
    out.append(run, p - run);
    out.append('"');
}

// RFC 4648 4 base64 written straight into out, two characters per table lookup: binary payloads are
// most of what a busy journal writes, and QByteArray::toBase64 (a temporary and one lookup per
// character) cost the relay a third of its throughput.
struct Base64Pairs
{
    char pairs[4096][2];
    constexpr Base64Pairs()
        : pairs()
    {
        constexpr char Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int i = 0; i < 4096; ++i) {
            pairs[i][0] = Alphabet[i >> 6];
            pairs[i][1] = Alphabet[i & 63];
        }
    }
};
constexpr Base64Pairs Base64Table;

void appendBase64(QByteArray &out, QByteArrayView bytes)
{
    const qsizetype n = bytes.size();
    const qsizetype at = out.size();
    out.resize(at + 2 + (n + 2) / 3 * 4);
    char *o = out.data() + at;
    *o++ = '"';
    const auto *p = reinterpret_cast<const uchar *>(bytes.data());
    const uchar *end = p + n - n % 3;
    for (; p != end; p += 3) {
        const quint32 v = quint32(p[0]) << 16 | quint32(p[1]) << 8 | p[2];
        std::memcpy(o, Base64Table.pairs[v >> 12], 2);
        std::memcpy(o + 2, Base64Table.pairs[v & 4095], 2);
        o += 4;
    }
    if (n % 3) {
        const quint32 v = quint32(p[0]) << 16 | (n % 3 == 2 ? quint32(p[1]) << 8 : 0);
        std::memcpy(o, Base64Table.pairs[v >> 12], 2);
        o[2] = n % 3 == 2 ? Base64Table.pairs[v & 4095][0] : '=';
        o[3] = '=';
        o += 4;
    }
    *o = '"';
}

// "text" when the bytes are valid UTF-8 and the message is text, "base64" otherwise: lossless either way.
// UTF-8 text that a JSON reader gives back exactly: Qt's parser drops a byte-order mark at the start of
// a string, so such text travels as base64.
bool isPlainText(QByteArrayView bytes)
{
    return !bytes.startsWith("\xEF\xBB\xBF") && ws::Utf8Validator::isValid(bytes);
}

void appendBytes(QByteArray &out, const char *textKey, const char *base64Key, QByteArrayView bytes, bool text)
{
    if (text && isPlainText(bytes)) {
        out.append(textKey);
        appendJsonString(out, bytes);
    } else {
        out.append(base64Key);
        appendBase64(out, bytes);
    }
}

void appendMask(QByteArray &out, quint32 key)
{
    static constexpr char Hex[] = "0123456789abcdef";
    char mask[] = R"(,"mask":"00000000")";
    for (int i = 0; i < 8; ++i)
        mask[9 + i] = Hex[(key >> (28 - 4 * i)) & 15];
    out.append(mask, sizeof mask - 1);
}

// "flags" (beyond direction) and "violations" as stable names.
void appendFlags(QByteArray &out, const MessageRecord &r)
{
    if (r.flags & ~MessageFlag::ServerToClient) {
        out.append(R"(,"flags":[)");
        bool first = true;
        for (const MessageFlagName &f : messageFlagNames()) {
            if (!(r.flags & f.flag))
                continue;
            if (!first)
                out.append(',');
            first = false;
            out.append('"');
            out.append(f.name);
            out.append('"');
        }
        out.append(']');
    }
    if (r.violations) {
        out.append(R"(,"violations":[)");
        bool first = true;
        for (quint32 bit = 1; bit != 0; bit <<= 1) {
            if (!(r.violations & bit))
                continue;
            if (!first)
                out.append(',');
            first = false;
            out.append('"');
            out.append(ws::violationCode(ws::Violation(bit)));
            out.append('"');
        }
        out.append(']');
    }
}

void appendFrame(QByteArray &out, const ws::FrameInfo &f)
{
    out.append(R"({"fin":)");
    out.append(f.fin() ? '1' : '0');
    out.append(R"(,"rsv":")");
    out.append(f.bits & 0x40 ? '1' : '0');
    out.append(f.bits & 0x20 ? '1' : '0');
    out.append(f.bits & 0x10 ? '1' : '0');
    out.append(R"(","opcode":)");
    appendNumber(out, f.opcode);
    out.append(R"(,"length":)");
    appendNumber(out, f.length);
    out.append(R"(,"header":)");
    appendNumber(out, f.headerSize);
    if (f.masked())
        appendMask(out, f.maskKey);
    out.append('}');
}

// RFC 6455 5.2: the shortest header for a payload length.
quint8 minimalHeaderSize(quint64 length, bool masked)
{
    return quint8((length < 126 ? 2 : length <= 0xffff ? 4 : 10) + (masked ? 4 : 0));
}

// Most messages are one plain frame: FIN, no RSV but compression's, the message's opcode, the shortest
// header, the whole (wire) payload. Such a frame is fully implied by the record, so a line carries only
// its mask key; anything else writes the frames out (docs/capture-format.md, "frames").
bool impliedFrame(const MessageRecord &r, const ws::FrameInfo &f, qsizetype wirePayloadSize)
{
    const bool compressed = r.has(MessageFlag::Compressed);
    const quint64 length = compressed ? quint64(wirePayloadSize) : r.payloadSize;
    const quint8 bits = quint8(0x80 | (compressed ? 0x40 : 0) | (f.bits & 0x08));
    return r.frameCount == 1 && !r.has(MessageFlag::Truncated) && !r.has(MessageFlag::Incomplete)
        && f.bits == bits && f.opcode == r.opcode && f.length == length
        && f.headerSize == minimalHeaderSize(length, f.masked()) && r.wireSize == f.headerSize + length
        && (!compressed || wirePayloadSize > 0 || length == 0);
}

// --- session records: rare, so QJsonObject (sorted keys, hence a canonical encoding) ---

QString latin1(const QByteArray &b)
{
    return QString::fromLatin1(b);
}

QJsonArray headersJson(const http::Headers &h)
{
    QJsonArray a;
    for (const http::HeaderField &f : h.fields())
        a.append(QJsonArray {latin1(f.name), latin1(f.value)});
    return a;
}

QString versionText(http::Version v)
{
    return QStringLiteral("HTTP/%1.%2").arg(v.major).arg(v.minor);
}

void putBody(QJsonObject &o, const char *key, const QByteArray &body)
{
    if (body.isEmpty())
        return;
    if (isPlainText(body))
        o[QLatin1String(key)] = QString::fromUtf8(body);
    else
        o[QLatin1String(key) + QLatin1String("Base64")] = QString::fromLatin1(body.toBase64());
}

QJsonArray violationsJson(ws::Violations v)
{
    QJsonArray a;
    for (quint32 bit = 1; bit != 0; bit <<= 1)
        if (v.toInt() & bit)
            a.append(QJsonObject {{"code", ws::violationCode(ws::Violation(bit))},
                                  {"section", ws::violationSection(ws::Violation(bit))}});
    return a;
}

QJsonObject closeJson(const CloseInfo &c)
{
    QJsonObject o;
    if (c.firstCloser)
        o["firstCloser"] = directionName(*c.firstCloser);
    for (int i = 0; i < 2; ++i) {
        if (!c.closeSent[i] && !c.code[i] && c.reason[i].isEmpty() && !c.closeUndelivered[i])
            continue;
        QJsonObject side {{"sent", c.closeSent[i]}};
        if (c.closeUndelivered[i])
            side["undelivered"] = true;
        if (c.code[i])
            side["code"] = int(*c.code[i]);
        if (!c.reason[i].isEmpty())
            side["reasonBase64"] = QString::fromLatin1(c.reason[i].toBase64());
        o[directionName(Direction(i))] = side;
    }
    if (c.firstCloseTime)
        o["firstCloseTime"] = c.firstCloseTime;
    if (c.tcpEndTime)
        o["tcpEndTime"] = c.tcpEndTime;
    o["end"] = EndNames[int(c.end)];
    if (!c.detail.isEmpty())
        o["detail"] = c.detail;
    return o;
}

QJsonObject tlsJson(const TlsInfo &t)
{
    QJsonObject o {{"intercepted", t.intercepted}, {"upstreamVerified", t.upstreamVerified}};
    const auto put = [&](const char *key, const QString &v) {
        if (!v.isEmpty())
            o[QLatin1String(key)] = v;
    };
    put("sni", latin1(t.sni));
    put("clientProtocol", t.clientProtocol);
    put("clientCipher", t.clientCipher);
    put("upstreamProtocol", t.upstreamProtocol);
    put("upstreamCipher", t.upstreamCipher);
    put("upstreamSubject", t.upstreamSubject);
    put("upstreamIssuer", t.upstreamIssuer);
    put("upstreamValidity", t.upstreamValidity);
    put("upstreamVerification", t.upstreamVerification);
    return o;
}

QJsonArray extensionsJson(const QList<ws::Extension> &extensions)
{
    QJsonArray a;
    for (const ws::Extension &e : extensions) {
        QJsonArray params;
        for (const ws::ExtensionParam &p : e.params)
            params.append(QJsonArray {latin1(p.name), p.value ? QJsonValue(latin1(*p.value)) : QJsonValue()});
        a.append(QJsonObject {{"name", latin1(e.name)}, {"params", params}});
    }
    return a;
}

QJsonObject sessionJson(const SessionInfo &s)
{
    QJsonObject o {{"type", "session"},
                   {"id", qint64(s.id)},
                   {"kind", KindNames[int(s.kind)]},
                   {"mode", ModeNames[int(s.mode)]},
                   {"state", StateNames[int(s.state)]},
                   {"clientAddress", s.clientAddress},
                   {"clientPort", s.clientPort},
                   {"scheme", latin1(s.scheme)},
                   {"host", latin1(s.host)},
                   {"port", s.port},
                   {"path", latin1(s.path)}};
    if (!s.request.method.isEmpty() || !s.request.raw.isEmpty())
        o["request"] = QJsonObject {{"method", latin1(s.request.method)},
                                    {"target", latin1(s.request.target)},
                                    {"version", versionText(s.request.version)},
                                    {"headers", headersJson(s.request.headers)},
                                    {"raw", latin1(s.request.raw)}};
    if (s.response.status)
        o["response"] = QJsonObject {{"status", s.response.status},
                                     {"reason", latin1(s.response.reason)},
                                     {"version", versionText(s.response.version)},
                                     {"headers", headersJson(s.response.headers)},
                                     {"raw", latin1(s.response.raw)}};
    putBody(o, "requestBody", s.requestBody);
    putBody(o, "responseBody", s.responseBody);
    if (s.requestBodySize)
        o["requestBodySize"] = qint64(s.requestBodySize);
    if (s.responseBodySize)
        o["responseBodySize"] = qint64(s.responseBodySize);
    if (!s.subprotocol.isEmpty())
        o["subprotocol"] = latin1(s.subprotocol);
    if (!s.extensions.isEmpty())
        o["extensions"] = extensionsJson(s.extensions);
    if (s.deflate)
        o["deflate"] = QJsonObject {{"serverNoContextTakeover", s.deflate->serverNoContextTakeover},
                                    {"clientNoContextTakeover", s.deflate->clientNoContextTakeover},
                                    {"serverMaxWindowBits", s.deflate->serverMaxWindowBits},
                                    {"clientMaxWindowBits", s.deflate->clientMaxWindowBits}};
    if (!s.handshakeProblems.isEmpty())
        o["handshakeProblems"] = QJsonArray::fromStringList(s.handshakeProblems);
    if (!s.handshakeNotes.isEmpty())
        o["handshakeNotes"] = QJsonArray::fromStringList(s.handshakeNotes);
    if (!s.faults.isEmpty())
        o["faults"] = QJsonArray::fromStringList(s.faults);
    if (!s.mock.isEmpty())
        o["mock"] = s.mock;
    if (!s.engine.isEmpty())
        o["engine"] = s.engine;
    QJsonObject times;
    const auto time = [&](const char *key, qint64 v) {
        if (v)
            times[QLatin1String(key)] = v;
    };
    time("accepted", s.acceptedAt);
    time("request", s.requestAt);
    time("upgraded", s.upgradedAt);
    time("closed", s.closedAt);
    o["times"] = times;
    if (!s.error.isEmpty())
        o["error"] = s.error;
    if (s.violations)
        o["violations"] = violationsJson(s.violations);
    if (!s.firstViolation.isEmpty())
        o["firstViolation"] = s.firstViolation;
    if (s.close.firstCloser || s.close.end != EndReason::None || s.close.closeSent[0] || s.close.closeSent[1])
        o["close"] = closeJson(s.close);
    if (s.tls.intercepted || !s.tls.sni.isEmpty() || !s.tls.upstreamProtocol.isEmpty())
        o["tls"] = tlsJson(s.tls);
    if (s.tunnelBytes[0] || s.tunnelBytes[1])
        o["tunnelBytes"] = QJsonArray {qint64(s.tunnelBytes[0]), qint64(s.tunnelBytes[1])};
    return o;
}

// --- decoding ---

// Reads fields of one JSON object, remembering the first problem with the field's name.
class Reader
{
public:
    Reader(const QJsonObject &o, QString prefix, QString *error)
        : m_o(o)
        , m_prefix(std::move(prefix))
        , m_error(error)
    { }

    bool ok() const { return m_ok; }
    bool has(const char *key) const { return m_o.contains(QLatin1String(key)); }
    void fail(const char *key, const QString &why)
    {
        if (m_ok && m_error)
            *m_error = QStringLiteral("field '%1%2': %3").arg(m_prefix, QLatin1String(key), why);
        m_ok = false;
    }

    qint64 integer(const char *key, qint64 min, qint64 max, qint64 fallback = 0, bool required = false)
    {
        const QJsonValue v = m_o.value(QLatin1String(key));
        if (v.isUndefined()) {
            if (required)
                fail(key, QStringLiteral("missing"));
            return fallback;
        }
        const double d = v.toDouble(qQNaN());
        // (double(INT64_MAX) rounds up to 2^63, which toInteger() cannot hold.)
        if (!v.isDouble() || d != std::floor(d) || d < double(min) || d > double(max)
            || d >= 9223372036854775808.0) {
            fail(key, QStringLiteral("expected an integer %1-%2").arg(min).arg(max));
            return fallback;
        }
        return v.toInteger();
    }
    bool boolean(const char *key)
    {
        const QJsonValue v = m_o.value(QLatin1String(key));
        if (v.isUndefined())
            return false;
        if (!v.isBool())
            fail(key, QStringLiteral("expected true or false"));
        return v.toBool();
    }
    QString string(const char *key, bool required = false)
    {
        const QJsonValue v = m_o.value(QLatin1String(key));
        if (v.isUndefined()) {
            if (required)
                fail(key, QStringLiteral("missing"));
            return {};
        }
        if (!v.isString())
            fail(key, QStringLiteral("expected a string"));
        return v.toString();
    }
    QByteArray bytes(const char *key) { return string(key).toLatin1(); }
    QByteArray base64(const char *key)
    {
        const QString s = string(key);
        auto r = QByteArray::fromBase64Encoding(s.toLatin1(), QByteArray::AbortOnBase64DecodingErrors);
        if (!r)
            fail(key, QStringLiteral("not valid base64"));
        return *r;
    }
    // "key" (UTF-8 text) or "keyBase64".
    QByteArray textOrBase64(const char *textKey, const char *base64Key)
    {
        if (has(base64Key))
            return base64(base64Key);
        return string(textKey).toUtf8();
    }
    QJsonArray array(const char *key)
    {
        const QJsonValue v = m_o.value(QLatin1String(key));
        if (!v.isUndefined() && !v.isArray())
            fail(key, QStringLiteral("expected an array"));
        return v.toArray();
    }
    QJsonObject object(const char *key)
    {
        const QJsonValue v = m_o.value(QLatin1String(key));
        if (!v.isUndefined() && !v.isObject())
            fail(key, QStringLiteral("expected an object"));
        return v.toObject();
    }
    template<size_t N>
    int name(const char *key, const char *const (&names)[N], bool required = true)
    {
        const QString s = string(key, required);
        if (s.isEmpty() && !required)
            return 0;
        for (size_t i = 0; i < N; ++i)
            if (s == QLatin1String(names[i]))
                return int(i);
        QStringList all;
        for (const char *n : names)
            all << QLatin1String(n);
        fail(key, QStringLiteral("'%1' is not one of %2").arg(s, all.join(QLatin1String(", "))));
        return 0;
    }
    void fold(Reader &inner)
    {
        if (!inner.ok())
            m_ok = false;
    }
    QString prefix(const char *key) const { return m_prefix + QLatin1String(key) + QLatin1Char('.'); }

private:
    const QJsonObject &m_o;
    QString m_prefix;
    QString *m_error;
    bool m_ok = true;
};

std::optional<http::Version> parseVersion(const QString &text)
{
    if (text.size() != 8 || !text.startsWith(QLatin1String("HTTP/")) || !text[5].isDigit() || text[6] != '.'
        || !text[7].isDigit())
        return std::nullopt;
    return http::Version {text[5].digitValue(), text[7].digitValue()};
}

void readHeaders(Reader &r, const char *key, http::Headers &headers)
{
    for (const QJsonValue &v : r.array(key)) {
        const QJsonArray pair = v.toArray();
        if (pair.size() != 2 || !pair[0].isString() || !pair[1].isString()) {
            r.fail(key, QStringLiteral("expected [name, value] pairs of strings"));
            return;
        }
        headers.append(pair[0].toString().toLatin1(), pair[1].toString().toLatin1());
    }
}

template<typename Head>
void readHeadCommon(Reader &r, Head &head)
{
    if (const auto v = parseVersion(r.string("version")))
        head.version = *v;
    else
        r.fail("version", QStringLiteral("expected HTTP/x.y"));
    readHeaders(r, "headers", head.headers);
    head.raw = r.bytes("raw");
}

void readClose(Reader &r, CloseInfo &c)
{
    const QString first = r.string("firstCloser");
    if (first == QLatin1String("client"))
        c.firstCloser = Direction::ClientToServer;
    else if (first == QLatin1String("server"))
        c.firstCloser = Direction::ServerToClient;
    else if (!first.isEmpty())
        r.fail("firstCloser", QStringLiteral("expected client or server"));
    for (int i = 0; i < 2; ++i) {
        const char *key = directionName(Direction(i));
        if (!r.has(key))
            continue;
        const QJsonObject sideObject = r.object(key);
        Reader side(sideObject, r.prefix(key), nullptr);
        c.closeSent[i] = side.boolean("sent");
        if (side.has("undelivered"))
            c.closeUndelivered[i] = side.boolean("undelivered");
        if (side.has("code"))
            c.code[i] = quint16(side.integer("code", 0, 65535));
        c.reason[i] = side.base64("reasonBase64");
        if (!side.ok())
            r.fail(key, QStringLiteral("expected {sent, code, reasonBase64}"));
    }
    c.firstCloseTime = r.integer("firstCloseTime", 0, std::numeric_limits<qint64>::max());
    c.tcpEndTime = r.integer("tcpEndTime", 0, std::numeric_limits<qint64>::max());
    c.end = EndReason(r.name("end", EndNames));
    c.detail = r.string("detail");
}

void readTls(Reader &r, TlsInfo &t)
{
    t.intercepted = r.boolean("intercepted");
    t.upstreamVerified = r.boolean("upstreamVerified");
    t.sni = r.bytes("sni");
    t.clientProtocol = r.string("clientProtocol");
    t.clientCipher = r.string("clientCipher");
    t.upstreamProtocol = r.string("upstreamProtocol");
    t.upstreamCipher = r.string("upstreamCipher");
    t.upstreamSubject = r.string("upstreamSubject");
    t.upstreamIssuer = r.string("upstreamIssuer");
    t.upstreamValidity = r.string("upstreamValidity");
    t.upstreamVerification = r.string("upstreamVerification");
}

ws::Violations readViolations(Reader &r, const char *key)
{
    ws::Violations v;
    for (const QJsonValue &item : r.array(key)) {
        const QString code =
            item.isObject() ? item.toObject().value(QLatin1String("code")).toString() : item.toString();
        const ws::Violation one = ws::violationFromCode(code.toLatin1());
        if (one == ws::Violation::None) {
            r.fail(key, QStringLiteral("unknown violation code '%1'").arg(code));
            break;
        }
        v |= one;
    }
    return v;
}

QStringList strings(Reader &r, const char *key)
{
    QStringList out;
    for (const QJsonValue &v : r.array(key)) {
        if (!v.isString()) {
            r.fail(key, QStringLiteral("expected an array of strings"));
            break;
        }
        out << v.toString();
    }
    return out;
}

std::optional<SessionInfo> decodeSession(const QJsonObject &o, QString *error)
{
    Reader r(o, QString(), error);
    SessionInfo s;
    s.id = SessionId(r.integer("id", 1, std::numeric_limits<qint64>::max(), 0, true));
    s.kind = SessionKind(r.name("kind", KindNames));
    s.mode = ProxyMode(r.name("mode", ModeNames));
    s.state = SessionState(r.name("state", StateNames));
    s.clientAddress = r.string("clientAddress");
    s.clientPort = quint16(r.integer("clientPort", 0, 65535));
    s.scheme = r.bytes("scheme");
    s.host = r.bytes("host");
    s.port = quint16(r.integer("port", 0, 65535));
    s.path = r.bytes("path");
    if (r.has("request")) {
        const QJsonObject ho = r.object("request");
        Reader h(ho, r.prefix("request"), error);
        s.request.method = h.bytes("method");
        s.request.target = h.bytes("target");
        readHeadCommon(h, s.request);
        r.fold(h);
    }
    if (r.has("response")) {
        const QJsonObject ho = r.object("response");
        Reader h(ho, r.prefix("response"), error);
        s.response.status = int(h.integer("status", -1, 999, 0, true)); // -1: HAR's "unknown"
        s.response.reason = h.bytes("reason");
        readHeadCommon(h, s.response);
        r.fold(h);
    }
    s.requestBody = r.textOrBase64("requestBody", "requestBodyBase64");
    s.responseBody = r.textOrBase64("responseBody", "responseBodyBase64");
    s.requestBodySize = quint64(r.integer("requestBodySize", 0, std::numeric_limits<qint64>::max()));
    s.responseBodySize = quint64(r.integer("responseBodySize", 0, std::numeric_limits<qint64>::max()));
    s.subprotocol = r.bytes("subprotocol");
    for (const QJsonValue &v : r.array("extensions")) {
        const QJsonObject eo = v.toObject();
        ws::Extension e;
        e.name = eo.value(QLatin1String("name")).toString().toLatin1();
        for (const QJsonValue &p : eo.value(QLatin1String("params")).toArray()) {
            const QJsonArray pair = p.toArray();
            ws::ExtensionParam param;
            param.name = pair.at(0).toString().toLatin1();
            if (pair.at(1).isString())
                param.value = pair.at(1).toString().toLatin1();
            e.params.append(param);
        }
        if (e.name.isEmpty())
            r.fail("extensions", QStringLiteral("expected {name, params} objects"));
        s.extensions.append(e);
    }
    if (r.has("deflate")) {
        const QJsonObject dob = r.object("deflate");
        Reader d(dob, r.prefix("deflate"), error);
        ws::DeflateParams p;
        p.serverNoContextTakeover = d.boolean("serverNoContextTakeover");
        p.clientNoContextTakeover = d.boolean("clientNoContextTakeover");
        p.serverMaxWindowBits = int(d.integer("serverMaxWindowBits", 8, 15, 15));
        p.clientMaxWindowBits = int(d.integer("clientMaxWindowBits", 8, 15, 15));
        r.fold(d);
        s.deflate = p;
    }
    s.handshakeProblems = strings(r, "handshakeProblems");
    s.handshakeNotes = strings(r, "handshakeNotes");
    s.faults = strings(r, "faults");
    s.mock = r.string("mock");
    s.engine = r.string("engine");
    const QJsonObject to = r.object("times");
    Reader t(to, r.prefix("times"), error);
    const qint64 minTime = std::numeric_limits<qint64>::min() + 1;
    const qint64 maxTime = std::numeric_limits<qint64>::max();
    s.acceptedAt = t.integer("accepted", minTime, maxTime);
    s.requestAt = t.integer("request", minTime, maxTime);
    s.upgradedAt = t.integer("upgraded", minTime, maxTime);
    s.closedAt = t.integer("closed", minTime, maxTime);
    r.fold(t);
    s.error = r.string("error");
    s.violations = readViolations(r, "violations");
    s.firstViolation = r.string("firstViolation");
    if (r.has("close")) {
        const QJsonObject co = r.object("close");
        Reader c(co, r.prefix("close"), error);
        readClose(c, s.close);
        r.fold(c);
    }
    if (r.has("tls")) {
        const QJsonObject tlo = r.object("tls");
        Reader tl(tlo, r.prefix("tls"), error);
        readTls(tl, s.tls);
        r.fold(tl);
    }
    const QJsonArray tunnel = r.array("tunnelBytes");
    if (tunnel.size() == 2) {
        s.tunnelBytes[0] = quint64(tunnel[0].toInteger());
        s.tunnelBytes[1] = quint64(tunnel[1].toInteger());
    } else if (!tunnel.isEmpty()) {
        r.fail("tunnelBytes", QStringLiteral("expected [fromClient, fromServer]"));
    }
    if (!r.ok())
        return std::nullopt;
    return s;
}

std::optional<ws::FrameInfo> decodeFrame(const QJsonObject &o)
{
    ws::FrameInfo f;
    const QString rsv = o.value(QLatin1String("rsv")).toString();
    const qint64 opcode = o.value(QLatin1String("opcode")).toInteger(-1);
    const qint64 header = o.value(QLatin1String("header")).toInteger(-1);
    const QJsonValue length = o.value(QLatin1String("length"));
    if (rsv.size() != 3 || opcode < 0 || opcode > 15 || header < 2 || header > ws::MaxHeaderSize
        || !length.isDouble() || length.toDouble() < 0)
        return std::nullopt;
    f.opcode = quint8(opcode);
    f.headerSize = quint8(header);
    f.length = quint64(length.toInteger());
    f.bits = quint8((o.value(QLatin1String("fin")).toInteger() ? 0x80 : 0) | (rsv[0] == '1' ? 0x40 : 0)
                    | (rsv[1] == '1' ? 0x20 : 0) | (rsv[2] == '1' ? 0x10 : 0));
    if (o.contains(QLatin1String("mask"))) {
        bool ok = false;
        f.maskKey = o.value(QLatin1String("mask")).toString().toUInt(&ok, 16);
        if (!ok)
            return std::nullopt;
        f.bits |= 0x08;
    }
    return f;
}

std::optional<DecodedMessage> decodeMessage(const QJsonObject &o, QString *error)
{
    Reader r(o, QString(), error);
    DecodedMessage m;
    MessageRecord &rec = m.record;
    m.session = SessionId(r.integer("session", 1, std::numeric_limits<qint64>::max(), 0, true));
    const QString from = r.string("from", true);
    if (from == QLatin1String("server"))
        rec.flags |= MessageFlag::ServerToClient;
    else if (from != QLatin1String("client"))
        r.fail("from", QStringLiteral("expected client or server"));
    rec.opcode = quint8(r.integer("opcode", 0, 15, 0, true));
    rec.time = r.integer("time", std::numeric_limits<qint64>::min() + 1, std::numeric_limits<qint64>::max(),
                         0, true);
    rec.duration = quint32(r.integer("duration", 0, 0xffffffff));
    const bool implied = !r.has("frames"); // one plain frame: only its mask key is written
    const qint64 maxSize = std::numeric_limits<qint64>::max();
    rec.payloadSize = quint64(r.integer("size", 0, maxSize, 0, !implied));
    rec.wireSize = quint64(r.integer("wireSize", 0, maxSize, 0, !implied));
    rec.frameCount = quint32(r.integer("frameCount", 0, 0xffffffff, 0, !implied));
    rec.closeCode = quint16(r.integer("closeCode", 0, 65535));
    for (const QJsonValue &v : r.array("flags")) {
        bool known = false;
        for (const MessageFlagName &f : messageFlagNames())
            if (v.toString() == QLatin1String(f.name)) {
                rec.flags |= f.flag;
                known = true;
            }
        if (!known) {
            r.fail("flags", QStringLiteral("unknown flag '%1'").arg(v.toString()));
            break;
        }
    }
    rec.violations = readViolations(r, "violations").toInt();
    for (const QJsonValue &v : r.array("frames")) {
        const auto f = decodeFrame(v.toObject());
        if (!f) {
            r.fail("frames",
                   QStringLiteral("frame %1: expected {fin, rsv, opcode, length, header, mask}")
                       .arg(m.frames.size() + 1));
            break;
        }
        m.frames.push_back(*f);
    }
    if (!m.frames.empty()) {
        rec.maskKey = m.frames.front().maskKey;
        rec.firstFrameBits = m.frames.front().bits;
        rec.firstHeaderSize = m.frames.front().headerSize;
        if (m.frames.size() == 1 && rec.frameCount == 1)
            m.frames.clear(); // the record describes it
    }
    m.payload = r.textOrBase64("text", "base64");
    m.wirePayload = r.base64("wireBase64");
    m.original = r.textOrBase64("originalText", "originalBase64");
    m.note = r.string("note");
    if (implied) {
        ws::FrameInfo f;
        const bool compressed = rec.has(MessageFlag::Compressed);
        rec.payloadSize = quint64(m.payload.size());
        f.length = compressed ? quint64(m.wirePayload.size()) : rec.payloadSize;
        f.opcode = rec.opcode;
        f.bits = quint8(0x80 | (compressed ? 0x40 : 0));
        if (r.has("mask")) {
            bool ok = false;
            f.maskKey = r.string("mask").toUInt(&ok, 16);
            if (!ok)
                r.fail("mask", QStringLiteral("expected 8 hex digits"));
            f.bits |= 0x08;
        }
        f.headerSize = minimalHeaderSize(f.length, f.masked());
        rec.wireSize = f.headerSize + f.length;
        rec.frameCount = 1;
        rec.maskKey = f.maskKey;
        rec.firstFrameBits = f.bits;
        rec.firstHeaderSize = f.headerSize;
    }
    if (m.payload.size() > qsizetype(rec.payloadSize))
        r.fail("size", QStringLiteral("smaller than the payload it describes"));
    rec.capturedSize = quint32(m.payload.size());
    if (!r.ok())
        return std::nullopt;
    return m;
}

} // namespace

QByteArray headerLine()
{
    return QByteArray(R"({"format":")") + FormatName + R"(","version":)" + QByteArray::number(FormatVersion)
        + "}\n";
}

void appendSession(QByteArray &out, const SessionInfo &info)
{
    out.append(QJsonDocument(sessionJson(info)).toJson(QJsonDocument::Compact));
    out.append('\n');
}

void appendMessage(QByteArray &out, const MessageParts &m)
{
    const MessageRecord &r = m.record;
    out.append(R"({"type":"message","session":)");
    appendNumber(out, m.session);
    out.append(r.direction() == Direction::ClientToServer ? R"(,"from":"client","opcode":)"
                                                          : R"(,"from":"server","opcode":)");
    appendNumber(out, r.opcode);
    out.append(R"(,"time":)");
    appendSigned(out, r.time);
    if (r.duration) {
        out.append(R"(,"duration":)");
        appendNumber(out, r.duration);
    }
    const ws::FrameInfo only = m.frames.size() == 1 ? m.frames.front() : r.firstFrame();
    // (Only with the whole payload at hand: the reader takes the size from it.)
    const bool implied = m.frames.size() <= 1 && r.firstHeaderSize
        && m.payload.size() == qsizetype(r.capturedSize) && r.capturedSize == r.payloadSize
        && impliedFrame(r, only, m.wirePayload.size());
    if (!implied) {
        out.append(R"(,"size":)");
        appendNumber(out, r.payloadSize);
        out.append(R"(,"wireSize":)");
        appendNumber(out, r.wireSize);
        out.append(R"(,"frameCount":)");
        appendNumber(out, r.frameCount);
    }
    if (r.closeCode) {
        out.append(R"(,"closeCode":)");
        appendNumber(out, r.closeCode);
    }
    appendFlags(out, r);
    if (implied) {
        if (only.masked())
            appendMask(out, only.maskKey);
    } else {
        out.append(R"(,"frames":[)");
        if (!m.frames.empty()) {
            for (size_t i = 0; i < m.frames.size(); ++i) {
                if (i)
                    out.append(',');
                appendFrame(out, m.frames[i]);
            }
        } else if (r.frameCount >= 1 && r.firstHeaderSize) {
            appendFrame(out, r.firstFrame());
        }
        out.append(']');
    }
    const bool text = r.opcode == quint8(ws::Opcode::Text);
    if (!m.payload.isEmpty())
        appendBytes(out, R"(,"text":)", R"(,"base64":)", m.payload, text);
    if (!m.wirePayload.isEmpty()) {
        out.append(R"(,"wireBase64":)");
        appendBase64(out, m.wirePayload);
    }
    if (!m.original.isEmpty())
        appendBytes(out, R"(,"originalText":)", R"(,"originalBase64":)", m.original, text);
    if (!m.note.isEmpty()) {
        out.append(R"(,"note":)");
        appendJsonString(out, m.note.toUtf8());
    }
    out.append("}\n");
}

MessageParts DecodedMessage::parts() const
{
    return MessageParts {session, record, payload, wirePayload, original, note, frames};
}

std::optional<Record> decodeLine(QByteArrayView line, QString *error)
{
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(line.toByteArray(), &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        *error =
            QStringLiteral("not JSON: %1 at byte %2").arg(parseError.errorString()).arg(parseError.offset);
        return std::nullopt;
    }
    if (!doc.isObject()) {
        *error = QStringLiteral("expected a JSON object");
        return std::nullopt;
    }
    const QJsonObject o = doc.object();
    const QString type = o.value(QLatin1String("type")).toString();
    if (type == QLatin1String("message")) {
        if (auto m = decodeMessage(o, error))
            return Record(std::move(*m));
        return std::nullopt;
    }
    if (type == QLatin1String("session")) {
        if (auto s = decodeSession(o, error))
            return Record(std::move(*s));
        return std::nullopt;
    }
    if (o.contains(QLatin1String("format"))) {
        if (o.value(QLatin1String("format")).toString() != QLatin1String(FormatName)) {
            *error = QStringLiteral("field 'format': not a Socktap capture ('%1')")
                         .arg(o.value(QLatin1String("format")).toString());
            return std::nullopt;
        }
        const int version = o.value(QLatin1String("version")).toInt(0);
        if (version < 1 || version > FormatVersion) {
            *error =
                QStringLiteral("field 'version': version %1 is not supported (this Socktap reads version "
                               "%2)")
                    .arg(o.value(QLatin1String("version")).toVariant().toString())
                    .arg(FormatVersion);
            return std::nullopt;
        }
        return Record(Header {version});
    }
    *error = type.isEmpty() ? QStringLiteral("field 'type': missing")
                            : QStringLiteral("field 'type': unknown record type '%1'").arg(type);
    return std::nullopt;
}

QByteArray withSessionId(QByteArrayView line, SessionId id)
{
    QString error;
    auto record = decodeLine(line, &error);
    QByteArray out;
    if (!record)
        return line.toByteArray();
    if (auto *s = std::get_if<SessionInfo>(&*record)) {
        s->id = id;
        appendSession(out, *s);
    } else if (auto *m = std::get_if<DecodedMessage>(&*record)) {
        m->session = id;
        appendMessage(out, m->parts());
    } else {
        return line.toByteArray();
    }
    out.chop(1); // the newline
    return out;
}

} // namespace socktap::capture::native
