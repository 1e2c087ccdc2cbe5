// The decision for each message of one session: forward as received, hold for the user, drop, delay, or
// forward a changed payload. Sans-I/O: the relay asks, acts on the verdict, and keeps the bytes; this
// class holds the session's rules and pause toggles and nothing else.
#pragma once

#include "Rule.h"
#include "ScriptRunner.h"
#include "ScriptSession.h"
#include "SessionCommand.h"

#include "core/decode/SessionDecoder.h"

#include <functional>
#include <memory>
#include <optional>

namespace socktap::intercept {

struct Verdict
{
    bool drop = false;
    bool hold = false; // wait for the user (a breakpoint, or the direction is paused)
    int delayMs = 0;
    std::optional<QByteArray> payload; // changed by a rule
    QStringList notes; // one per rule applied: "rule 2 'tokens': regex-replace"
    // Respond and echo: messages Socktap sends back to the sender (queued before the original is
    // forwarded; the two go opposite ways), or instead of it with drop.
    std::vector<OutgoingMessage> replies;
    // Close, reset and stall rules whose trigger this message was: carried out once it has been handled.
    std::vector<SessionCommand> faults;

    bool forwardsAsIs() const { return !drop && !hold && delayMs == 0 && !payload; }
    QString note() const { return notes.join(QStringLiteral("; ")); }
};

class Interceptor
{
public:
    Interceptor() = default;
    // The rules that can apply to a session with this target are picked once, here. `subprotocol`: the one
    // the handshake agreed, for rules on what messages mean (their format).
    Interceptor(std::shared_ptr<const RuleSet> rules, QByteArrayView host, QByteArrayView path,
                QByteArrayView subprotocol = {});

    // Whether messages sent by `from` must meet decide() before they are forwarded. When false the relay
    // forwards bytes as they arrive, without waiting for a message to complete.
    bool gates(capture::Direction from) const
    {
        const int i = capture::directionIndex(from);
        return m_paused[i] || m_ruleFor[i];
    }
    // holdPingPong: the pause holds Ping and Pong frames too (by default they pass it: a peer's keepalive
    // must not starve while the user looks).
    void setPaused(capture::Direction from, bool on, bool holdPingPong = false)
    {
        m_paused[capture::directionIndex(from)] = on;
        m_pausedPingPong[capture::directionIndex(from)] = on && holdPingPong;
    }
    bool pausesPingPong(capture::Direction from) const
    {
        return m_pausedPingPong[capture::directionIndex(from)];
    }
    bool paused(capture::Direction from) const { return m_paused[capture::directionIndex(from)]; }

    // First matching rule wins unless it says "continue"; a paused direction holds every data message.
    // Not const: rules on what messages mean decode each gated data message in order (stateful formats).
    Verdict decide(capture::Direction from, quint8 opcode, QByteArrayView payload);

    // Faults on a timer from the upgrade (afterMs), for this session's target: when, and what.
    struct TimedFault
    {
        int afterMs = 0;
        SessionCommand command;
    };
    const std::vector<TimedFault> &timedFaults() const { return m_timedFaults; }
    // Throttle rules for this session: the lowest rate that applies to what `from` sends, and its rule.
    struct Throttle
    {
        qint64 bytesPerSecond = 0;
        QString by;
    };
    std::optional<Throttle> throttle(capture::Direction from) const
    {
        return m_throttle[capture::directionIndex(from)];
    }
    // JavaScript addons for this session (docs/scripts.md): a direction is gated when a script has a hook
    // for its messages. sessionUrl: what `session.url` says to them; io: where their commands and timers go.
    void setScripts(std::shared_ptr<const ScriptSet> scripts, capture::SessionId id,
                    const QString &sessionUrl, ScriptSession::Io io);
    // The scripts' onOpen, onClose and timers (nothing without scripts).
    void opened()
    {
        if (m_scriptSession)
            m_scriptSession->opened();
    }
    void closed(const capture::CloseInfo &close, const QString &detail)
    {
        if (m_scriptSession)
            m_scriptSession->closed(close, detail);
    }
    void fireTimer(int timer)
    {
        if (m_scriptSession)
            m_scriptSession->fireTimer(timer);
    }
    // A rules edit builds a new interceptor: fault rules it kept as they were go on counting their matching
    // messages from where `previous` was (an edited or new rule starts at 0); the scripts' session object
    // (its state) is kept.
    void keepCountsOf(const Interceptor &previous);
    // What a fault rule does, as commands carrying its label (a stall of both sides is two).
    static std::vector<SessionCommand> faultCommands(const Rule &rule, int index);

private:
    struct Applicable
    {
        int index = 0; // in m_rules
        // The payload substring's search, prepared once (the needle lives in m_rules): a gated direction
        // tests every message against every rule, so this is the relay's hot spot.
        std::optional<std::boyer_moore_horspool_searcher<const char *>> payload;
        int seen = 0; // fault rules: matching messages so far (the trigger is the afterMessages-th)
    };
    // set-field: the decoded value changed and re-encoded; nullopt with `why` when it cannot be.
    Verdict decideByRules(capture::Direction from, quint8 opcode, QByteArrayView payload,
                          const std::optional<decode::Decoded> &decoded);
    void applyScripts(Verdict &v, capture::Direction from, quint8 opcode, QByteArrayView payload,
                      const std::optional<decode::Decoded> &decoded);
    // `after` (the decoded value, changed) in the message's format, framed as the payload was; nullopt
    // with `why` when it cannot be.
    std::optional<QByteArray> encodeValue(const decode::Decoded &decoded, const QJsonValue &after,
                                          capture::Direction from, quint8 opcode, QByteArrayView payload,
                                          QString *why) const;

    std::shared_ptr<const RuleSet> m_rules;
    // Only when an applicable rule needs what messages mean: the relay's path decodes nothing otherwise.
    std::unique_ptr<decode::SessionDecoder> m_decoder;
    quint64 m_decoded = 0; // messages given to m_decoder
    std::vector<Applicable> m_applicable; // enabled message rules whose host and path match this session
    std::vector<TimedFault> m_timedFaults;
    std::optional<Throttle> m_throttle[2];
    bool m_ruleFor[2] = {false, false};
    decode::SessionHints m_hints; // for a decoder made later (scripts that read message.decoded)
    std::shared_ptr<const ScriptSet> m_scripts;
    // The scripts' view of the session (its state, timers), shared with the interceptors after this one.
    std::shared_ptr<ScriptSession> m_scriptSession;
    bool m_paused[2] = {false, false};
    bool m_pausedPingPong[2] = {false, false};
};

} // namespace socktap::intercept
