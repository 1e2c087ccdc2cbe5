#include "Interceptor.h"

#include "core/decode/FormatRegistry.h"
#include "core/decode/JsonValue.h"
#include "core/ws/Frame.h"

#include <QJSEngine>
#include <QScopeGuard>

#include <algorithm>
#include <cstring>

namespace socktap::intercept {

using capture::Direction;

namespace {

// Whether haystack holds needle. Short payloads: the prepared Boyer-Moore-Horspool search (no per-call
// set-up); long ones: glibc's memmem, whose vectorised scan for the needle's first bytes wins there.
bool contains(QByteArrayView haystack, const QByteArray &needle,
              const std::boyer_moore_horspool_searcher<const char *> &searcher)
{
    if (haystack.size() < 2048)
        return std::search(haystack.begin(), haystack.end(), searcher) != haystack.end();
    return ::memmem(haystack.data(), size_t(haystack.size()), needle.constData(), size_t(needle.size()));
}

} // namespace

Interceptor::Interceptor(std::shared_ptr<const RuleSet> rules, QByteArrayView host, QByteArrayView path,
                         QByteArrayView subprotocol)
    : m_rules(std::move(rules))
    , m_hints {subprotocol.toByteArray(), path.toByteArray()}
{
    if (!m_rules)
        return;
    for (size_t i = 0; i < m_rules->rules.size(); ++i) {
        const Rule &r = m_rules->rules[i];
        if (!r.enabled || r.isHandshakeRule() || !r.matchesTarget(host, path))
            continue;
        if (r.action == Action::Throttle) {
            for (const Direction d : {Direction::ClientToServer, Direction::ServerToClient}) {
                auto &t = m_throttle[capture::directionIndex(d)];
                if (r.matchesSender(d) && (!t || r.bytesPerSecond < t->bytesPerSecond))
                    t = Throttle {r.bytesPerSecond, r.label(int(i) + 1)};
            }
            continue;
        }
        if (r.isTimedFault()) {
            for (SessionCommand &c : faultCommands(r, int(i) + 1))
                m_timedFaults.push_back({r.afterMs, std::move(c)});
            continue;
        }
        Applicable a {int(i), std::nullopt};
        if (!r.match.payload.isEmpty())
            a.payload.emplace(r.match.payload.constBegin(), r.match.payload.constEnd());
        m_applicable.push_back(std::move(a));
        if (r.needsDecoding() && !m_decoder)
            m_decoder = std::make_unique<decode::SessionDecoder>(decode::FormatRegistry::current(), m_hints);
        for (const Direction d : {Direction::ClientToServer, Direction::ServerToClient}) {
            if (r.matchesSender(d))
                m_ruleFor[capture::directionIndex(d)] = true;
        }
    }
}

void Interceptor::keepCountsOf(const Interceptor &previous)
{
    m_scriptSession = previous.m_scriptSession; // the scripts' session.state and timers go on too
    if (!m_rules || !previous.m_rules)
        return;
    for (Applicable &a : m_applicable) {
        const Rule &rule = m_rules->rules[size_t(a.index)];
        if (!rule.isFaultRule())
            continue;
        const QJsonObject same = ruleJson(rule);
        for (const Applicable &p : previous.m_applicable) {
            if (p.seen > 0 && ruleJson(previous.m_rules->rules[size_t(p.index)]) == same) {
                a.seen = p.seen;
                break;
            }
        }
    }
}

std::vector<SessionCommand> Interceptor::faultCommands(const Rule &r, int index)
{
    SessionCommand c;
    c.by = r.label(index);
    switch (r.action) {
    case Action::Close:
        c.kind = SessionCommand::Kind::Close;
        c.closeCode = quint16(r.closeCode);
        c.closeReason = r.closeReason;
        c.toClient = r.toward != SenderMatch::Server;
        c.toServer = r.toward != SenderMatch::Client;
        c.handshake = r.closeHandshake;
        break;
    case Action::Reset:
        c.kind = SessionCommand::Kind::Reset;
        c.toClient = r.toward != SenderMatch::Server;
        c.toServer = r.toward != SenderMatch::Client;
        break;
    default: { // Stall: one command per side that stops
        c.kind = SessionCommand::Kind::Stall;
        c.on = true;
        std::vector<SessionCommand> out;
        for (const Direction d : {Direction::ClientToServer, Direction::ServerToClient}) {
            if (r.stop == SenderMatch::Both
                || (r.stop == SenderMatch::Client) == (d == Direction::ClientToServer)) {
                c.from = d;
                out.push_back(c);
            }
        }
        return out;
    }
    }
    return {c};
}

std::optional<QByteArray> Interceptor::encodeValue(const decode::Decoded &decoded, const QJsonValue &after,
                                                   Direction from, quint8 opcode, QByteArrayView payload,
                                                   QString *why) const
{
    // The session's own decoder re-encodes (SockJS's STOMP goes back into SockJS framing); a message that
    // fell back to JSON is JSON.
    const decode::Decoder *format = decoded.format == QLatin1String("json")
        ? decode::FormatRegistry::current().find(decoded.format)
        : m_decoder->format();
    if (!decoded.decoded() || !format) {
        *why = decoded.decoded() ? QStringLiteral("%1 messages cannot be re-encoded yet").arg(decoded.format)
                                 : QStringLiteral("the message did not decode");
        return std::nullopt;
    }
    return format->encodeEdit(
        {payload, opcode == quint8(ws::Opcode::Binary), from == Direction::ServerToClient}, decoded.value,
        after, why);
}

Verdict Interceptor::decide(Direction from, quint8 opcode, QByteArrayView payload)
{
    // Every gated data message goes through the decoder, in order, whether or not a rule looks at it:
    // formats with state (MQTT's stream, Socket.IO's attachments) must see them all.
    std::optional<decode::Decoded> decoded;
    if (m_decoder && (opcode == quint8(ws::Opcode::Text) || opcode == quint8(ws::Opcode::Binary)))
        decoded = m_decoder->decode(
            m_decoded++, {payload, opcode == quint8(ws::Opcode::Binary), from == Direction::ServerToClient});
    Verdict v = decideByRules(from, opcode, payload, decoded);
    if (m_scripts && !v.drop && !v.hold)
        applyScripts(v, from, opcode, payload, decoded);
    return v;
}

void Interceptor::setScripts(std::shared_ptr<const ScriptSet> scripts, capture::SessionId id,
                             const QString &sessionUrl, ScriptSession::Io io)
{
    if (scripts && scripts->scripts.empty())
        scripts.reset();
    m_scripts = scripts;
    if (!m_scripts) {
        // No scripts now: the session object made earlier stays, with its state, for scripts loaded
        // again, but its timers and onClose have nothing to run.
        if (m_scriptSession)
            m_scriptSession->setScripts(nullptr);
        return;
    }
    if (m_scriptSession)
        m_scriptSession->setScripts(m_scripts);
    else
        m_scriptSession = std::make_shared<ScriptSession>(m_scripts, id, sessionUrl, std::move(io));
    // Only what a hook asks for is gated: the other direction keeps the byte-exact ungated path.
    const bool all = m_scripts->has(Hook::Message);
    m_ruleFor[0] = m_ruleFor[0] || all || m_scripts->has(Hook::ClientMessage);
    m_ruleFor[1] = m_ruleFor[1] || all || m_scripts->has(Hook::ServerMessage);
    if (m_scripts->wantsDecoded && (m_ruleFor[0] || m_ruleFor[1]) && !m_decoder)
        m_decoder = std::make_unique<decode::SessionDecoder>(decode::FormatRegistry::current(), m_hints);
}

namespace {

QString typeName(quint8 opcode)
{
    switch (ws::Opcode(opcode)) {
    case ws::Opcode::Text:
        return QStringLiteral("text");
    case ws::Opcode::Binary:
        return QStringLiteral("binary");
    case ws::Opcode::Close:
        return QStringLiteral("close");
    case ws::Opcode::Ping:
        return QStringLiteral("ping");
    case ws::Opcode::Pong:
        return QStringLiteral("pong");
    default:
        return QStringLiteral("opcode %1").arg(opcode);
    }
}

} // namespace

void Interceptor::applyScripts(Verdict &v, Direction from, quint8 opcode, QByteArrayView payload,
                               const std::optional<decode::Decoded> &decoded)
{
    const Hook own = from == Direction::ClientToServer ? Hook::ClientMessage : Hook::ServerMessage;
    if (!m_scripts->has(Hook::Message) && !m_scripts->has(own))
        return;
    ScriptRunner &runner = ScriptRunner::forThisThread();
    const auto loaded = runner.load(*m_scripts); // (held: a call may load another set)
    QJSEngine &engine = runner.engine();
    const QJSValue session = m_scriptSession->object();
    // Commands (session.send, session.close) go out once this message is handled, in order.
    m_scriptSession->setCollecting(&v.faults);
    const auto stopCollecting = qScopeGuard([this] { m_scriptSession->setCollecting(nullptr); });
    using Kind = ScriptRunner::Outcome::Kind;
    for (const ScriptRunner::Loaded &script : *loaded) {
        // (Made only when something is to be said: this loop runs for every message.)
        const auto label = [&script] { return QStringLiteral("script %1").arg(script.name); };
        if (!script.error.isEmpty()) {
            v.notes.append(QStringLiteral("%1 did not load: %2").arg(label(), script.error));
            continue;
        }
        for (const Hook hook : {Hook::Message, own}) {
            const QJSValue &fn = script.hook(hook);
            if (!fn.isCallable() || script.health->disabled.load(std::memory_order_relaxed))
                continue;
            const QByteArrayView current = v.payload ? QByteArrayView(*v.payload) : payload;
            QJSValue message = engine.newObject();
            message.setProperty(QStringLiteral("from"),
                                from == Direction::ClientToServer ? QStringLiteral("client")
                                                                  : QStringLiteral("server"));
            message.setProperty(QStringLiteral("type"), typeName(opcode));
            if (opcode == quint8(ws::Opcode::Text))
                message.setProperty(QStringLiteral("text"), QString::fromUtf8(current));
            else if (m_scripts->wantsBytes)
                message.setProperty(QStringLiteral("bytes"),
                                    engine.toScriptValue(current.toByteArray())); // an ArrayBuffer
            // The decoded value is the message's as it arrived: once a rule or a script changed it, it
            // would describe something else, so it is not given.
            const bool asArrived = !v.payload && decoded && decoded->decoded();
            if (asArrived) {
                message.setProperty(QStringLiteral("format"), decoded->format);
                message.setProperty(QStringLiteral("decoded"), toScript(engine, decoded->value));
            }
            const ScriptRunner::Outcome out =
                runner.call(script, fn, ScriptRunner::Mode::Message, {message, session}, m_scripts->timeoutMs,
                            m_scriptSession.get());
            switch (out.kind) {
            case Kind::Skipped:
            case Kind::Undefined:
                continue;
            case Kind::Failed:
                v.notes.append(QStringLiteral("%1: %2; forwarded as it came").arg(label(), out.error));
                continue;
            case Kind::Null:
                v.drop = true;
                v.notes.append(QStringLiteral("%1: dropped").arg(label()));
                return;
            case Kind::Hold:
                if (!m_scripts->canHold) {
                    v.notes.append(
                        QStringLiteral("%1: {hold: true} needs the window to release what it holds; "
                                       "forwarded as it came")
                            .arg(label()));
                    continue;
                }
                v.hold = true;
                v.notes.append(QStringLiteral("%1: held").arg(label()));
                return;
            case Kind::Decoded: {
                QString why = v.payload ? QStringLiteral("the message was changed before this script")
                                        : QStringLiteral("the message did not decode");
                auto encoded =
                    asArrived ? encodeValue(*decoded, out.value, from, opcode, current, &why) : std::nullopt;
                if (!encoded) {
                    v.notes.append(QStringLiteral("%1: decoded value not sent: %2; forwarded as it came")
                                       .arg(label(), why));
                    continue;
                }
                v.payload = std::move(*encoded);
                break;
            }
            case Kind::Text:
                v.payload = out.text.toUtf8();
                break;
            case Kind::Bytes:
                v.payload = out.bytes;
                break;
            default:
                v.notes.append(QStringLiteral("%1: %2 returned %3, not a string, an ArrayBuffer, an object "
                                              "({hold}, {text}, {bytes}, {decoded}), null or nothing; "
                                              "forwarded as it came")
                                   .arg(label(), QLatin1String(hookName(hook)),
                                        out.kind == Kind::Number ? QString::number(out.number)
                                            : out.kind == Kind::Boolean
                                            ? QString::fromLatin1(out.flag ? "true" : "false")
                                            : out.text));
                continue;
            }
            v.notes.append(QStringLiteral("%1: changed").arg(label()));
        }
    }
}

Verdict Interceptor::decideByRules(Direction from, quint8 opcode, QByteArrayView payload,
                                   const std::optional<decode::Decoded> &decoded)
{
    Verdict v;
    // Pausing a direction holds its data messages (Ping and Pong too when asked); the relay lets Ping and
    // Pong pass what is held, and holds a Close behind held messages for the user to decide.
    const bool pingPong = opcode == quint8(ws::Opcode::Ping) || opcode == quint8(ws::Opcode::Pong);
    if (paused(from) && (!ws::isControl(opcode) || (pingPong && pausesPingPong(from)))) {
        v.hold = true;
        v.notes.append(QStringLiteral("paused"));
    }
    for (Applicable &a : m_applicable) {
        const int i = a.index;
        const Rule &r = m_rules->rules[size_t(i)];
        const QByteArrayView current = v.payload ? QByteArrayView(*v.payload) : payload;
        if (a.payload && !contains(current, r.match.payload, *a.payload))
            continue; // the cheap test first; matchesMessage repeats it only for a rule that matches
        if (!r.matchesMessage(from, opcode, current))
            continue;
        if (r.needsDecoding() && (!decoded || !r.matchesDecoded(*decoded)))
            continue;
        const QString label = r.label(i + 1);
        switch (r.action) {
        case Action::Drop:
            v.drop = true;
            break;
        case Action::Delay:
            if (r.jitterMs > 0) {
                const int ms = drawDelay(r);
                v.delayMs += ms;
                v.notes.append(QStringLiteral("%1: delay %2 ms (%3 ± %4, %5)")
                                   .arg(label)
                                   .arg(ms)
                                   .arg(r.delayMs)
                                   .arg(r.jitterMs)
                                   .arg(r.spread == Spread::Normal ? QStringLiteral("normal")
                                                                   : QStringLiteral("uniform")));
                if (!r.continueAfter)
                    return v;
                continue;
            }
            v.delayMs += r.delayMs;
            break;
        case Action::Replace:
            v.payload = r.payload;
            break;
        case Action::RegexReplace: {
            QByteArray replaced = regexReplace(r.pattern, r.with, current);
            if (replaced == current) {
                // Nothing to replace: the bytes stay exact and nothing is claimed. The rule still matched,
                // so it still ends the evaluation unless it says "continue".
                if (!r.continueAfter)
                    return v;
                continue;
            }
            v.payload = std::move(replaced);
            break;
        }
        case Action::Hold:
            if (pingPong && !r.holdPingPong) {
                // The peers' keepalive passes a breakpoint unless the rule says otherwise.
                if (!r.continueAfter)
                    return v;
                continue;
            }
            v.hold = true;
            break;
        case Action::SetField: {
            QString why;
            std::optional<QByteArray> changed;
            if (const auto after = decode::withValueAt(decoded->value, r.fieldPath, r.fieldValue))
                changed = encodeValue(*decoded, *after, from, opcode, payload, &why);
            else if (decoded->decoded())
                why = QStringLiteral("%1 is not in this message").arg(r.fieldPathText);
            else
                changed = encodeValue(*decoded, {}, from, opcode, payload, &why); // (says why not)
            if (!changed) {
                // Forwarded as it came, and the record says why the edit did not happen.
                v.notes.append(QStringLiteral("%1: set-field not applied: %2").arg(label, why));
                if (!r.continueAfter)
                    return v;
                continue;
            }
            v.payload = std::move(*changed);
            break;
        }
        case Action::Respond: {
            if (ws::isControl(opcode)) {
                // A Ping's answer is the peer's Pong and a Close's its Close: not Socktap's to give.
                if (!r.continueAfter)
                    return v;
                continue;
            }
            // The template reads the message as this rule decodes it (a format or decoded condition),
            // else its payload as JSON: what another rule needs does not change what this one reads.
            QJsonValue value;
            if (r.needsDecoding() && decoded && decoded->decoded())
                value = decoded->value;
            else if (const auto json = decode::parseJson(current))
                value = *json;
            QString why;
            auto answer = fillTemplate(r, value, current, &why);
            if (!answer) {
                v.notes.append(QStringLiteral("%1: respond not sent: %2").arg(label, why));
                if (!r.continueAfter)
                    return v;
                continue;
            }
            v.replies.push_back(
                {quint8(r.respondBinary ? ws::Opcode::Binary : ws::Opcode::Text), std::move(*answer), 1});
            v.drop = v.drop || !r.forward;
            break;
        }
        case Action::Echo:
            if (ws::isControl(opcode)) {
                // A Ping's answer is the peer's Pong, not an echo of it.
                if (!r.continueAfter)
                    return v;
                continue;
            }
            v.replies.push_back({opcode, current.toByteArray(), 1});
            v.drop = v.drop || !r.forward;
            break;
        case Action::SetHeader:
        case Action::RemoveHeader:
        case Action::Refuse:
        case Action::Mock:
        case Action::Throttle:
            continue; // handshake rules and throttles are not message rules
        case Action::Close:
        case Action::Reset:
        case Action::Stall:
            // Only the afterMessages-th matching message is the trigger; before and after it the rule
            // is as if it had not matched, so later rules apply.
            if (++a.seen != r.afterMessages)
                continue;
            for (SessionCommand &c : faultCommands(r, i + 1))
                v.faults.push_back(std::move(c));
            v.notes.append(QStringLiteral("%1: %2").arg(label, faultText(r)));
            if (!r.continueAfter)
                return v;
            continue;
        }
        v.notes.append(QStringLiteral("%1: %2").arg(label, QLatin1String(actionName(r.action))));
        if (v.drop || !r.continueAfter)
            break;
    }
    return v;
}

} // namespace socktap::intercept
