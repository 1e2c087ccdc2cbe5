#include "Masking.h"

#include <cstring>

namespace socktap::ws {

void applyMask(char *dst, const char *src, qsizetype length, const std::array<quint8, 4> &key, quint64 offset)
{
    // RFC 6455 5.3: octet i of the transformed data is octet i of the original XOR octet (i MOD 4) of the
    // key.
    quint8 rotated[8];
    for (int i = 0; i < 8; ++i)
        rotated[i] = key[(offset + i) & 3];
    quint64 wide;
    std::memcpy(&wide, rotated, 8);
    qsizetype i = 0;
    for (; i + 32 <= length; i += 32) {
        quint64 w[4];
        std::memcpy(w, src + i, 32);
        w[0] ^= wide;
        w[1] ^= wide;
        w[2] ^= wide;
        w[3] ^= wide;
        std::memcpy(dst + i, w, 32);
    }
    for (; i + 8 <= length; i += 8) {
        quint64 w;
        std::memcpy(&w, src + i, 8);
        w ^= wide;
        std::memcpy(dst + i, &w, 8);
    }
    for (; i < length; ++i)
        dst[i] = char(src[i] ^ rotated[i & 7]);
}

} // namespace socktap::ws
