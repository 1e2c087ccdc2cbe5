// What the scripts know of one WebSocket session and what they may do to it: the `session` object they get
// (id, url, state, send, close), their timers (setTimeout), and the onOpen/onClose hooks. Lives on the
// session's worker thread, shared by the interceptors that follow each other as the rules change, so
// `session.state` and pending timers outlive a rules edit or a script reload. Sans-I/O: commands and timers
// go out through the Io the relay gives it.
#pragma once

#include "ScriptRunner.h"

#include "core/capture/CaptureTypes.h"

#include <functional>
#include <map>
#include <memory>

namespace socktap::intercept {

class ScriptSession
{
public:
    struct Io
    {
        // A command of a script (send, close), carried out by the session after what is being decided.
        std::function<void(const SessionCommand &)> command;
        // Call fireTimer(timer) `ms` from now (on the session's thread), unless the session has gone.
        std::function<void(int timer, int ms)> schedule;
    };

    ScriptSession(std::shared_ptr<const ScriptSet> scripts, capture::SessionId id, QString url, Io io);
    ~ScriptSession();
    ScriptSession(const ScriptSession &) = delete;
    ScriptSession &operator=(const ScriptSession &) = delete;

    void setScripts(std::shared_ptr<const ScriptSet> scripts) { m_scripts = std::move(scripts); }
    const ScriptSet &scripts() const { return *m_scripts; }
    capture::SessionId id() const { return m_id; }
    // The scripts' `session` (made at first use in this thread's engine).
    QJSValue object();

    // From a script: a command for this session. While a message is being decided, commands wait in
    // `collecting` (they go out once that message is handled, in order); otherwise through Io::command.
    void command(SessionCommand command);
    void setCollecting(std::vector<SessionCommand> *into) { m_collecting = into; }

    // setTimeout: an id, or 0 and *error.
    int addTimer(const QJSValue &fn, const QString &script, int ms, QString *error);
    void clearTimer(int timer) { m_timers.erase(timer); }
    void fireTimer(int timer);

    void opened();
    // The session ended: onClose, then its timers are forgotten and commands refused.
    void closed(const capture::CloseInfo &close, const QString &detail);
    bool ended() const { return m_ended; }

    static constexpr size_t MaxTimers = 1000;

private:
    struct Timer
    {
        QJSValue fn;
        QString script;
    };

    std::shared_ptr<const ScriptSet> m_scripts;
    capture::SessionId m_id = 0;
    QString m_url;
    Io m_io;
    QJSValue m_object;
    std::vector<SessionCommand> *m_collecting = nullptr;
    std::map<int, Timer> m_timers;
    int m_nextTimer = 1;
    bool m_ended = false;
};

} // namespace socktap::intercept
