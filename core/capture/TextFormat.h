// One readable line per session event or message, for terminals (socktap --headless) and logs.
#pragma once

#include "CaptureTypes.h"

namespace socktap::capture {

// "#3 → text 5 B "Hello""; preview is the first bytes of a text payload.
QString messageLine(SessionId session, const MessageRecord &record, QByteArrayView payload, bool payloadEvicted);
// "#3 ws open ws://127.0.0.1:9000/chat 101 Switching Protocols [permessage-deflate]"; empty when the
// change from `previous` is not worth a line.
QString sessionLine(const SessionInfo &info, std::optional<SessionState> previous);
QString byteSize(quint64 bytes); // "512 B", "1.5 KiB", "3.0 MiB"
QString duration(qint64 micros); // "850 µs", "12 ms", "2.31 s"

} // namespace socktap::capture
