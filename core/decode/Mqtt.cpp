#include "Mqtt.h"

#include "JsonFormats.h"
#include "JsonValue.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QtEndian>

namespace socktap::decode {

namespace {

struct MqttState final : DecoderState
{
    int level = 4; // protocol level from CONNECT: 3 (3.1), 4 (3.1.1), 5 (5.0)
    QByteArray pending[2]; // bytes of an unfinished packet, per direction
    bool lost[2] = {false, false}; // a packet too large or malformed: the stream's place is lost
};

const char *const PacketNames[] = {"reserved", "CONNECT",  "CONNACK",    "PUBLISH", "PUBACK",      "PUBREC",
                                   "PUBREL",   "PUBCOMP",  "SUBSCRIBE",  "SUBACK",  "UNSUBSCRIBE", "UNSUBACK",
                                   "PINGREQ",  "PINGRESP", "DISCONNECT", "AUTH"};

// Reads the fields of one packet's variable header and payload; `ok` false on the first short read.
struct Reader
{
    QByteArrayView data;
    qsizetype at = 0;
    bool ok = true;

    qsizetype left() const { return data.size() - at; }
    bool need(qsizetype n)
    {
        if (left() < n)
            ok = false;
        return ok;
    }
    quint8 byte() { return need(1) ? quint8(data[at++]) : 0; }
    quint16 u16()
    {
        if (!need(2))
            return 0;
        const quint16 v = qFromBigEndian<quint16>(data.data() + at);
        at += 2;
        return v;
    }
    quint32 u32()
    {
        if (!need(4))
            return 0;
        const quint32 v = qFromBigEndian<quint32>(data.data() + at);
        at += 4;
        return v;
    }
    quint32 varint() // §1.5.5 Variable Byte Integer
    {
        quint32 v = 0;
        for (int shift = 0; shift <= 21; shift += 7) {
            const quint8 b = byte();
            if (!ok)
                return 0;
            v |= quint32(b & 0x7f) << shift;
            if (!(b & 0x80))
                return v;
        }
        ok = false;
        return 0;
    }
    QByteArrayView binary()
    {
        const quint16 n = u16();
        if (!need(n))
            return {};
        const QByteArrayView v = data.sliced(at, n);
        at += n;
        return v;
    }
    QString string() { return QString::fromUtf8(binary()); }
};

// MQTT 5.0 §2.2.2 Properties: identifier, then a value of the identifier's type.
QJsonObject properties(Reader &r)
{
    QJsonObject props;
    const quint32 length = r.varint();
    if (!r.need(qsizetype(length)))
        return props;
    Reader p {r.data.sliced(r.at, qsizetype(length))};
    r.at += qsizetype(length);
    QJsonArray userProperties;
    while (p.ok && p.left() > 0) {
        const quint32 id = p.varint();
        QJsonValue value;
        QString name;
        switch (id) {
        case 1:
            name = "payloadFormat";
            value = p.byte();
            break;
        case 2:
            name = "messageExpiry";
            value = qint64(p.u32());
            break;
        case 3:
            name = "contentType";
            value = p.string();
            break;
        case 8:
            name = "responseTopic";
            value = p.string();
            break;
        case 9:
            name = "correlationData";
            value = QString::fromLatin1(p.binary().toByteArray().toBase64());
            break;
        case 11:
            name = "subscriptionId";
            value = qint64(p.varint());
            break;
        case 17:
            name = "sessionExpiry";
            value = qint64(p.u32());
            break;
        case 18:
            name = "assignedClientId";
            value = p.string();
            break;
        case 19:
            name = "serverKeepAlive";
            value = p.u16();
            break;
        case 21:
            name = "authMethod";
            value = p.string();
            break;
        case 22:
            name = "authData";
            value = QString::fromLatin1(p.binary().toByteArray().toBase64());
            break;
        case 23:
            name = "requestProblemInfo";
            value = p.byte();
            break;
        case 24:
            name = "willDelay";
            value = qint64(p.u32());
            break;
        case 25:
            name = "requestResponseInfo";
            value = p.byte();
            break;
        case 26:
            name = "responseInfo";
            value = p.string();
            break;
        case 28:
            name = "serverReference";
            value = p.string();
            break;
        case 31:
            name = "reasonString";
            value = p.string();
            break;
        case 33:
            name = "receiveMaximum";
            value = p.u16();
            break;
        case 34:
            name = "topicAliasMaximum";
            value = p.u16();
            break;
        case 35:
            name = "topicAlias";
            value = p.u16();
            break;
        case 36:
            name = "maximumQos";
            value = p.byte();
            break;
        case 37:
            name = "retainAvailable";
            value = p.byte();
            break;
        case 38: {
            const QString key = p.string();
            userProperties.append(QJsonArray {key, p.string()});
            continue;
        }
        case 39:
            name = "maximumPacketSize";
            value = qint64(p.u32());
            break;
        case 40:
            name = "wildcardSubscriptionAvailable";
            value = p.byte();
            break;
        case 41:
            name = "subscriptionIdAvailable";
            value = p.byte();
            break;
        case 42:
            name = "sharedSubscriptionAvailable";
            value = p.byte();
            break;
        default:
            props["unknownProperty"] = qint64(id); // the rest cannot be read without its type
            return props;
        }
        if (p.ok)
            props[name] = value;
    }
    if (!userProperties.isEmpty())
        props["userProperties"] = userProperties;
    return props;
}

// An application message's payload: JSON when it is JSON, text when it is UTF-8, otherwise base64.
QJsonValue payloadValue(QByteArrayView payload, QJsonObject &packet)
{
    if (const auto json = parseJson(payload); json && !payload.isEmpty()) {
        packet["payloadFormat"] = QStringLiteral("json");
        return *json;
    }
    const QString text = QString::fromUtf8(payload);
    if (text.toUtf8() == payload) {
        packet["payloadFormat"] = QStringLiteral("text");
        return text;
    }
    packet["payloadFormat"] = QStringLiteral("base64");
    return QString::fromLatin1(payload.toByteArray().toBase64());
}

struct Packet
{
    QJsonObject value;
    QString summary;
    QString pairKey;
    PairRole role = PairRole::None;
    bool chatter = false;
    QString error;
};

Packet parsePacket(quint8 first, QByteArrayView body, MqttState &state)
{
    const int type = first >> 4;
    const bool v5 = state.level >= 5;
    Packet p;
    p.value["type"] = QLatin1String(PacketNames[type]);
    p.summary = QLatin1String(PacketNames[type]);
    Reader r {body};
    const auto reason = [&](int defaultCode = 0) {
        if (r.left() > 0)
            p.value["reasonCode"] = r.byte();
        else
            p.value["reasonCode"] = defaultCode;
        if (v5 && r.left() > 0)
            p.value["properties"] = properties(r);
    };
    const auto packetId = [&](const char *kind, PairRole role) {
        const quint16 id = r.u16();
        p.value["packetId"] = id;
        p.summary += QStringLiteral(" #%1").arg(id);
        p.pairKey = QLatin1String(kind) + QLatin1Char(':') + QString::number(id);
        p.role = role;
    };
    switch (type) {
    case 1: { // CONNECT §3.1
        const QString protocol = r.string();
        const int level = r.byte();
        const quint8 flags = r.byte();
        p.value["protocol"] = protocol;
        p.value["level"] = level;
        p.value["keepAlive"] = r.u16();
        if (r.ok && (level == 3 || level == 4 || level == 5))
            state.level = level;
        if (level >= 5)
            p.value["properties"] = properties(r);
        p.value["clientId"] = r.string();
        p.value["cleanStart"] = bool(flags & 0x02);
        if (flags & 0x04) {
            if (level >= 5)
                p.value["willProperties"] = properties(r);
            p.value["willTopic"] = r.string();
            p.value["willPayload"] = QString::fromLatin1(r.binary().toByteArray().toBase64());
            p.value["willQos"] = (flags >> 3) & 3;
            p.value["willRetain"] = bool(flags & 0x20);
        }
        if (flags & 0x80)
            p.value["username"] = r.string();
        if (flags & 0x40) {
            r.binary();
            p.value["password"] = QStringLiteral("(set)"); // never shown: it is a credential
        }
        p.summary += QStringLiteral(" %1 v%2 %3")
                         .arg(p.value["clientId"].toString(),
                              level == 5       ? QStringLiteral("5.0")
                                  : level == 4 ? QStringLiteral("3.1.1")
                                               : QStringLiteral("3.1"))
                         .arg(QStringLiteral("keepalive=%1").arg(p.value["keepAlive"].toInt()));
        p.pairKey = QStringLiteral("connect");
        p.role = PairRole::Request;
        break;
    }
    case 2: // CONNACK §3.2
        p.value["sessionPresent"] = bool(r.byte() & 1);
        reason();
        p.summary += QStringLiteral(" %1").arg(p.value["reasonCode"].toInt());
        p.pairKey = QStringLiteral("connect");
        p.role = PairRole::Reply;
        break;
    case 3: { // PUBLISH §3.3
        const int qos = (first >> 1) & 3;
        p.value["topic"] = r.string();
        p.value["qos"] = qos;
        p.value["retain"] = bool(first & 1);
        p.value["dup"] = bool(first & 8);
        p.summary += QLatin1Char(' ') + p.value["topic"].toString() + QStringLiteral(" qos%1").arg(qos);
        if (qos > 0)
            packetId("pub", PairRole::Request);
        if (v5)
            p.value["properties"] = properties(r);
        if (r.ok) {
            const QByteArrayView payload = body.sliced(r.at);
            p.value["payload"] = payloadValue(payload, p.value);
            p.summary += QStringLiteral(" (%1 B)").arg(payload.size());
        }
        if (first & 1)
            p.summary += QStringLiteral(" retain");
        break;
    }
    case 4: // PUBACK, PUBREC, PUBREL, PUBCOMP §3.4-3.7: the QoS 1 and 2 flows
    case 5:
    case 6:
    case 7:
        packetId("pub", type == 4 || type == 7 ? PairRole::Reply : PairRole::Update);
        if (r.left() > 0)
            reason();
        break;
    case 8: // SUBSCRIBE §3.8
    case 10: { // UNSUBSCRIBE §3.10
        packetId(type == 8 ? "sub" : "unsub", PairRole::Request);
        if (v5)
            p.value["properties"] = properties(r);
        QJsonArray topics;
        QStringList names;
        while (r.ok && r.left() > 0) {
            const QString filter = r.string();
            names << filter;
            if (type == 8) {
                const quint8 options = r.byte();
                topics.append(QJsonObject {{"filter", filter}, {"qos", options & 3}});
            } else {
                topics.append(filter);
            }
        }
        p.value["topics"] = topics;
        p.summary += QLatin1Char(' ') + names.join(QStringLiteral(", "));
        break;
    }
    case 9: // SUBACK §3.9
    case 11: { // UNSUBACK §3.11
        packetId(type == 9 ? "sub" : "unsub", PairRole::Reply);
        if (v5)
            p.value["properties"] = properties(r);
        QJsonArray codes;
        while (r.ok && r.left() > 0)
            codes.append(r.byte());
        p.value["reasonCodes"] = codes;
        break;
    }
    case 12:
    case 13:
        p.chatter = true;
        break;
    case 14: // DISCONNECT §3.14
    case 15: // AUTH §3.15 (5.0)
        if (r.left() > 0)
            reason();
        break;
    default:
        p.error = QStringLiteral("MQTT: packet type 0 is reserved");
        return p;
    }
    if (!r.ok)
        p.error = QStringLiteral("MQTT %1: its fields run past its remaining length")
                      .arg(QLatin1String(PacketNames[type]));
    return p;
}

} // namespace

std::unique_ptr<DecoderState> MqttDecoder::newState(const SessionHints &hints) const
{
    auto state = std::make_unique<MqttState>();
    if (hints.subprotocol.compare("mqttv3.1", Qt::CaseInsensitive) == 0)
        state->level = 3;
    return state;
}

namespace {

void putVarint(QByteArray &out, quint32 n)
{
    // §1.5.5: 7 bits a byte, least significant first, the top bit set while more follow.
    do {
        quint8 b = n & 0x7f;
        n >>= 7;
        out += char(n ? b | 0x80 : b);
    } while (n);
}

void putU16(QByteArray &out, quint16 n)
{
    out += char(n >> 8);
    out += char(n & 0xff);
}

void putU32(QByteArray &out, quint32 n)
{
    putU16(out, quint16(n >> 16));
    putU16(out, quint16(n & 0xffff));
}

// §1.5.4/§1.5.6: a two-byte length, so at most 65,535 bytes; false (nothing written) for more.
bool putBinary(QByteArray &out, const QByteArray &data)
{
    if (data.size() > 0xffff)
        return false;
    putU16(out, quint16(data.size()));
    out += data;
    return true;
}

// The properties a PUBLISH may carry (MQTT 5.0 §3.3.2.3), from what properties() above decodes.
std::optional<QByteArray> publishProperties(const QJsonObject &props, QString *why)
{
    QByteArray out;
    bool fits = true;
    for (auto it = props.begin(); it != props.end(); ++it) {
        const QString &k = it.key();
        const QJsonValue v = it.value();
        if (k == QLatin1String("payloadFormat")) {
            out += char(1);
            out += char(v.toInt());
        } else if (k == QLatin1String("messageExpiry")) {
            out += char(2);
            putU32(out, quint32(v.toInteger()));
        } else if (k == QLatin1String("contentType") || k == QLatin1String("responseTopic")) {
            out += char(k == QLatin1String("contentType") ? 3 : 8);
            fits = putBinary(out, v.toString().toUtf8()) && fits;
        } else if (k == QLatin1String("correlationData")) {
            out += char(9);
            fits = putBinary(out, QByteArray::fromBase64(v.toString().toLatin1())) && fits;
        } else if (k == QLatin1String("subscriptionId")) {
            out += char(11);
            putVarint(out, quint32(v.toInteger()));
        } else if (k == QLatin1String("topicAlias")) {
            out += char(35);
            putU16(out, quint16(v.toInt()));
        } else if (k == QLatin1String("userProperties")) {
            for (const QJsonValue pair : v.toArray()) {
                out += char(38);
                fits = putBinary(out, pair.toArray().at(0).toString().toUtf8()) && fits;
                fits = putBinary(out, pair.toArray().at(1).toString().toUtf8()) && fits;
            }
        } else {
            *why = QStringLiteral("mqtt: the property \"%1\" is not one a PUBLISH carries").arg(k);
            return std::nullopt;
        }
    }
    if (!fits) {
        *why = QStringLiteral("mqtt: a property's text is longer than MQTT's 65,535 bytes");
        return std::nullopt;
    }
    QByteArray framed;
    putVarint(framed, quint32(out.size()));
    return framed + out;
}

} // namespace

std::optional<QByteArray> MqttDecoder::encode(const Message &original, const QJsonValue &value,
                                              QString *error) const
{
    QString why;
    const auto fail = [&](const QString &reason) {
        if (error)
            *error = reason;
        return std::nullopt;
    };
    // The message being replaced must be exactly one packet: MQTT is a byte stream, and a message that held
    // the end of a packet whose start was already forwarded (mqtt.js sends header and body apart) cannot be
    // swapped for a whole one.
    if (!original.payload.isEmpty()) {
        Reader header {original.payload};
        header.byte();
        const quint32 length = header.varint();
        if (!header.ok || header.at + qsizetype(length) != original.payload.size())
            return fail(QStringLiteral("mqtt: this message is not one whole packet (MQTT is a byte stream; "
                                       "its packet began or ends in another message)"));
    }
    const QJsonObject o = value.toObject();
    if (o.value("type").toString() != QLatin1String("PUBLISH"))
        return fail(QStringLiteral("mqtt: only one whole PUBLISH packet is encoded (not %1)")
                        .arg(value.isArray() ? QStringLiteral("several packets")
                                             : o.value("type").toString(QStringLiteral("this"))));
    const QString topic = o.value("topic").toString();
    const int qos = o.value("qos").toInt();
    if (topic.isEmpty() && !o.value("properties").toObject().contains("topicAlias"))
        return fail(QStringLiteral("mqtt: a PUBLISH needs a \"topic\""));
    if (qos < 0 || qos > 2)
        return fail(QStringLiteral("mqtt: qos is 0, 1 or 2"));
    if (qos > 0 && !o.value("packetId").isDouble())
        return fail(QStringLiteral("mqtt: a PUBLISH with qos %1 needs a \"packetId\"").arg(qos));
    QByteArray body;
    if (!putBinary(body, topic.toUtf8()))
        return fail(QStringLiteral("mqtt: a topic is at most 65,535 bytes (§1.5.4)"));
    if (qos > 0)
        putU16(body, quint16(o.value("packetId").toInt()));
    if (o.contains("properties")) { // MQTT 5: the property length comes even when it is 0
        const auto props = publishProperties(o.value("properties").toObject(), &why);
        if (!props)
            return fail(why);
        body += *props;
    }
    // The payload as decode() showed it: JSON, text, or base64 for bytes; a payload written by hand
    // without payloadFormat is text when it is a string, else JSON.
    const QJsonValue payload = o.value("payload");
    const QString format = o.value("payloadFormat").toString();
    if (format == QLatin1String("base64"))
        body += QByteArray::fromBase64(payload.toString().toLatin1());
    else if (payload.isString() && format != QLatin1String("json"))
        body += payload.toString().toUtf8();
    else if (format == QLatin1String("json") || (!payload.isUndefined() && !payload.isNull()))
        body += compactJson(payload); // a JSON payload of null is the four bytes "null"
    if (body.size() > 268'435'455) // §1.5.5: four bytes of remaining length at most
        return fail(QStringLiteral("mqtt: a packet is at most 268,435,455 bytes after its fixed header"));
    QByteArray out;
    out +=
        char(0x30 | (o.value("dup").toBool() ? 0x08 : 0) | (qos << 1) | (o.value("retain").toBool() ? 1 : 0));
    putVarint(out, quint32(body.size()));
    return out + body;
}

std::optional<QByteArray> MqttDecoder::encodeEdit(const Message &original, const QJsonValue &before,
                                                  const QJsonValue &after, QString *error) const
{
    const QByteArrayView tail = original.payload;
    const auto was = encode({}, before, error);
    if (!was)
        return std::nullopt;
    if (*was == tail) // the whole packet, alone in this message
        return encode(original, after, error);
    if (!was->endsWith(tail)) {
        if (error)
            *error =
                QStringLiteral("mqtt: the packet encoded again does not end with this message's bytes "
                               "(the message holds more than one packet, or the payload's JSON has a key "
                               "order or number form that encoding does not keep)");
        return std::nullopt;
    }
    const auto now = encode({}, after, error);
    if (!now)
        return std::nullopt;
    const qsizetype sent = was->size() - tail.size(); // the packet's bytes that went in earlier messages
    if (now->size() != was->size() || !now->startsWith(was->first(sent))) {
        if (error)
            *error = QStringLiteral("mqtt: the edit changes the packet's first %1 bytes, which went in an "
                                    "earlier message (this client sends a packet's parts apart); an edit "
                                    "that keeps the packet's length can be made")
                         .arg(sent);
        return std::nullopt;
    }
    return now->sliced(sent);
}

bool MqttDecoder::recognises(const Message &message) const
{
    // A client's first binary message: CONNECT with protocol name "MQTT" (or "MQIsdp", 3.1).
    const QByteArrayView p = message.payload;
    return !message.fromServer && message.binary && p.size() > 8 && quint8(p[0]) == 0x10
        && (p.contains("\x00\x04MQTT") || p.contains("\x00\x06MQIsdp"));
}

Decoded MqttDecoder::decode(const Message &message, DecoderState *rawState) const
{
    MqttState fresh;
    MqttState &state = rawState ? *static_cast<MqttState *>(rawState) : fresh;
    const int dir = message.fromServer ? 1 : 0;
    Decoded d;
    if (!message.binary) {
        d.error = QStringLiteral("MQTT over WebSocket is binary (MQTT 3.1.1 §6); this message is text");
        return d;
    }
    if (state.lost[dir]) {
        d.error = QStringLiteral("MQTT: this direction's stream was lost at an earlier packet");
        return d;
    }
    QByteArray &buffer = state.pending[dir];
    buffer.append(message.payload.data(), message.payload.size());
    QJsonArray values;
    QStringList summaries;
    d.chatter = true;
    qsizetype at = 0;
    bool any = false;
    for (;;) {
        Reader header {QByteArrayView(buffer).sliced(at)};
        const quint8 first = header.byte();
        const quint32 length = header.varint();
        if (!header.ok) {
            if (header.left() == 0 && buffer.size() - at < 5)
                break; // the fixed header continues in the next message
            state.lost[dir] = true;
            d.error = QStringLiteral("MQTT: a remaining length of more than 4 bytes (§1.5.5)");
            return d;
        }
        if (qsizetype(length) > MaxPacket) {
            state.lost[dir] = true;
            d.error = QStringLiteral("MQTT: a packet of %1 bytes, more than Socktap decodes (%2)")
                          .arg(length)
                          .arg(MaxPacket);
            return d;
        }
        if (header.left() < qsizetype(length))
            break; // the rest comes in a later message
        const Packet p = parsePacket(first, QByteArrayView(buffer).sliced(at + header.at, length), state);
        at += header.at + qsizetype(length);
        any = true;
        if (!p.error.isEmpty()) {
            d.error = p.error;
            state.lost[dir] = (first >> 4) == 0;
            if (state.lost[dir])
                return d;
        }
        values.append(p.value);
        summaries << p.summary;
        d.chatter = d.chatter && p.chatter;
        if (d.pairKey.isEmpty() && !p.pairKey.isEmpty()) {
            d.pairKey = p.pairKey;
            d.role = p.role;
        }
        if (at == buffer.size())
            break;
    }
    buffer.remove(0, at);
    if (!buffer.isEmpty())
        summaries << QStringLiteral("(%1 B of the next packet)").arg(buffer.size());
    if (!any)
        d.chatter = false;
    d.format = name();
    d.summary = summaries.join(QStringLiteral("; "));
    d.value = values.size() == 1 ? values.first() : QJsonValue(values);
    return d;
}

} // namespace socktap::decode
