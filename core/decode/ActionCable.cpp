// Action Cable (Rails' action_cable/connection): the server says welcome, ping (every 3 s),
// confirm_subscription / reject_subscription, disconnect, or {identifier, message}; the client sends
// {command: subscribe|unsubscribe|message, identifier, data}. identifier and data are JSON in a string.
#include "JsonFormats.h"
#include "JsonValue.h"

#include <QJsonObject>

namespace socktap::decode {

bool ActionCableDecoder::recognises(const Message &message) const
{
    return message.fromServer && !message.binary && message.payload.startsWith("{\"type\":\"welcome\"");
}

Decoded ActionCableDecoder::decode(const Message &message, DecoderState *) const
{
    Decoded d;
    const auto value = jsonMessage(message, d, name());
    if (!value)
        return d;
    QJsonObject o = value->toObject();
    if (!o.contains("type") && !o.contains("command") && !o.contains("identifier")) {
        d.error = QStringLiteral("actioncable: an object with type, command or identifier expected");
        return d;
    }
    d.format = name();
    // The strings that hold JSON are shown as the JSON they hold.
    QString channel;
    for (const char *key : {"identifier", "data"}) {
        const QJsonValue inner = o.value(QLatin1String(key));
        if (inner.isString()) {
            if (const auto parsed = parseJson(inner.toString().toUtf8())) {
                o[QLatin1String(key)] = *parsed;
                if (key[0] == 'i')
                    channel = parsed->toObject().value("channel").toString();
            }
        }
    }
    d.value = o;
    const QString type = o.value("type").toString();
    const QString command = o.value("command").toString();
    const QString identifier = textOf(value->toObject().value("identifier"));
    if (type == QLatin1String("ping") || type == QLatin1String("welcome")) {
        d.chatter = type == QLatin1String("ping");
        d.summary = type;
    } else if (!type.isEmpty()) {
        d.summary = type + (channel.isEmpty() ? QString() : QLatin1Char(' ') + channel);
        if (type.endsWith(QLatin1String("_subscription"))) {
            d.role = PairRole::Reply;
            d.pairKey = identifier;
        }
    } else if (!command.isEmpty()) {
        d.summary = command + (channel.isEmpty() ? QString() : QLatin1Char(' ') + channel);
        const QJsonValue action = o.value("data").toObject().value("action");
        if (action.isString())
            d.summary += QStringLiteral(" ") + action.toString();
        if (command == QLatin1String("subscribe")) {
            d.role = PairRole::Request;
            d.pairKey = identifier;
        }
    } else {
        d.summary = QStringLiteral("message ") + channel;
        d.summary += QLatin1Char(' ') + brief(o.value("message"));
    }
    return d;
}

} // namespace socktap::decode
