// The relay of one WebSocket session, sans I/O: bytes that arrived from either peer go in; bytes to
// forward, decoded messages, held messages and (in strict mode) the decision to fail the connection come
// out through a Sink. Holds no socket and no timer.
//
// Two paths per direction. Ungated (no rule can apply, not paused): bytes are forwarded as they arrive,
// byte for byte (same fragmentation, masks, RSV bits), and decoded on the side. Gated: each message's
// frames are kept until the message is complete, then the Interceptor's verdict decides: forward the
// original bytes, hold for the user, delay, drop, or send a changed payload (re-encoded). Messages leave
// in order: behind a held message, later ones of the same direction wait; the other direction flows.
//
// Theory (RFC 6455 7.1.7): an endpoint that receives a rule-breaking frame fails the connection.
// Practice: a debugging proxy is not the endpoint. By default it forwards the frame and records the rule
// broken, so the user sees how the real peer reacts; Options::strict makes it act as the RFC endpoint.
//
// Theory (RFC 6455 5.4): control frames may sit between the fragments of a message. Practice: a gated
// direction decides each message when it is complete, so a control frame that arrived between fragments
// is sent before them. The frames themselves are unchanged.
//
// permessage-deflate (RFC 7692 7.2.3): with context takeover, the receiver inflates each compressed
// message with a window holding what it inflated before. Once Socktap drops or changes a compressed
// message, the sender's later messages may refer back to text the receiver never saw. So from that
// change on, Socktap inflates each later compressed message of that direction (it does anyway, to show
// it) and compresses it again with its own deflater, whose history is exactly what the receiver has
// inflated since. Messages sent uncompressed (RSV1 clear) never touch the receiver's window: Socktap's
// injected messages are sent that way. Without context takeover every message stands alone and only the
// changed one is compressed anew.
#pragma once

#include "core/capture/CaptureTypes.h"
#include "core/intercept/HeldMessage.h"
#include "core/intercept/Interceptor.h"
#include "core/intercept/SessionCommand.h"
#include "core/ws/Deflater.h"
#include "core/ws/FrameParser.h"
#include "core/ws/MessageAssembler.h"
#include "core/ws/MessageEncoder.h"

#include <deque>
#include <memory>

namespace socktap::proxy {

class WebSocketRelay
{
public:
    using Direction = capture::Direction;

    class Sink
    {
    public:
        virtual ~Sink() = default;
        // Bytes from `from`'s side, to be written to the other peer.
        virtual void forward(Direction from, QByteArrayView bytes) = 0;
        // A message crossed (or was dropped): what the capture records.
        virtual void captured(Direction from, const capture::MessageFacts &message) = 0;
        // Strict mode: `from` broke a rule; fail the connection with code (RFC 6455 7.1.7).
        virtual void fail(Direction from, quint16 code, const QString &why) = 0;
        // A message now waits for the user; unheld() when it leaves the queue, whatever its fate.
        virtual void held(const intercept::HeldMessage &message) = 0;
        virtual void unheld(Direction from, quint64 id) = 0;
        // A delay rule: call release(from, id) after ms.
        virtual void delay(Direction from, quint64 id, int ms) = 0;
        // Whether what is sent as `from` can still reach its receiver (its connection open, its writes
        // not shut): Socktap's own answers are not sent into a closed side.
        virtual bool canSend(Direction from) const
        {
            Q_UNUSED(from);
            return true;
        }
        // A fault rule's trigger arrived: carry it out once the message is handled (not from within).
        virtual void fault(const intercept::SessionCommand &command) { Q_UNUSED(command); }
    };

    struct Options
    {
        bool strict = false;
        qsizetype maxPayload = 64 * 1024 * 1024; // decoded bytes kept per message
        qsizetype maxHold = 64 * 1024 * 1024; // a larger message in a gated direction passes unheld
        ws::BufferBudget *budget = nullptr; // shared by all messages in progress (see BufferBudget)
        std::optional<ws::DeflateParams> deflate;
    };

    WebSocketRelay(Options options, Sink &sink);
    ~WebSocketRelay();

    // Takes what `from` sent. Returns how much of it was taken: less than all when decoding spent its time
    // slice (a compressed message inflating megabytes), or at the end of a message that set off a fault
    // (the sink's fault() was called: the caller carries it out, then offers the rest, unless the fault
    // stopped or ended that side). The caller offers the rest again later, after other connections had
    // their turn. Nothing of the rest has been forwarded.
    qsizetype received(Direction from, QByteArrayView bytes, qint64 now);
    // Time slices: a caller starts one per turn of its event loop, and stops feeding `from` once it is
    // spent (however many reads that turn held).
    void startSlice(Direction from);
    bool sliceSpent(Direction from) const { return sliceSpent(side(from)); }
    // `from` ended its TCP stream: a message in progress is captured, marked incomplete.
    void ended(Direction from, qint64 now);
    // What `from` sends from now on cannot reach its receiver (it has gone): a Close from it is recorded
    // as received, not as crossed.
    void setUndeliverable(Direction from) { m_undeliverable[capture::directionIndex(from)] = true; }
    // A Close from `from` has reached Socktap (forwarded, or still queued behind held messages).
    bool closeArrived(Direction from) const { return m_closeArrived[capture::directionIndex(from)]; }

