#include "SocketIo.h"

#include "EngineIo.h"
#include "JsonFormats.h"
#include "JsonValue.h"

#include <QJsonArray>
#include <QJsonObject>

namespace socktap::decode {

namespace {

struct SocketIoState final : DecoderState
{
    int engineVersion = 4; // from the URL's EIO=; 3 prefixes binary messages with their type byte
    int pendingAttachments[2] = {0, 0}; // per direction: attachments still to come
    int attachmentNumber[2] = {0, 0};
};

// Socket.IO packet types (socket.io-protocol v5; v4 calls 4 ERROR).
const char *packetName(int type)
{
    static const char *const names[] = {"connect",       "disconnect",   "event",     "ack",
                                        "connect_error", "binary event", "binary ack"};
    return type >= 0 && type <= 6 ? names[type] : "?";
}

QString quoted(const QString &s)
{
    return QLatin1Char('"') + s + QLatin1Char('"');
}

Decoded socketIoPacket(QByteArrayView data)
{
    Decoded d;
    d.format = QStringLiteral("socket.io");
    if (data.isEmpty() || data.front() < '0' || data.front() > '6') {
        d.error = QStringLiteral("not a Socket.IO packet type: %1")
                      .arg(QString::fromUtf8(data.first(qMin(8, data.size()))));
        d.format.clear();
        return d;
    }
    const int type = data.front() - '0';
    qsizetype at = 1;
    QJsonObject value {{"type", QString::fromLatin1(packetName(type))}};
    if (type == 5 || type == 6) {
        const qsizetype dash = data.indexOf('-', at);
        bool ok = false;
        const int n = dash > at ? QByteArrayView(data.sliced(at, dash - at)).toInt(&ok) : 0;
        if (!ok || n < 0) {
            d.format.clear();
            d.error = QStringLiteral("binary packet without its attachment count");
            return d;
        }
        d.attachments = n;
        value["attachments"] = n;
        at = dash + 1;
    }
    QString nsp = QStringLiteral("/");
    if (at < data.size() && data[at] == '/') {
        qsizetype comma = data.indexOf(',', at);
        if (comma < 0)
            comma = data.size();
        nsp = QString::fromUtf8(data.sliced(at, comma - at));
        at = qMin(comma + 1, data.size());
    }
    value["nsp"] = nsp;
    qsizetype digits = at;
    while (digits < data.size() && data[digits] >= '0' && data[digits] <= '9')
        ++digits;
    QString ackId;
    if (digits > at) {
        ackId = QString::fromLatin1(data.sliced(at, digits - at));
        value["id"] = ackId.toLongLong();
        at = digits;
    }
    QJsonValue body;
    if (at < data.size()) {
        QString error;
        const auto parsed = parseJson(data.sliced(at), &error);
        if (!parsed) {
            d.format.clear();
            d.error = QStringLiteral("Socket.IO %1: %2").arg(QLatin1String(packetName(type)), error);
            return d;
        }
        body = *parsed;
    }
    const QString inNsp = nsp == QLatin1String("/") ? QString() : QLatin1Char(' ') + nsp;
    switch (type) {
    case 0: // CONNECT: auth payload from the client, {sid} from the server
    case 1:
    case 4:
        if (!body.isUndefined())
            value["data"] = body;
        d.summary = QLatin1String(packetName(type)) + inNsp;
        if (type == 4 && body.isObject())
            d.summary += QLatin1Char(' ') + brief(body.toObject().value("message"), 60);
        break;
    case 2:
    case 5: {
        const QJsonArray args = body.toArray();
        value["event"] = args.isEmpty() ? QJsonValue() : args.first();
        QJsonArray rest = args;
        if (!rest.isEmpty())
            rest.removeFirst();
        value["args"] = rest;
        d.summary = QStringLiteral("emit %1 [%2]")
                        .arg(quoted(textOf(args.isEmpty() ? QJsonValue() : args.first())),
                             countOf(qMax<qsizetype>(0, args.size() - 1), "arg"))
            + inNsp;
        if (!ackId.isEmpty()) {
            d.summary += QStringLiteral(" #") + ackId;
            d.role = PairRole::Request;
        }
        break;
    }
    case 3:
    case 6:
        value["args"] = body.isArray() ? body : QJsonArray {body};
        d.summary = QStringLiteral("ack %1 [%2]").arg(ackId, countOf(body.toArray().size(), "arg")) + inNsp;
        d.role = PairRole::Reply;
        break;
    }
    if (type == 5 || type == 6)
        d.summary += QStringLiteral(" +%1").arg(countOf(d.attachments, "attachment"));
    if (!ackId.isEmpty())
        d.pairKey = nsp + QLatin1Char('#') + ackId;
    d.value = value;
    return d;
}

} // namespace

std::unique_ptr<DecoderState> SocketIoDecoder::newState(const SessionHints &hints) const
{
    auto state = std::make_unique<SocketIoState>();
    if (hints.path.contains("EIO=3"))
        state->engineVersion = 3;
    return state;
}

bool SocketIoDecoder::recognises(const Message &message) const
{
    // The server's first message: Engine.IO open, `0{"sid":...,"pingInterval":...}`.
    return message.fromServer && !message.binary && message.payload.startsWith("0{\"sid\":");
}

std::optional<QByteArray> SocketIoDecoder::encode(const Message &original, const QJsonValue &value,
                                                  QString *error) const
{
    const QJsonObject o = value.toObject();
    const QString type = o.value("type").toString();
    const QByteArrayView p = original.payload;
    const qsizetype json = p.indexOf('[');
    if (original.binary || (type != QLatin1String("event") && type != QLatin1String("ack")) || json < 0
        || !p.startsWith("4") || p.size() < 2 || (p[1] != '2' && p[1] != '3')) {
        if (error)
            *error = QStringLiteral("socket.io: only text events and acks are re-encoded (not %1)")
                         .arg(type.isEmpty() ? QStringLiteral("this packet") : type);
        return std::nullopt;
    }
    QJsonArray args = o.value("args").toArray();
    if (type == QLatin1String("event"))
        args.prepend(o.value("event"));
    // The header as it was: "4" (message), "2"/"3", then namespace and ack id.
    return p.first(json).toByteArray() + compactJson(args);
}

std::optional<QByteArray> SocketIoDecoder::compose(const Message &, const QJsonValue &value,
                                                   QString *error) const
{
    const QJsonObject o = value.toObject();
    const QString type = o.value("type").toString();
    const bool event = type == QLatin1String("event");
    const auto fail = [&](const QString &why) {
        if (error)
            *error = QStringLiteral("socket.io: %1").arg(why);
        return std::nullopt;
    };
    if (!event && type != QLatin1String("ack"))
        return fail(QStringLiteral("\"type\" must be \"event\" or \"ack\" to compose"));
    if (event && !o.value("event").isString())
        return fail(QStringLiteral("an event needs its name in \"event\""));
    if (!o.value("args").isUndefined() && !o.value("args").isArray())
        return fail(QStringLiteral("\"args\" must be an array"));
    const QJsonValue id = o.value("id");
    if (!event && !id.isDouble())
        return fail(QStringLiteral("an ack needs the id it answers in \"id\""));
    // Engine.IO "4" (message), Socket.IO "2" (event) or "3" (ack), then "<namespace>," unless it is the
    // main one, then the ack id (socket.io-protocol v5, "Packet encoding").
    QByteArray out = event ? "42" : "43";
    const QString nsp = o.value("nsp").toString(QStringLiteral("/"));
    if (!nsp.isEmpty() && nsp != QLatin1String("/"))
        out += nsp.toUtf8() + ',';
    if (id.isDouble())
        out += QByteArray::number(id.toInteger());
    QJsonArray args = o.value("args").toArray();
    if (event)
        args.prepend(o.value("event"));
    return out + compactJson(args);
}

Decoded SocketIoDecoder::decode(const Message &message, DecoderState *rawState) const
{
    auto *state = static_cast<SocketIoState *>(rawState);
    const int dir = message.fromServer ? 1 : 0;
    QByteArrayView payload = message.payload;
    if (message.binary && state && state->engineVersion == 3 && !payload.isEmpty() && payload.front() == 4)
        payload = payload.sliced(1); // v3: the message type as a byte
    if (message.binary && state && state->pendingAttachments[dir] > 0) {
        Decoded d;
        d.format = QStringLiteral("socket.io");
        d.attachment = ++state->attachmentNumber[dir];
        --state->pendingAttachments[dir];
        d.summary = QStringLiteral("attachment %1 (%2)").arg(d.attachment).arg(payload.size());
        d.value = QJsonObject {{"attachment", d.attachment - 1},
                               {"base64", QString::fromLatin1(payload.toByteArray().toBase64())}};
        return d;
    }
    const auto packet = engineio::parse(payload, message.binary);
    if (!packet) {
        Decoded d;
        d.error = QStringLiteral("not an Engine.IO packet");
        return d;
    }
    if (packet->type != engineio::Type::Message || packet->binary) {
        Decoded d;
        d.format = QStringLiteral("engine.io");
        const QString name = QLatin1String(engineio::typeName(packet->type));
        QJsonObject value {{"type", name}};
        d.summary = name;
        if (packet->binary) {
            value["base64"] = QString::fromLatin1(packet->data.toByteArray().toBase64());
            d.summary = QStringLiteral("binary message (%1 B)").arg(packet->data.size());
        } else if (packet->type == engineio::Type::Open) {
            if (const auto open = parseJson(packet->data)) {
                value["data"] = *open;
                d.summary += QStringLiteral(" sid=") + open->toObject().value("sid").toString();
            }
        } else if (!packet->data.isEmpty()) {
            value["data"] = QString::fromUtf8(packet->data); // "probe" in the upgrade's ping/pong
            d.summary += QLatin1Char(' ') + value["data"].toString();
        }
        d.chatter = packet->type == engineio::Type::Ping || packet->type == engineio::Type::Pong
            || packet->type == engineio::Type::Noop;
        d.value = value;
        return d;
    }
    Decoded d = socketIoPacket(packet->data);
    if (state && d.attachments > 0) {
        state->pendingAttachments[dir] = d.attachments;
        state->attachmentNumber[dir] = 0;
    }
    return d;
}

} // namespace socktap::decode
