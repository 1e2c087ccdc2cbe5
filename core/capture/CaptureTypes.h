// The capture records: sessions (WebSocket, plain HTTP exchanges, opaque tunnels) and compact WebSocket
// message records. Plain data shared by the engine (writer) and the UI, headless console and exporters
// (readers). Knows protocol types, never sockets.
#pragma once

#include "core/http/HttpHead.h"
#include "core/ws/ExtensionHeader.h"
#include "core/ws/Frame.h"
#include "core/ws/PerMessageDeflate.h"
#include "core/ws/Violation.h"

#include <QString>
#include <QStringList>

#include <optional>
#include <span>
#include <vector>

namespace socktap::capture {

using SessionId = quint64;

enum class Direction : quint8 { ClientToServer = 0, ServerToClient = 1 };
inline constexpr int directionIndex(Direction d)
{
    return int(d);
}
inline constexpr Direction opposite(Direction d)
{
    return d == Direction::ClientToServer ? Direction::ServerToClient : Direction::ClientToServer;
}
const char *directionName(Direction d); // "client", "server": who sent it

enum class SessionKind : quint8 { WebSocket, Http, Tunnel };
enum class ProxyMode : quint8 { Explicit, Connect, Reverse };
enum class SessionState : quint8 { Connecting, Open, Closing, Closed, Failed, Rejected };

const char *kindName(SessionKind k);
const char *modeName(ProxyMode m);
const char *stateName(SessionState s);

// How the connection ended, beyond the Close frames (what 1006 hides).
enum class EndReason : quint8 {
    None, // still open
    Closed, // TCP ended after the closing handshake
    ClientEof, // client ended TCP without a (complete) closing handshake
    ServerEof,
    ClientReset, // TCP reset by the client
    ServerReset,
    Timeout,
    ProxyShutdown, // Socktap was stopped
    StrictClose, // Socktap failed the connection (--strict) after a protocol violation
    UpstreamFailed, // could not reach the server, or it broke the handshake
    TlsError,
    ClientError, // the client sent something unusable (HTTP 400 and friends)
    UserReset, // the user had Socktap reset both TCP connections
    Refused, // Socktap was at its connection limit (HTTP 503)
    Fault, // a fault rule had Socktap refuse or cut the connection (testing the client)
};
const char *endReasonName(EndReason r);
QString endReasonText(EndReason r);

struct CloseInfo
{
    std::optional<Direction> firstCloser; // who sent the first Close frame
    std::optional<quint16> code[2]; // per direction; absent code in a Close frame means 1005
    QByteArray reason[2];
    bool closeSent[2] = {false, false}; // a Close frame crossed in that direction
    // A Close frame from that side reached Socktap but not the other side (it had gone): code and reason
    // say what was received; closeSent stays false.
    bool closeUndelivered[2] = {false, false};
    qint64 firstCloseTime = 0;
    qint64 tcpEndTime = 0;
    EndReason end = EndReason::None;
    QString detail; // e.g. "client reset the connection after 3 messages"

    bool handshakeCompleted() const { return closeSent[0] && closeSent[1]; }
    // Whether anything is known about how the session closed: a HAR from Chrome says nothing, and then
    // nothing is said (no 1006 invented).
    bool recorded() const { return firstCloser.has_value() || end != EndReason::None; }
    // The code an application would see, RFC 6455 7.1.5: the first Close's code, 1005 if it had none,
    // 1006 if no Close frame arrived.
    quint16 effectiveCode() const;
};

struct TlsInfo
{
    bool intercepted = false;
    QByteArray sni;
    QString clientProtocol; // TLS version negotiated with the client
    QString clientCipher;
    QString upstreamProtocol;
    QString upstreamCipher;
    QString upstreamSubject;
    QString upstreamIssuer;
    QString upstreamValidity; // "notBefore - notAfter"
    QString upstreamVerification; // "ok", or what failed
    bool upstreamVerified = false;
};

struct SessionInfo
{
    SessionId id = 0;
    SessionKind kind = SessionKind::WebSocket;
    ProxyMode mode = ProxyMode::Explicit;
    SessionState state = SessionState::Connecting;

    QString clientAddress;
    quint16 clientPort = 0;
    QByteArray scheme; // ws, wss, http, https, or empty for tunnels
    QByteArray host;
    quint16 port = 0;
    QByteArray path; // path and query

