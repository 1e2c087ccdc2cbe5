// Socket.IO over Engine.IO (https://github.com/socketio/socket.io-protocol v4 and v5): an Engine.IO
// message packet carries a Socket.IO packet "<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]".
#pragma once

#include "Decoder.h"

namespace socktap::decode {

class SocketIoDecoder final : public Decoder
{
public:
    QString name() const override { return QStringLiteral("socket.io"); }
    QStringList formats() const override { return {name(), QStringLiteral("engine.io")}; }
    Decoded decode(const Message &message, DecoderState *state) const override;
    std::unique_ptr<DecoderState> newState(const SessionHints &hints) const override;
    bool recognises(const Message &message) const override;
    // Events and acks: the original's header (Engine.IO and Socket.IO types, namespace, ack id) and the new
    // arguments. Binary packets (their attachments follow) are not re-encoded.
    std::optional<QByteArray> encode(const Message &original, const QJsonValue &value,
                                     QString *error) const override;
    // An event or ack built from the value alone: its namespace ("nsp") and ack id ("id") make the header.
    std::optional<QByteArray> compose(const Message &like, const QJsonValue &value,
                                      QString *error) const override;
};

} // namespace socktap::decode
