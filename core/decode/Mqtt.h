// MQTT 3.1, 3.1.1 and 5.0 over WebSocket (subprotocols mqtt, mqttv3.1): OASIS MQTT Version 3.1.1 and
// Version 5.0. A WebSocket carries MQTT as a byte stream (§6 of both): a message may hold several control
// packets or part of one, so each direction keeps its unfinished bytes, and the client's CONNECT tells the
// protocol level (5.0 adds properties) for both.
#pragma once

#include "Decoder.h"

namespace socktap::decode {

class MqttDecoder final : public Decoder
{
public:
    QString name() const override { return QStringLiteral("mqtt"); }
    Decoded decode(const Message &message, DecoderState *state) const override;
    std::unique_ptr<DecoderState> newState(const SessionHints &) const override;
    bool recognises(const Message &message) const override;

    // A packet larger than this is not decoded (its direction stops being decoded, and says so).
    static constexpr qsizetype MaxPacket = 16 << 20;
};

} // namespace socktap::decode
