// CRC-32C (Castagnoli, RFC 3720 B.4), the crash journal's checksum: the SSE 4.2 instruction where the CPU
// has it (8 bytes per instruction, a few GB/s on one dependent chain), a table otherwise; the same result
// either way. A journal chunk's head is 112 bytes per message; this sums it at about the speed of zlib's
// CRC-32 here (both about 2-3% of the relay's CPU at 64-byte messages), without a zlib call per part.
#pragma once

#include <QByteArrayView>

namespace socktap::capture {

// crc continues an earlier sum (0 to start); crc32c(crc32c(0, a), b) == crc32c(0, a + b).
quint32 crc32c(quint32 crc, QByteArrayView bytes);

} // namespace socktap::capture
