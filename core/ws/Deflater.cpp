#include "Deflater.h"

#include <zlib.h>

#include <algorithm>

namespace socktap::ws {

struct Deflater::Stream
{
    z_stream z {};
};

Deflater::Deflater(int windowBits, bool noContextTakeover, int level)
    : m_stream(std::make_unique<Stream>())
    , m_noContextTakeover(noContextTakeover)
{
    // zlib cannot deflate with a 256-byte window (it silently uses 512), which a peer that negotiated 8
    // bits would reject. Huffman-only output has no back references, so it suits any window.
    const int bits = std::clamp(windowBits, 9, 15);
    const int strategy = windowBits <= 8 ? Z_HUFFMAN_ONLY : Z_DEFAULT_STRATEGY;
    deflateInit2(&m_stream->z, level, Z_DEFLATED, -bits, 8, strategy);
}

Deflater::~Deflater()
{
    deflateEnd(&m_stream->z);
}

QByteArray Deflater::compress(QByteArrayView message)
{
    z_stream &z = m_stream->z;
    QByteArray out;
    out.resize(qsizetype(deflateBound(&z, uLong(message.size()))) + 16);
    z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(message.data()));
    z.avail_in = uInt(message.size());
    qsizetype produced = 0;
    for (;;) {
        z.next_out = reinterpret_cast<Bytef *>(out.data() + produced);
        z.avail_out = uInt(out.size() - produced);
        // RFC 7692 7.2.1: compress, then flush with an empty stored block (Z_SYNC_FLUSH).
        deflate(&z, Z_SYNC_FLUSH);
        produced = out.size() - qsizetype(z.avail_out);
        if (z.avail_out > 0)
            break;
        out.resize(out.size() * 2);
    }
    out.resize(produced);
    // 7.2.1: remove the 4 octets 0x00 0x00 0xff 0xff at the tail end.
    if (out.endsWith(QByteArrayView("\x00\x00\xff\xff", 4)))
        out.chop(4);
    if (m_noContextTakeover)
        deflateReset(&z); // 7.1.1: each message with an empty window
    return out;
}

} // namespace socktap::ws
