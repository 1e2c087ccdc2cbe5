// STOMP 1.0-1.2 (https://stomp.github.io/stomp-specification-1.2.html) over WebSocket, bare (subprotocols
// v10.stomp, v11.stomp, v12.stomp) or inside SockJS framing (https://github.com/sockjs/sockjs-protocol:
// "o" open, "h" heartbeat, "a[...]" messages, "c[code,reason]" close; the client sends ["..."]).
#pragma once

#include "Decoder.h"

namespace socktap::decode {

class StompDecoder final : public Decoder
{
public:
    explicit StompDecoder(bool sockJs)
        : m_sockJs(sockJs)
    { }
    QString name() const override { return m_sockJs ? QStringLiteral("sockjs") : QStringLiteral("stomp"); }
    QStringList formats() const override { return {name(), QStringLiteral("stomp")}; }
    Decoded decode(const Message &message, DecoderState *state) const override;
    bool recognises(const Message &message) const override;
    // One bare frame: command, headers (escaped as 1.2 asks, content-length kept true) and body.
    std::optional<QByteArray> encode(const Message &original, const QJsonValue &value,
                                     QString *error) const override;

private:
    bool m_sockJs;
};

} // namespace socktap::decode
