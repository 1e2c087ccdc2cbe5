#include "MessageEncoder.h"

#include "FrameWriter.h"

namespace socktap::ws {

EncodedMessage MessageEncoder::encode(quint8 opcode, QByteArrayView payload, bool masked, int fragments,
                                      Deflater *deflater)
{
    EncodedMessage out;
    QByteArray compressed;
    QByteArrayView body = payload;
    if (deflater) {
        compressed = deflater->compress(payload);
        body = compressed;
        out.compressed = true;
    }
    const qsizetype count = std::clamp<qsizetype>(fragments, 1, std::max<qsizetype>(1, body.size()));
    const qsizetype step = body.size() / count;
    out.wire.reserve(body.size() + count * MaxHeaderSize);
    qsizetype pos = 0;
    for (qsizetype i = 0; i < count; ++i) {
        const qsizetype size = i + 1 == count ? body.size() - pos : step;
        FrameHeader h;
        h.opcode = i == 0 ? opcode : quint8(Opcode::Continuation);
        h.fin = i + 1 == count;
        h.rsv1 = i == 0 && out.compressed; // RFC 7692 6.1
        h.masked = masked;
        if (masked)
            h.maskKey = FrameWriter::randomMaskKey(); // RFC 6455 5.3: a fresh key per frame
        const QByteArray frame = FrameWriter::frame(h, body.sliced(pos, size));
        h.length = quint64(size);
        h.headerSize = quint8(frame.size() - size);
        out.frames.push_back(FrameInfo::from(h));
        out.wire += frame;
        pos += size;
    }
    if (out.compressed)
        out.wirePayload = compressed;
    return out;
}

} // namespace socktap::ws
