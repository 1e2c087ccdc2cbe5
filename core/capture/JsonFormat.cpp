#include "JsonFormat.h"

#include "TextFormat.h"
#include "core/ws/CloseCode.h"

#include "core/ws/Utf8Validator.h"

#include <QDateTime>
#include <QJsonArray>

namespace socktap::capture {

QString isoTime(qint64 micros)
{
    if (micros <= 0)
        return {};
    const QDateTime t = QDateTime::fromMSecsSinceEpoch(micros / 1000, Qt::UTC);
    return t.toString(QStringLiteral("yyyy-MM-ddThh:mm:ss."))
        + QStringLiteral("%1Z").arg(micros % 1000000, 6, 10, QChar('0'));
}

namespace {

QJsonArray headersToJson(const http::Headers &headers)
{
    QJsonArray out;
    for (const auto &f : headers.fields())
        out.append(
            QJsonObject {{"name", QString::fromLatin1(f.name)}, {"value", QString::fromLatin1(f.value)}});
    return out;
}

QJsonObject closeToJson(const CloseInfo &c)
{
    QJsonObject o;
    if (c.firstCloser)
        o["firstCloser"] = directionName(*c.firstCloser);
    for (const Direction d : {Direction::ClientToServer, Direction::ServerToClient}) {
        const int i = directionIndex(d);
        if (!c.closeSent[i] && !c.closeUndelivered[i])
            continue;
        QJsonObject side;
        if (c.closeUndelivered[i])
            side["delivered"] = false; // received from this side, never reached the other
        if (c.code[i])
            side["code"] = int(*c.code[i]);
        side["codeName"] = ws::closeCodeInfo(c.code[i].value_or(ws::CloseCode::NoStatusReceived)).name;
        side["reason"] = QString::fromUtf8(c.reason[i]);
        o[directionName(d)] = side;
    }
    o["handshakeCompleted"] = c.handshakeCompleted();
    o["effectiveCode"] = int(c.effectiveCode());
    o["end"] = endReasonName(c.end);
    if (!c.detail.isEmpty())
        o["detail"] = c.detail;
    if (c.firstCloseTime)
        o["firstCloseTime"] = isoTime(c.firstCloseTime);
    if (c.tcpEndTime)
        o["tcpEndTime"] = isoTime(c.tcpEndTime);
    return o;
}

QJsonObject tlsToJson(const TlsInfo &t)
{
    return QJsonObject {{"sni", QString::fromLatin1(t.sni)},
                        {"clientProtocol", t.clientProtocol},
                        {"clientCipher", t.clientCipher},
                        {"upstreamProtocol", t.upstreamProtocol},
                        {"upstreamCipher", t.upstreamCipher},
                        {"upstreamSubject", t.upstreamSubject},
                        {"upstreamIssuer", t.upstreamIssuer},
                        {"upstreamValidity", t.upstreamValidity},
                        {"upstreamVerification", t.upstreamVerification},
                        {"upstreamVerified", t.upstreamVerified}};
}

} // namespace

QJsonObject headToJson(const http::RequestHead &head)
{
    return QJsonObject {
        {"method", QString::fromLatin1(head.method)},
        {"target", QString::fromLatin1(head.target)},
        {"version", QStringLiteral("HTTP/%1.%2").arg(head.version.major).arg(head.version.minor)},
        {"headers", headersToJson(head.headers)}};
}

QJsonObject headToJson(const http::ResponseHead &head)
{
    return QJsonObject {
        {"status", head.status},
        {"reason", QString::fromLatin1(head.reason)},
        {"version", QStringLiteral("HTTP/%1.%2").arg(head.version.major).arg(head.version.minor)},
        {"headers", headersToJson(head.headers)}};
}

QJsonObject sessionToJson(const SessionInfo &s, const SessionCounters *counters)
{
    QJsonObject o {{"type", "session"},
                   {"id", qint64(s.id)},
                   {"kind", kindName(s.kind)},
                   {"mode", modeName(s.mode)},
                   {"state", stateName(s.state)},
                   {"client", QStringLiteral("%1:%2").arg(s.clientAddress).arg(s.clientPort)},
                   {"url", QString::fromLatin1(s.url())},
                   {"acceptedAt", isoTime(s.acceptedAt)}};
    if (s.upgradedAt)
        o["upgradedAt"] = isoTime(s.upgradedAt);
    if (const SessionId original = s.replayOf())
        o["replayOf"] = qint64(original);
    if (s.closedAt)
        o["closedAt"] = isoTime(s.closedAt);
    if (!s.request.method.isEmpty())
        o["request"] = headToJson(s.request);
    if (s.response.status)
        o["response"] = headToJson(s.response);
    if (!s.responseBody.isEmpty())
        o["responseBody"] = QString::fromUtf8(s.responseBody);
    if (!s.subprotocol.isEmpty())
        o["subprotocol"] = QString::fromLatin1(s.subprotocol);
    if (!s.extensions.isEmpty())
        o["extensions"] = QString::fromLatin1(ws::serializeExtensions(s.extensions));
    if (!s.error.isEmpty())
        o["error"] = s.error;
    if (s.openWhenSaved)
        o["openWhenSaved"] = true; // read from a file written while it was open
    if (!s.handshakeProblems.isEmpty())
        o["handshakeProblems"] = QJsonArray::fromStringList(s.handshakeProblems);
    if (!s.handshakeNotes.isEmpty())
        o["handshakeRules"] = QJsonArray::fromStringList(s.handshakeNotes);
    if (!s.faults.isEmpty())
        o["faults"] = QJsonArray::fromStringList(s.faults);
    if (!s.mock.isEmpty())
        o["mock"] = s.mock;
    if (s.violations)
        o["violations"] = QJsonArray::fromStringList(ws::describe(s.violations));
    if (s.kind == SessionKind::WebSocket && s.close.recorded()
        && !(s.state == SessionState::Failed && !s.upgradedAt))
        o["close"] = closeToJson(s.close);
    else if (s.close.end != EndReason::None)
        o["end"] = endReasonName(s.close.end); // a session that ended before it upgraded: why
    if (s.tls.intercepted || !s.tls.sni.isEmpty())
        o["tls"] = tlsToJson(s.tls);
    if (s.kind == SessionKind::Http) {
        o["requestBodySize"] = qint64(s.requestBodySize);
        o["responseBodySize"] = qint64(s.responseBodySize);
    }
    if (s.kind == SessionKind::Tunnel) {
        o["bytesFromClient"] = qint64(s.tunnelBytes[0]);
        o["bytesFromServer"] = qint64(s.tunnelBytes[1]);
    }
    if (counters) {
        o["messagesFromClient"] = qint64(counters->messages[0]);
        o["messagesFromServer"] = qint64(counters->messages[1]);
        o["wireBytesFromClient"] = qint64(counters->wireBytes[0]);
        o["wireBytesFromServer"] = qint64(counters->wireBytes[1]);
    }
    return o;
}

QJsonObject messageToJson(SessionId session, quint64 index, const MessageRecord &r, QByteArrayView payload,
                          bool payloadEvicted, const QString &note, QByteArrayView original)
{
    QJsonObject o {{"type", "message"},
                   {"session", qint64(session)},
                   {"index", qint64(index)},
                   {"from", directionName(r.direction())},
                   {"opcode", ws::opcodeName(r.opcode)},
                   {"time", isoTime(r.time)},
                   {"size", qint64(r.payloadSize)},
                   {"wireSize", qint64(r.wireSize)},
                   {"frames", qint64(r.frameCount)}};
    if (r.duration)
        o["durationMicros"] = qint64(r.duration);
    if (r.has(MessageFlag::Compressed))
        o["compressed"] = true;
    if (r.has(MessageFlag::Truncated))
        o["truncated"] = true;
    if (r.has(MessageFlag::Incomplete))
        o["incomplete"] = true;
    if (r.violations)
        o["violations"] = QJsonArray::fromStringList(ws::describe(r.violationFlags()));
    if (const QStringList changes = changeNames(r); !changes.isEmpty())
        o["changes"] = QJsonArray::fromStringList(changes);
    if (!note.isEmpty())
        o["note"] = note;
    if (r.has(MessageFlag::Edited)) {
        if (ws::Utf8Validator::isValid(original))
            o["originalText"] = QString::fromUtf8(original);
        else
            o["originalBase64"] = QString::fromLatin1(original.toByteArray().toBase64());
    }
    if (r.opcode == quint8(ws::Opcode::Close)) {
        if (r.closeCode) {
            o["closeCode"] = int(r.closeCode);
            o["closeCodeName"] = ws::closeCodeInfo(r.closeCode).name;
        }
        payload = payload.size() >= 2 ? payload.sliced(2) : QByteArrayView();
        o["closeReason"] = QString::fromUtf8(payload);
        return o;
    }
    if (payloadEvicted) {
        o["payloadEvicted"] = true;
    } else if (r.opcode != quint8(ws::Opcode::Binary) && ws::Utf8Validator::isValid(payload)) {
        o["text"] = QString::fromUtf8(payload);
    } else {
        o["base64"] = QString::fromLatin1(payload.toByteArray().toBase64());
    }
    return o;
}

} // namespace socktap::capture
