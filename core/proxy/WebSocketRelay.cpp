#include "WebSocketRelay.h"

#include "WebSocketRelayUnit.h"

#include "core/capture/CaptureWriter.h"

namespace socktap::proxy {

namespace {

ws::FrameParser::Options parserOptions(ws::FrameParser::Sender sender, bool deflate)
{
    ws::FrameParser::Options o;
    o.sender = sender;
    o.perMessageDeflate = deflate;
    return o;
}

ws::MessageAssembler::Options assemblerOptions(const WebSocketRelay::Options &options)
{
    ws::MessageAssembler::Options o;
    o.maxPayload = options.maxPayload;
    o.budget = options.budget;
    return o;
}

} // namespace

WebSocketRelay::Side::Side(ws::FrameParser::Options parserOptions,
                           ws::MessageAssembler::Options assemblerOptions)
    : parser(parserOptions)
    , assembler(assemblerOptions)
{ }

WebSocketRelay::Side::~Side() = default;

WebSocketRelay::WebSocketRelay(Options options, Sink &sink)
    : m_options(options)
    , m_sink(sink)
    , m_client(parserOptions(ws::FrameParser::Sender::Client, options.deflate.has_value()),
               assemblerOptions(options))
    , m_server(parserOptions(ws::FrameParser::Sender::Server, options.deflate.has_value()),
               assemblerOptions(options))
{
    if (options.deflate) {
        // RFC 7692 7.1: each peer compresses with its own window and context rule.
        m_client.assembler.enableDeflate(options.deflate->windowBits(true),
                                         options.deflate->noContextTakeover(true));
        m_server.assembler.enableDeflate(options.deflate->windowBits(false),
                                         options.deflate->noContextTakeover(false));
    }
}

WebSocketRelay::~WebSocketRelay() = default;

void WebSocketRelay::noteViolations(Direction from, ws::Violations v)
{
    if (!v)
        return;
    if (!m_violations)
        m_firstViolation = QStringLiteral("%1: %2").arg(QLatin1String(capture::directionName(from)),
                                                        ws::describe(v).join(QStringLiteral("; ")));
    m_violations |= v;
}

ws::Violations WebSocketRelay::payloadViolations(ws::Violations v)
{
    // Frame-level violations are handled at their header; these are about a complete message.
    return v
        & (ws::Violation::InvalidUtf8 | ws::Violation::ClosePayloadTooShort | ws::Violation::InvalidCloseCode
           | ws::Violation::InvalidCloseReason | ws::Violation::InflateFailed
           | ws::Violation::InflatedTooLarge);
}

bool WebSocketRelay::failIfStrict(Direction from, ws::Violations v, QByteArrayView forwardable)
{
    if (!m_options.strict || !v)
        return false;
    // The rule-breaking frame is withheld; what came before it is passed on.
    m_sink.forward(from, forwardable);
    flushOut(from);
    m_failed = true;
    m_sink.fail(from, ws::closeCodeFor(v), ws::describe(v).join(QStringLiteral("; ")));
    return true;
}

void WebSocketRelay::noteClose(Direction from, std::optional<quint16> code, QByteArrayView reason, qint64 now)
{
    const int i = capture::directionIndex(from);
    m_closeArrived[i] = true;
    if (m_close.closeSent[i] || m_close.closeUndelivered[i])
        return;
    // Crossed only if its receiver was still there; otherwise received and not delivered.
    (m_undeliverable[i] ? m_close.closeUndelivered[i] : m_close.closeSent[i]) = true;
    m_close.code[i] = code;
    m_close.reason[i] = reason.toByteArray();
    if (!m_close.firstCloser) {
        m_close.firstCloser = from;
        m_close.firstCloseTime = now;
    }
}

qsizetype WebSocketRelay::received(Direction from, QByteArrayView bytes, qint64 now)
{
    if (m_failed)
        return bytes.size(); // the connection is being failed: nothing more crosses
    Side &s = side(from);
    if (s.undecodable) {
        m_sink.forward(from, bytes);
        return bytes.size();
    }
    return s.gated ? receivedGated(from, bytes, now) : receivedUngated(from, bytes, now);
}

QByteArrayView WebSocketRelay::nextInput(const Side &s, QByteArrayView bytes, qsizetype pos)
{
    // Inside a compressed message, at most CompressedStep bytes at a time: deflate expands at most 1032
    // times, so no single step inflates more than about 1 MiB (~3 ms here) before the budget is looked at.
    const QByteArrayView rest = bytes.sliced(pos);
    return s.assembler.inflating() ? rest.first(std::min(rest.size(), CompressedStep)) : rest;
}

void WebSocketRelay::startSlice(Direction from)
{
    Side &s = side(from);
    s.inflateBudgetEnd = s.assembler.inflatedBytes() + InflateSlice;
}

bool WebSocketRelay::sliceSpent(const Side &s) const
{
    return s.assembler.inflatedBytes() >= s.inflateBudgetEnd;
}

qsizetype WebSocketRelay::receivedUngated(Direction from, QByteArrayView bytes, qint64 now)
{
    Side &s = side(from);
    qsizetype pos = 0;
    qsizetype sent = 0; // bytes of this chunk already forwarded
    qsizetype frameStart = 0; // where the current frame's header began in bytes (0: in an earlier chunk)
    qsizetype headerBegan = -1; // a header split across two steps of this chunk began here
    for (;;) {
        const qsizetype eventStart = pos;
        const ws::FrameParser::Event ev = s.parser.next(nextInput(s, bytes, pos));
        pos += ev.consumed;
        using Kind = ws::FrameParser::Event::Kind;
        if (ev.kind == Kind::NeedMore) {
            if (pos >= bytes.size())
                break;
            // Only a step of a compressed payload was offered; a header may have begun at its end.
            if (headerBegan < 0 && ev.consumed > 0)
                headerBegan = eventStart;
            continue;
        }
        if (ev.kind == Kind::Header) {
            frameStart = headerBegan >= 0 ? headerBegan : eventStart;
            headerBegan = -1;
            noteViolations(from, ev.violations);
            if (failIfStrict(from, ev.violations, bytes.sliced(sent, frameStart - sent)))
                return bytes.size();
        }
        if (ev.kind == Kind::Error) {
            // The unparseable header starts here (a header split across chunks began in an earlier one).
            frameStart = std::max(eventStart, sent);
            noteViolations(from, ev.violations);
            if (failIfStrict(from, ev.violations, bytes.sliced(sent, frameStart - sent)))
                return bytes.size();
            // Nothing after this can be decoded; keep relaying so the peers decide.
            s.undecodable = true;
            pos = bytes.size();
            break;
        }
        if (const auto *m = s.assembler.handle(ev, now)) {
            const ws::Violations payloadLevel = payloadViolations(m->violations);
            noteViolations(from, payloadLevel);
            if (m->opcode == quint8(ws::Opcode::Close))
                noteClose(from, m->close.code, m->close.reason, now);
            m_sink.captured(from, capture::factsOf(*m));
            s.assembler.release();
            if (failIfStrict(from, payloadLevel, bytes.sliced(sent, frameStart - sent)))
                return bytes.size();
        }
        // Rare: Socktap's own messages waiting for a boundary, or a gate to switch on. One test per frame.
        if (ev.kind == Kind::FrameEnd && (!s.pending.empty() || s.wantGated) && s.parser.atFrameBoundary()) {
            m_sink.forward(from, bytes.sliced(sent, pos - sent));
            sent = pos;
            sendPending(from, now);
            flushOut(from);
            if (s.wantGated && atMessageBoundary(s)) {
                s.gated = true;
                return pos + receivedGated(from, bytes.sliced(pos), now);
            }
        }
        if (ev.kind == Kind::Payload && sliceSpent(s) && pos < bytes.size())
            break; // decoding has had its time: the rest waits for the next turn of the event loop
    }
    if (sent < pos)
        m_sink.forward(from, bytes.sliced(sent, pos - sent));
    return pos;
}

void WebSocketRelay::setInterceptor(intercept::Interceptor *interceptor)
{
    m_interceptor = interceptor;
    refreshGates();
}

void WebSocketRelay::refreshGates()
{
    for (const Direction d : {Direction::ClientToServer, Direction::ServerToClient}) {
        Side &s = side(d);
        // Re-compressing needs every later message decided whole, so such a direction stays gated.
        s.wantGated = (m_interceptor && m_interceptor->gates(d)) || s.deflater;
        applyGateChange(d);
    }
}

void WebSocketRelay::applyGateChange(Direction from)
{
    Side &s = side(from);
    if (s.wantGated == s.gated || s.undecodable)
        return;
    // On at a message boundary (nothing of the next message has left); off once nothing is kept back.
    if (s.wantGated && atMessageBoundary(s))
        s.gated = true;
    else if (!s.wantGated && s.queue.empty() && s.data.raw.isEmpty() && s.control.raw.isEmpty()
             && s.headerPart.isEmpty() && !s.data.streaming)
        s.gated = false;
}

bool WebSocketRelay::ownPending(Direction from) const
{
    return !side(from).pending.empty();
}

qsizetype WebSocketRelay::backlog(Direction from) const
{
    // A message building up behind a held one counts too (reading must stop); one with nothing ahead
    // does not (it must be read whole to be decided).
    const Side &s = side(from);
    return s.queue.empty() ? 0 : s.queuedBytes + s.data.raw.size() + s.control.raw.size();
}

qsizetype WebSocketRelay::heldCount(Direction from) const
{
    const auto &q = side(from).queue;
    return std::count_if(q.begin(), q.end(), [](const Unit &u) { return u.state != Unit::State::Ready; });
}

void WebSocketRelay::ended(Direction from, qint64 now)
{
    Side &s = side(from);
    QString note;
    if (s.gated) {
        // What arrived of an unfinished message passes on in wire order, as the ungated path would have
        // passed it: the data fragments began before any control frame cut short after them. Behind held
        // messages it cannot (they would follow a partial frame), so it is not sent, and the capture says so.
        const QByteArray partial = std::exchange(s.data.raw, QByteArray())
            + std::exchange(s.control.raw, QByteArray()) + std::exchange(s.headerPart, QByteArray());
        if (s.queue.empty())
            s.out.append(partial);
        else if (!partial.isEmpty())
            note = QStringLiteral("the sender ended mid-message while messages were held ahead of it: its "
                                  "partial frames were not forwarded");
        s.data.streaming = false;
    }
    while (const auto *m = s.assembler.flushIncomplete(now)) {
        capture::MessageFacts f = capture::factsOf(*m);
        if (!note.isEmpty())
            f.note = note;
        m_sink.captured(from, f);
        s.assembler.release();
    }
    flushOut(from);
    if (m_close.tcpEndTime == 0)
        m_close.tcpEndTime = now;
}

} // namespace socktap::proxy
