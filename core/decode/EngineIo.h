// Engine.IO packets over WebSocket (https://github.com/socketio/engine.io-protocol, v3 and v4): a text
// message is one packet, its first character the type; a binary message is a message packet (v4) or a
// type byte and data (v3).
#pragma once

#include <QByteArrayView>
#include <optional>

namespace socktap::decode::engineio {

enum class Type : char {
    Open = '0',
    Close = '1',
    Ping = '2',
    Pong = '3',
    Message = '4',
    Upgrade = '5',
    Noop = '6'
};

struct Packet
{
    Type type = Type::Message;
    QByteArrayView data; // after the type
    bool binary = false;
};

const char *typeName(Type type);
// nullopt when the message is not an Engine.IO packet (empty, or an unknown type).
std::optional<Packet> parse(QByteArrayView payload, bool binary);

} // namespace socktap::decode::engineio
