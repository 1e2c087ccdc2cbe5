// Test helper: writes wire bytes from one peer into a CaptureWriter as the messages they decode to, the
// way the relay records them.
#pragma once

#include "core/capture/CaptureWriter.h"
#include "core/ws/MessageAssembler.h"

namespace socktap::test {

inline void writeWire(capture::CaptureWriter &writer, capture::SessionId id, capture::Direction dir,
                      const QByteArray &wire, qint64 now = 1'000'000)
{
    const auto sender = dir == capture::Direction::ClientToServer ? ws::FrameParser::Sender::Client
                                                                  : ws::FrameParser::Sender::Server;
    ws::decodeMessages(wire, sender, now,
                       [&](const ws::MessageAssembler::Message &m) { writer.message(id, dir, m); });
}

} // namespace socktap::test