    http::RequestHead request; // as received from the client
    http::ResponseHead response; // as received from the server
    QByteArray requestBody; // of an HTTP exchange: the content (chunked framing decoded), first bytes only
    QByteArray responseBody; // of a rejected handshake or an HTTP exchange: the content, first bytes only
    quint64 requestBodySize = 0; // HTTP
    quint64 responseBodySize = 0;

    QByteArray subprotocol;
    QList<ws::Extension> extensions; // negotiated
    std::optional<ws::DeflateParams> deflate;
    QStringList handshakeProblems; // what a strict endpoint would have refused
    QStringList handshakeNotes; // what Socktap's rules changed in the heads it forwarded
    // Faults Socktap applied to test the client, when and by whom: "12:00:01.234 stalled server → client
    // (the user)", "... resumed ...".
    QStringList faults;
    // The server side was Socktap's mock of a captured session (socktap mock, a mock rule): "mock of
    // FILE session N". Empty for a real server.
    QString mock;
    // The Socktap that captured it when that was not this one: the remote's "host:port" (File > Attach,
    // socktap attach). Empty for this process's own engine and for files written by one.
    QString engine;

    qint64 acceptedAt = 0; // TCP accepted
    qint64 requestAt = 0; // request head complete
    qint64 upgradedAt = 0; // 101 relayed, or HTTP response head relayed
    qint64 closedAt = 0;

    QString error; // why Failed or Rejected
    // Read from a file that was written while the session was still open (saved, or a crash journal):
    // its state is the state then, not now. Not written to files.
    bool openWhenSaved = false;
    ws::Violations violations; // union over all messages
    QString firstViolation; // description of the first violation seen, with its message
    CloseInfo close;
    TlsInfo tls;
    quint64 tunnelBytes[2] = {0, 0}; // opaque tunnels: bytes each way

    QByteArray url() const; // scheme://host:port/path for display
    // A replay made by Socktap labels its request with the original session (ReplayOfHeader, removed
    // before the request goes on): 0 for a session that is not a replay.
    SessionId replayOf() const;
};

inline constexpr char ReplayOfHeader[] = "Socktap-Replay-Of";
// What the proxy adds to an upgrade it sends to Socktap's own mock: the session it records, so that the
// mock's reports name it.
inline constexpr char MockSessionHeader[] = "Socktap-Mock-Session";

// Per-session counters the store keeps as messages arrive.
struct SessionCounters
{
    quint64 messages[2] = {0, 0};
    quint64 wireBytes[2] = {0, 0};
    quint64 payloadBytes[2] = {0, 0};
    quint64 evictedRecords = 0; // oldest message records dropped under the memory budget
};

namespace MessageFlag {
inline constexpr quint16 ServerToClient = 1 << 0;
inline constexpr quint16 Compressed = 1 << 1;
inline constexpr quint16 Truncated = 1 << 2; // payload over the per-message capture cap
inline constexpr quint16 Incomplete = 1 << 3; // the connection ended before the final frame
inline constexpr quint16 Edited = 1 << 4;
inline constexpr quint16 Injected = 1 << 5;
inline constexpr quint16 Dropped = 1 << 6;
inline constexpr quint16 Replayed = 1 << 7;
inline constexpr quint16 Delayed = 1 << 8; // held back by a delay rule, then forwarded
inline constexpr quint16 Held = 1 << 9; // stopped at a breakpoint, then forwarded (or edited, dropped)
inline constexpr quint16 Resent = 1 << 10; // a captured message sent again by the user
inline constexpr quint16 Reencoded = 1 << 11; // re-compressed by Socktap to keep the receiver decoding
// Not delivered: the receiver had ended its connection (reset: nothing was written; FIN: written to a
// peer that reads no more). The note says which and when.
inline constexpr quint16 Undelivered = 1 << 12;
// What Socktap changed: any of these means the bytes that crossed are not the ones the sender wrote.
inline constexpr quint16 Changed = Edited | Injected | Dropped | Delayed | Held | Resent | Reencoded | Undelivered;
} // namespace MessageFlag

// The flags' stable names, as files (the native format, HAR's _socktap) write them; ServerToClient is a
// direction, not listed. Never rename one.
struct MessageFlagName
{
    quint16 flag;
    const char *name;
};
std::span<const MessageFlagName> messageFlagNames();

// One WebSocket message (or control frame) as the store keeps it: 72 bytes, payload elsewhere.
struct MessageRecord
{
    qint64 time = 0; // first frame, µs since epoch
    quint64 payloadRef = 0; // position in the payload log (in a batch: offset in the batch's bytes)
    quint64 payloadSize = 0; // decoded size, even beyond what was kept
    quint64 wireSize = 0; // all frames with headers
    quint32 duration = 0; // last frame - first frame, µs (saturating)
    quint32 capturedSize = 0; // payload bytes kept
    quint32 frameCount = 0;
    quint32 violations = 0; // ws::Violations
    quint32 detail = 0; // 1-based index of a MessageDetail, 0 for none
    quint32 maskKey = 0; // of the first frame
    quint16 flags = 0; // MessageFlag
    quint16 closeCode = 0; // Close: the code, 0 when the payload had none
    quint8 opcode = 0;
    quint8 firstFrameBits = 0; // ws::FrameInfo::bits of the first frame
    quint8 firstHeaderSize = 0;
    quint8 file = 0; // the store's capture file holding this record's line (1-based), 0 for none
    quint64 fileOffset = 0; // where that line starts

