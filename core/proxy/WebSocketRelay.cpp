#include "WebSocketRelay.h"

#include "core/capture/CaptureWriter.h"
#include "core/ws/Utf8Validator.h"

namespace socktap::proxy {

using intercept::CommandResult;
using intercept::OutgoingMessage;

namespace {

ws::FrameParser::Options parserOptions(ws::FrameParser::Sender sender, bool deflate)
{
    ws::FrameParser::Options o;
    o.sender = sender;
    o.perMessageDeflate = deflate;
    return o;
}

ws::MessageAssembler::Options assemblerOptions(qsizetype maxPayload)
{
    ws::MessageAssembler::Options o;
    o.maxPayload = maxPayload;
    return o;
}

bool fromClient(capture::Direction d)
{
    return d == capture::Direction::ClientToServer;
}

// Towards the server Socktap writes as the client, so it masks (RFC 6455 5.3); towards the client not.
bool masked(capture::Direction from)
{
    return fromClient(from);
}

// What a payload Socktap writes itself breaks, for the capture (it is sent as asked all the same).
ws::Violations checkOwnPayload(quint8 opcode, QByteArrayView payload)
{
    if (opcode == quint8(ws::Opcode::Close))
        return ws::ClosePayload::parse(payload).violations;
    if (opcode == quint8(ws::Opcode::Text)) {
        ws::Utf8Validator utf8;
        utf8.feed(payload);
        if (!utf8.isComplete())
            return ws::Violation::InvalidUtf8; // RFC 6455 8.1
    }
    return {};
}

std::optional<quint16> closeCodeOf(quint8 opcode, QByteArrayView payload)
{
    if (opcode != quint8(ws::Opcode::Close))
        return std::nullopt;
    return ws::ClosePayload::parse(payload).code;
}

} // namespace

// A complete message of a gated direction, copied out of the assembler because it outlives the chunk.
struct WebSocketRelay::Unit
{
    enum class State : quint8 { Held, Delayed, Ready };
    quint64 id = 0;
    State state = State::Ready;
    QByteArray raw; // its frames as received
    quint8 opcode = 0;
    QByteArray payload;
    QByteArray wirePayload;
    quint64 payloadSize = 0;
    quint64 wireSize = 0;
    quint64 frameCount = 0;
    std::vector<ws::FrameInfo> frames;
    bool compressed = false;
    bool truncated = false;
    bool incomplete = false;
    ws::Violations violations;
    qint64 firstFrameTime = 0;
    qint64 lastFrameTime = 0;
    std::optional<quint16> closeCode;
    std::optional<OutgoingMessage> change; // a rule's or the user's new content
    quint16 flags = 0; // Held, Delayed
    QString note;

    Unit(const ws::MessageAssembler::Message &m, QByteArray wire)
        : raw(std::move(wire))
        , opcode(m.opcode)
        , payload(m.payload.toByteArray())
        , wirePayload(m.wirePayload.toByteArray())
        , payloadSize(m.payloadSize)
        , wireSize(m.wireSize)
        , frameCount(m.frameCount)
        , frames(m.frames.begin(), m.frames.end())
        , compressed(m.compressed)
        , truncated(m.truncated)
        , incomplete(m.incomplete)
        , violations(m.violations)
        , firstFrameTime(m.firstFrameTime)
        , lastFrameTime(m.lastFrameTime)
    {
        if (m.opcode == quint8(ws::Opcode::Close))
            closeCode = m.close.code;
    }

    capture::MessageFacts facts() const
    {
        capture::MessageFacts f;
        f.opcode = opcode;
        f.payload = payload;
        f.wirePayload = wirePayload;
        f.payloadSize = payloadSize;
        f.wireSize = wireSize;
        f.frameCount = frameCount;
        f.frames = frames;
        f.compressed = compressed;
        f.truncated = truncated;
        f.incomplete = incomplete;
        f.violations = violations;
        f.firstFrameTime = firstFrameTime;
        f.lastFrameTime = lastFrameTime;
        f.closeCode = closeCode;
        f.flags = flags;
        f.note = note;
        return f;
    }
};

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
               assemblerOptions(options.maxPayload))
    , m_server(parserOptions(ws::FrameParser::Sender::Server, options.deflate.has_value()),
               assemblerOptions(options.maxPayload))
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
    if (m_close.closeSent[i])
        return;
    m_close.closeSent[i] = true;
    m_close.code[i] = code;
    m_close.reason[i] = reason.toByteArray();
    if (!m_close.firstCloser) {
        m_close.firstCloser = from;
        m_close.firstCloseTime = now;
    }
}

