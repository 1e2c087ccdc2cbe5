// ASP.NET Core SignalR hub protocol (dotnet/aspnetcore src/SignalR/docs/specs/HubProtocol.md): a JSON
// handshake, then JSON records ended by 0x1E, or (protocol "messagepack") binary records each prefixed by
// a VarInt length. Types 1-9: invocation, stream item, completion, stream invocation, cancel invocation,
// ping, close, ack, sequence.
#pragma once

#include "Decoder.h"

namespace socktap::decode {

class SignalRDecoder final : public Decoder
{
public:
    QString name() const override { return QStringLiteral("signalr"); }
    Decoded decode(const Message &message, DecoderState *state) const override;
    std::unique_ptr<DecoderState> newState(const SessionHints &) const override;
    bool recognises(const Message &message) const override;
    // The JSON protocol: each record with its 0x1E; the MessagePack protocol: each record as its array
    // behind a VarInt length.
    std::optional<QByteArray> encode(const Message &original, const QJsonValue &value,
                                     QString *error) const override;
    std::optional<QByteArray> encodeEdit(const Message &original, const QJsonValue &before,
                                         const QJsonValue &after, QString *error) const override;
};

} // namespace socktap::decode
