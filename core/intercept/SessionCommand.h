// What the window or the headless front end asks of a live WebSocket session: release, edit or drop a held
// message, pause a direction, send a message of one's own (inject or resend), close. Plain data carried to
// the worker thread that owns the session; the answer comes back as a CommandResult.
#pragma once

#include "core/capture/CaptureTypes.h"

namespace socktap::intercept {

// A message Socktap writes itself.
struct OutgoingMessage
{
    quint8 opcode = 1; // any value, reserved ones too (a testing tool)
    QByteArray payload; // for Close: the 2-byte code and reason (ws::ClosePayload::build, or anything)
    int fragments = 1; // split into this many frames
};

struct SessionCommand
{
    enum class Kind : quint8 {
        Release, // forward the held message `id` (with `message` when edited)
        Drop, // drop the held message `id`
        ReleaseAll, // forward everything held from `from` and stop pausing it
        SetPause, // pause (`on`) or resume messages sent by `from`
        Send, // send `message` as if `from` had sent it (inject; `flag` says Injected or Resent)
        Close, // send Close `closeCode`/`closeReason` towards the client, the server, or both
        Reset, // end the TCP connections with a reset: both, or one (`toClient`/`toServer`; the other gets a
               // FIN without a Close)
        Stall, // stop (`on`) or resume reading what `from` sends: TCP stays up, nothing crosses (a fault)
    };
    Kind kind = Kind::Release;
    capture::Direction from = capture::Direction::ClientToServer;
    quint64 id = 0;
    std::optional<OutgoingMessage> message; // Release (edited), Send
    bool on = false;
    bool holdPingPong = false; // SetPause: Ping and Pong are held too (by default they pass)
    quint16 flag = capture::MessageFlag::Injected; // Send
    quint16 closeCode = 1000; // Close: sent as given, invalid codes too
    QByteArray closeReason;
    bool toClient = true; // Close, Reset
    bool toServer = true;
    // Close: false ends both TCP connections right after the Close frame (a FIN), so no answering Close
    // can complete the closing handshake (RFC 6455 7.1.1 not followed, as a crashing server does).
    bool handshake = true;
    QString by; // who asked, for the record: empty for the user, else the rule ("rule 2 'flaky'")
};

struct CommandResult
{
    bool ok = true;
    QString error; // "session 12 has ended", "no held message 3 from the client in session 12"

    static CommandResult failure(QString why) { return {false, std::move(why)}; }
};

} // namespace socktap::intercept
