// JavaScript addons (issue 21; docs/scripts.md): scripts with hooks on the handshake, the messages and the
// end of each WebSocket session, and formats of their own, run with Qt's QJSEngine where the relay takes its
// verdicts. One engine per thread (a worker's sessions share it; an engine is bound to the thread that made
// it); each script is evaluated once per engine in a scope of its own, so two scripts' functions do not
// clash. Every call has a time limit: a watchdog thread interrupts the engine past it
// (QJSEngine::setInterrupted). A script that fails on every call is disabled after a few and says so.
#pragma once

#include "SessionCommand.h"

#include <QJSValue>
#include <QString>
#include <QStringList>

#include <atomic>
#include <map>
#include <memory>
#include <vector>

class QJSEngine;
class QObject;

namespace socktap::intercept {

class ScriptSession;

// The hooks a script may define (plain global functions).
enum class Hook : quint8 {
    Message, // onMessage(message, session): both directions
    ClientMessage, // onClientMessage(message, session): what the client sends
    ServerMessage, // onServerMessage(message, session): what the server sends
    Request, // onRequest(handshake): the upgrade request, may change its headers or reject it
    Response, // onResponse(handshake): the 101, may change its headers
    Open, // onOpen(session)
    Close, // onClose(session, close)
};
constexpr int HookCount = 7;
const char *hookName(Hook hook);

// Shared by every engine running the script: failures in a row, and whether it was disabled for them.
struct ScriptHealth
{
    std::atomic<int> failuresInARow {0};
    std::atomic<bool> disabled {false};
};

struct Script
{
    QString name; // the file's name, for notes: "script chat.js"
    QString path; // for errors: file:line
    QString source;
    std::shared_ptr<ScriptHealth> health = std::make_shared<ScriptHealth>();
};

// A format a script registered (registerFormat): what the format registry needs to route sessions to it.
struct ScriptFormatSpec
{
    int script = 0; // index in ScriptSet::scripts
    QString name;
    QStringList subprotocols;
    QString urlPattern;
    bool binary = false;
};

struct ScriptSet
{
    std::vector<Script> scripts; // run in order
    int timeoutMs = 100; // per call
    bool canHold = true; // {hold: true} holds for the user: false when no window is there to release it
    quint64 generation = 0; // set by the hub: engines evaluate a set once
    // Found by inspect(): which hooks some script defines (the relay gates only what is asked for), the
    // formats registered, and whether onMessage reads message.decoded (then messages are decoded for it).
    bool hooks[HookCount] = {};
    bool wantsDecoded = false;
    bool wantsBytes = false; // whether a script mentions message.bytes (an ArrayBuffer copy per message)
    std::vector<ScriptFormatSpec> formats;

    bool has(Hook h) const { return hooks[int(h)]; }
    // Evaluates every script once in an engine of its own: a syntax error or an exception at load gives
    // "FILE:LINE: message" (and nothing is filled in); otherwise the fields above are.
    QString inspect();
};

// Whether source is JavaScript that evaluates: empty, or "FILE:LINE: message".
QString scriptError(const Script &script);

class ScriptRunner
{
public:
    struct Loaded
    {
        QString name;
        QString path;
        QJSValue hooks[HookCount]; // undefined where the script defines none
        std::map<QString, QJSValue> formats; // registerFormat's objects by name
        QString error; // evaluating it failed: "FILE:LINE: message"
        ScriptHealth *health = nullptr;

        const QJSValue &hook(Hook h) const { return hooks[int(h)]; }
    };

    // This thread's runner (made on first use, gone with the thread).
    static ScriptRunner &forThisThread();

    // The set's scripts in this thread's engine, evaluated when the set is new to it.
    const std::vector<Loaded> &load(const ScriptSet &set);
    // Calls fn with args within timeoutMs, as `script` on behalf of `session` (for its commands and
    // timers; null outside a session). On an exception or the limit: an undefined value and *error
    // ("FILE:LINE: message", "stopped after 100 ms"), logged and counted against the script. Disabled
    // scripts are not called (undefined, no error).
    QJSValue call(const Loaded &script, const QJSValue &fn, const QJSValueList &args, int timeoutMs,
                  ScriptSession *session, QString *error);
    QJSEngine &engine() { return *m_engine; }

    // Sessions of this thread, by id: what session.send() and session.close() reach.
    void addSession(ScriptSession *session);
    void removeSession(ScriptSession *session);
    ScriptSession *session(capture::SessionId id) const;
    // Who is calling now (for console lines, commands and setTimeout).
    ScriptSession *currentSession() const { return m_currentSession; }
    const Loaded *currentScript() const { return m_currentScript; }

    // Failures in a row that disable a script.
    static constexpr int DisableAfter = 5;
    // How much the process's memory may grow while one call runs before it is stopped.
    static constexpr qint64 MemoryPerCall = qint64(256) << 20;

    ScriptRunner();
    ~ScriptRunner();

private:
    friend class ScriptHost;
    friend class ScriptSession;
    friend struct ScriptSet;
    std::unique_ptr<QObject> m_host; // what the engine's prelude calls (outlives the engine)
    std::unique_ptr<QJSEngine> m_engine;
    QJSValue m_newSession; // makes a session object
    QJSValue m_newConsole; // makes a script's console
    quint64 m_generation = 0;
    std::vector<Loaded> m_loaded;
    Loaded *m_loading = nullptr; // registerFormat's target while a script is evaluated
    std::map<capture::SessionId, ScriptSession *> m_sessions;
    ScriptSession *m_currentSession = nullptr;
    const Loaded *m_currentScript = nullptr;
    int m_depth = 0; // calls in progress (a call from within a call keeps the outer deadline)
    bool m_quiet = false; // inspect(): console lines at load are not logged twice
};

// A JSON value as a script sees it (objects, arrays, numbers...), and back.
QJSValue toScript(QJSEngine &engine, const QJsonValue &value);
QJsonValue fromScript(const QJSValue &value);

} // namespace socktap::intercept