void WebSocketRelay::received(Direction from, QByteArrayView bytes, qint64 now)
{
    if (m_failed)
        return; // the connection is being failed: nothing more crosses
    Side &s = side(from);
    if (s.undecodable) {
        m_sink.forward(from, bytes);
        return;
    }
    if (s.gated)
        receivedGated(from, bytes, now);
    else
        receivedUngated(from, bytes, now);
}

void WebSocketRelay::receivedUngated(Direction from, QByteArrayView bytes, qint64 now)
{
    Side &s = side(from);
    qsizetype pos = 0;
    qsizetype sent = 0; // bytes of this chunk already forwarded
    qsizetype frameStart = 0; // where the current frame's header began in bytes (0: in an earlier chunk)
    for (;;) {
        const qsizetype eventStart = pos;
        const ws::FrameParser::Event ev = s.parser.next(bytes.sliced(pos));
        pos += ev.consumed;
        using Kind = ws::FrameParser::Event::Kind;
        if (ev.kind == Kind::NeedMore)
            break;
        if (ev.kind == Kind::Header) {
            frameStart = eventStart;
            noteViolations(from, ev.violations);
            if (failIfStrict(from, ev.violations, bytes.sliced(sent, frameStart - sent)))
                return;
        }
        if (ev.kind == Kind::Error) {
            noteViolations(from, ev.violations);
            if (failIfStrict(from, ev.violations, bytes.sliced(sent, frameStart - sent)))
                return;
            // Nothing after this can be decoded; keep relaying so the peers decide.
            s.undecodable = true;
            break;
        }
        if (const auto *m = s.assembler.handle(ev, now)) {
            const ws::Violations payloadLevel = payloadViolations(m->violations);
            noteViolations(from, payloadLevel);
            if (m->opcode == quint8(ws::Opcode::Close))
                noteClose(from, m->close.code, m->close.reason, now);
            m_sink.captured(from, capture::factsOf(*m));
            if (failIfStrict(from, payloadLevel, bytes.sliced(sent, frameStart - sent)))
                return;
        }
        // Rare: Socktap's own messages waiting for a boundary, or a gate to switch on. One test per frame.
        if (ev.kind == Kind::FrameEnd && (!s.pending.empty() || s.wantGated) && s.parser.atFrameBoundary()) {
            m_sink.forward(from, bytes.sliced(sent, pos - sent));
            sent = pos;
            sendPending(from, now);
            flushOut(from);
            if (s.wantGated && atMessageBoundary(s)) {
                s.gated = true;
                receivedGated(from, bytes.sliced(pos), now);
                return;
            }
        }
    }
    if (sent < bytes.size())
        m_sink.forward(from, bytes.sliced(sent));
}

void WebSocketRelay::keep(Side &s, Accumulator &acc, QByteArrayView bytes)
{
    if (acc.streaming) {
        s.out.append(bytes);
        return;
    }
    acc.raw.append(bytes);
    // A message too large to hold streams through, unless something is held ahead of it.
    if (&acc == &s.data && acc.raw.size() > m_options.maxHold && s.queue.empty()) {
        s.out.append(acc.raw);
        acc.raw.clear();
        acc.streaming = true;
    }
}

void WebSocketRelay::receivedGated(Direction from, QByteArrayView bytes, qint64 now)
{
    Side &s = side(from);
    qsizetype pos = 0;
    for (;;) {
        const qsizetype eventStart = pos;
        const ws::FrameParser::Event ev = s.parser.next(bytes.sliced(pos));
        pos += ev.consumed;
        using Kind = ws::FrameParser::Event::Kind;
        if (ev.kind == Kind::NeedMore)
            break;
        if (ev.kind == Kind::Error) {
            noteViolations(from, ev.violations);
            if (failIfStrict(from, ev.violations))
                return;
            // Nothing after this can be decoded: what was kept and the rest pass through as they are.
            s.undecodable = true;
            for (Accumulator *acc : {&s.data, &s.control})
                s.out.append(std::exchange(acc->raw, QByteArray()));
            s.out.append(bytes.sliced(eventStart));
            break;
        }
        if (ev.kind == Kind::Header) {
            noteViolations(from, ev.violations);
            if (failIfStrict(from, ev.violations))
                return;
            if (const auto *abandoned = s.assembler.handle(ev, now))
                onGatedMessage(from, *abandoned, s.data, now);
            const quint8 op = ev.header.opcode;
            s.current = ws::isControl(op) || ws::isReservedOpcode(op) ? &s.control : &s.data;
            keep(s, *s.current, bytes.sliced(eventStart, ev.consumed));
            continue;
        }
        if (ev.kind == Kind::Payload)
            keep(s, *s.current, ev.payload);
        if (const auto *m = s.assembler.handle(ev, now)) {
            onGatedMessage(from, *m, *s.current, now);
            if (m_failed)
                return;
        }
    }
    sendPending(from, now);
    flushOut(from);
    applyGateChange(from);
}

