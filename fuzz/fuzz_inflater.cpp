// libFuzzer target: Inflater on arbitrary input stays within its output bound and agrees whole vs
// chunked; Deflater output always inflates back to its input.
#include "FuzzChunks.h"
#include "core/ws/Deflater.h"
#include "core/ws/Inflater.h"

#include <cstdlib>

using namespace socktap::ws;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const int bits = (data[0] & 0x10) ? 15 : 8 + (data[0] & 7);
    const QByteArrayView input(reinterpret_cast<const char *>(data + 1), qsizetype(size - 1));
    constexpr qsizetype Bound = 64 * 1024;

    Inflater whole(bits, true, Bound), chunked(bits, true, Bound);
    QByteArray a, b;
    const bool okA = whole.feed(input, a) && whole.finishMessage(a);
    bool okB = true;
    for (QByteArrayView piece : fuzzChunks(input, data[0]))
        okB = chunked.feed(piece, b) && okB;
    okB = chunked.finishMessage(b) && okB;
    if (a.size() > Bound || b.size() > Bound)
        abort();
    // Whole and chunked must agree at 15 bits. Below that, zlib lets one inflate() call reach back into
    // its own output further than the window, so a stream that breaks its negotiated window can decode
    // whole yet fail chunked: the peer's fault, not a decoding difference on valid input.
    if (bits == 15 && (okA != okB || a != b))
        abort();

    Deflater deflater(bits, data[0] & 8);
    Inflater inflater(bits, data[0] & 8, Bound);
    QByteArray back;
    const QByteArray compressed = deflater.compress(input);
    if (!inflater.feed(compressed, back) || !inflater.finishMessage(back)
        || back != input.first(std::min(input.size(), Bound)))
        abort();
    return 0;
}
