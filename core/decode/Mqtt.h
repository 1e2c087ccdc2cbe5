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
    // PUBLISH only (§3.3), for rules that edit a field and for Compose: one whole packet from the decoded
    // value (topic, qos, retain, dup, packetId, payload in its payloadFormat; MQTT 5 when the value has
    // "properties", with the properties a PUBLISH may carry). A message holding several packets, or any
    // other packet type, is not re-encoded.
    std::optional<QByteArray> encode(const Message &original, const QJsonValue &value,
                                     QString *error) const override;
    // An edit of a packet that began in earlier messages (mqtt.js writes a packet's header, variable header
    // and payload as separate WebSocket messages): this message's share of the edited packet, when the
    // bytes that already went are unchanged (an edit that keeps the packet's length).
    std::optional<QByteArray> encodeEdit(const Message &original, const QJsonValue &before,
                                         const QJsonValue &after, QString *error) const override;
    // A new PUBLISH stands alone: the sample it was started from may hold several packets or part of one.
    std::optional<QByteArray> compose(const Message &, const QJsonValue &value, QString *error) const override
    {
        return encode({}, value, error);
    }
    bool binaryMessages() const override { return true; }

    // A packet larger than this is not decoded (its direction stops being decoded, and says so).
    static constexpr qsizetype MaxPacket = 16 << 20;
};

} // namespace socktap::decode