void WebSocketRelay::onGatedMessage(Direction from, const ws::MessageAssembler::Message &m, Accumulator &acc,
                                    qint64 now)
{
    Side &s = side(from);
    const ws::Violations payloadLevel = payloadViolations(m.violations);
    noteViolations(from, payloadLevel);
    if (m_options.strict && payloadLevel) {
        acc.raw.clear();
        failIfStrict(from, payloadLevel);
        return;
    }
    if (acc.streaming) {
        acc.streaming = false;
        capture::MessageFacts f = capture::factsOf(m);
        f.note = QStringLiteral("larger than the hold limit: passed through as it arrived");
        if (m.opcode == quint8(ws::Opcode::Close))
            noteClose(from, m.close.code, m.close.reason, now);
        m_sink.captured(from, f);
        return;
    }
    const intercept::Verdict v =
        m_interceptor ? m_interceptor->decide(from, m.opcode, m.payload) : intercept::Verdict {};
    if (v.forwardsAsIs() && s.queue.empty()) {
        // The common case: nothing to change and nothing ahead. The frames go out as received.
        sendAsIs(from, capture::factsOf(m), acc.raw, now);
        acc.raw.resize(0);
        return;
    }
    Unit u(m, std::exchange(acc.raw, QByteArray()));
    u.id = s.nextId++;
    u.note = v.note();
    if (v.payload)
        u.change = OutgoingMessage {m.opcode, *v.payload, 1};
    if (v.drop) {
        recordDropped(from, u);
        return;
    }
    if (v.hold) {
        u.state = Unit::State::Held;
        u.flags |= capture::MessageFlag::Held;
    } else if (v.delayMs > 0) {
        u.state = Unit::State::Delayed;
        u.flags |= capture::MessageFlag::Delayed;
    }
    s.queuedBytes += u.raw.size();
    s.queue.push_back(std::move(u));
    const Unit &queued = s.queue.back();
    if (queued.state == Unit::State::Held)
        publishHeld(from, queued);
    else if (queued.state == Unit::State::Delayed)
        m_sink.delay(from, queued.id, v.delayMs);
    drain(from, now);
}

void WebSocketRelay::sendAsIs(Direction from, capture::MessageFacts facts, QByteArrayView raw, qint64 now)
{
    Side &s = side(from);
    if (facts.opcode == quint8(ws::Opcode::Close))
        noteClose(from, facts.closeCode, ws::ClosePayload::parse(facts.payload).reason, now);
    const bool reencode = s.deflater && facts.compressed;
    const bool whole =
        !facts.truncated && !facts.incomplete && !facts.violations.testFlag(ws::Violation::InflateFailed);
    if (reencode && whole) {
        const ws::EncodedMessage e =
            ws::MessageEncoder::encode(facts.opcode, facts.payload, masked(from), 1, s.deflater.get());
        s.out.append(e.wire);
        facts.wirePayload = e.wirePayload;
        facts.wireSize = quint64(e.wire.size());
        facts.frameCount = e.frames.size();
        facts.frames = e.frames;
        facts.flags |= capture::MessageFlag::Reencoded;
        m_sink.captured(from, facts);
        return;
    }
    if (reencode)
        facts.note = QStringLiteral("not re-compressed (only part of it was decoded): forwarded as received; "
                                    "the receiver may fail to inflate it");
    s.out.append(raw);
    m_sink.captured(from, facts);
}

void WebSocketRelay::startReencoding(Direction from, const Unit &u)
{
    Side &s = side(from);
    // Only a compressed message changes the receiver's window, and only with context takeover.
    if (s.deflater || !u.compressed || !m_options.deflate
        || m_options.deflate->noContextTakeover(fromClient(from)))
        return;
    s.deflater = std::make_unique<ws::Deflater>(m_options.deflate->windowBits(fromClient(from)), false);
    s.wantGated = true;
}

