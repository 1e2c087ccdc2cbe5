#include "SignalR.h"

#include "JsonFormats.h"
#include "JsonValue.h"
#include "MsgPack.h"

#include <QJsonArray>
#include <QJsonObject>

namespace socktap::decode {

namespace {

constexpr char RecordSeparator = 0x1e;

struct SignalRState final : DecoderState
{
    bool handshakeDone[2] = {false, false};
};

const char *typeName(int type)
{
    static const char *const names[] = {"?",      "invoke", "stream item", "completion", "stream invoke",
                                        "cancel", "ping",   "close",       "ack",        "sequence"};
    return type >= 1 && type <= 9 ? names[type] : "?";
}

// The MessagePack array of a record as the JSON protocol's object, so both read the same (HubProtocol.md,
// "MessagePack Encoding").
std::optional<QJsonObject> fromMsgPackArray(const QJsonArray &a, QString &error)
{
    const int type = a.at(0).toInt();
    QJsonObject o {{"type", type}};
    const auto at = [&](int i) { return a.at(i); };
    switch (type) {
    case 1:
    case 4:
        o["headers"] = at(1);
        if (!at(2).isNull())
            o["invocationId"] = at(2);
        o["target"] = at(3);
        o["arguments"] = at(4);
        if (a.size() > 5)
            o["streamIds"] = at(5);
        break;
    case 2:
        o["headers"] = at(1);
        o["invocationId"] = at(2);
        o["item"] = at(3);
        break;
    case 3: // [3, headers, id, resultKind (1 error, 2 void, 3 result), result]
        o["headers"] = at(1);
        o["invocationId"] = at(2);
        if (at(3).toInt() == 1)
            o["error"] = at(4);
        else if (at(3).toInt() == 3)
            o["result"] = at(4);
        break;
    case 5:
        o["headers"] = at(1);
        o["invocationId"] = at(2);
        break;
    case 6:
        break;
    case 7:
        if (!at(1).isNull())
            o["error"] = at(1);
        if (a.size() > 2)
            o["allowReconnect"] = at(2);
        break;
    case 8:
    case 9:
        o["sequenceId"] = at(1);
        break;
    default:
        error = QStringLiteral("SignalR: unknown message type %1").arg(type);
        return std::nullopt;
    }
    return o;
}

struct Record
{
    QString summary;
    QString pairKey;
    PairRole role = PairRole::None;
    bool chatter = false;
};

Record describe(const QJsonObject &o)
{
    Record r;
    const int type = o.value("type").toInt();
    const QString id = o.value("invocationId").toString();
    r.summary = QLatin1String(typeName(type));
    switch (type) {
    case 1:
    case 4:
        r.summary += QLatin1Char(' ') + o.value("target").toString()
            + QStringLiteral(" [%1]").arg(countOf(o.value("arguments").toArray().size(), "arg"));
        r.role = id.isEmpty() ? PairRole::None : PairRole::Request; // no id: the caller wants no answer
        break;
    case 2:
        r.role = PairRole::Update;
        break;
    case 3:
        r.role = PairRole::Reply;
        if (o.contains("error"))
            r.summary += QStringLiteral(" error ") + o.value("error").toString();
        else if (o.contains("result"))
            r.summary += QLatin1Char(' ') + brief(o.value("result"));
        break;
    case 5:
        r.role = PairRole::Reply;
        break;
    case 6:
    case 8:
    case 9:
        r.chatter = true;
        break;
    case 7:
        if (o.contains("error"))
            r.summary += QLatin1Char(' ') + o.value("error").toString();
        break;
    }
    if (!id.isEmpty()) {
        r.summary += QStringLiteral(" #") + id;
        if (r.role != PairRole::None)
            r.pairKey = id;
    }
    return r;
}

} // namespace

std::unique_ptr<DecoderState> SignalRDecoder::newState(const SessionHints &) const
{
    return std::make_unique<SignalRState>();
}

bool SignalRDecoder::recognises(const Message &message) const
{
    return !message.fromServer && !message.binary && message.payload.startsWith("{\"protocol\":")
        && message.payload.endsWith(RecordSeparator);
}

namespace {

// The JSON protocol's object as the MessagePack protocol's array (HubProtocol.md, "MessagePack Encoding"):
// the reverse of fromMsgPackArray.
std::optional<QJsonArray> toMsgPackArray(const QJsonObject &o, QString *error)
{
    const int type = o.value("type").toInt();
    const QJsonValue headers = o.contains("headers") ? o.value("headers") : QJsonValue(QJsonObject());
    const QJsonValue id = o.value("invocationId");
    switch (type) {
    case 1:
    case 4: {
        QJsonArray a {type, headers, id.isUndefined() ? QJsonValue() : id, o.value("target"),
                      o.contains("arguments") ? o.value("arguments") : QJsonValue(QJsonArray())};
        if (o.contains("streamIds"))
            a.append(o.value("streamIds"));
        return a;
    }
    case 2:
        return QJsonArray {type, headers, id, o.value("item")};
    case 3:
        if (o.contains("error"))
            return QJsonArray {type, headers, id, 1, o.value("error")};
        if (o.contains("result"))
            return QJsonArray {type, headers, id, 3, o.value("result")};
        return QJsonArray {type, headers, id, 2};
    case 5:
        return QJsonArray {type, headers, id};
    case 6:
        return QJsonArray {type};
    case 7: {
        QJsonArray a {type, o.contains("error") ? o.value("error") : QJsonValue()};
        if (o.contains("allowReconnect"))
            a.append(o.value("allowReconnect"));
        return a;
    }
    case 8:
    case 9:
        return QJsonArray {type, o.value("sequenceId")};
    default:
        if (error)
            *error = QStringLiteral("signalr: no message type %1 to encode").arg(type);
        return std::nullopt;
    }
}

} // namespace

std::optional<QByteArray> SignalRDecoder::encodeEdit(const Message &original, const QJsonValue &before,
                                                     const QJsonValue &after, QString *error) const
{
    // MessagePack shows some values in a form that does not say how they were written (a timestamp as
    // text, an integer's width): an edit is made only when the message as it was encodes to its own bytes.
    if (original.binary) {
        const auto again = encode(original, before, error);
        if (!again)
            return std::nullopt;
        if (*again != original.payload) {
            if (error)
                *error =
                    QStringLiteral("signalr: this MessagePack message does not encode back to its own bytes "
                                   "(a timestamp, or an integer or string written wider than it needs), so "
                                   "an edit would change more than the field");
            return std::nullopt;
        }
    }
    return encode(original, after, error);
}

std::optional<QByteArray> SignalRDecoder::encode(const Message &original, const QJsonValue &value,
                                                 QString *error) const
{
    const QJsonArray records = value.isArray() ? value.toArray() : QJsonArray {value};
    if (original.binary) {
        // Each message behind its length as a VarInt (TransportProtocols.md, MessagePack framing).
        QByteArray out;
        for (const QJsonValue &record : records) {
            const auto array = toMsgPackArray(record.toObject(), error);
            if (!array)
                return std::nullopt;
            const QByteArray body = msgpack::write(*array);
            quint32 n = quint32(body.size());
            do {
                const quint8 b = n & 0x7f;
                n >>= 7;
                out += char(n ? b | 0x80 : b);
            } while (n);
            out += body;
        }
        return out;
    }
    QByteArray out;
    for (const QJsonValue &record : records)
        out += compactJson(record) + RecordSeparator;
    return out;
}

Decoded SignalRDecoder::decode(const Message &message, DecoderState *rawState) const
{
    auto *state = static_cast<SignalRState *>(rawState);
    const int dir = message.fromServer ? 1 : 0;
    Decoded d;
    QJsonArray records;
    const QByteArrayView p = message.payload;
    if (!message.binary) {
        if (!p.endsWith(RecordSeparator)) {
            d.error = QStringLiteral("SignalR JSON records end with 0x1E; this message does not");
            return d;
        }
        for (qsizetype at = 0; at < p.size();) {
            const qsizetype end = p.indexOf(RecordSeparator, at);
            QString error;
            const auto record = parseJson(p.sliced(at, end - at), &error);
            if (!record || !record->isObject()) {
                d.error = QStringLiteral("SignalR: ")
                    + (record ? QStringLiteral("a record is not an object") : error);
                return d;
            }
            records.append(*record);
            at = end + 1;
        }
    } else {
        for (qsizetype at = 0; at < p.size();) {
            // VarInt: 7 bits a byte, least significant first, at most 5 bytes.
            quint64 length = 0;
            int shift = 0;
            for (;;) {
                if (at == p.size() || shift > 28) {
                    d.error = QStringLiteral("SignalR MessagePack: bad length prefix");
                    return d;
                }
                const quint8 b = quint8(p[at++]);
                length |= quint64(b & 0x7f) << shift;
                shift += 7;
                if (!(b & 0x80))
                    break;
            }
            if (length > quint64(p.size() - at)) {
                d.error = QStringLiteral("SignalR MessagePack: a record of %1 bytes in %2")
                              .arg(length)
                              .arg(p.size() - at);
                return d;
            }
            const QByteArrayView body = p.sliced(at, qsizetype(length));
            at += qsizetype(length);
            qsizetype inner = 0;
            QString error;
            const auto array = msgpack::read(body, inner, error);
            std::optional<QJsonObject> record;
            if (array && array->isArray())
                record = fromMsgPackArray(array->toArray(), error);
            if (!record) {
                d.error =
                    error.isEmpty() ? QStringLiteral("SignalR MessagePack: a record is not an array") : error;
                return d;
            }
            records.append(*record);
        }
    }
    d.format = name();
    QStringList summaries;
    d.chatter = true;
    for (const QJsonValue &value : records) {
        const QJsonObject o = value.toObject();
        if (!o.contains("type") && state && !state->handshakeDone[dir]) {
            // The first record each way is the handshake: {"protocol","version"} and {} or {"error"}.
            state->handshakeDone[dir] = true;
            summaries << (message.fromServer
                              ? (o.contains("error")
                                     ? QStringLiteral("handshake error ") + o.value("error").toString()
                                     : QStringLiteral("handshake ok"))
                              : QStringLiteral("handshake %1 v%2")
                                    .arg(o.value("protocol").toString(), textOf(o.value("version"))));
            d.role = message.fromServer ? PairRole::Reply : PairRole::Request;
            d.pairKey = QStringLiteral("handshake");
            d.chatter = false;
            continue;
        }
        const Record r = describe(o);
        summaries << r.summary;
        d.chatter = d.chatter && r.chatter;
        if (d.pairKey.isEmpty() && !r.pairKey.isEmpty()) {
            d.pairKey = r.pairKey;
            d.role = r.role;
        }
    }
    d.summary = summaries.join(QStringLiteral("; "));
    d.value = records.size() == 1 ? records.first() : QJsonValue(records);
    return d;
}

} // namespace socktap::decode
