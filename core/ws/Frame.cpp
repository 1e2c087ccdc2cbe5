#include "Frame.h"

namespace socktap::ws {

const char *opcodeName(quint8 opcode)
{
    switch (opcode) {
    case 0x0:
        return "continuation";
    case 0x1:
        return "text";
    case 0x2:
        return "binary";
    case 0x8:
        return "close";
    case 0x9:
        return "ping";
    case 0xA:
        return "pong";
    default:
        return "reserved";
    }
}

FrameInfo FrameInfo::from(const FrameHeader &h)
{
    FrameInfo f;
    f.length = h.length;
    f.maskKey =
        quint32(h.maskKey[0]) << 24 | quint32(h.maskKey[1]) << 16 | quint32(h.maskKey[2]) << 8 | h.maskKey[3];
    f.opcode = h.opcode;
    f.bits = quint8((h.fin ? 0x80 : 0) | (h.rsv1 ? 0x40 : 0) | (h.rsv2 ? 0x20 : 0) | (h.rsv3 ? 0x10 : 0)
                    | (h.masked ? 0x08 : 0));
    f.headerSize = h.headerSize;
    return f;
}

FrameHeader FrameInfo::header() const
{
    FrameHeader h;
    h.length = length;
    h.maskKey = {quint8(maskKey >> 24), quint8(maskKey >> 16), quint8(maskKey >> 8), quint8(maskKey)};
    h.opcode = opcode;
    h.fin = bits & 0x80;
    h.rsv1 = bits & 0x40;
    h.rsv2 = bits & 0x20;
    h.rsv3 = bits & 0x10;
    h.masked = bits & 0x08;
    h.headerSize = headerSize;
    return h;
}

} // namespace socktap::ws
