// One readable line per session event or message, for terminals (socktap --headless) and logs.
#pragma once

#include "CaptureTypes.h"

namespace socktap::capture {

// "#3 → text 5 B "Hello""; preview is the first bytes of a text payload.
// `note` says what Socktap did to it (a rule's label, "held 2.1 s"), shown after the flags. `meaning`
// (a decoder's "socket.io: emit \"chat\" [2 args]") replaces the payload's preview when given.
QString messageLine(SessionId session, const MessageRecord &record, QByteArrayView payload,
                    bool payloadEvicted, const QString &note = {}, const QString &meaning = {});
// "edited, held": what Socktap did to a message, from its flags (empty when nothing).
QStringList changeNames(const MessageRecord &record);
// "#3 ws open ws://127.0.0.1:9000/chat 101 Switching Protocols [permessage-deflate]"; empty when the
// change from `previous` is not worth a line.
QString sessionLine(const SessionInfo &info, std::optional<SessionState> previous);
QString byteSize(quint64 bytes); // "512 B", "1.5 KiB", "3.0 MiB"
// "1 session", "2 sessions": a count with its noun (English plural in -s).
QString counted(quint64 n, const char *noun);
// Local wall-clock time of a capture time (µs since the epoch): "14:03:07.512".
QString clockTime(qint64 micros);
// The time a line that starts with clockTime() gives ("12:00:01.234 stalled ..."), on the day of `near`
// (a session's start; the day after when the clock went past midnight): µs since the epoch, or nullopt.
std::optional<qint64> clockTimeOf(const QString &line, qint64 near);
// The session as it was when it opened (its upgrade): state Open, no close, no end. What a console
// prints first for a session first seen later (it opened and began closing within one batch, or it is
// read from a file), so that every session's open event comes first, with the upgrade's time.
SessionInfo openedSnapshot(const SessionInfo &info);
// When the session's latest state began: closed, upgraded, its request, or accepted.
qint64 eventTime(const SessionInfo &info);
QString duration(qint64 micros); // "850 µs", "12 ms", "2.31 s"
// Offset, 16 bytes in hex, the same as ASCII: "00000000  48 65 6c 6c 6f ...  |Hello...|". At most
// maxBytes are shown; a last line says how many were left out.
QString hexDump(QByteArrayView bytes, qsizetype maxBytes = 1 << 20);

} // namespace socktap::capture
