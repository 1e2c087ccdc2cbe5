// JSON-RPC 2.0, https://www.jsonrpc.org/specification: requests (method, params, id), notifications (no
// id), responses (result or error, same id), and batches (an array of either, §6).
#include "JsonFormats.h"
#include "JsonValue.h"

#include <QJsonArray>
#include <QJsonObject>

namespace socktap::decode {

namespace {

void describe(const QJsonObject &o, Decoded &d)
{
    const QJsonValue id = o.value("id");
    const QString idText = id.isUndefined() || id.isNull() ? QString() : QStringLiteral(" #") + textOf(id);
    if (o.contains("method")) {
        d.summary = (idText.isEmpty() ? QStringLiteral("notify ") : QStringLiteral("call "))
            + o.value("method").toString() + idText;
        if (!idText.isEmpty()) {
            d.role = PairRole::Request;
            d.pairKey = textOf(id);
        }
    } else if (o.contains("error")) {
        const QJsonObject e = o.value("error").toObject();
        d.summary = QStringLiteral("error") + idText + QLatin1Char(' ') + textOf(e.value("code"))
            + QLatin1Char(' ') + e.value("message").toString();
        d.role = PairRole::Reply;
        d.pairKey = textOf(id);
    } else {
        d.summary = QStringLiteral("result") + idText + QLatin1Char(' ') + brief(o.value("result"));
        d.role = PairRole::Reply;
        d.pairKey = textOf(id);
    }
}

bool isJsonRpc(const QJsonValue &v)
{
    return v.toObject().value("jsonrpc").toString() == QLatin1String("2.0");
}

} // namespace

bool JsonRpcDecoder::recognises(const Message &message) const
{
    return !message.binary && message.payload.contains("\"jsonrpc\"") && message.payload.contains("\"2.0\"");
}

Decoded JsonRpcDecoder::decode(const Message &message, DecoderState *) const
{
    Decoded d;
    const auto value = jsonMessage(message, d, name());
    if (!value)
        return d;
    if (value->isArray()) {
        const QJsonArray batch = value->toArray();
        QStringList parts;
        for (const QJsonValue &item : batch) {
            if (!isJsonRpc(item)) {
                d.error = QStringLiteral("a batch member is not a JSON-RPC 2.0 object");
                return d;
            }
            Decoded one;
            describe(item.toObject(), one);
            parts << one.summary;
            // A batch pairs by its first member that has an id (§6: replies may come in any order).
            if (d.pairKey.isEmpty() && !one.pairKey.isEmpty()) {
                d.pairKey = one.pairKey;
                d.role = one.role;
            }
        }
        d.summary = QStringLiteral("batch [%1]: ").arg(batch.size()) + parts.join(QStringLiteral("; "));
    } else if (isJsonRpc(*value)) {
        describe(value->toObject(), d);
    } else {
        d.error = QStringLiteral("not a JSON-RPC 2.0 object (no \"jsonrpc\": \"2.0\")");
        return d;
    }
    d.format = name();
    d.value = *value;
    return d;
}

} // namespace socktap::decode
