// HAR export. Field by field what Chrome DevTools writes (front_end/models/har/Log.ts): its importer and
// HTTP Toolkit's read exactly these, and HAR viewers validate the HAR 1.2 required fields.
#include "Har.h"

#include "core/http/RequestTarget.h"
#include "core/ws/Utf8Validator.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QUrl>

namespace socktap::capture {

namespace {

// Work units between two progress calls inside a long session, so a cancel is noticed promptly.
constexpr quint64 ProgressEvery = 4096;
// Records read from the store at a time when sorting a session's messages into data and control.
constexpr quint64 RecordChunk = 4096;

QString latin1(QByteArrayView bytes)
{
    return QString::fromLatin1(bytes);
}

// Chrome writes Date.toJSON(): milliseconds and "Z". Exact microseconds go into `_socktap`.
QString harDateTime(qint64 micros)
{
    return QDateTime::fromMSecsSinceEpoch(micros / 1000, Qt::UTC)
        .toString(QStringLiteral("yyyy-MM-ddThh:mm:ss.zzzZ"));
}

double harSeconds(qint64 micros)
{
    return double(micros) / 1e6;
}

// Milliseconds from one moment to a later one; 0 when either is unknown (HAR requires send, wait and
// receive to be non-negative).
double harMillis(qint64 from, qint64 to)
{
    return from > 0 && to >= from ? double(to - from) / 1000.0 : 0.0;
}

QString harVersion(const http::Version &v)
{
    return QStringLiteral("HTTP/%1.%2").arg(v.major).arg(v.minor);
}

QJsonArray nameValues(const http::Headers &headers)
{
    QJsonArray out;
    for (const auto &f : headers.fields())
        out.append(QJsonObject {{"name", latin1(f.name)}, {"value", latin1(f.value)}});
    return out;
}

QString decodeQueryPart(QByteArray part)
{
    part.replace('+', ' '); // form encoding, as Chrome decodes queryString
    return QUrl::fromPercentEncoding(part);
}

QJsonArray queryString(QByteArrayView pathAndQuery)
{
    QJsonArray out;
    const qsizetype q = pathAndQuery.indexOf('?');
    if (q < 0)
        return out;
    for (const QByteArray &pair : pathAndQuery.sliced(q + 1).toByteArray().split('&')) {
        if (pair.isEmpty())
            continue;
        const qsizetype eq = pair.indexOf('=');
        const QByteArray name = eq < 0 ? pair : pair.left(eq);
        const QByteArray value = eq < 0 ? QByteArray() : pair.mid(eq + 1);
        out.append(QJsonObject {{"name", decodeQueryPart(name)}, {"value", decodeQueryPart(value)}});
    }
    return out;
}

// The URL as Chrome writes it: ws:// or wss:// for WebSockets, the default port left out.
QString harUrl(const SessionInfo &s)
{
    if (s.host.isEmpty())
        return latin1(s.path.isEmpty() ? s.request.target : s.path);
    QByteArray scheme = s.scheme;
    if (scheme.isEmpty())
        scheme = s.kind == SessionKind::WebSocket ? (s.tls.intercepted ? "wss" : "ws") : "http";
    QByteArray url = scheme + "://" + (s.host.contains(':') ? '[' + s.host + ']' : s.host);
    if (s.port && s.port != http::defaultPort(scheme))
        url += ':' + QByteArray::number(s.port);
    url += s.path.isEmpty() ? QByteArray("/") : s.path;
    return latin1(url);
}

// HAR's postData has no encoding: a body that is not text leaves it empty and goes into HTTP Toolkit's
// `_content` extension instead.
QJsonObject postData(const SessionInfo &s)
{
    const QByteArray &body = s.requestBody;
    QJsonObject o {{"mimeType", latin1(s.request.headers.value("Content-Type"))},
                   {"text", ws::Utf8Validator::isValid(body) ? QString::fromUtf8(body) : QString()}};
    if (quint64(body.size()) < s.requestBodySize)
        o["comment"] = QStringLiteral("only the first %1 of %2 bytes were captured")
                           .arg(body.size())
                           .arg(s.requestBodySize);
    return o;
}

QJsonObject requestJson(const SessionInfo &s)
{
    const http::RequestHead &r = s.request;
    QJsonObject o {{"method", latin1(r.method.isEmpty() ? QByteArray("GET") : r.method)},
                   {"url", harUrl(s)},
                   {"httpVersion", harVersion(r.version)},
                   {"headers", nameValues(r.headers)},
                   {"queryString", queryString(s.path)},
                   {"cookies", QJsonArray()},
                   {"headersSize", r.raw.isEmpty() ? -1 : qint64(r.raw.size())},
                   {"bodySize", s.kind == SessionKind::Http ? qint64(s.requestBodySize) : 0}};
    const QByteArray &body = s.requestBody;
    if (!body.isEmpty()) {
        o["postData"] = postData(s);
        if (!ws::Utf8Validator::isValid(body)) {
            o["_requestBodyStatus"] = "discarded:not-representable";
            o["_content"] = QJsonObject {
                {"text", latin1(body.toBase64())}, {"size", qint64(body.size())}, {"encoding", "base64"}};
        }
    }
    return o;
}

QJsonObject contentJson(const SessionInfo &s)
{
    const QByteArray &body = s.responseBody;
    const qint64 size = qint64(std::max<quint64>(s.responseBodySize, quint64(body.size())));
    const QByteArray mimeType = s.response.headers.value("Content-Type");
    QJsonObject o {{"size", size}, {"mimeType", mimeType.isEmpty() ? "x-unknown" : latin1(mimeType)}};
    if (body.isEmpty())
        return o;
    if (ws::Utf8Validator::isValid(body)) {
        o["text"] = QString::fromUtf8(body);
    } else {
        o["text"] = latin1(body.toBase64());
        o["encoding"] = "base64";
    }
    if (body.size() < size)
        o["comment"] =
            QStringLiteral("only the first %1 of %2 bytes were captured").arg(body.size()).arg(size);
    return o;
}

QJsonObject responseJson(const SessionInfo &s)
{
    const http::ResponseHead &r = s.response;
    QJsonObject o {{"status", r.status},
                   {"statusText", latin1(r.reason)},
                   {"httpVersion", r.status ? harVersion(r.version) : QString()},
                   {"headers", nameValues(r.headers)},
                   {"cookies", QJsonArray()},
                   {"content", contentJson(s)},
                   {"redirectURL", latin1(r.headers.value("Location"))},
                   {"headersSize", r.raw.isEmpty() ? -1 : qint64(r.raw.size())},
                   {"bodySize", r.status ? qint64(s.responseBodySize) : -1}};
    if (!s.error.isEmpty())
        o["_error"] = s.error; // Chrome's field for why a request failed
    return o;
}

QJsonObject timingsJson(const SessionInfo &s)
{
    // Socktap does not time DNS, connect or TLS separately; -1 is HAR's "does not apply / unknown".
    const double wait = harMillis(s.requestAt, s.upgradedAt);
    const double receive = s.kind == SessionKind::Http ? harMillis(s.upgradedAt, s.closedAt) : 0.0;
    return {{"blocked", -1}, {"dns", -1},    {"connect", -1},     {"ssl", -1},
            {"send", 0},     {"wait", wait}, {"receive", receive}};
}

QJsonObject bytesJson(QByteArrayView bytes, const char *textKey, const char *base64Key)
{
    if (ws::Utf8Validator::isValid(bytes))
        return {{textKey, QString::fromUtf8(bytes)}};
    return {{base64Key, latin1(bytes.toByteArray().toBase64())}};
}

QJsonObject closeJson(const CloseInfo &c)
{
    QJsonObject o {{"end", endReasonName(c.end)}, {"effectiveCode", int(c.effectiveCode())}};
    if (c.firstCloser)
        o["firstCloser"] = directionName(*c.firstCloser);
    for (const Direction d : {Direction::ClientToServer, Direction::ServerToClient}) {
        const int i = directionIndex(d);
        if (!c.closeSent[i] && !c.code[i])
            continue;
        QJsonObject side = bytesJson(c.reason[i], "reason", "reasonBase64");
        side["sent"] = c.closeSent[i];
        if (c.code[i])
            side["code"] = int(*c.code[i]);
        o[directionName(d)] = side;
    }
    if (!c.detail.isEmpty())
        o["detail"] = c.detail;
    if (c.firstCloseTime)
        o["firstCloseTime"] = c.firstCloseTime;
    if (c.tcpEndTime)
        o["tcpEndTime"] = c.tcpEndTime;
    return o;
}

QJsonObject tlsJson(const TlsInfo &t)
{
    return {{"intercepted", t.intercepted},           {"sni", latin1(t.sni)},
            {"clientProtocol", t.clientProtocol},     {"clientCipher", t.clientCipher},
            {"upstreamProtocol", t.upstreamProtocol}, {"upstreamCipher", t.upstreamCipher},
            {"upstreamSubject", t.upstreamSubject},   {"upstreamIssuer", t.upstreamIssuer},
            {"upstreamValidity", t.upstreamValidity}, {"upstreamVerification", t.upstreamVerification},
            {"upstreamVerified", t.upstreamVerified}};
}

QJsonObject countersJson(const SessionCounters &c)
{
    return {{"messagesFromClient", qint64(c.messages[0])},
            {"messagesFromServer", qint64(c.messages[1])},
            {"wireBytesFromClient", qint64(c.wireBytes[0])},
            {"wireBytesFromServer", qint64(c.wireBytes[1])},
            {"payloadBytesFromClient", qint64(c.payloadBytes[0])},
            {"payloadBytesFromServer", qint64(c.payloadBytes[1])},
            {"evictedRecords", qint64(c.evictedRecords)}};
}

void putTime(QJsonObject &o, const char *key, qint64 micros)
{
    if (micros)
        o[key] = micros;
}

void putHandshake(QJsonObject &o, const SessionInfo &s)
{
    if (!s.subprotocol.isEmpty())
        o["subprotocol"] = latin1(s.subprotocol);
    if (!s.extensions.isEmpty())
        o["extensions"] = latin1(ws::serializeExtensions(s.extensions));
    if (s.deflate)
        o["deflate"] = latin1(ws::serializeExtension(ws::PerMessageDeflate::toExtension(*s.deflate)));
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
}

QJsonObject socktapEntryJson(const SessionInfo &s, const SessionCounters &counters)
{
    QJsonObject o {{"id", qint64(s.id)},
                   {"kind", kindName(s.kind)},
                   {"mode", modeName(s.mode)},
                   {"state", stateName(s.state)},
                   {"counters", countersJson(counters)}};
    if (!s.clientAddress.isEmpty())
        o["client"] = QJsonObject {{"address", s.clientAddress}, {"port", s.clientPort}};
    putTime(o, "acceptedAt", s.acceptedAt);
    putTime(o, "requestAt", s.requestAt);
    putTime(o, "upgradedAt", s.upgradedAt);
    putTime(o, "closedAt", s.closedAt);
    putHandshake(o, s);
    if (!s.error.isEmpty())
        o["error"] = s.error;
    if (s.violations) {
        o["violations"] = qint64(s.violations.toInt());
        o["violationText"] = QJsonArray::fromStringList(ws::describe(s.violations));
    }
    if (!s.firstViolation.isEmpty())
        o["firstViolation"] = s.firstViolation;
    if (s.kind == SessionKind::WebSocket)
        o["close"] = closeJson(s.close);
    if (s.tls.intercepted || !s.tls.sni.isEmpty())
        o["tls"] = tlsJson(s.tls);
    if (s.kind == SessionKind::Http) {
        o["requestBodySize"] = qint64(s.requestBodySize);
        o["responseBodySize"] = qint64(s.responseBodySize);
    }
    return o;
}

// The entry without its message arrays, which are streamed after it.
QJsonObject entryJson(const SessionInfo &s, const SessionCounters &counters)
{
    const QJsonObject timings = timingsJson(s);
    double time = 0;
    for (const auto &value : timings)
        time += std::max(0.0, value.toDouble()); // as Chrome sums them
    const qint64 started = s.requestAt ? s.requestAt : s.acceptedAt;
    QJsonObject o {{"startedDateTime", harDateTime(started)},
                   {"time", time},
                   {"request", requestJson(s)},
                   {"response", responseJson(s)},
                   {"cache", QJsonObject()},
                   {"timings", timings},
                   {"_socktap", socktapEntryJson(s, counters)}};
    if (s.kind == SessionKind::WebSocket)
        o["_resourceType"] = "websocket";
    return o;
}

QString maskHex(quint32 key)
{
    return QStringLiteral("%1").arg(key, 8, 16, QChar('0'));
}

QJsonObject frameJson(const ws::FrameInfo &f)
{
    QJsonObject o {{"fin", f.fin()},
                   {"rsv1", f.rsv1()},
                   {"rsv2", (f.bits & 0x20) != 0},
                   {"rsv3", (f.bits & 0x10) != 0},
                   {"opcode", f.opcode},
                   {"masked", f.masked()},
                   {"length", qint64(f.length)},
                   {"headerSize", f.headerSize}};
    if (f.masked())
        o["maskKey"] = maskHex(f.maskKey);
    return o;
}

QJsonArray flagsJson(quint16 flags)
{
    QJsonArray out;
    for (const auto &[flag, name] : messageFlagNames())
        if (flags & flag)
            out.append(name);
    return out;
}

QJsonObject socktapMessageJson(const MessageView &m)
{
    const MessageRecord &r = m.record;
    QJsonArray frames;
    if (r.frameCount > 0) // 0: imported, frames unknown; the store's derived frame would be invented
        for (const ws::FrameInfo &f : m.frames)
            frames.append(frameJson(f));
    QJsonObject o {{"index", qint64(m.index)},
                   {"frames", frames},
                   {"frameCount", qint64(r.frameCount)},
                   {"flags", flagsJson(r.flags)},
                   {"compressed", r.has(MessageFlag::Compressed)},
                   {"wireSize", qint64(r.wireSize)},
                   {"payloadSize", qint64(r.payloadSize)},
                   {"time", r.time}};
    if (r.duration)
        o["duration"] = qint64(r.duration);
    if (!m.note.isEmpty())
        o["note"] = m.note;
    if (r.opcode == quint8(ws::Opcode::Close) && r.closeCode)
        o["closeCode"] = r.closeCode;
    if (r.violations)
        o["violations"] = qint64(r.violations);
    if (m.payloadEvicted)
        o["payloadEvicted"] = true;
    if (!m.wirePayload.isEmpty())
        o["wirePayload"] = latin1(m.wirePayload.toBase64());
    if (!m.original.isEmpty())
        o["original"] = latin1(m.original.toBase64());
    return o;
}

// Chrome's message shape: text for opcode 1, base64 otherwise, as its protocol's payloadData.
QJsonObject messageJson(const MessageView &m)
{
    const MessageRecord &r = m.record;
    QJsonObject extra = socktapMessageJson(m);
    QString data;
    if (r.opcode == quint8(ws::Opcode::Text)) {
        data = QString::fromUtf8(m.payload);
        if (!ws::Utf8Validator::isValid(m.payload)) // what Chrome shows is lossy; keep the exact bytes
            extra["dataBase64"] = latin1(m.payload.toBase64());
    } else {
        data = latin1(m.payload.toBase64());
    }
    return {{"type", r.direction() == Direction::ClientToServer ? "send" : "receive"},
            {"time", harSeconds(r.time)},
            {"opcode", r.opcode},
            {"data", data},
            {"_socktap", extra}};
}

bool isDataOpcode(quint8 opcode)
{
    return opcode == quint8(ws::Opcode::Text) || opcode == quint8(ws::Opcode::Binary);
}

QByteArray compact(const QJsonObject &o)
{
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

class HarWriter
{
public:
    HarWriter(const CaptureStore &store, QIODevice &out, QString *error, const HarProgress &progress)
        : m_store(store)
        , m_out(out)
        , m_error(error)
        , m_progress(progress)
    { }

    bool run(const std::vector<SessionId> &sessions);

private:
    struct Job
    {
        SessionInfo info;
        quint64 messages = 0; // as many as the store held when the export started
    };

    bool write(QByteArrayView bytes);
    bool advance(quint64 units, bool force);
    bool writeEntry(const Job &job, bool first);
    // Writes the session's messages that `data` selects (data messages, or everything else) as an array.
    bool writeMessages(const Job &job, const char *key, bool data);

    const CaptureStore &m_store;
    QIODevice &m_out;
    QString *m_error;
    const HarProgress &m_progress;
    quint64 m_done = 0;
    quint64 m_total = 0;
    quint64 m_sinceReport = 0;
};

bool HarWriter::write(QByteArrayView bytes)
{
    if (m_out.write(bytes.data(), bytes.size()) == bytes.size())
        return true;
    if (m_error)
        *m_error = QStringLiteral("cannot write the HAR file: %1").arg(m_out.errorString());
    return false;
}

bool HarWriter::advance(quint64 units, bool force)
{
    m_done += units;
    m_sinceReport += units;
    if (!m_progress || (!force && m_sinceReport < ProgressEvery))
        return true;
    m_sinceReport = 0;
    if (m_progress(std::min(m_done, m_total), m_total))
        return true;
    if (m_error)
        *m_error = QStringLiteral("cancelled");
    return false;
}

bool HarWriter::writeMessages(const Job &job, const char *key, bool data)
{
    if (!write(QByteArray(",\"") + key + "\":["))
        return false;
    bool first = true;
    for (quint64 from = m_store.firstRetainedMessage(job.info.id); from < job.messages; from += RecordChunk) {
        const auto records = m_store.records(job.info.id, from, std::min(RecordChunk, job.messages - from));
        for (size_t i = 0; i < records.size(); ++i) {
            if (isDataOpcode(records[i].opcode) != data)
                continue;
            const auto view = m_store.message(job.info.id, from + i, true);
            if (!view) // evicted since the records were read
                continue;
            if (!write(first ? "" : ",") || !write(compact(messageJson(*view))))
                return false;
            first = false;
            if (!advance(1, false))
                return false;
        }
    }
    return write("]");
}

bool HarWriter::writeEntry(const Job &job, bool first)
{
    QByteArray head = compact(entryJson(job.info, m_store.counters(job.info.id)));
    if (job.info.kind != SessionKind::WebSocket)
        return write(first ? "" : ",") && write(head) && advance(1, true);
    head.chop(1); // the closing brace: the message arrays follow
    return write(first ? "" : ",") && write(head) && writeMessages(job, "_webSocketMessages", true)
        && writeMessages(job, "_socktapControlFrames", false) && write("}") && advance(1, true);
}

bool HarWriter::run(const std::vector<SessionId> &sessions)
{
    std::vector<Job> jobs;
    for (const SessionId id : sessions.empty() ? m_store.sessionIds() : sessions) {
        auto info = m_store.session(id);
        if (!info || info->kind == SessionKind::Tunnel)
            continue;
        const quint64 messages = m_store.messageCount(id);
        m_total += 1 + (messages - std::min(messages, m_store.firstRetainedMessage(id)));
        jobs.push_back({std::move(*info), messages});
    }
    const QString version = QCoreApplication::applicationVersion();
    const QJsonObject creator {{"name", "Socktap"}, {"version", version.isEmpty() ? "n/a" : version}};
    if (!write(R"({"log":{"version":"1.2","creator":)") || !write(compact(creator))
        || !write(R"(,"pages":[],"entries":[)"))
        return false;
    for (size_t i = 0; i < jobs.size(); ++i)
        if (!writeEntry(jobs[i], i == 0))
            return false;
    return write("]}}\n");
}

} // namespace

bool writeHar(const CaptureStore &store, const std::vector<SessionId> &sessions, QIODevice &out,
              QString *error, const HarProgress &progress)
{
    return HarWriter(store, out, error, progress).run(sessions);
}

} // namespace socktap::capture
