// Phoenix channels over WebSocket (phoenix/assets/js/phoenix/serializer.js; Phoenix.Socket.V1 and
// V2.JSONSerializer): V2 sends [join_ref, ref, topic, event, payload], V1 an object with the same keys.
// Replies are event "phx_reply" with the request's ref; heartbeats are topic "phoenix", event "heartbeat".
#include "JsonFormats.h"
#include "JsonValue.h"

#include <QJsonArray>
#include <QJsonObject>

namespace socktap::decode {

std::optional<QByteArray> PhoenixDecoder::encode(const Message &original, const QJsonValue &value,
                                                 QString *error) const
{
    const QJsonObject m = value.toObject();
    if (!m.contains("topic") || !m.contains("event")) {
        if (error)
            *error = QStringLiteral("phoenix: a message needs topic and event");
        return std::nullopt;
    }
    if (original.payload.startsWith('['))
        return compactJson(QJsonArray {m.value("join_ref"), m.value("ref"), m.value("topic"),
                                       m.value("event"), m.value("payload")});
    return compactJson(m);
}

bool PhoenixDecoder::recognises(const Message &message) const
{
    return !message.fromServer && !message.binary
        && (message.payload.contains(",\"phx_join\",") || message.payload.contains("\"event\":\"phx_join\""));
}

Decoded PhoenixDecoder::decode(const Message &message, DecoderState *) const
{
    Decoded d;
    const auto value = jsonMessage(message, d, name());
    if (!value)
        return d;
    QJsonObject m;
    if (value->isArray() && value->toArray().size() == 5) {
        const QJsonArray a = value->toArray();
        m = {{"join_ref", a[0]}, {"ref", a[1]}, {"topic", a[2]}, {"event", a[3]}, {"payload", a[4]}};
    } else if (value->isObject() && value->toObject().contains("event")
               && value->toObject().contains("topic")) {
        m = value->toObject();
    } else {
        d.error = QStringLiteral(
            "phoenix: neither [join_ref, ref, topic, event, payload] nor an object with topic and event");
        return d;
    }
    d.format = name();
    d.value = m;
    const QString topic = m.value("topic").toString();
    const QString event = m.value("event").toString();
    const QString ref = textOf(m.value("ref"));
    const bool hasRef = !m.value("ref").isNull() && !m.value("ref").isUndefined();
    d.chatter = topic == QLatin1String("phoenix");
    if (event == QLatin1String("phx_reply")) {
        const QJsonObject payload = m.value("payload").toObject();
        d.summary = QStringLiteral("reply %1 %2").arg(payload.value("status").toString(), topic);
        d.role = PairRole::Reply;
    } else {
        d.summary = event + QLatin1Char(' ') + topic;
        // A client's push with a ref waits for its phx_reply; a server's broadcast has no ref.
        if (!message.fromServer && hasRef)
            d.role = PairRole::Request;
    }
    if (hasRef) {
        d.summary += QStringLiteral(" #") + ref;
        if (d.role != PairRole::None)
            d.pairKey = topic + QLatin1Char('#') + ref;
    }
    return d;
}

} // namespace socktap::decode
