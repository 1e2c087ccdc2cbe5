// One session's conversation as plain text, for pasting into a ticket or a chat:
//
//   WebSocket wss://chat.example/socket (subprotocol chat.v2, permessage-deflate)
//   started 2026-05-01 12:00:00.000 UTC; times are UTC; > client to server, < server to client
//   12:00:00.120 > {"hello":1}
//   12:00:00.180 < first line
//                  second line
//   12:00:01.000 > [binary 3 bytes] 00 01 ff
//   12:00:02.000 > [close 1000 bye]
//
// Times are UTC so that two people reading the same paste see the same clock.
#pragma once

#include "CaptureStore.h"

#include <QIODevice>

namespace socktap::capture {

// Writes the conversation of a session (for plain HTTP its request and response lines, for a tunnel its
// byte counts). Returns false with *error set when the session is unknown or writing fails.
bool writeConversationText(const CaptureStore &store, SessionId session, QIODevice &out, QString *error);
// One message as its conversation line(s), without a trailing newline.
QString conversationLine(const MessageView &message);

} // namespace socktap::capture
