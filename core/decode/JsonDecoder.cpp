// Any JSON message: the fallback for a session with no format, and for a message its format does not
// explain (RFC 8259).
#include "JsonFormats.h"
#include "JsonValue.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace socktap::decode {

std::optional<QJsonValue> jsonMessage(const Message &message, Decoded &d, const QString &format)
{
    if (message.binary) {
        d.error = QStringLiteral("%1 is text; this message is binary").arg(format);
        return std::nullopt;
    }
    QString error;
    auto value = parseJson(message.payload, &error);
    if (!value)
        d.error = format + QStringLiteral(": ") + error;
    return value;
}

QByteArray compactJson(const QJsonValue &value)
{
    if (value.isObject())
        return QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact);
    const QByteArray wrapped = QJsonDocument(QJsonArray {value}).toJson(QJsonDocument::Compact);
    return wrapped.mid(1, wrapped.size() - 2); // [x] -> x
}

Decoded JsonDecoder::decode(const Message &message, DecoderState *) const
{
    Decoded d;
    const auto value = jsonMessage(message, d, name());
    if (!value)
        return d;
    d.format = name();
    d.value = *value;
    if (value->isObject()) {
        // The keys a reader looks for first: an object's type or event names it.
        const QJsonObject o = value->toObject();
        for (const char *key : {"type", "event", "action", "op", "method", "cmd"}) {
            if (o.value(QLatin1String(key)).isString()) {
                d.summary = QLatin1String(key) + QLatin1Char('=') + o.value(QLatin1String(key)).toString()
                    + QStringLiteral(" {%1}").arg(o.size());
                break;
            }
        }
    }
    if (d.summary.isEmpty())
        d.summary = brief(*value);
    return d;
}

} // namespace socktap::decode
