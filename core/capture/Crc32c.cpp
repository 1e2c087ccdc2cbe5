#include "Crc32c.h"

#include <array>
#include <cstring>

namespace socktap::capture {

namespace {

constexpr quint32 Polynomial = 0x82f63b78; // reflected 0x1edc6f41

constexpr std::array<quint32, 256> makeTable()
{
    std::array<quint32, 256> table {};
    for (quint32 i = 0; i < 256; ++i) {
        quint32 c = i;
        for (int k = 0; k < 8; ++k)
            c = (c & 1) ? (c >> 1) ^ Polynomial : c >> 1;
        table[i] = c;
    }
    return table;
}

constexpr std::array<quint32, 256> Table = makeTable();

quint32 bytewise(quint32 c, const unsigned char *p, size_t n)
{
    while (n--)
        c = Table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("sse4.2"))) quint32 hardware(quint32 c, const unsigned char *p, size_t n)
{
    quint64 c64 = c;
    while (n >= 8) {
        quint64 word;
        std::memcpy(&word, p, 8);
        c64 = __builtin_ia32_crc32di(c64, word);
        p += 8;
        n -= 8;
    }
    c = quint32(c64);
    while (n--)
        c = __builtin_ia32_crc32qi(c, *p++);
    return c;
}

bool haveHardware()
{
    static const bool have = __builtin_cpu_supports("sse4.2");
    return have;
}
#endif

} // namespace

quint32 crc32c(quint32 crc, QByteArrayView bytes)
{
    const auto *p = reinterpret_cast<const unsigned char *>(bytes.data());
    const size_t n = size_t(bytes.size());
    quint32 c = ~crc;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (haveHardware())
        return ~hardware(c, p, n);
#endif
    return ~bytewise(c, p, n);
}

} // namespace socktap::capture
