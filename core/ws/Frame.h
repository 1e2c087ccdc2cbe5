// RFC 6455 frame vocabulary: opcodes, the frame header as a small plain struct, and the compact per-frame
// facts the capture keeps. No parsing here (FrameParser) and no encoding (FrameWriter).
#pragma once

#include <QtGlobal>

#include <array>
#include <cstdint>

namespace socktap::ws {

// RFC 6455 5.2 and 11.8.
enum class Opcode : quint8 {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
};

// RFC 6455 5.5: control frames have the high bit of the opcode set.
constexpr bool isControl(quint8 opcode)
{
    return (opcode & 0x8) != 0;
}
constexpr bool isControl(Opcode opcode)
{
    return isControl(quint8(opcode));
}
// RFC 6455 5.2: %x3-7 and %xB-F are reserved.
constexpr bool isReservedOpcode(quint8 opcode)
{
    return (opcode >= 0x3 && opcode <= 0x7) || opcode >= 0xB;
}
const char *opcodeName(quint8 opcode);

// RFC 6455 5.5: control frame payloads are at most 125 bytes.
inline constexpr quint64 MaxControlPayload = 125;
// RFC 6455 5.2: the largest header is 2 + 8 (64-bit length) + 4 (mask) bytes.
inline constexpr int MaxHeaderSize = 14;

struct FrameHeader
{
    quint64 length = 0; // payload length
    std::array<quint8, 4> maskKey {};
    quint8 opcode = 0; // raw value, may be reserved
    bool fin = true;
    bool rsv1 = false;
    bool rsv2 = false;
    bool rsv3 = false;
    bool masked = false;
    quint8 headerSize = 2; // bytes the header took on the wire (2..14)

    quint8 rsvBits() const { return quint8((rsv1 ? 4 : 0) | (rsv2 ? 2 : 0) | (rsv3 ? 1 : 0)); }
    quint64 wireSize() const { return headerSize + length; }
};

// What the capture keeps of one frame: 16 bytes instead of the header's 24.
struct FrameInfo
{
    quint64 length = 0;
    quint32 maskKey = 0; // big-endian packing of the 4 key bytes
    quint8 opcode = 0;
    quint8 bits = 0; // FIN 0x80, RSV1 0x40, RSV2 0x20, RSV3 0x10, MASK 0x08
    quint8 headerSize = 0;

    static FrameInfo from(const FrameHeader &h);
    FrameHeader header() const;
    bool fin() const { return bits & 0x80; }
    bool rsv1() const { return bits & 0x40; }
    bool masked() const { return bits & 0x08; }
};
static_assert(sizeof(FrameInfo) == 16);

} // namespace socktap::ws
