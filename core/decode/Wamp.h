// WAMP v2 (The Web Application Messaging Protocol, RFC draft-oberstet-hybi-tavendo-wamp and wamp-proto.org
// §"Messages"): every message is an array whose first element is its code (HELLO 1 ... YIELD 70), in the
// JSON, MessagePack or CBOR serialization the subprotocol names (wamp.2.json, wamp.2.msgpack, wamp.2.cbor).
#pragma once

#include "Decoder.h"

namespace socktap::decode {

class WampDecoder final : public Decoder
{
public:
    QString name() const override { return QStringLiteral("wamp"); }
    Decoded decode(const Message &message, DecoderState *state) const override;
    std::unique_ptr<DecoderState> newState(const SessionHints &hints) const override;
};

} // namespace socktap::decode