    // Interception. The interceptor (owned by the caller) decides gated messages; after its rules or
    // pauses change, call refreshGates(). A direction becomes gated at its next message boundary.
    void setInterceptor(intercept::Interceptor *interceptor);
    void refreshGates();
    intercept::CommandResult release(Direction from, quint64 id, const intercept::OutgoingMessage *edit,
                                     qint64 now);
    intercept::CommandResult drop(Direction from, quint64 id, qint64 now);
    void releaseAll(Direction from, qint64 now);
    // Sends a message of Socktap's own as if `from` had sent it (towards the other peer), uncompressed,
    // at the direction's next frame boundary (data messages: message boundary).
    // `immediately` skips the wait (failing or shutting down the connection: what follows is moot).
    void send(Direction from, const intercept::OutgoingMessage &message, quint16 flag, qint64 now,
              const QString &note = {}, bool immediately = false);
    // Bytes of `from` kept back (held, waiting behind a hold, or not yet sent): for backpressure.
    qsizetype backlog(Direction from) const;
    qsizetype heldCount(Direction from) const;
    // Socktap's own messages as if from `from` still waiting for a frame boundary (a Close among them).
    bool ownPending(Direction from) const;

    const capture::CloseInfo &close() const { return m_close; }
    ws::Violations violations() const { return m_violations; }
    QString firstViolation() const { return m_firstViolation; }
    bool failed() const { return m_failed; }
    bool decoding(Direction from) const { return !side(from).undecodable; }
    bool gated(Direction from) const { return side(from).gated; }
    bool reencoding(Direction from) const { return side(from).deflater != nullptr; }

private:
    // Decoding work per time slice: a few milliseconds of inflating at most.
    static constexpr quint64 InflateSlice = 1024 * 1024;
    static constexpr qsizetype CompressedStep = 1024;
    struct Unit; // a complete message waiting in a gated direction's queue
    struct Own // a message of Socktap's own, encoded
    {
        intercept::OutgoingMessage message;
        ws::EncodedMessage encoded;
        quint16 flag = 0;
        QString note;
    };
    struct Accumulator // the frames of a message in progress in a gated direction
    {
        QByteArray raw;
        bool streaming = false; // over maxHold: passed through as it arrives
    };
    struct Side
    {
        Side(ws::FrameParser::Options parserOptions, ws::MessageAssembler::Options assemblerOptions);
        ~Side();
        ws::FrameParser parser;
        ws::MessageAssembler assembler;
        bool undecodable = false; // the parser hit a fatal error; bytes still pass through
        bool gated = false;
        bool wantGated = false; // to be applied at the next message boundary
        // A message's verdict set off a fault: received() stops at its end, so that the fault takes hold
        // before anything sent after it crosses (a stall, a reset).
        bool faultRaised = false;
        Accumulator data;
        Accumulator control;
        Accumulator *current = nullptr;
        QByteArray headerPart; // the start of a frame header that arrived at the end of a chunk
        std::deque<Unit> queue;
        qsizetype queuedBytes = 0;
        std::deque<Own> pending; // Socktap's own messages, waiting for a boundary
        std::unique_ptr<ws::Deflater> deflater; // re-compressing since the first change (see above)
        QByteArray out; // what this chunk forwards, gathered into one write
        quint64 nextId = 1;
        quint64 inflateBudgetEnd = InflateSlice; // received() stops when the assembler has inflated this much
    };

    Side &side(Direction d) { return d == Direction::ClientToServer ? m_client : m_server; }
    const Side &side(Direction d) const { return d == Direction::ClientToServer ? m_client : m_server; }
    void noteViolations(Direction from, ws::Violations v);
    void noteClose(Direction from, std::optional<quint16> code, QByteArrayView reason, qint64 now);
    bool failIfStrict(Direction from, ws::Violations v, QByteArrayView forwardable = {});
    static ws::Violations payloadViolations(ws::Violations v);

    qsizetype receivedUngated(Direction from, QByteArrayView bytes, qint64 now);
    qsizetype receivedGated(Direction from, QByteArrayView bytes, qint64 now);
    static QByteArrayView nextInput(const Side &s, QByteArrayView bytes, qsizetype pos);
    bool sliceSpent(const Side &s) const;
    bool atMessageBoundary(const Side &s) const;
    bool canSendNow(const Side &s, quint8 opcode) const;
    void sendPending(Direction from, qint64 now);
    void sendOwn(Direction from, const Own &own, qint64 now);
    void sendAsIs(Direction from, capture::MessageFacts facts, QByteArrayView raw, qint64 now);
    void applyGateChange(Direction from);
    void keep(Side &s, Accumulator &acc, QByteArrayView bytes);
    void onGatedMessage(Direction from, const ws::MessageAssembler::Message &m, Accumulator &acc, qint64 now);
    void sendChanged(Direction from, Unit &u, qint64 now);
    void recordDropped(Direction from, Unit &u);
    void startReencoding(Direction from, const Unit &u);
    void drain(Direction from, qint64 now);
    void flushOut(Direction from);
    Unit *findHeld(Direction from, quint64 id);
    void publishHeld(Direction from, const Unit &u);

    Options m_options;
    Sink &m_sink;
    intercept::Interceptor *m_interceptor = nullptr;
    Side m_client;
    Side m_server;
    capture::CloseInfo m_close;
    bool m_undeliverable[2] = {false, false};
    bool m_closeArrived[2] = {false, false};
    ws::Violations m_violations;
    QString m_firstViolation;
    bool m_failed = false;
};

} // namespace socktap::proxy
