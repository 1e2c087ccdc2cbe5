// WebSocketRelay, continued: the gated path. Messages are kept until complete, decided by the
// Interceptor, queued behind held ones, released, edited, dropped or delayed on command; Socktap's own
// messages wait for a boundary; a changed compressed direction is re-compressed (see WebSocketRelay.h).
#include "WebSocketRelayUnit.h"

#include "core/capture/CaptureWriter.h"
#include "core/ws/Utf8Validator.h"

#include <algorithm>

namespace socktap::proxy {

using intercept::CommandResult;
using intercept::OutgoingMessage;

namespace {

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

void WebSocketRelay::keep(Side &s, Accumulator &acc, QByteArrayView bytes)
{
    if (acc.streaming) {
        s.out.append(bytes);
        return;
    }
    acc.raw.append(bytes);
    // A message too large to hold streams through, unless something is held ahead of it; so does one the
    // memory budget for messages in progress has no more room for (it could not be kept whole to edit).
    if (&acc == &s.data && (acc.raw.size() > m_options.maxHold || s.assembler.refusing())
        && s.queue.empty()) {
        s.out.append(acc.raw);
        acc.raw.clear();
        acc.streaming = true;
    }
}

qsizetype WebSocketRelay::receivedGated(Direction from, QByteArrayView bytes, qint64 now)
{
    Side &s = side(from);
    qsizetype pos = 0;
    for (;;) {
        const qsizetype eventStart = pos;
        const ws::FrameParser::Event ev = s.parser.next(nextInput(s, bytes, pos));
        pos += ev.consumed;
        using Kind = ws::FrameParser::Event::Kind;
        if (ev.kind == Kind::NeedMore) {
            // A header split across chunks: the parser keeps its first bytes, and so must the gate.
            s.headerPart.append(bytes.sliced(eventStart, ev.consumed));
            if (pos < bytes.size())
                continue; // only a step of a compressed payload was offered
            break;
        }
        if (ev.kind == Kind::Error) {
            noteViolations(from, ev.violations);
            if (failIfStrict(from, ev.violations))
                return bytes.size();
            // Nothing after this can be decoded: what was kept and the rest pass through as they are.
            s.undecodable = true;
            for (Accumulator *acc : {&s.data, &s.control})
                s.out.append(std::exchange(acc->raw, QByteArray()));
            s.out.append(std::exchange(s.headerPart, QByteArray()));
            s.out.append(bytes.sliced(eventStart));
            pos = bytes.size();
            break;
        }
        if (ev.kind == Kind::Header) {
            noteViolations(from, ev.violations);
            if (failIfStrict(from, ev.violations))
                return bytes.size();
            if (const auto *abandoned = s.assembler.handle(ev, now)) {
                onGatedMessage(from, *abandoned, s.data, now);
                s.assembler.release();
            }
            const quint8 op = ev.header.opcode;
            s.current = ws::isControl(op) || ws::isReservedOpcode(op) ? &s.control : &s.data;
            if (!s.headerPart.isEmpty())
                keep(s, *s.current, std::exchange(s.headerPart, QByteArray()));
            keep(s, *s.current, bytes.sliced(eventStart, ev.consumed));
            continue;
        }
        if (ev.kind == Kind::Payload)
            keep(s, *s.current, ev.payload);
        if (const auto *m = s.assembler.handle(ev, now)) {
            onGatedMessage(from, *m, *s.current, now);
            s.assembler.release();
            if (m_failed)
                return bytes.size();
            if (std::exchange(s.faultRaised, false) && pos < bytes.size())
                break; // the fault first: what came after its message waits for it (a stall, a reset)
        }
        if (ev.kind == Kind::Payload && sliceSpent(s) && pos < bytes.size())
            break; // decoding has had its time: the rest waits for the next turn of the event loop
    }
    sendPending(from, now);
    flushOut(from);
    applyGateChange(from);
    return pos;
}

void WebSocketRelay::onGatedMessage(Direction from, const ws::MessageAssembler::Message &m, Accumulator &acc,
                                    qint64 now)
{
    Side &s = side(from);
    if (m.opcode == quint8(ws::Opcode::Close))
        m_closeArrived[capture::directionIndex(from)] = true;
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
        const QString why = m.truncated && !m.note.isEmpty()
            ? QStringLiteral("not kept whole (%1): passed through as it arrived").arg(m.note)
            : QStringLiteral("larger than the hold limit: passed through as it arrived");
        f.note = why;
        if (m.opcode == quint8(ws::Opcode::Close))
            noteClose(from, m.close.code, m.close.reason, now);
        m_sink.captured(from, f);
        return;
    }
    intercept::Verdict v =
        m_interceptor ? m_interceptor->decide(from, m.opcode, m.payload) : intercept::Verdict {};
    // Respond and echo answer the sender: sent as the other peer's, at its direction's next boundary; never
    // after a Close went that way (RFC 6455 5.5.1) or into a side that is closed or gone.
    if (!v.replies.empty()) {
        const Direction back = capture::opposite(from);
        const int b = capture::directionIndex(back);
        if (m_closeArrived[b] || m_undeliverable[b] || !m_sink.canSend(back)) {
            v.notes.append(QStringLiteral("answer not sent: the %1 can receive nothing more (%2)")
                               .arg(QLatin1String(capture::directionName(from)),
                                    m_closeArrived[b] ? QStringLiteral("a Close was sent to it")
                                                      : QStringLiteral("its connection is closed")));
        } else {
            for (const intercept::OutgoingMessage &reply : v.replies)
                send(back, reply, capture::MessageFlag::Injected, now, v.note());
        }
    }
    for (const intercept::SessionCommand &fault : v.faults)
        m_sink.fault(fault);
    s.faultRaised = s.faultRaised || !v.faults.empty();
    if (v.forwardsAsIs() && s.queue.empty()) {
        // The common case: nothing to change and nothing ahead. The frames go out as received; a rule that
        // matched and could not act ("set-field not applied: ...") says so in the record.
        capture::MessageFacts f = capture::factsOf(m);
        if (!v.notes.isEmpty())
            f.note = v.note();
        sendAsIs(from, f, acc.raw, now);
        acc.raw.resize(0);
        return;
    }
    const bool pingPong = m.opcode == quint8(ws::Opcode::Ping) || m.opcode == quint8(ws::Opcode::Pong);
    if (v.forwardsAsIs() && pingPong) {
        // A Ping or Pong passes what is held (RFC 6455 5.4: control frames may come between the frames of
        // others; what is queued is whole messages, so this is a frame boundary): the peers' keepalive
        // must not time out while the user looks at a breakpoint.
        capture::MessageFacts f = capture::factsOf(m);
        f.note = QStringLiteral("passed %1 held message(s) (pings and pongs are not held unless asked)")
                     .arg(s.queue.size());
        sendAsIs(from, f, acc.raw, now);
        acc.raw.resize(0);
        return;
    }
    Unit u(m, std::exchange(acc.raw, QByteArray()));
    u.id = s.nextId++;
    u.note = v.note();
    const bool whole = !m.truncated && !m.incomplete && !m.violations.testFlag(ws::Violation::InflateFailed);
    if (v.payload && whole)
        u.change = OutgoingMessage {m.opcode, *v.payload, 1};
    else if (v.payload)
        u.note += QStringLiteral(" (not applied: only part of the message was decoded)");
    if (v.drop) {
        recordDropped(from, u);
        return;
    }
    const bool heldAhead = std::any_of(s.queue.begin(), s.queue.end(),
                                       [](const Unit &q) { return q.state == Unit::State::Held; });
    if (!v.hold && m.opcode == quint8(ws::Opcode::Close) && heldAhead) {
        // A Close would cut off the held messages ahead of it: it is held too, shown, and the user decides
        // (forward everything, or drop what is held first).
        v.hold = true;
        u.note += (u.note.isEmpty() ? QString() : QStringLiteral("; "))
            + QStringLiteral("held behind the held messages it would cut off");
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
    if (s.deflater || !u.received().compressed || !m_options.deflate
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
    if (u.received().compressed) {
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
    f.original = u.received().payload;
    f.wirePayload = e.wirePayload;
    f.payloadSize = quint64(c.payload.size());
    f.wireSize = quint64(e.wire.size());
    f.frameCount = e.frames.size();
    f.frames = e.frames;
    f.compressed = e.compressed;
    f.violations = checkOwnPayload(c.opcode, c.payload);
    f.firstFrameTime = u.received().firstFrameTime;
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
    h.opcode = u.change ? u.change->opcode : u.received().opcode;
    h.payload = u.change ? u.change->payload : u.message.payload;
    h.truncated = u.received().truncated;
    h.compressed = u.received().compressed;
    h.wireSize = u.received().wireSize;
    h.frameCount = u.received().frameCount;
    h.heldSince = u.received().lastFrameTime;
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
    if (m_failed)
        return CommandResult::failure(QStringLiteral("the connection is being closed"));
    Unit *u = findHeld(from, id);
    if (!u)
        return CommandResult::failure(QStringLiteral("no message %1 from the %2 is held")
                                          .arg(id)
                                          .arg(QLatin1String(capture::directionName(from))));
    if (edit && u->received().truncated)
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
    if (m_failed)
        return CommandResult::failure(QStringLiteral("the connection is being closed"));
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
    if (m_failed)
        return;
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

} // namespace socktap::proxy