void WebSocketRelay::sendChanged(Direction from, Unit &u, qint64 now)
{
    Side &s = side(from);
    const OutgoingMessage &c = *u.change;
    // A changed compressed message is sent compressed, as its sender would have; with context takeover
    // Socktap's deflater carries on for the rest of the direction, without it one message stands alone.
    std::unique_ptr<ws::Deflater> once;
    ws::Deflater *deflater = nullptr;
    if (u.compressed) {
        startReencoding(from, u);
        if (!s.deflater)
            once = std::make_unique<ws::Deflater>(m_options.deflate->windowBits(fromClient(from)), true);
        deflater = s.deflater ? s.deflater.get() : once.get();
    }
    const ws::EncodedMessage e =
        ws::MessageEncoder::encode(c.opcode, c.payload, masked(from), c.fragments, deflater);
    s.out.append(e.wire);
    capture::MessageFacts f;
    f.opcode = c.opcode;
    f.payload = c.payload;
    f.original = u.payload;
    f.wirePayload = e.wirePayload;
    f.payloadSize = quint64(c.payload.size());
    f.wireSize = quint64(e.wire.size());
    f.frameCount = e.frames.size();
    f.frames = e.frames;
    f.compressed = e.compressed;
    f.violations = checkOwnPayload(c.opcode, c.payload);
    f.firstFrameTime = u.firstFrameTime;
    f.lastFrameTime = now;
    f.closeCode = closeCodeOf(c.opcode, c.payload);
    f.flags = u.flags | capture::MessageFlag::Edited;
    f.note = u.note;
    if (c.opcode == quint8(ws::Opcode::Close))
        noteClose(from, f.closeCode, ws::ClosePayload::parse(c.payload).reason, now);
    m_sink.captured(from, f);
}

void WebSocketRelay::recordDropped(Direction from, Unit &u)
{
    startReencoding(from, u);
    capture::MessageFacts f = u.facts();
    f.flags |= capture::MessageFlag::Dropped;
    m_sink.captured(from, f);
}

void WebSocketRelay::drain(Direction from, qint64 now)
{
    Side &s = side(from);
    while (!s.queue.empty() && s.queue.front().state == Unit::State::Ready) {
        Unit u = std::move(s.queue.front());
        s.queue.pop_front();
        s.queuedBytes -= u.raw.size();
        if (u.change)
            sendChanged(from, u, now);
        else
            sendAsIs(from, u.facts(), u.raw, now);
    }
}

void WebSocketRelay::flushOut(Direction from)
{
    Side &s = side(from);
    if (s.out.isEmpty())
        return;
    m_sink.forward(from, s.out);
    if (s.out.capacity() > 1024 * 1024)
        s.out = QByteArray();
    else
        s.out.resize(0);
}

void WebSocketRelay::publishHeld(Direction from, const Unit &u)
{
    intercept::HeldMessage h;
    h.from = from;
    h.id = u.id;
    h.opcode = u.change ? u.change->opcode : u.opcode;
    h.payload = u.change ? u.change->payload : u.payload;
    h.truncated = u.truncated;
    h.compressed = u.compressed;
    h.wireSize = u.wireSize;
    h.frameCount = u.frameCount;
    h.heldSince = u.lastFrameTime;
    h.note = u.note;
    m_sink.held(h);
}

WebSocketRelay::Unit *WebSocketRelay::findHeld(Direction from, quint64 id)
{
    for (Unit &u : side(from).queue) {
        if (u.id == id && u.state != Unit::State::Ready)
            return &u;
    }
    return nullptr;
}

CommandResult WebSocketRelay::release(Direction from, quint64 id, const OutgoingMessage *edit, qint64 now)
{
    Unit *u = findHeld(from, id);
    if (!u)
        return CommandResult::failure(QStringLiteral("no message %1 from the %2 is held")
                                          .arg(id)
                                          .arg(QLatin1String(capture::directionName(from))));
    if (edit && u->truncated)
        return CommandResult::failure(QStringLiteral("message %1 is larger than the capture cap: it can be "
                                                     "forwarded or dropped, not edited")
                                          .arg(id));
    if (edit)
        u->change = *edit;
    if (u->state == Unit::State::Held)
        m_sink.unheld(from, id);
    u->state = Unit::State::Ready;
    drain(from, now);
    flushOut(from);
    applyGateChange(from);
    return {};
}

