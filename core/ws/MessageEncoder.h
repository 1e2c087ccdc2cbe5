// Encodes whole messages for what Socktap itself sends (edited, injected, resent and re-compressed
// messages, its own Close frames) and describes the frames it wrote, so the capture records them as
// written instead of parsing them back. Relayed frames are never re-encoded. Bytes only.
#pragma once

#include "Deflater.h"
#include "Frame.h"

#include <QByteArray>

#include <vector>

namespace socktap::ws {

struct EncodedMessage
{
    QByteArray wire; // every frame, headers included
    std::vector<FrameInfo> frames;
    QByteArray wirePayload; // compressed: the payload as sent (unmasked); empty when not compressed
    bool compressed = false;
};

namespace MessageEncoder {

// One message as `fragments` frames (at least one; a payload shorter than that gets one byte per frame and
// no empty frames beyond the first). Masked with a fresh key per frame when `masked` (RFC 6455 5.3: a
// client's frames). With a deflater the payload is compressed first and RSV1 goes on the first frame
// only (RFC 7692 6.1). Control opcodes are fragmented only when asked to: that breaks RFC 6455 5.5, which
// a testing tool may want.
EncodedMessage encode(quint8 opcode, QByteArrayView payload, bool masked, int fragments = 1,
                      Deflater *deflater = nullptr);

} // namespace MessageEncoder

} // namespace socktap::ws
