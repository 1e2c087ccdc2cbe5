// A message format: one decoder per file, each citing its specification. Sans-I/O: bytes in, meaning out.
#pragma once

#include "Decoded.h"

#include <QByteArray>
#include <QStringList>

#include <memory>
#include <optional>

namespace socktap::decode {

// What a format remembers between messages of one session (MQTT's byte stream, Socket.IO's binary
// attachments, GraphQL's operation names by id). Both directions share it; decoders tell them apart.
class DecoderState
{
public:
    virtual ~DecoderState() = default;
};

// What the handshake says about a session: its negotiated subprotocol and its request path and query.
struct SessionHints
{
    QByteArray subprotocol;
    QByteArray path;
};

class Decoder
{
public:
    virtual ~Decoder() = default;
    // The format's name as exports write it: "socket.io", "graphql-transport-ws", ...
    virtual QString name() const = 0;
    // The format names its results carry (Socket.IO's decoder also gives "engine.io" for heartbeats).
    virtual QStringList formats() const { return {name()}; }
    // Messages of one session come in capture order; `state` is what newState() made for that session
    // (null when the format keeps none). A message that is not in this format gets `error` set and no
    // format: the caller falls back (JSON, text, hex) and shows why.
    virtual Decoded decode(const Message &message, DecoderState *state) const = 0;
    virtual std::unique_ptr<DecoderState> newState(const SessionHints &) const { return nullptr; }
    // Content detection on a session's first messages: true when this message is unmistakably this
    // format (a Socket.IO open packet, a SockJS "o"). Never true for what a plainer format also explains.
    virtual bool recognises(const Message &) const { return false; }
    // The reverse, for rules that edit a decoded field and for compose: `value` (what decode() gave for
    // `original`, changed) as a payload in this format, framed as `original` was (its namespace and ack id,
    // its record separator). nullopt with `error` when the format or that message cannot be re-encoded.
    virtual std::optional<QByteArray> encode(const Message &original, const QJsonValue &value,
                                             QString *error) const
    {
        Q_UNUSED(original);
        Q_UNUSED(value);
        if (error)
            *error = QStringLiteral("%1 messages cannot be re-encoded yet").arg(name());
        return std::nullopt;
    }
    // What a set-field rule does: `before` is what decode() gave for `original`, `after` the edited value.
    // By default encode(original, after); a stream format (MQTT) uses `before` to tell which of the
    // packet's bytes went in earlier messages and must stay as they were.
    virtual std::optional<QByteArray> encodeEdit(const Message &original, const QJsonValue &before,
                                                 const QJsonValue &after, QString *error) const
    {
        Q_UNUSED(before);
        return encode(original, after, error);
    }
    // A new message in this format (Compose): `value` in the shape decode() gives, framed like `like` (a
    // message of the session going the same way: its record separator, its SockJS wrapping), or as the
    // format's own default when `like` is empty. By default the re-encoding above, which for most formats
    // takes nothing but the framing from the original.
    virtual std::optional<QByteArray> compose(const Message &like, const QJsonValue &value,
                                              QString *error) const
    {
        return encode(like, value, error);
    }
    // Whether the format's messages are binary WebSocket messages (MQTT, MessagePack, CBOR, protobuf).
    virtual bool binaryMessages() const { return false; }
};

} // namespace socktap::decode
