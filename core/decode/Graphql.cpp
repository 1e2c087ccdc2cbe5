// GraphQL over WebSocket, two protocols:
// - graphql-transport-ws: https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md
//   connection_init/ack, ping/pong, subscribe, next, error, complete.
// - graphql-ws (legacy): https://github.com/apollographql/subscriptions-transport-ws/blob/master/PROTOCOL.md
//   connection_init/ack/error/terminate, ka, start, data, error, complete, stop.
// An operation's id links its subscribe/start to every next/data and its complete/stop.
#include "JsonFormats.h"
#include "JsonValue.h"

#include <QHash>
#include <QJsonArray>
#include <QJsonObject>
#include <QRegularExpression>

namespace socktap::decode {

namespace {

struct GraphqlState final : DecoderState
{
    QHash<QString, QString> operationNames; // by operation id, from its subscribe/start
};

// The operation's name: operationName when given, else the first named operation in the query text.
QString operationName(const QJsonObject &payload)
{
    const QString named = payload.value("operationName").toString();
    if (!named.isEmpty())
        return named;
    static const QRegularExpression re(
        QStringLiteral(R"((?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*))"));
    const auto match = re.match(payload.value("query").toString());
    return match.hasMatch() ? match.captured(1) : QString();
}

} // namespace

QString GraphqlDecoder::name() const
{
    return m_protocol == Protocol::TransportWs ? QStringLiteral("graphql-transport-ws")
                                               : QStringLiteral("graphql-ws");
}

std::unique_ptr<DecoderState> GraphqlDecoder::newState(const SessionHints &) const
{
    return std::make_unique<GraphqlState>();
}

bool GraphqlDecoder::recognises(const Message &message) const
{
    // Both begin with the client's connection_init; only the subprotocol tells them apart, so content
    // detection picks the current one (graphql-ws's protocol).
    return m_protocol == Protocol::TransportWs && !message.fromServer && !message.binary
        && message.payload.contains("\"connection_init\"");
}

Decoded GraphqlDecoder::decode(const Message &message, DecoderState *rawState) const
{
    auto *state = static_cast<GraphqlState *>(rawState);
    Decoded d;
    const auto value = jsonMessage(message, d, name());
    if (!value)
        return d;
    const QJsonObject o = value->toObject();
    const QString type = o.value("type").toString();
    if (type.isEmpty()) {
        d.error = QStringLiteral("%1: a message without \"type\"").arg(name());
        return d;
    }
    d.format = name();
    d.value = *value;
    const QString id = o.value("id").toString();
    const bool legacy = m_protocol == Protocol::LegacyWs;
    QString operation = state ? state->operationNames.value(id) : QString();
    if (type == QLatin1String("subscribe") || (legacy && type == QLatin1String("start"))) {
        operation = operationName(o.value("payload").toObject());
        if (state)
            state->operationNames.insert(id, operation);
        d.role = PairRole::Request;
    } else if (type == QLatin1String("next") || (legacy && type == QLatin1String("data"))) {
        d.role = PairRole::Update;
    } else if (type == QLatin1String("complete") || type == QLatin1String("error")
               || (legacy && type == QLatin1String("stop"))) {
        d.role = PairRole::Reply;
        // Either side may complete (the server when done, the client to cancel): a client's complete
        // answers nothing in the server's direction, so it stays a reply to its own subscribe.
    } else if (type == QLatin1String("ping") || type == QLatin1String("pong")
               || (legacy && type == QLatin1String("ka"))) {
        d.chatter = true;
    }
    d.summary = QStringLiteral("graphql ") + type;
    if (!id.isEmpty()) {
        d.summary += QStringLiteral(" #") + id;
        if (d.role != PairRole::None)
            d.pairKey = id;
    }
    if (!operation.isEmpty())
        d.summary += QLatin1Char(' ') + operation;
    if (type == QLatin1String("error")) {
        const QJsonValue errors = o.value("payload");
        const QJsonValue first = errors.isArray() ? errors.toArray().first() : errors;
        d.summary += QLatin1Char(' ') + brief(first.toObject().value("message"), 60);
    }
    return d;
}

} // namespace socktap::decode