    Direction direction() const
    {
        return (flags & MessageFlag::ServerToClient) ? Direction::ServerToClient : Direction::ClientToServer;
    }
    ws::Violations violationFlags() const { return ws::Violations::fromInt(violations); }
    bool has(quint16 flag) const { return (flags & flag) != 0; }
    // The first frame as the record describes it: the whole frame of a single-frame message.
    ws::FrameInfo firstFrame() const
    {
        return ws::FrameInfo {wireSize - firstHeaderSize, maskKey, opcode, firstFrameBits, firstHeaderSize};
    }
};
static_assert(sizeof(MessageRecord) == 72, "keep message records compact");

// What only some messages need: every frame of a fragmented message, the wire payload of a compressed one,
// the original payload of an edited one and what Socktap did to it.
struct MessageDetail
{
    std::vector<ws::FrameInfo> frames; // every frame (empty: the one frame the record describes)
    quint64 wirePayloadRef = 0;
    quint32 wirePayloadSize = 0;
    quint32 originalSize = 0; // edited: the payload as the sender wrote it
    quint64 originalRef = 0;
    QString note; // "rule 2 'strip tokens': regex-replace", "held 3.2 s, edited"
};

// A message as a reader sees it: the record, its payload if still held, and its detail.
struct MessageView
{
    SessionId session = 0;
    quint64 index = 0; // position in the session, from 0
    MessageRecord record;
    QByteArray payload; // empty when evicted or empty
    bool payloadEvicted = false;
    QByteArray wirePayload; // compressed messages
    QByteArray original; // edited messages: the payload as the sender wrote it
    QString note; // what Socktap did, and why
    std::vector<ws::FrameInfo> frames; // all frames (one, derived, for single-frame messages)
};

// A message as the capture takes it: views into bytes the caller owns until the call returns. Built from
// the relay's assembler for what peers send, and directly by the encoder for what Socktap sends itself,
// so Socktap's own frames are recorded as written, never re-parsed.
struct MessageFacts
{
    quint8 opcode = 0;
    QByteArrayView payload; // decoded, as kept (at most the capture cap)
    QByteArrayView wirePayload; // compressed messages: the payload as on the wire (unmasked)
    QByteArrayView original; // edited messages: the payload as the sender wrote it
    quint64 payloadSize = 0; // full decoded size
    quint64 wireSize = 0; // every frame, headers included
    quint64 frameCount = 0;
    std::span<const ws::FrameInfo> frames;
    bool compressed = false;
    bool truncated = false;
    bool incomplete = false;
    ws::Violations violations;
    qint64 firstFrameTime = 0;
    qint64 lastFrameTime = 0;
    std::optional<quint16> closeCode; // Close frames with a code
    quint16 flags = 0; // MessageFlag beyond direction, compression, truncation and incompleteness
    QString note;
};

// MessageFacts that own their bytes: for a message that outlives the buffers it was decoded from (one
// held at a breakpoint).
struct MessageCopy
{
    MessageFacts facts; // its views point into the members below
    QByteArray payload;
    QByteArray wirePayload;
    std::vector<ws::FrameInfo> frames;

    explicit MessageCopy(const MessageFacts &f);
    MessageCopy(MessageCopy &&other) noexcept;
    MessageCopy &operator=(MessageCopy &&other) noexcept;
    MessageCopy(const MessageCopy &) = delete;
    MessageCopy &operator=(const MessageCopy &) = delete;

private:
    void point();
};

} // namespace socktap::capture
