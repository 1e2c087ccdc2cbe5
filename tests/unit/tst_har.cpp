// HAR export and import, and the plain-text conversation: a capture with every kind of message exported as
// HAR 1.2 the way Chrome writes it and read back; hand-written files from Chrome DevTools, mitmproxy and
// HTTP Toolkit; broken files with precise errors.
#include "core/capture/CaptureWriter.h"
#include "core/capture/ConversationText.h"
#include "core/capture/Har.h"
#include "core/capture/JsonFormat.h"
#include "core/capture/TextFormat.h"
#include "core/http/HeadWriter.h"
#include "core/ws/CloseCode.h"

#include <QBuffer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace socktap;
using namespace socktap::capture;

namespace {

// 2023-11-14T22:13:20.123456Z (no digit separators in this file: moc misreads them)
constexpr qint64 T0 = 1700000000123456;

const QByteArray BinaryPayload("\x00\x01\xfe\xff\x80", 5);
const QByteArray HttpBody("\x89PNG\r\n\x1a\n\x00\xff", 10);
const QByteArray WirePayload("\xca\x48\xcd\xc9\xc9\x07\x00", 7);

void appendAll(http::Headers &headers, std::initializer_list<std::pair<const char *, const char *>> fields)
{
    for (const auto &[name, value] : fields)
        headers.append(name, value);
}

ws::FrameInfo frame(quint8 opcode, quint64 length, bool fin, quint32 mask = 0, bool rsv1 = false)
{
    ws::FrameInfo f;
    f.opcode = opcode;
    f.length = length;
    f.maskKey = mask;
    f.bits = quint8((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (mask ? 0x08 : 0));
    f.headerSize = quint8(2 + (length > 125 ? 2 : 0) + (mask ? 4 : 0));
    return f;
}

struct Message
{
    Direction direction;
    quint8 opcode;
    QByteArray payload;
    qint64 time;
    std::vector<ws::FrameInfo> frames;
    QByteArray wirePayload = {};
};

void write(CaptureWriter &writer, SessionId id, const Message &m)
{
    MessageFacts f;
    f.opcode = m.opcode;
    f.payload = m.payload;
    f.wirePayload = m.wirePayload;
    f.payloadSize = quint64(m.payload.size());
    for (const auto &fr : m.frames)
        f.wireSize += fr.headerSize + fr.length;
    f.frameCount = m.frames.size();
    f.frames = m.frames;
    f.compressed = !m.wirePayload.isEmpty();
    f.firstFrameTime = m.time;
    f.lastFrameTime = m.time + (m.frames.size() > 1 ? 500 : 0);
    if (m.opcode == quint8(ws::Opcode::Close))
        f.closeCode = quint16((quint8(m.payload[0]) << 8) | quint8(m.payload[1]));
    writer.message(id, m.direction, f);
}

const Direction C2S = Direction::ClientToServer;
const Direction S2C = Direction::ServerToClient;

// Every kind of message a WebSocket session records, in order.
std::vector<Message> webSocketMessages()
{
    const auto T = [](qint64 offset) { return T0 + offset; };
    return {
        {C2S, 1, "hello", T(1000), {frame(1, 5, true, 0x11223344)}},
        {S2C, 2, BinaryPayload, T(2000), {frame(2, 5, true)}},
        {C2S,
         1,
         "part1part2part3",
         T(3000),
         {frame(1, 5, false, 0xa1a2a3a4), frame(0, 5, false, 0xb1b2b3b4), frame(0, 5, true, 0xc1c2c3c4)}},
        {S2C, 1, "hello hello hello", T(4000), {frame(1, 7, true, 0, true)}, WirePayload},
        {S2C, 1, "first line\r\nsecond line", T(5000), {frame(1, 23, true)}},
        {C2S, 9, "p", T(6000), {frame(9, 1, true, 0x01020304)}},
        {S2C, 10, "p", T(6500), {frame(10, 1, true)}},
        {C2S,
         8,
         QByteArray("\x03\xe8"
                    "bye",
                    5),
         T(7000),
         {frame(8, 5, true, 0x05060708)}},
        {S2C,
         8,
         QByteArray("\x03\xe8"
                    "bye",
                    5),
         T(7500),
         {frame(8, 5, true)}},
    };
}

SessionInfo webSocketSession(SessionId id)
{
    SessionInfo s;
    s.id = id;
    s.kind = SessionKind::WebSocket;
    s.state = SessionState::Closed;
    s.scheme = "wss";
    s.host = "chat.example";
    s.port = 443;
    s.path = "/socket?room=a%20b&x";
    s.request.method = "GET";
    s.request.target = s.path;
    appendAll(s.request.headers,
              {{"Host", "chat.example"},
               {"Upgrade", "websocket"},
               {"Connection", "Upgrade"},
               {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
               {"Sec-WebSocket-Protocol", "chat.v1, chat.v2"},
               {"Sec-WebSocket-Extensions", "permessage-deflate"}});
    s.request.raw = http::serialize(s.request);
    s.response.status = 101;
    s.response.reason = "Switching Protocols";
    appendAll(s.response.headers,
              {{"Upgrade", "websocket"},
               {"Connection", "Upgrade"},
               {"Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
               {"Sec-WebSocket-Protocol", "chat.v2"},
               {"Sec-WebSocket-Extensions", "permessage-deflate"}});
    s.response.raw = http::serialize(s.response);
    s.subprotocol = "chat.v2";
    s.extensions = ws::parseExtensions("permessage-deflate").value();
    s.deflate = ws::DeflateParams {};
    s.acceptedAt = T0;
    s.requestAt = T0 + 100;
    s.upgradedAt = T0 + 600;
    s.closedAt = T0 + 8000;
    s.close.firstCloser = C2S;
    s.close.code[0] = s.close.code[1] = ws::CloseCode::Normal;
    s.close.reason[0] = s.close.reason[1] = "bye";
    s.close.closeSent[0] = s.close.closeSent[1] = true;
    s.close.firstCloseTime = T0 + 7000;
    s.close.tcpEndTime = T0 + 8000;
    s.close.end = EndReason::Closed;
    s.tls.intercepted = true;
    s.tls.sni = "chat.example";
    s.tls.clientProtocol = QStringLiteral("TLSv1.3");
    return s;
}

SessionInfo httpSession(SessionId id)
{
    SessionInfo s;
    s.id = id;
    s.kind = SessionKind::Http;
    s.state = SessionState::Closed;
    s.scheme = "http";
    s.host = "files.example";
    s.port = 8080;
    s.path = "/blob.bin";
    s.request.method = "GET";
    s.request.target = "http://files.example:8080/blob.bin";
    s.request.headers.append("Host", "files.example:8080");
    s.request.raw = http::serialize(s.request);
    s.response.status = 200;
    s.response.reason = "OK";
    s.response.headers.append("Content-Type", "application/octet-stream");
    s.response.headers.append("Content-Length", "10");
    s.response.raw = http::serialize(s.response);
    s.responseBody = HttpBody;
    s.responseBodySize = quint64(HttpBody.size());
    s.acceptedAt = T0 + 10000;
    s.requestAt = T0 + 10100;
    s.upgradedAt = T0 + 12100;
    s.closedAt = T0 + 13600;
    return s;
}

struct Capture
{
    CaptureStore store;
    SessionId webSocket = 0;
    SessionId http = 0;
    SessionId tunnel = 0;
};

void fill(Capture &c)
{
    CaptureWriter writer(c.store);
    c.webSocket = c.store.newSessionId();
    writer.session(webSocketSession(c.webSocket));
    for (const Message &m : webSocketMessages())
        write(writer, c.webSocket, m);
    c.http = c.store.newSessionId();
    writer.session(httpSession(c.http));
    c.tunnel = c.store.newSessionId();
    SessionInfo tunnel;
    tunnel.id = c.tunnel;
    tunnel.kind = SessionKind::Tunnel;
    tunnel.host = "opaque.example";
    tunnel.port = 443;
    tunnel.tunnelBytes[0] = 100;
    writer.session(tunnel);
    writer.flush();
}

QByteArray exportHar(const CaptureStore &store, const std::vector<SessionId> &sessions = {})
{
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    QString error;
    if (!writeHar(store, sessions, buffer, &error))
        qWarning("writeHar: %s", qPrintable(error));
    return buffer.data();
}

QJsonObject parse(const QByteArray &json)
{
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError)
        qWarning("invalid JSON: %s", qPrintable(error.errorString()));
    return doc.object();
}

QByteArray readSample(const QString &name)
{
    QFile file(QStringLiteral(SOCKTAP_SOURCE_DIR "/tests/data/har/") + name);
    if (!file.open(QIODevice::ReadOnly))
        qWarning("cannot open %s", qPrintable(file.fileName()));
    return file.readAll();
}

// HAR 1.2's required members and their types (http://www.softwareishard.com/blog/har-12-spec/), plus
// the rules Chrome's importer applies to _webSocketMessages. Returns what is wrong, empty when nothing.
class HarChecker
{
public:
    QStringList check(const QJsonObject &root)
    {
        const QJsonObject log = root.value("log").toObject();
        expect(log.value("version") == QJsonValue("1.2"), "log.version is \"1.2\"");
        const QJsonObject creator = log.value("creator").toObject();
        expect(creator.value("name").isString() && creator.value("version").isString(), "log.creator");
        expect(log.value("pages").isArray(), "log.pages is an array");
        expect(log.value("entries").isArray(), "log.entries is an array");
        for (const QJsonValue &e : log.value("entries").toArray())
            checkEntry(e.toObject());
        return m_problems;
    }

private:
    void expect(bool ok, const QString &what)
    {
        if (!ok)
            m_problems.append(what);
    }
    void members(const QJsonObject &o, const QString &where, const QStringList &numbers,
                 const QStringList &strings, const QStringList &arrays, const QStringList &objects = {})
    {
        for (const QString &k : numbers)
            expect(o.value(k).isDouble(), where + '.' + k + " is a number");
        for (const QString &k : strings)
            expect(o.value(k).isString(), where + '.' + k + " is a string");
        for (const QString &k : arrays)
            expect(o.value(k).isArray(), where + '.' + k + " is an array");
        for (const QString &k : objects)
            expect(o.value(k).isObject(), where + '.' + k + " is an object");
    }
    void checkEntry(const QJsonObject &e)
    {
        members(e, "entry", {"time"}, {"startedDateTime"}, {}, {"request", "response", "cache", "timings"});
        expect(QDateTime::fromString(e.value("startedDateTime").toString(), Qt::ISODateWithMs).isValid(),
               "startedDateTime is ISO 8601");
        members(e.value("request").toObject(), "request", {"headersSize", "bodySize"},
                {"method", "url", "httpVersion"}, {"cookies", "headers", "queryString"});
        const QJsonObject response = e.value("response").toObject();
        members(response, "response", {"status", "headersSize", "bodySize"},
                {"statusText", "httpVersion", "redirectURL"}, {"cookies", "headers"}, {"content"});
        members(response.value("content").toObject(), "content", {"size"}, {"mimeType"}, {});
        const QJsonObject timings = e.value("timings").toObject();
        members(timings, "timings", {"send", "wait", "receive"}, {}, {});
        double sum = 0;
        for (const char *k : {"blocked", "dns", "connect", "send", "wait", "receive"})
            sum += std::max(0.0, timings.value(k).toDouble());
        expect(qFuzzyCompare(1 + sum, 1 + e.value("time").toDouble()), "time is the sum of the timings");
        for (const QJsonValue &h : e.value("request").toObject().value("headers").toArray())
            members(h.toObject(), "header", {}, {"name", "value"}, {});
        for (const QJsonValue &v : e.value("_webSocketMessages").toArray()) {
            const QJsonObject m = v.toObject();
            const QString type = m.value("type").toString();
            expect(type == "send" || type == "receive", "message type is send or receive");
            expect(m.value("time").isDouble(), "message time is a number");
            const int opcode = m.value("opcode").toInt(-1);
            expect(opcode == 1 || opcode == 2, "message opcode is 1 or 2");
            expect(m.value("data").isString(), "message data is a string");
            if (opcode == 2)
                expect(QByteArray::fromBase64Encoding(m.value("data").toString().toLatin1(),
                                                      QByteArray::AbortOnBase64DecodingErrors)
                               .decodingStatus
                           == QByteArray::Base64DecodingStatus::Ok,
                       "binary data is base64");
        }
    }

    QStringList m_problems;
};

QJsonObject entryFor(const QJsonObject &root, const QString &resourceType)
{
    for (const QJsonValue &e : root["log"]["entries"].toArray())
        if (e["_resourceType"].toString() == resourceType)
            return e.toObject();
    return {};
}

// Removes Socktap's extras from every entry and message: what any other tool's HAR would carry.
QByteArray withoutSocktapExtras(const QJsonObject &root, bool keepControlFrames)
{
    QJsonObject log = root["log"].toObject();
    QJsonArray entries;
    for (const QJsonValue &v : log["entries"].toArray()) {
        QJsonObject e = v.toObject();
        e.remove("_socktap");
        for (const char *key : {"_webSocketMessages", "_socktapControlFrames"}) {
            QJsonArray list;
            for (const QJsonValue &m : e[key].toArray()) {
                QJsonObject o = m.toObject();
                o.remove("_socktap");
                list.append(o);
            }
            if (e.contains(key))
                e[key] = list;
        }
        if (!keepControlFrames)
            e.remove("_socktapControlFrames");
        entries.append(e);
    }
    log["entries"] = entries;
    return QJsonDocument(QJsonObject {{"log", log}}).toJson();
}

std::optional<SessionInfo> sessionAt(const CaptureStore &store, size_t i)
{
    const auto ids = store.sessionIds();
    return i < ids.size() ? store.session(ids[i]) : std::nullopt;
}

qint64 micros(const char *iso)
{
    return QDateTime::fromString(QLatin1String(iso), Qt::ISODateWithMs).toMSecsSinceEpoch() * 1000;
}

QStringList conversation(const CaptureStore &store, SessionId id)
{
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    QString error;
    if (!writeConversationText(store, id, buffer, &error))
        qWarning("writeConversationText: %s", qPrintable(error));
    return QString::fromUtf8(buffer.data()).split('\n');
}

// A minimal valid HTTP entry, and variations of it for the error cases.
QJsonObject goodEntry()
{
    const QJsonObject request {{"method", "GET"},
                               {"url", "https://a.example/"},
                               {"httpVersion", "HTTP/1.1"},
                               {"headers", QJsonArray()}};
    const QJsonObject response {{"status", 200},
                                {"statusText", "OK"},
                                {"httpVersion", "HTTP/1.1"},
                                {"headers", QJsonArray()},
                                {"content", QJsonObject {{"size", 0}, {"mimeType", "text/plain"}}}};
    return {{"startedDateTime", "2024-01-01T00:00:00.000Z"},
            {"time", 0},
            {"request", request},
            {"response", response},
            {"timings", QJsonObject {{"send", 0}, {"wait", 0}, {"receive", 0}}}};
}

QJsonObject withField(QJsonObject entry, const QString &object, const QString &key, const QJsonValue &value)
{
    QJsonObject inner = entry[object].toObject();
    inner[key] = value;
    entry[object] = inner;
    return entry;
}

QJsonObject withMessage(QJsonObject entry, const QJsonObject &message)
{
    entry["_resourceType"] = "websocket";
    entry["_webSocketMessages"] = QJsonArray {message};
    return entry;
}

QByteArray harLog(const QJsonArray &entries)
{
    return QJsonDocument(QJsonObject {{"log", QJsonObject {{"version", "1.2"}, {"entries", entries}}}})
        .toJson();
}

} // namespace

class TestHar final : public QObject
{
    Q_OBJECT

private slots:
    void exportIsHar12AsChromeWritesIt()
    {
        Capture c;
        fill(c);
        const QJsonObject root = parse(exportHar(c.store));
        const QStringList problems = HarChecker().check(root);
        QVERIFY2(problems.isEmpty(), qPrintable(problems.join("; ")));
        QCOMPARE(root["log"]["creator"]["name"].toString(), QStringLiteral("Socktap"));
        QCOMPARE(root["log"]["entries"].toArray().size(), 2); // the tunnel has no HTTP to show

        const QJsonObject ws = entryFor(root, "websocket");
        QCOMPARE(ws["request"]["url"].toString(), QStringLiteral("wss://chat.example/socket?room=a%20b&x"));
        QCOMPARE(ws["request"]["queryString"][0]["value"].toString(), QStringLiteral("a b"));
        QCOMPARE(ws["request"]["bodySize"].toInt(), 0);
        QCOMPARE(ws["response"]["status"].toInt(), 101);
        QCOMPARE(ws["startedDateTime"].toString(), QStringLiteral("2023-11-14T22:13:20.123Z"));
        QCOMPARE(ws["timings"]["wait"].toDouble(), 0.5);
        QCOMPARE(ws["timings"]["dns"].toInt(), -1);

        // Data messages only, as Chrome lists them; binary as base64 of the exact bytes.
        const QJsonArray messages = ws["_webSocketMessages"].toArray();
        QCOMPARE(messages.size(), 5);
        QCOMPARE(messages[0]["type"].toString(), QStringLiteral("send"));
        QCOMPARE(messages[0]["data"].toString(), QStringLiteral("hello"));
        QCOMPARE(messages[0]["time"].toDouble(), double(T0 + 1000) / 1e6);
        QCOMPARE(messages[1]["type"].toString(), QStringLiteral("receive"));
        QCOMPARE(messages[1]["opcode"].toInt(), 2);
        QCOMPARE(QByteArray::fromBase64(messages[1]["data"].toString().toLatin1()), BinaryPayload);
        QCOMPARE(messages[2]["data"].toString(), QStringLiteral("part1part2part3"));

        // Socktap's extras: every frame of the fragmented message, with its mask.
        const QJsonArray frames = messages[2]["_socktap"]["frames"].toArray();
        QCOMPARE(frames.size(), 3);
        QCOMPARE(frames[0]["fin"].toBool(), false);
        QCOMPARE(frames[0]["opcode"].toInt(), 1);
        QCOMPARE(frames[1]["opcode"].toInt(), 0);
        QCOMPARE(frames[2]["fin"].toBool(), true);
        QCOMPARE(frames[1]["maskKey"].toString(), QStringLiteral("b1b2b3b4"));
        QCOMPARE(messages[2]["_socktap"]["wireSize"].toInt(), 3 * (6 + 5));
        QCOMPARE(messages[3]["_socktap"]["compressed"].toBool(), true);
        QCOMPARE(messages[3]["_socktap"]["frames"][0]["rsv1"].toBool(), true);
        QVERIFY(messages[1]["_socktap"]["frames"][0]["maskKey"].isUndefined()); // server frames are unmasked

        // Control frames apart, where Chrome does not look.
        const QJsonArray control = ws["_socktapControlFrames"].toArray();
        QCOMPARE(control.size(), 4);
        QCOMPARE(control[0]["opcode"].toInt(), 9);
        QCOMPARE(control[1]["opcode"].toInt(), 10);
        QCOMPARE(control[2]["opcode"].toInt(), 8);
        QCOMPARE(control[2]["_socktap"]["closeCode"].toInt(), 1000);
        QCOMPARE(ws["_socktap"]["close"]["client"]["code"].toInt(), 1000);
        QCOMPARE(ws["_socktap"]["close"]["firstCloser"].toString(), QStringLiteral("client"));
        QCOMPARE(ws["_socktap"]["subprotocol"].toString(), QStringLiteral("chat.v2"));

        // The HTTP exchange with its binary body.
        const QJsonObject http = root["log"]["entries"][1].toObject();
        QCOMPARE(http["request"]["url"].toString(), QStringLiteral("http://files.example:8080/blob.bin"));
        QCOMPARE(http["response"]["status"].toInt(), 200);
        QCOMPARE(http["response"]["content"]["encoding"].toString(), QStringLiteral("base64"));
        QCOMPARE(QByteArray::fromBase64(http["response"]["content"]["text"].toString().toLatin1()), HttpBody);
        QCOMPARE(http["response"]["content"]["size"].toInt(), 10);
        QCOMPARE(http["response"]["content"]["mimeType"].toString(),
                 QStringLiteral("application/octet-stream"));
        QCOMPARE(http["timings"]["receive"].toDouble(), 1.5);
    }

    void exportSelectedSessions()
    {
        Capture c;
        fill(c);
        const QJsonObject root = parse(exportHar(c.store, {c.http}));
        QCOMPARE(root["log"]["entries"].toArray().size(), 1);
        QCOMPARE(root["log"]["entries"][0]["_socktap"]["kind"].toString(), QStringLiteral("http"));
    }

    void progressAndCancel()
    {
        Capture c;
        fill(c);
        QBuffer buffer;
        buffer.open(QIODevice::WriteOnly);
        QString error;
        quint64 lastDone = 0, lastTotal = 0;
        QVERIFY(writeHar(c.store, {}, buffer, &error, [&](quint64 done, quint64 total) {
            lastDone = done;
            lastTotal = total;
            return true;
        }));
        QCOMPARE(lastTotal, quint64(2 + 9)); // two entries and nine messages
        QCOMPARE(lastDone, lastTotal);

        QBuffer cancelled;
        cancelled.open(QIODevice::WriteOnly);
        QVERIFY(!writeHar(c.store, {}, cancelled, &error, [](quint64, quint64) { return false; }));
        QCOMPARE(error, QStringLiteral("cancelled"));

        QBuffer readOnly;
        readOnly.open(QIODevice::ReadOnly);
        QTest::ignoreMessage(QtWarningMsg, "QIODevice::write (QBuffer): ReadOnly device");
        QVERIFY(!writeHar(c.store, {}, readOnly, &error));
        QVERIFY2(error.startsWith("cannot write the HAR file"), qPrintable(error));
    }

    void roundTripKeepsEverySocktapFact()
    {
        Capture c;
        fill(c);
        CaptureStore imported;
        QString error;
        const auto result = importHar(exportHar(c.store), "export.har", imported, &error);
        QVERIFY2(result, qPrintable(error));
        QCOMPARE(result->dialect, QStringLiteral("socktap"));
        QCOMPARE(result->sessions, 2u);
        QCOMPARE(result->messages, 9u);
        QVERIFY2(result->warnings.isEmpty(), qPrintable(result->warnings.join("; ")));

        const auto ws = sessionAt(imported, 0);
        QVERIFY(ws);
        QCOMPARE(ws->kind, SessionKind::WebSocket);
        QCOMPARE(ws->scheme, QByteArray("wss"));
        QCOMPARE(ws->host, QByteArray("chat.example"));
        QCOMPARE(ws->port, 443);
        QCOMPARE(ws->path, QByteArray("/socket?room=a%20b&x"));
        QCOMPARE(ws->subprotocol, QByteArray("chat.v2"));
        QCOMPARE(ws->acceptedAt, T0);
        QCOMPARE(ws->upgradedAt, T0 + 600);
        QCOMPARE(ws->close.code[0], std::optional<quint16>(1000));
        QCOMPARE(ws->close.code[1], std::optional<quint16>(1000));
        QCOMPARE(ws->close.reason[0], QByteArray("bye"));
        QCOMPARE(ws->close.firstCloser, std::optional(C2S));
        QCOMPARE(ws->close.end, EndReason::Closed);
        QCOMPARE(ws->tls.sni, QByteArray("chat.example"));
        QCOMPARE(ws->request.headers.value("Sec-WebSocket-Key"), QByteArray("dGhlIHNhbXBsZSBub25jZQ=="));

        const auto expected = webSocketMessages();
        QCOMPARE(imported.messageCount(ws->id), quint64(expected.size()));
        for (size_t i = 0; i < expected.size(); ++i) {
            const auto m = imported.message(ws->id, i, true);
            QVERIFY(m);
            QCOMPARE(m->record.direction(), expected[i].direction);
            QCOMPARE(m->record.opcode, expected[i].opcode);
            QCOMPARE(m->payload, expected[i].payload);
            QCOMPARE(m->record.time, expected[i].time); // exact, from Socktap's extras
            QCOMPARE(m->frames.size(), expected[i].frames.size());
            for (size_t f = 0; f < m->frames.size(); ++f) {
                QCOMPARE(m->frames[f].maskKey, expected[i].frames[f].maskKey);
                QCOMPARE(m->frames[f].bits, expected[i].frames[f].bits);
                QCOMPARE(m->frames[f].length, expected[i].frames[f].length);
            }
            QVERIFY2(!m->note.contains("frames unknown"), qPrintable(m->note));
        }
        QCOMPARE(imported.message(ws->id, 3, true)->wirePayload, WirePayload);
        QVERIFY(imported.message(ws->id, 3, true)->record.has(MessageFlag::Compressed));
        QCOMPARE(imported.message(ws->id, 7, true)->record.closeCode, 1000);

        const auto http = sessionAt(imported, 1);
        QVERIFY(http);
        QCOMPARE(http->kind, SessionKind::Http);
        QCOMPARE(http->responseBody, HttpBody);
        QCOMPARE(http->response.status, 200);
        QCOMPARE(http->response.headers.value("Content-Type"), QByteArray("application/octet-stream"));
        QVERIFY(http->response.raw.startsWith("HTTP/1.1 200 OK\r\n"));
    }

    void roundTripWithoutExtrasLeavesFramesUnknown()
    {
        Capture c;
        fill(c);
        const QByteArray plain = withoutSocktapExtras(parse(exportHar(c.store)), true);
        CaptureStore imported;
        QString error;
        const auto result = importHar(plain, "plain.har", imported, &error);
        QVERIFY2(result, qPrintable(error));
        const auto ws = sessionAt(imported, 0);
        QVERIFY(ws);
        const auto expected = webSocketMessages();
        QCOMPARE(imported.messageCount(ws->id), quint64(expected.size()));
        for (size_t i = 0; i < expected.size(); ++i) {
            const auto m = imported.message(ws->id, i, true);
            QCOMPARE(m->record.direction(), expected[i].direction);
            QCOMPARE(m->payload, expected[i].payload);
            QVERIFY(qAbs(m->record.time - expected[i].time) <= 1); // seconds as a double, to the µs
            QCOMPARE(m->record.frameCount, 0u);
            QCOMPARE(m->record.wireSize, 0u);
            QCOMPARE(m->record.maskKey, 0u); // never an invented mask
            for (const ws::FrameInfo &f : m->frames)
                QVERIFY(!f.masked() && f.maskKey == 0);
            QVERIFY2(m->note.contains("imported from HAR: frames unknown"), qPrintable(m->note));
        }
        // The close frames in the HAR still say who closed and with what.
        QCOMPARE(ws->close.firstCloser, std::optional(C2S));
        QCOMPARE(ws->close.code[1], std::optional<quint16>(1000));
        QCOMPARE(ws->close.reason[0], QByteArray("bye"));
        QCOMPARE(ws->close.end, EndReason::Closed);
        QCOMPARE(ws->subprotocol, QByteArray("chat.v2")); // from the response head
        QVERIFY(ws->deflate.has_value());
        QCOMPARE(ws->acceptedAt, T0 - 456); // requestAt T0 + 100, and startedDateTime has milliseconds only

        // As Chrome would reimport it: data messages only, no close information invented.
        CaptureStore chromeOnly;
        const auto dataOnly = importHar(withoutSocktapExtras(parse(exportHar(c.store)), false), "chrome.har",
                                        chromeOnly, &error);
        QVERIFY2(dataOnly, qPrintable(error));
        QCOMPARE(dataOnly->messages, 5u);
        QVERIFY(!sessionAt(chromeOnly, 0)->close.firstCloser);
    }

    void importChrome()
    {
        CaptureStore store;
        QString error;
        const auto result = importHar(readSample("chrome.har"), "chrome.har", store, &error);
        QVERIFY2(result, qPrintable(error));
        QCOMPARE(result->dialect, QStringLiteral("chrome"));
        QCOMPARE(result->sessions, 2u); // the data: URL is skipped
        QCOMPARE(result->messages, 4u); // two fragments joined, the error item skipped
        QCOMPARE(result->warnings.size(), 2);
        QVERIFY2(result->warnings[0].startsWith("entry 1: _webSocketMessages[5] skipped"),
                 qPrintable(result->warnings[0]));
        QVERIFY2(result->warnings[1].startsWith("entry 3: skipped: request.url \"data:"),
                 qPrintable(result->warnings[1]));

        const auto ws = sessionAt(store, 0);
        QCOMPARE(ws->kind, SessionKind::WebSocket);
        QCOMPARE(ws->mode, ProxyMode::Explicit);
        QCOMPARE(ws->state, SessionState::Closed);
        QCOMPARE(ws->scheme, QByteArray("wss"));
        QCOMPARE(ws->host, QByteArray("echo.example"));
        QCOMPARE(ws->port, 443);
        QCOMPARE(ws->path, QByteArray("/ws?token=abc"));
        QCOMPARE(ws->subprotocol, QByteArray("chat"));
        QCOMPARE(ws->requestAt, micros("2024-03-05T10:20:30.250Z"));
        QCOMPARE(ws->upgradedAt, micros("2024-03-05T10:20:30.250Z") + 42500);
        QVERIFY(ws->request.raw.startsWith("GET /ws?token=abc HTTP/1.1\r\nHost: echo.example\r\n"));

        const auto m0 = store.message(ws->id, 0, true);
        QCOMPARE(m0->record.direction(), C2S);
        QCOMPARE(m0->payload, QByteArray(R"({"op":"subscribe","topic":"prices"})"));
        QCOMPARE(m0->record.time, qint64(1709634031500000));
        const auto m1 = store.message(ws->id, 1, true);
        QCOMPARE(m1->record.direction(), S2C);
        QCOMPARE(m1->payload, QStringLiteral(u"héllo wörld ✓").toUtf8());
        const auto m2 = store.message(ws->id, 2, true);
        QCOMPARE(m2->record.opcode, 2);
        QCOMPARE(m2->payload, QByteArray("\x00\x01\x02\xfd\xfe\xff", 6));
        const auto m3 = store.message(ws->id, 3, true);
        QCOMPARE(m3->payload, QByteArray("frag-ment"));
        QVERIFY2(m3->note.contains("2 fragments joined"), qPrintable(m3->note));

        const auto http = sessionAt(store, 1);
        QCOMPARE(http->kind, SessionKind::Http);
        QCOMPARE(http->scheme, QByteArray("https"));
        QCOMPARE(http->path, QByteArray("/app.js")); // the fragment is not part of the request
        QCOMPARE(http->request.version, (http::Version {2, 0}));
        QCOMPARE(http->responseBody, QByteArray("console.log('hi');\n"));
        QCOMPARE(http->responseBodySize, 19u);
    }

    void importChromeFragmentsAroundAnotherMessage()
    {
        // Chrome lists frames: a client message's continuation may come after a server message that
        // arrived between its fragments. The fragments join into the client's message; the server's stays
        // as it was, in its place.
        QJsonObject har = parse(readSample("chrome.har"));
        QJsonObject log = har["log"].toObject();
        QJsonArray entries = log["entries"].toArray();
        QJsonObject entry = entries[0].toObject();
        const auto item = [](const char *type, double time, int opcode, const char *data) {
            return QJsonObject {{"type", type}, {"time", time}, {"opcode", opcode}, {"data", data}};
        };
        entry["_webSocketMessages"] = QJsonArray {item("send", 1709634032.5, 1, "frag-"),
                                                  item("receive", 1709634032.6, 1, "between"),
                                                  item("send", 1709634032.7, 0, "bWVudA==")};
        entries[0] = entry;
        log["entries"] = entries;
        har["log"] = log;
        CaptureStore store;
        QString error;
        const auto result = importHar(QJsonDocument(har).toJson(), "chrome.har", store, &error);
        QVERIFY2(result, qPrintable(error));
        const auto ws = sessionAt(store, 0);
        QVERIFY(ws);
        QCOMPARE(store.messageCount(ws->id), quint64(2));
        const auto client = store.message(ws->id, 0, true);
        QCOMPARE(client->record.direction(), C2S);
        QCOMPARE(client->payload, QByteArray("frag-ment"));
        QVERIFY2(client->note.contains("2 fragments joined"), qPrintable(client->note));
        const auto server = store.message(ws->id, 1, true);
        QCOMPARE(server->record.direction(), S2C);
        QCOMPARE(server->payload, QByteArray("between"));
        QVERIFY2(!server->note.contains("fragments"), qPrintable(server->note));
    }

    void importMitmproxy()
    {
        CaptureStore store;
        QString error;
        const auto result = importHar(readSample("mitmproxy.har"), "mitmproxy.har", store, &error);
        QVERIFY2(result, qPrintable(error));
        QCOMPARE(result->dialect, QStringLiteral("mitmproxy"));
        QCOMPARE(result->sessions, 2u);
        QCOMPARE(result->messages, 3u);

        const auto ws = sessionAt(store, 0);
        QCOMPARE(ws->kind, SessionKind::WebSocket);
        QCOMPARE(ws->scheme, QByteArray("wss")); // mitmproxy keeps the handshake's https://
        QCOMPARE(ws->path, QByteArray("/v3/channel_1?api_key=k&notify_self"));
        QCOMPARE(ws->requestAt, micros("2023-08-29T13:03:20.195Z") + 591);
        QVERIFY(ws->deflate.has_value());
        const auto m0 = store.message(ws->id, 0, true);
        QCOMPARE(m0->record.direction(), C2S);
        QCOMPARE(m0->payload, QByteArray("hello mitm"));
        const auto m1 = store.message(ws->id, 1, true);
        QCOMPARE(m1->record.direction(), S2C);
        QCOMPARE(m1->record.opcode, 2);
        QCOMPARE(m1->payload, QByteArray("\x00\xffmitm\x80", 7));
        QCOMPARE(m1->record.time, qint64(1693314200336985));
        QCOMPARE(store.message(ws->id, 2, true)->payload, QByteArray(R"({"error":"Unknown api key"})"));

        const auto http = sessionAt(store, 1);
        QCOMPARE(http->kind, SessionKind::Http);
        QCOMPARE(http->request.method, QByteArray("POST"));
        QCOMPARE(http->port, 8080);
        QCOMPARE(http->requestBodySize, 11u);
        QCOMPARE(http->response.status, 201);
        QCOMPARE(http->responseBody, QByteArray("\xde\xad\xbe\xef\x00\x01", 6));
    }

    void importHttpToolkit()
    {
        CaptureStore store;
        QString error;
        const auto result = importHar(readSample("httptoolkit.har"), "httptoolkit.har", store, &error);
        QVERIFY2(result, qPrintable(error));
        QCOMPARE(result->dialect, QStringLiteral("httptoolkit"));
        QCOMPARE(result->sessions, 2u);
        QCOMPARE(result->messages, 3u);

        const auto ws = sessionAt(store, 0);
        QCOMPARE(ws->kind, SessionKind::WebSocket);
        QCOMPARE(ws->requestAt, micros("2024-05-01T12:00:00.500Z")); // +02:00 taken into account
        QCOMPARE(store.message(ws->id, 0, true)->payload, QByteArray("ping from client"));
        QCOMPARE(store.message(ws->id, 0, true)->record.direction(), C2S);
        const auto binary = store.message(ws->id, 1, true);
        QCOMPARE(binary->record.direction(), S2C);
        QCOMPARE(binary->record.opcode, 2);
        QCOMPARE(binary->payload, QByteArray("\x01\x02\x03\xc0\xff", 5));
        QCOMPARE(store.message(ws->id, 2, true)->payload, QByteArray("multi\nline"));
        // _webSocketClose has a code but no direction: said in the detail, not invented as a closer.
        QVERIFY(!ws->close.firstCloser);
        QVERIFY2(ws->close.detail.contains("1000 \"done\""), qPrintable(ws->close.detail));
        QCOMPARE(ws->closedAt, qint64(1714564805250000));

        const auto http = sessionAt(store, 1);
        QCOMPARE(http->kind, SessionKind::Http);
        QCOMPARE(http->request.method, QByteArray("PUT"));
        QCOMPARE(http->requestBodySize, 4u);
        QCOMPARE(http->requestBody, QByteArray("\xff\xfe\x00\x01", 4)); // from HTTP Toolkit's _content
        QCOMPARE(http->responseBody, QByteArray("stored\n"));
    }

    void requestBodies()
    {
        CaptureStore store;
        CaptureWriter writer(store);
        SessionInfo s = httpSession(store.newSessionId());
        s.request.method = "PUT";
        const QByteArray body("\xff\x00not text", 10);
        s.requestBody = body;
        s.requestBodySize = quint64(body.size());
        writer.session(s);
        writer.flush();
        const QJsonObject root = parse(exportHar(store));
        const QJsonObject request = root["log"]["entries"][0]["request"].toObject();
        QCOMPARE(request["_content"]["encoding"].toString(),
                 QStringLiteral("base64")); // as HTTP Toolkit writes it
        QCOMPARE(QByteArray::fromBase64(request["_content"]["text"].toString().toLatin1()), body);
        CaptureStore imported;
        QString error;
        QVERIFY2(importHar(QJsonDocument(root).toJson(), "body.har", imported, &error), qPrintable(error));
        QCOMPARE(sessionAt(imported, 0)->requestBody, body);

        CaptureStore mitm;
        QVERIFY2(importHar(readSample("mitmproxy.har"), "mitmproxy.har", mitm, &error), qPrintable(error));
        QCOMPARE(sessionAt(mitm, 1)->requestBody, QByteArray("{\"a\":\"bc\"} "));
    }

    void badFilesGivePreciseErrors_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("expected");
        const QJsonObject good = goodEntry();
        QTest::newRow("not JSON") << QByteArray("{\"log\": {\"entries\": [}")
                                  << QStringLiteral("bad.har: not JSON: ");
        QTest::newRow("no log") << QByteArray("{\"entries\":[]}")
                                << QStringLiteral("bad.har: not a HAR file: no \"log\" object");
        QTest::newRow("array root") << QByteArray("[1,2]")
                                    << QStringLiteral("bad.har: not a HAR file: no \"log\" object");
        QTest::newRow("entries not an array")
            << QByteArray("{\"log\":{\"entries\":{}}}")
            << QStringLiteral("bad.har: not a HAR file: \"log.entries\" is an object, not an array");
        QTest::newRow("no entries") << QByteArray("{\"log\":{\"version\":\"1.2\"}}")
                                    << QStringLiteral("bad.har: not a HAR file: no \"log.entries\" array");
        QTest::newRow("entry not an object")
            << harLog({good, 42}) << QStringLiteral("bad.har: entry 2: expected an object, found a number");
        QTest::newRow("url is a number")
            << harLog({good, good, withField(good, "request", "url", 17)})
            << QStringLiteral("bad.har: entry 3: field 'request.url': expected a string, found a number");
        QJsonObject noRequest = good;
        noRequest.remove("request");
        QTest::newRow("no request") << harLog({noRequest})
                                    << QStringLiteral("bad.har: entry 1: field 'request': missing");
        const QJsonArray badHeaders {QJsonObject {{"name", "A"}, {"value", "b"}},
                                     QJsonObject {{"name", false}}};
        QTest::newRow("header name") << harLog({withField(good, "request", "headers", badHeaders)})
                                     << QStringLiteral("bad.har: entry 1: field 'request.headers[1].name': "
                                                       "expected a string, found true or false");
        QTest::newRow("message time")
            << harLog({withMessage(good, {{"type", "send"}, {"time", "soon"}, {"opcode", 1}, {"data", "x"}})})
            << QStringLiteral(
                   "bad.har: entry 1: field '_webSocketMessages[0].time': expected a number, found a string");
        QTest::newRow("binary data")
            << harLog({withMessage(
                   good, {{"type", "receive"}, {"time", 1.5}, {"opcode", 2}, {"data", "not base64!"}})})
            << QStringLiteral(
                   "bad.har: entry 1: field '_webSocketMessages[0].data': not valid base64 (opcode 2)");
        QJsonObject badDate = good;
        badDate["startedDateTime"] = "yesterday";
        QTest::newRow("date") << harLog({badDate})
                              << QStringLiteral(
                                     "bad.har: entry 1: field 'startedDateTime': not an ISO 8601 date "
                                     "and time: \"yesterday\"");
    }

    void badFilesGivePreciseErrors()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, expected);
        CaptureStore store;
        QString error;
        QVERIFY(!importHar(json, "bad.har", store, &error));
        QVERIFY2(error.startsWith(expected), qPrintable(error + " does not start with " + expected));
        QVERIFY(
            store.sessionIds().empty()); // all or nothing: the good entries before the bad one are not added
    }

    void notJsonSaysWhere()
    {
        CaptureStore store;
        QString error;
        QVERIFY(!importHar(QByteArray("{\"log\": {\"entries\": [}"), "bad.har", store, &error));
        QVERIFY2(error.contains("at offset 22"), qPrintable(error));
    }

    void conversationText()
    {
        Capture c;
        fill(c);
        const QStringList lines = conversation(c.store, c.webSocket);
        QCOMPARE(lines[0],
                 QStringLiteral("WebSocket wss://chat.example:443/socket?room=a%20b&x (subprotocol chat.v2, "
                                "permessage-deflate)"));
        QCOMPARE(lines[1],
                 QStringLiteral("started 2023-11-14 22:13:20.123 UTC; times are UTC; > client to server, < "
                                "server to client"));
        const QStringList expected {
            "22:13:20.124 > hello",
            "22:13:20.125 < [binary 5 bytes] 00 01 fe ff 80",
            "22:13:20.126 > part1part2part3",
            "22:13:20.127 < hello hello hello",
            "22:13:20.128 < first line",
            "               second line",
            "22:13:20.129 > [ping] p",
            "22:13:20.129 < [pong] p",
            "22:13:20.130 > [close 1000 bye]",
            "22:13:20.130 < [close 1000 bye]",
        };
        QCOMPARE(lines.mid(2, expected.size()), expected);
        QVERIFY2(
            lines[2 + expected.size()].startsWith("ended: 1000 Normal Closure, first Close from the client"),
            qPrintable(lines[2 + expected.size()]));

        const QStringList http = conversation(c.store, c.http);
        QCOMPARE(http[2], QStringLiteral("22:13:20.133 > GET /blob.bin"));
        QCOMPARE(http[3], QStringLiteral("22:13:20.135 < 200 OK [body 10 bytes]"));

        QBuffer buffer;
        buffer.open(QIODevice::WriteOnly);
        QString error;
        QVERIFY(!writeConversationText(c.store, 999, buffer, &error));
        QCOMPARE(error, QStringLiteral("no session #999 in the capture"));
    }

    void nothingIsClaimedThatDidNotHappen()
    {
        // A WebSocket upgrade refused with 502 (the server's certificate was rejected) never opened: its
        // conversation says what was asked and answered and why, never "1006 Abnormal Closure".
        CaptureStore store;
        CaptureWriter writer(store);
        SessionInfo refused = webSocketSession(store.newSessionId());
        refused.state = SessionState::Failed;
        refused.upgradedAt = 0;
        refused.response = http::ResponseHead {};
        refused.response.status = 502;
        refused.response.reason = "Bad Gateway";
        refused.error = QStringLiteral("certificate rejected: self-signed certificate; use --upstream-ca");
        refused.close = CloseInfo {};
        refused.close.end = EndReason::TlsError;
        writer.session(refused);
        writer.flush();
        const QString text = conversation(store, refused.id).join('\n');
        QVERIFY2(text.contains("never opened: failed: certificate rejected"), qPrintable(text));
        QVERIFY2(!text.contains("1006") && !text.contains("ended:"), qPrintable(text));
        QVERIFY(!sessionToJson(*store.session(refused.id)).contains("close"));

        // A Chrome HAR says nothing about how a session closed: nothing is invented.
        CaptureStore chrome;
        QString error;
        QVERIFY(importHar(readSample("chrome.har"), "chrome.har", chrome, &error));
        const auto ws = sessionAt(chrome, 0);
        QVERIFY(!ws->close.recorded());
        const QString line = sessionLine(*ws, SessionState::Open);
        QVERIFY2(line.contains("how it closed is not recorded") && !line.contains("1006"), qPrintable(line));
        QVERIFY(!conversation(chrome, ws->id).join('\n').contains("1006"));
    }

    void largeBinaryPreviewIsShort()
    {
        CaptureStore store;
        CaptureWriter writer(store);
        const SessionId id = store.newSessionId();
        writer.session(webSocketSession(id));
        write(writer, id, {S2C, 2, QByteArray(1000, '\x7f'), T0, {frame(2, 1000, true)}});
        writer.flush();
        const QString line = conversationLine(*store.message(id, 0, true));
        QVERIFY2(line.startsWith("22:13:20.123 < [binary 1000 bytes] 7f 7f"), qPrintable(line));
        QVERIFY2(line.endsWith(" ..."), qPrintable(line));
        QVERIFY(line.size() < 140);
    }
};

QTEST_GUILESS_MAIN(TestHar)
#include "tst_har.moc"