CommandResult WebSocketRelay::drop(Direction from, quint64 id, qint64 now)
{
    Side &s = side(from);
    const auto it = std::find_if(s.queue.begin(), s.queue.end(),
                                 [&](const Unit &u) { return u.id == id && u.state != Unit::State::Ready; });
    if (it == s.queue.end())
        return CommandResult::failure(QStringLiteral("no message %1 from the %2 is held")
                                          .arg(id)
                                          .arg(QLatin1String(capture::directionName(from))));
    if (it->state == Unit::State::Held)
        m_sink.unheld(from, id);
    recordDropped(from, *it);
    s.queuedBytes -= it->raw.size();
    s.queue.erase(it);
    drain(from, now);
    flushOut(from);
    applyGateChange(from);
    return {};
}

void WebSocketRelay::releaseAll(Direction from, qint64 now)
{
    for (Unit &u : side(from).queue) {
        if (u.state == Unit::State::Held)
            m_sink.unheld(from, u.id);
        u.state = Unit::State::Ready;
    }
    drain(from, now);
    flushOut(from);
    applyGateChange(from);
}

bool WebSocketRelay::atMessageBoundary(const Side &s) const
{
    return s.parser.atFrameBoundary() && !s.parser.inFragmentedMessage();
}

bool WebSocketRelay::canSendNow(const Side &s, quint8 opcode) const
{
    if (s.gated)
        return !s.data.streaming; // nothing of a message in progress has left yet
    // RFC 6455 5.4: a control frame may go between fragments; a data message only between messages.
    return s.parser.atFrameBoundary() && (ws::isControl(opcode) || !s.parser.inFragmentedMessage());
}

void WebSocketRelay::send(Direction from, const OutgoingMessage &message, quint16 flag, qint64 now,
                          const QString &note, bool immediately)
{
    Side &s = side(from);
    Own own {message,
             ws::MessageEncoder::encode(message.opcode, message.payload, masked(from), message.fragments),
             flag, note};
    if (immediately) {
        sendOwn(from, own, now);
        flushOut(from);
        return;
    }
    s.pending.push_back(std::move(own));
    sendPending(from, now);
    flushOut(from);
}

void WebSocketRelay::sendPending(Direction from, qint64 now)
{
    Side &s = side(from);
    while (!s.pending.empty() && canSendNow(s, s.pending.front().message.opcode)) {
        sendOwn(from, s.pending.front(), now);
        s.pending.pop_front();
    }
}

void WebSocketRelay::sendOwn(Direction from, const Own &own, qint64 now)
{
    Side &s = side(from);
    s.out.append(own.encoded.wire);
    const OutgoingMessage &m = own.message;
    capture::MessageFacts f;
    f.opcode = m.opcode;
    f.payload = m.payload;
    f.payloadSize = quint64(m.payload.size());
    f.wireSize = quint64(own.encoded.wire.size());
    f.frameCount = own.encoded.frames.size();
    f.frames = own.encoded.frames;
    f.violations = checkOwnPayload(m.opcode, m.payload);
    f.firstFrameTime = now;
    f.lastFrameTime = now;
    f.closeCode = closeCodeOf(m.opcode, m.payload);
    f.flags = own.flag;
    f.note = own.note;
    if (m.opcode == quint8(ws::Opcode::Close))
        noteClose(from, f.closeCode, ws::ClosePayload::parse(m.payload).reason, now);
    m_sink.captured(from, f);
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
             && !s.data.streaming)
        s.gated = false;
}

qsizetype WebSocketRelay::backlog(Direction from) const
{
    return side(from).queuedBytes;
}

qsizetype WebSocketRelay::heldCount(Direction from) const
{
    const auto &q = side(from).queue;
    return std::count_if(q.begin(), q.end(), [](const Unit &u) { return u.state != Unit::State::Ready; });
}

void WebSocketRelay::ended(Direction from, qint64 now)
{
    Side &s = side(from);
    while (const auto *m = s.assembler.flushIncomplete(now)) {
        if (!s.gated) {
            m_sink.captured(from, capture::factsOf(*m));
            continue;
        }
        // What arrived of it is passed on, as the ungated path would have.
        const bool control = ws::isControl(m->opcode) || ws::isReservedOpcode(m->opcode);
        onGatedMessage(from, *m, control ? s.control : s.data, now);
    }
    flushOut(from);
    if (m_close.tcpEndTime == 0)
        m_close.tcpEndTime = now;
}

} // namespace socktap::proxy
