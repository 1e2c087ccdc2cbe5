#include "Wamp.h"

#include "JsonFormats.h"
#include "JsonValue.h"
#include "MsgPack.h"

#include <QCborValue>
#include <QJsonArray>
#include <QJsonObject>

namespace socktap::decode {

namespace {

struct WampState final : DecoderState
{
    bool cbor = false; // wamp.2.cbor: binary messages are CBOR, not MessagePack
};

struct Code
{
    int code;
    const char *name;
    int requestAt; // where the request id is (for pairing), 0 for none
    PairRole role;
    int uriAt; // the topic, procedure or realm shown in the summary, 0 for none
    const char *uriName; // what that URI is: the decoded value's key for it
};

// wamp-proto.org, "Message Codes and Direction".
constexpr Code Codes[] = {
    {1, "HELLO", 0, PairRole::Request, 1, "realm"},
    {2, "WELCOME", 0, PairRole::Reply, 0, ""},
    {3, "ABORT", 0, PairRole::Reply, 2, "reason"},
    {4, "CHALLENGE", 0, PairRole::Update, 1, "authMethod"},
    {5, "AUTHENTICATE", 0, PairRole::None, 0, ""},
    {6, "GOODBYE", 0, PairRole::None, 2, "reason"},
    {8, "ERROR", 2, PairRole::Reply, 4, "error"},
    {16, "PUBLISH", 1, PairRole::Request, 3, "topic"},
    {17, "PUBLISHED", 1, PairRole::Reply, 0, ""},
    {32, "SUBSCRIBE", 1, PairRole::Request, 3, "topic"},
    {33, "SUBSCRIBED", 1, PairRole::Reply, 0, ""},
    {34, "UNSUBSCRIBE", 1, PairRole::Request, 0, ""},
    {35, "UNSUBSCRIBED", 1, PairRole::Reply, 0, ""},
    {36, "EVENT", 0, PairRole::None, 0, ""},
    {48, "CALL", 1, PairRole::Request, 3, "procedure"},
    {49, "CANCEL", 1, PairRole::Reply, 0, ""},
    {50, "RESULT", 1, PairRole::Reply, 0, ""},
    {64, "REGISTER", 1, PairRole::Request, 3, "procedure"},
    {65, "REGISTERED", 1, PairRole::Reply, 0, ""},
    {66, "UNREGISTER", 1, PairRole::Request, 0, ""},
    {67, "UNREGISTERED", 1, PairRole::Reply, 0, ""},
    {68, "INVOCATION", 1, PairRole::Request, 0, ""},
    {69, "INTERRUPT", 1, PairRole::Reply, 0, ""},
    {70, "YIELD", 1, PairRole::Reply, 0, ""},
};

} // namespace

std::unique_ptr<DecoderState> WampDecoder::newState(const SessionHints &hints) const
{
    auto state = std::make_unique<WampState>();
    state->cbor = hints.subprotocol.endsWith(".cbor");
    return state;
}

Decoded WampDecoder::decode(const Message &message, DecoderState *rawState) const
{
    const auto *state = static_cast<const WampState *>(rawState);
    Decoded d;
    std::optional<QJsonValue> value;
    if (!message.binary) {
        value = jsonMessage(message, d, name());
    } else if (state && state->cbor) {
        QCborParserError error;
        const QCborValue cbor = QCborValue::fromCbor(message.payload.toByteArray(), &error);
        if (error.error == QCborError::NoError)
            value = cbor.toJsonValue();
        else
            d.error = QStringLiteral("WAMP CBOR: %1").arg(error.errorString());
    } else {
        qsizetype at = 0;
        QString error;
        value = msgpack::read(message.payload, at, error);
        if (!value)
            d.error = QStringLiteral("WAMP ") + error;
    }
    if (!value)
        return d;
    const QJsonArray a = value->toArray();
    const int code = a.isEmpty() ? -1 : a.first().toInt(-1);
    const Code *known = nullptr;
    for (const Code &c : Codes)
        if (c.code == code)
            known = &c;
    if (!known) {
        d.error = QStringLiteral("WAMP: not [code, ...] with a known message code");
        return d;
    }
    d.format = name();
    QJsonObject o {{"type", QLatin1String(known->name)}, {"code", code}, {"fields", a}};
    d.summary = QLatin1String(known->name);
    if (known->uriAt > 0 && a.size() > known->uriAt) {
        d.summary += QLatin1Char(' ') + textOf(a.at(known->uriAt));
        o[QLatin1String(known->uriName)] = a.at(known->uriAt); // for filters: procedure:com.add
    }
    if (code == 8) // ERROR: of which request type
        d.summary += QStringLiteral(" (for %1)").arg(a.at(1).toInt());
    d.role = known->role;
    if (known->requestAt > 0 && a.size() > known->requestAt) {
        const QString request = textOf(a.at(known->requestAt));
        d.summary += QStringLiteral(" #") + request;
        d.pairKey = QStringLiteral("request:") + request;
    } else if (code <= 3) {
        d.pairKey = QStringLiteral("session");
    } else {
        d.role = PairRole::None;
    }
    // A progressive call result (RESULT with details.progress) answers without ending the call.
    if (code == 50 && a.at(2).toObject().value("progress").toBool())
        d.role = PairRole::Update;
    d.value = o;
    return d;
}

} // namespace socktap::decode
