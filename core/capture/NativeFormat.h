// The native capture format (docs/capture-format.md): JSON Lines, a header line, then session and message
// records in the order they happened. Encoding and decoding of single lines only; files are CaptureFile's.
// Lossless by construction: decoding a line and encoding the result gives the same bytes, which is what
// makes "open, then save" byte-identical.
#pragma once

#include "CaptureTypes.h"

#include <QByteArray>
#include <QString>

#include <variant>

namespace socktap::capture::native {

inline constexpr int FormatVersion = 1;
inline constexpr const char FormatName[] = "socktap-capture";
// The longest line a reader accepts: a 64 MiB message (the largest --max-message-capture default) as
// base64, its wire payload and its original, with room to spare. Longer lines are refused, not read.
inline constexpr qsizetype MaxLineBytes = 400 << 20;

// The first line of every file, with its newline.
QByteArray headerLine();

// A session record: the whole SessionInfo (a later record for the same id replaces an earlier one).
void appendSession(QByteArray &out, const SessionInfo &info);

// A message record. payload is what was kept (record.capturedSize bytes); frames are every frame kept
// (empty: derived from the record for a single-frame message, or unknown for an imported one).
struct MessageParts
{
    SessionId session = 0;
    MessageRecord record;
    QByteArrayView payload;
    QByteArrayView wirePayload;
    QByteArrayView original;
    QString note;
    std::span<const ws::FrameInfo> frames;
};
void appendMessage(QByteArray &out, const MessageParts &m);

// A decoded message record: owns its bytes.
struct DecodedMessage
{
    SessionId session = 0;
    MessageRecord record; // payloadRef, detail unset
    QByteArray payload;
    QByteArray wirePayload;
    QByteArray original;
    QString note;
    std::vector<ws::FrameInfo> frames;

    MessageParts parts() const;
};

struct Header
{
    int version = 0;
};

using Record = std::variant<Header, SessionInfo, DecodedMessage>;

// Decodes one line (without its newline). On failure returns nothing and sets error to what is wrong,
// naming the field ("field 'opcode': expected a number 0-15").
std::optional<Record> decodeLine(QByteArrayView line, QString *error);

// Replaces the session id in an encoded record (session or message line), for a capture whose sessions
// were renumbered when opened next to others.
QByteArray withSessionId(QByteArrayView line, SessionId id);

} // namespace socktap::capture::native
