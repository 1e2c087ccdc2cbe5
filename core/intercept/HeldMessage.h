// A message waiting for the user at a breakpoint, as the window lists it. Plain data, copied out of the
// engine's worker threads.
#pragma once

#include "core/capture/CaptureTypes.h"

namespace socktap::intercept {

struct HeldMessage
{
    capture::SessionId session = 0;
    capture::Direction from = capture::Direction::ClientToServer; // who sent it
    quint64 id = 0; // per session and direction
    quint8 opcode = 0;
    QByteArray payload; // decoded, as rules left it (at most the capture cap)
    bool truncated = false; // larger than the capture cap: can be forwarded or dropped, not edited
    bool compressed = false;
    quint64 wireSize = 0;
    quint64 frameCount = 0;
    qint64 heldSince = 0; // µs since epoch
    QString note; // why it is held ("paused", "rule 2 'tokens': hold")
    QByteArray url; // of its session, for display
};

} // namespace socktap::intercept
