#include "WebSocketSession.h"

#include "core/capture/Clock.h"
#include "core/capture/TextFormat.h"
#include "core/intercept/InterceptHub.h"
#include "core/ws/ClosePayload.h"

#include <QTimer>

#include <algorithm>
#include <cmath>

namespace socktap::proxy {

using capture::nowMicros;
using intercept::CommandResult;
using intercept::SessionCommand;

namespace {

WebSocketRelay::Options relayOptions(const ProxyConfig &config, std::optional<ws::DeflateParams> deflate)
{
    WebSocketRelay::Options o;
    o.strict = config.strict;
    o.maxPayload = config.maxMessageCapture;
    o.maxHold = config.maxMessageCapture;
    o.budget = config.messagesInProgress.get();
    o.deflate = deflate;
    return o;
}

// A half-closed leg (its FIN passed on) takes no more bytes: writing would fail and reset the connection.
bool writable(const StreamSocket *s)
{
    return s && s->isOpen() && !s->writeShut();
}

} // namespace

WebSocketSession::WebSocketSession(const ProxyConfig &config, capture::CaptureWriter &capture, Owner owner,
                                   std::optional<ws::DeflateParams> deflate, QObject *parent)
    : QObject(parent)
    , m_config(config)
    , m_capture(capture)
    , m_owner(std::move(owner))
    , m_relay(relayOptions(config, deflate), *this)
{
    followRules();
    m_interceptor.opened(); // the scripts' onOpen (what it sends waits for the connection's next turn)
    // Faults on a timer run from the upgrade, with the rules of that moment.
    if (m_owner.fault)
        for (const auto &timed : m_interceptor.timedFaults())
            m_owner.fault(timed.command, timed.afterMs);
    // A stalled side is not read, so its FIN or reset would go unseen: while anything is stalled, look
    // for a hang-up now and then, and let the side be read again when its peer has left, so that the
    // session ends with the true reason (its unread bytes then cross, as a path that recovers would).
    m_stallWatch.setInterval(200);
    connect(&m_stallWatch, &QTimer::timeout, this, [this] {
        for (const Direction from : {Direction::ClientToServer, Direction::ServerToClient}) {
            StreamSocket *source = senderOf(from);
            if (!m_stalled[capture::directionIndex(from)] || (source && !source->peerHungUp()))
                continue;
            m_stalled[capture::directionIndex(from)] = false;
            if (!m_untaken[capture::directionIndex(from)].isEmpty())
                QTimer::singleShot(0, this, [this, from] { takeUntaken(from); });
            m_owner.session->faults.append(
                QStringLiteral("%1 the %2 ended its connection while stalled: read again, so that the end "
                               "is seen")
                    .arg(capture::clockTime(nowMicros()), QLatin1String(capture::directionName(from))));
            m_owner.publish();
            resumeIfRelieved(from);
        }
        if (!m_stalled[0] && !m_stalled[1])
            m_stallWatch.stop();
    });
}

WebSocketSession::~WebSocketSession()
{
    forgetHeld();
}

StreamSocket *WebSocketSession::receiverOf(Direction d) const
{
    return d == Direction::ClientToServer ? m_owner.upstream : m_owner.client;
}

StreamSocket *WebSocketSession::senderOf(Direction d) const
{
    return d == Direction::ClientToServer ? m_owner.client : m_owner.upstream;
}

void WebSocketSession::followRules()
{
    // One atomic load per chunk: rules edited in the window reach live sessions at their next message.
    const intercept::InterceptHub *hub = m_config.intercept.get();
    const quint64 generation = hub ? hub->rulesGeneration() : 0;
    if (generation == m_rulesGeneration)
        return;
    m_rulesGeneration = generation;
    const capture::SessionInfo &s = *m_owner.session;
    intercept::Interceptor next =
        hub ? intercept::Interceptor(hub->rules(), s.host, s.path, s.subprotocol) : intercept::Interceptor();
    for (const Direction d : {Direction::ClientToServer, Direction::ServerToClient})
        next.setPaused(d, m_interceptor.paused(d), m_interceptor.pausesPingPong(d)); // the user's pauses kept
    next.keepCountsOf(m_interceptor); // a fault rule left as it was keeps counting towards its trigger
    if (hub)
        next.setScripts(hub->scripts(), s.id, QString::fromLatin1(s.url()), scriptIo());
    m_interceptor = std::move(next);
    m_relay.setInterceptor(&m_interceptor);
    followThrottles();
}

intercept::ScriptSession::Io WebSocketSession::scriptIo()
{
    intercept::ScriptSession::Io io;
    // A script's send or close, carried out on the connection's timer (never inside the relay's call).
    io.command = [this](const SessionCommand &c) {
        if (m_owner.fault)
            m_owner.fault(c, 0);
    };
    // setTimeout: on this session's object, so a timer dies with the session.
    io.schedule = [this](int timer, int ms) {
        QTimer::singleShot(ms, Qt::PreciseTimer, this, [this, timer] {
            followRules(); // the scripts of now (a reload or a removal since the timer was set)
            m_interceptor.fireTimer(timer);
        });
    };
    return io;
}

namespace {

// A throttle lets this much through at once (then the rate): a twentieth of a second's worth, so a slow
// rate is not one burst a second, and at least a small read's worth.
double burstOf(qint64 bytesPerSecond)
{
    return std::max(double(bytesPerSecond) / 20, 1024.0);
}

} // namespace

void WebSocketSession::followThrottles()
{
    const qint64 now = nowMicros();
    for (const Direction d : {Direction::ClientToServer, Direction::ServerToClient}) {
        const auto rule = m_interceptor.throttle(d);
        auto &t = m_throttle[capture::directionIndex(d)];
        if ((rule ? rule->bytesPerSecond : 0) == (t ? t->bytesPerSecond : 0))
            continue;
        if (rule) {
            const bool wasThrottled = t.has_value();
            if (!t)
                t = ReadThrottle {rule->bytesPerSecond, burstOf(rule->bytesPerSecond), now, false};
            t->bytesPerSecond = rule->bytesPerSecond;
            m_owner.session->faults.append(
                QStringLiteral("%1 %2 %3 → %4 to %5 bytes/s (%6)")
                    .arg(capture::clockTime(now),
                         wasThrottled ? QStringLiteral("throttle now holds") : QStringLiteral("throttled"),
                         QLatin1String(capture::directionName(d)),
                         QLatin1String(capture::directionName(capture::opposite(d))))
                    .arg(rule->bytesPerSecond)
                    .arg(rule->by));
        } else {
            t.reset();
            m_owner.session->faults.append(
                QStringLiteral("%1 no longer throttled %2 → %3 (the rules changed)")
                    .arg(capture::clockTime(now), QLatin1String(capture::directionName(d)),
                         QLatin1String(capture::directionName(capture::opposite(d)))));
            QTimer::singleShot(0, this, [this, d] { resumeIfRelieved(d); });
        }
        if (m_owner.publish)
            m_owner.publish();
    }
}

qsizetype WebSocketSession::readAllowance(Direction from)
{
    auto &t = m_throttle[capture::directionIndex(from)];
    if (!t)
        return -1;
    const qint64 now = nowMicros();
    t->tokens = std::min(burstOf(t->bytesPerSecond),
                         t->tokens + double(t->bytesPerSecond) * double(now - t->at) / 1e6);
    t->at = now;
    // A read's worth at least (not a byte at a time: over TLS a read decrypts a whole record whatever it
    // was allowed, and is charged for it), well before the bucket is full (what comes in past that is
    // lost to the rate).
    const double aRead = std::min(burstOf(t->bytesPerSecond) / 2, 4096.0);
    if (t->tokens >= aRead)
        return qsizetype(t->tokens);
    if (!t->wakeScheduled) {
        t->wakeScheduled = true;
        const double wanted = aRead - t->tokens;
        const int ms = std::max(1, int(std::ceil(wanted * 1000 / double(t->bytesPerSecond))));
        QTimer::singleShot(ms, Qt::PreciseTimer, this, [this, from] {
            if (auto &t = m_throttle[capture::directionIndex(from)])
                t->wakeScheduled = false;
            followRules(); // an edited rate applies now, not at the next byte the other way
            resumeIfRelieved(from);
        });
    }
    return 0;
}

void WebSocketSession::readTaken(Direction from, qsizetype bytes)
{
    if (auto &t = m_throttle[capture::directionIndex(from)])
        t->tokens -= double(bytes);
}

void WebSocketSession::received(Direction from, QByteArrayView bytes)
{
    QByteArray &waiting = m_untaken[capture::directionIndex(from)];
    if (!waiting.isEmpty()) {
        waiting.append(bytes); // behind bytes still waiting for their turn: order is kept
        if (StreamSocket *source = senderOf(from))
            source->setReadEnabled(false);
        return;
    }
    followRules();
    const qsizetype taken = m_relay.received(from, bytes, nowMicros());
    if (taken < bytes.size()) {
        // Decoding spent its slice (a compressed message inflating megabytes): other connections on this
        // worker get their turn before the rest is decoded.
        QByteArray &untaken = m_untaken[capture::directionIndex(from)];
        untaken = bytes.sliced(taken).toByteArray();
        QTimer::singleShot(0, this, [this, from] { takeUntaken(from); });
    }
    // Backpressure behind a hold: nothing may be forwarded, so the receiver's queue cannot say stop.
    if (!mayRead(from))
        if (StreamSocket *source = senderOf(from))
            source->setReadEnabled(false);
}

void WebSocketSession::takeUntaken(Direction from)
{
    // A fault at a message boundary ran first (it was queued first): a stall keeps the rest until it is
    // resumed, and an ended session takes nothing more.
    if (m_stalled[capture::directionIndex(from)] || m_owner.session->close.end != capture::EndReason::None)
        return;
    const QByteArray bytes = std::exchange(m_untaken[capture::directionIndex(from)], QByteArray());
    if (bytes.isEmpty())
        return;
    m_relay.startSlice(from); // a new turn of the event loop
    received(from, bytes);
    resumeIfRelieved(from);
}

void WebSocketSession::ended(Direction from, bool reset)
{
    const qint64 now = nowMicros();
    m_relay.ended(from, now);
    // From now on what the other side sends does not reach `from`: recorded as such, never as forwarded.
    QString &why = m_gone[capture::directionIndex(from)];
    // A peer that sent its Close and then ended TCP has done its part of the closing handshake (its
    // answer is written as before); one that reset, or ended TCP without a Close, has gone.
    const bool closedFirst = m_relay.closeArrived(from);
    if (why.isEmpty() && (reset || !closedFirst)) {
        const QString who = QLatin1String(capture::directionName(from));
        why = reset ? QStringLiteral("not delivered: the %1 had reset the connection (%2)")
                          .arg(who, capture::clockTime(now))
                    : QStringLiteral("not delivered: the %1 had ended TCP (%2), and a WebSocket peer that "
                                     "ends TCP reads no more (RFC 6455 7.1.1)")
                          .arg(who, capture::clockTime(now));
        m_goneByReset[capture::directionIndex(from)] = reset;
        m_relay.setUndeliverable(capture::opposite(from));
    }
}

// --- WebSocketRelay::Sink ---

void WebSocketSession::forward(Direction from, QByteArrayView bytes)
{
    StreamSocket *to = receiverOf(from);
    if (!to || bytes.isEmpty())
        return;
    if (m_goneByReset[capture::directionIndex(capture::opposite(from))] || !to->isOpen())
        return; // nothing can be written to a reset connection (the capture says not delivered)
    to->write(bytes);
    // Backpressure: stop reading the sender while the receiver has too much queued (TCP then slows the
    // sender down) or while too much of it waits behind a held message.
    StreamSocket *source = senderOf(from);
    if (source
        && (to->pendingWrite() > m_config.highWaterNow() || m_relay.backlog(from) > m_config.highWaterNow()))
        source->setReadEnabled(false);
}

void WebSocketSession::captured(Direction from, const capture::MessageFacts &message)
{
    capture::SessionInfo &s = *m_owner.session;
    const QString &gone = m_gone[capture::directionIndex(capture::opposite(from))];
    if (!gone.isEmpty()) {
        capture::MessageFacts undelivered = message;
        undelivered.flags |= capture::MessageFlag::Undelivered;
        undelivered.note = message.note.isEmpty() ? gone : message.note + QStringLiteral("; ") + gone;
        m_capture.message(s.id, from, undelivered);
    } else {
        m_capture.message(s.id, from, message);
    }
    // Session-level facts that change with messages: the closing handshake and violations.
    const bool closing =
        message.opcode == quint8(ws::Opcode::Close) && s.state == capture::SessionState::Open;
    if (closing)
        s.state = capture::SessionState::Closing;
    if (closing || m_relay.violations() != s.violations)
        m_owner.publish();
    if (message.opcode == quint8(ws::Opcode::Close) && m_owner.closeReceived)
        m_owner.closeReceived(from);
    if (m_capture.wantsFlush())
        m_capture.flush();
}

void WebSocketSession::fail(Direction from, quint16 code, const QString &why)
{
    m_owner.failed(from, code, why);
}

void WebSocketSession::held(const intercept::HeldMessage &message)
{
    if (!m_config.intercept)
        return;
    intercept::HeldMessage h = message;
    h.session = m_owner.session->id;
    h.url = m_owner.session->url();
    m_config.intercept->addHeld(std::move(h));
}

void WebSocketSession::unheld(Direction from, quint64 id)
{
    if (m_config.intercept)
        m_config.intercept->removeHeld(m_owner.session->id, from, id);
}

void WebSocketSession::forgetHeld()
{
    // The session ended: bytes still waiting for their decoding turn belong to nothing any more.
    m_untaken[0].clear();
    m_untaken[1].clear();
    if (m_config.intercept && m_owner.session->id)
        m_config.intercept->removeSession(m_owner.session->id);
}

void WebSocketSession::delay(Direction from, quint64 id, int ms)
{
    QTimer::singleShot(ms, this, [this, from, id] {
        m_relay.release(from, id, nullptr, nowMicros());
        resumeIfRelieved(from);
    });
}

bool WebSocketSession::canSend(Direction from) const
{
    return writable(receiverOf(from));
}

void WebSocketSession::resumeIfRelieved(Direction from)
{
    if (!mayRead(from))
        return;
    StreamSocket *source = senderOf(from);
    StreamSocket *to = receiverOf(from);
    if (source && source->isOpen() && !source->readEnabled()
        && (!to || to->pendingWrite() <= m_config.highWaterNow()))
        source->setReadEnabled(true);
    if (m_relay.backlog(from) == 0 && m_owner.backlogCleared)
        m_owner.backlogCleared(from);
}

// --- commands from the window or the console ---

CommandResult WebSocketSession::command(const SessionCommand &c)
{
    if (m_relay.failed())
        return CommandResult::failure(QStringLiteral("session %1 is being closed").arg(m_owner.session->id));
    const qint64 now = nowMicros();
    CommandResult result;
    switch (c.kind) {
    case SessionCommand::Kind::Release:
        result = m_relay.release(c.from, c.id, c.message ? &*c.message : nullptr, now);
        break;
    case SessionCommand::Kind::Drop:
        result = m_relay.drop(c.from, c.id, now);
        break;
    case SessionCommand::Kind::ReleaseAll:
        m_interceptor.setPaused(c.from, false);
        m_relay.releaseAll(c.from, now);
        m_relay.refreshGates();
        break;
    case SessionCommand::Kind::SetPause:
        m_interceptor.setPaused(c.from, c.on, c.holdPingPong);
        m_relay.refreshGates();
        break;
    case SessionCommand::Kind::Send:
        if (!c.message)
            return CommandResult::failure(QStringLiteral("nothing to send"));
        if (!writable(receiverOf(c.from)))
            return CommandResult::failure(
                QStringLiteral("nothing more can be sent to the %1: that side of the connection is closed")
                    .arg(QLatin1String(capture::directionName(capture::opposite(c.from)))));
        if (m_relay.closeArrived(c.from) && c.message->opcode != quint8(ws::Opcode::Close))
            return CommandResult::failure(
                QStringLiteral("nothing more can be sent to the %1: a Close went that way (RFC 6455 5.5.1)")
                    .arg(QLatin1String(capture::directionName(capture::opposite(c.from)))));
        m_relay.send(c.from, *c.message, c.flag, now, c.by);
        break;
    case SessionCommand::Kind::Close: {
        // What the session's faults say is where a Close went, not where it was meant to go.
        const bool toClient = c.toClient && writable(m_owner.client);
        const bool toServer = c.toServer && writable(m_owner.upstream);
        sendClose(c.closeCode, c.closeReason, toClient, toServer, false, c.by);
        if (!c.by.isEmpty()) {
            const QString close =
                QStringLiteral("Close %1%2")
                    .arg(c.closeCode)
                    .arg(c.closeReason.isEmpty()
                             ? QString()
                             : QStringLiteral(" '%1'").arg(QString::fromUtf8(c.closeReason)));
            m_owner.session->faults.append(
                !toClient && !toServer
                    ? QStringLiteral("%1 %2 not sent: that side's connection is closed (%3)")
                          .arg(capture::clockTime(now), close, c.by)
                    : QStringLiteral("%1 sent %2 toward %3 (%4)")
                          .arg(capture::clockTime(now), close,
                               toClient && toServer ? QStringLiteral("both sides")
                                   : toClient       ? QStringLiteral("the client")
                                                    : QStringLiteral("the server"),
                               c.by));
            m_owner.publish();
        }
        break;
    }
    case SessionCommand::Kind::Reset:
        break; // the connection handles it: ending the connection is not this class's job
    case SessionCommand::Kind::Stall: {
        // Socktap stops reading the sender: nothing it sends crosses, TCP stays up, and once the kernel's
        // buffers fill the sender's writes wait too, as on a half-open network path. The peers' own
        // timers (a heartbeat timeout) decide what happens next.
        bool &stalled = m_stalled[capture::directionIndex(c.from)];
        if (stalled == c.on)
            break;
        stalled = c.on;
        m_owner.session->faults.append(
            QStringLiteral("%1 %2 %3 → %4 (%5)")
                .arg(capture::clockTime(now), c.on ? QStringLiteral("stalled") : QStringLiteral("resumed"),
                     QLatin1String(capture::directionName(c.from)),
                     QLatin1String(capture::directionName(capture::opposite(c.from))),
                     c.by.isEmpty() ? QStringLiteral("the user") : c.by));
        m_owner.publish();
        if (c.on) {
            if (StreamSocket *source = senderOf(c.from))
                source->setReadEnabled(false);
            m_stallWatch.start();
        } else if (!m_untaken[capture::directionIndex(c.from)].isEmpty()) {
            // What was read before the stall took hold and kept back: it crosses now, in order.
            QTimer::singleShot(0, this, [this, from = c.from] { takeUntaken(from); });
        }
        break;
    }
    }
    resumeIfRelieved(c.from);
    return result;
}

void WebSocketSession::fault(const SessionCommand &command)
{
    if (m_owner.fault)
        m_owner.fault(command, 0);
}

void WebSocketSession::sendClose(quint16 code, const QByteArray &reason, bool toClient, bool toServer,
                                 bool immediately, const QString &note)
{
    // The 2-byte code as given (invalid ones too: a testing tool sends what it is asked to), then the reason.
    QByteArray payload;
    payload.append(char(code >> 8)).append(char(code & 0xff)).append(reason);
    const intercept::OutgoingMessage close {quint8(ws::Opcode::Close), payload, 1};
    const qint64 now = nowMicros();
    if (toClient && writable(m_owner.client))
        m_relay.send(Direction::ServerToClient, close, capture::MessageFlag::Injected, now, note,
                     immediately);
    if (toServer && writable(m_owner.upstream))
        m_relay.send(Direction::ClientToServer, close, capture::MessageFlag::Injected, now, note,
                     immediately);
}

} // namespace socktap::proxy
