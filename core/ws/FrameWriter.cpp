#include "FrameWriter.h"

#include "Masking.h"

#include <QRandomGenerator>

#include <cstring>

namespace socktap::ws {

std::array<quint8, 4> FrameWriter::randomMaskKey()
{
    const quint32 r = QRandomGenerator::system()->generate();
    std::array<quint8, 4> key;
    std::memcpy(key.data(), &r, 4);
    return key;
}

QByteArray FrameWriter::header(const FrameHeader &h, LengthEncoding encoding)
{
    QByteArray out;
    out.reserve(MaxHeaderSize);
    out += char((h.fin ? 0x80 : 0) | (h.rsv1 ? 0x40 : 0) | (h.rsv2 ? 0x20 : 0) | (h.rsv3 ? 0x10 : 0)
                | (h.opcode & 0x0f));
    const char maskBit = h.masked ? char(0x80) : 0;
    // RFC 6455 5.2: 0-125 in 7 bits, up to 65535 in 16 bits after 126, beyond in 64 bits after 127.
    if (encoding == LengthEncoding::Force64 || (encoding == LengthEncoding::Minimal && h.length > 0xffff)) {
        out += char(maskBit | 127);
        for (int shift = 56; shift >= 0; shift -= 8)
            out += char(h.length >> shift);
    } else if (encoding == LengthEncoding::Force16 || h.length > 125) {
        out += char(maskBit | 126);
        out += char(h.length >> 8);
        out += char(h.length);
    } else {
        out += char(maskBit | char(h.length));
    }
    if (h.masked)
        out.append(reinterpret_cast<const char *>(h.maskKey.data()), 4);
    return out;
}

QByteArray FrameWriter::frame(FrameHeader h, QByteArrayView payload, LengthEncoding encoding)
{
    h.length = quint64(payload.size());
    QByteArray out = header(h, encoding);
    const qsizetype start = out.size();
    out.resize(start + payload.size());
    if (h.masked)
        applyMask(out.data() + start, payload.data(), payload.size(), h.maskKey, 0);
    else if (!payload.isEmpty())
        std::memcpy(out.data() + start, payload.data(), size_t(payload.size()));
    return out;
}

QByteArray FrameWriter::frame(Opcode opcode, QByteArrayView payload, bool masked, bool fin, bool rsv1)
{
    FrameHeader h;
    h.opcode = quint8(opcode);
    h.fin = fin;
    h.rsv1 = rsv1;
    h.masked = masked;
    if (masked)
        h.maskKey = randomMaskKey();
    return frame(h, payload);
}

QByteArray FrameWriter::message(Opcode opcode, QByteArrayView payload, bool masked, qsizetype fragmentSize,
                                bool rsv1)
{
    if (fragmentSize <= 0 || payload.size() <= fragmentSize)
        return frame(opcode, payload, masked, true, rsv1);
    QByteArray out;
    out.reserve(payload.size() + (payload.size() / fragmentSize + 1) * MaxHeaderSize);
    for (qsizetype pos = 0; pos < payload.size(); pos += fragmentSize) {
        const bool first = pos == 0;
        const bool last = pos + fragmentSize >= payload.size();
        out += frame(first ? opcode : Opcode::Continuation,
                     payload.sliced(pos, std::min(fragmentSize, payload.size() - pos)), masked, last,
                     first && rsv1);
    }
    return out;
}

} // namespace socktap::ws
