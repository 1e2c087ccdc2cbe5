// Encodes frames (RFC 6455 5.2) for what Socktap itself sends: edited, injected and replayed messages,
// and the close frames of strict mode. Relayed frames are never re-encoded. Bytes only.
#pragma once

#include "Frame.h"

#include <QByteArray>
#include <QByteArrayView>

namespace socktap::ws {

class FrameWriter
{
public:
    // Minimal is what RFC 6455 5.2 requires; the others exist to produce rule-breaking test input.
    enum class LengthEncoding { Minimal, Force16, Force64 };

    // A fresh masking key from the system CSPRNG (RFC 6455 5.3: unpredictable, per frame).
    static std::array<quint8, 4> randomMaskKey();

    // The header for h (h.length, h.masked and h.maskKey used as given; headerSize ignored).
    static QByteArray header(const FrameHeader &h, LengthEncoding encoding = LengthEncoding::Minimal);
    // header(h) followed by payload, masked with h.maskKey when h.masked. h.length is set from payload.
    static QByteArray frame(FrameHeader h, QByteArrayView payload,
                            LengthEncoding encoding = LengthEncoding::Minimal);

    // One complete frame; masked with a fresh random key when masked is true (a client's frame).
    static QByteArray frame(Opcode opcode, QByteArrayView payload, bool masked, bool fin = true,
                            bool rsv1 = false);

    // A whole message split into frames of at most fragmentSize payload bytes (0: one frame). RSV1 goes on
    // the first frame only (RFC 7692 6.1).
    static QByteArray message(Opcode opcode, QByteArrayView payload, bool masked, qsizetype fragmentSize = 0,
                              bool rsv1 = false);
};

} // namespace socktap::ws
