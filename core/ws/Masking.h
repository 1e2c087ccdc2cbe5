// RFC 6455 5.3 payload masking: XOR with a 4-byte key, position-dependent. Eight bytes at a time.
#pragma once

#include <QtGlobal>

#include <array>

namespace socktap::ws {

// dst[i] = src[i] ^ key[(offset + i) % 4]; offset is the position of src[0] in the frame payload, so a
// payload can be unmasked chunk by chunk. dst may equal src.
void applyMask(char *dst, const char *src, qsizetype length, const std::array<quint8, 4> &key,
               quint64 offset);

} // namespace socktap::ws
