// A message format: one decoder per file, each citing its specification. Sans-I/O: bytes in, meaning out.
#pragma once

#include "Decoded.h"

#include <QByteArray>
#include <QStringList>

#include <memory>

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
    // Messages of one session come in capture order; `state` is what newState() made for that session
    // (null when the format keeps none). A message that is not in this format gets `error` set and no
    // format: the caller falls back (JSON, text, hex) and shows why.
    virtual Decoded decode(const Message &message, DecoderState *state) const = 0;
    virtual std::unique_ptr<DecoderState> newState(const SessionHints &) const { return nullptr; }
    // Content detection on a session's first messages: true when this message is unmistakably this
    // format (a Socket.IO open packet, a SockJS "o"). Never true for what a plainer format also explains.
    virtual bool recognises(const Message &) const { return false; }
};

} // namespace socktap::decode
