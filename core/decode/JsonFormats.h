// The formats whose every message is one JSON document, each in its own file:
//   JsonRpc.cpp      JSON-RPC 2.0 (https://www.jsonrpc.org/specification)
//   Graphql.cpp      graphql-transport-ws (graphql-ws's PROTOCOL.md) and the legacy graphql-ws
//                    (subscriptions-transport-ws's PROTOCOL.md)
//   Phoenix.cpp      Phoenix channels (V1 objects, V2 arrays)
//   ActionCable.cpp  Action Cable (actioncable-v1-json)
//   JsonDecoder.cpp  any other JSON: the fallback
#pragma once

#include "Decoder.h"

namespace socktap::decode {

// A value as compact JSON text (scalars too). Objects' keys come out sorted (QJsonObject keeps no order).
QByteArray compactJson(const QJsonValue &value);

class JsonRpcDecoder final : public Decoder
{
public:
    QString name() const override { return QStringLiteral("json-rpc"); }
    Decoded decode(const Message &message, DecoderState *state) const override;
    bool recognises(const Message &message) const override;
    std::optional<QByteArray> encode(const Message &, const QJsonValue &value, QString *) const override
    {
        return compactJson(value);
    }
};

class GraphqlDecoder final : public Decoder
{
public:
    enum class Protocol { TransportWs, LegacyWs };
    explicit GraphqlDecoder(Protocol protocol)
        : m_protocol(protocol)
    { }
    QString name() const override;
    Decoded decode(const Message &message, DecoderState *state) const override;
    std::unique_ptr<DecoderState> newState(const SessionHints &) const override;
    bool recognises(const Message &message) const override;
    std::optional<QByteArray> encode(const Message &, const QJsonValue &value, QString *) const override
    {
        return compactJson(value);
    }

private:
    Protocol m_protocol;
};

class PhoenixDecoder final : public Decoder
{
public:
    QString name() const override { return QStringLiteral("phoenix"); }
    Decoded decode(const Message &message, DecoderState *state) const override;
    bool recognises(const Message &message) const override;
    // V2's array when the original was one, else V1's object.
    std::optional<QByteArray> encode(const Message &original, const QJsonValue &value,
                                     QString *error) const override;
};

class ActionCableDecoder final : public Decoder
{
public:
    QString name() const override { return QStringLiteral("actioncable"); }
    Decoded decode(const Message &message, DecoderState *state) const override;
    bool recognises(const Message &message) const override;
};

class JsonDecoder final : public Decoder
{
public:
    QString name() const override { return QStringLiteral("json"); }
    Decoded decode(const Message &message, DecoderState *state) const override;
    std::optional<QByteArray> encode(const Message &, const QJsonValue &value, QString *) const override
    {
        return compactJson(value);
    }
};

// The JSON document of a text message, or nullopt with `d.error` set.
std::optional<QJsonValue> jsonMessage(const Message &message, Decoded &d, const QString &format);

} // namespace socktap::decode
