#include "EngineIo.h"

namespace socktap::decode::engineio {

const char *typeName(Type type)
{
    switch (type) {
    case Type::Open:
        return "open";
    case Type::Close:
        return "close";
    case Type::Ping:
        return "ping";
    case Type::Pong:
        return "pong";
    case Type::Message:
        return "message";
    case Type::Upgrade:
        return "upgrade";
    case Type::Noop:
        return "noop";
    }
    return "?";
}

std::optional<Packet> parse(QByteArrayView payload, bool binary)
{
    if (binary) {
        // v4 sends binary data as it is; v3 prefixes the type as a byte (4, message). A v4 attachment
        // that happens to begin with 0x04 is told apart by the session (SocketIo keeps the version).
        return Packet {Type::Message, payload, true};
    }
    if (payload.isEmpty() || payload.front() < '0' || payload.front() > '6')
        return std::nullopt;
    return Packet {Type(payload.front()), payload.sliced(1), false};
}

} // namespace socktap::decode::engineio
