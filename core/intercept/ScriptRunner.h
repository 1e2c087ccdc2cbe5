// JavaScript addons (issue 21; docs/scripts.md): scripts with hooks on the handshake, the messages and the
// end of each WebSocket session, and formats of their own, run with Qt's QJSEngine where the relay takes its
// verdicts. One engine per thread (a worker's sessions share it; an engine is bound to the thread that made
// it); each script is evaluated once per engine in a scope of its own, so two scripts' functions do not
// clash. Every call has a time limit: a watchdog thread interrupts the engine past it
// (QJSEngine::setInterrupted). A script that fails on every call is disabled after a few and says so.
#pragma once

#include "SessionCommand.h"

#include <QJSValue>
#include <QJsonValue>
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
// timeoutMs: the calls' limit (loading may take ten times that).
QString scriptError(const Script &script, int timeoutMs = 100);

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
    // A set as this engine evaluated it: callers hold it while they call into it (a call may load another
    // set, a script's format for instance, without pulling this one from under them).
    using LoadedSet = std::vector<Loaded>;

    // What a call gave, read into plain data while the call's time limit still held (a getter, a Proxy or
    // a toString in what a script returns runs under the watchdog too).
    struct Outcome
    {
        enum class Kind : quint8 {
            Skipped, // no function, or the script is disabled
            Failed, // an exception, the time limit or the memory limit: `error`
            Undefined,
            Null,
            Text, // a string (or {text}): `text`
            Bytes, // an ArrayBuffer (or {bytes}): `bytes`
            Boolean, // `flag`
            Number, // `number` (a handshake hook's status, or {status, body}: `text` is the body)
            Hold, // {hold: true}
            Decoded, // {decoded: value}: `value`
            Value, // Mode::Value: any JSON-like value, copied: `value`
            Other, // anything else: `text` says what
        };
        Kind kind = Kind::Skipped;
        QString text;
        QByteArray bytes;
        QJsonValue value;
        double number = 0;
        bool flag = false;
        bool hasBody = false;
        std::vector<std::pair<QByteArray, QByteArray>> headers; // Mode::Handshake: args[0].headers after
        QString error; // "FILE:LINE: message", "FILE: stopped after 100 ms (--script-timeout)"
    };
    enum class Mode : quint8 {
        Message, // string, ArrayBuffer, null, {hold}, {text}, {bytes}, {decoded}
        Handshake, // a status (number or {status, body}); the first argument's headers read back
        Value, // a decoder's result: JSON-like data, copied
        Plain, // strings, ArrayBuffers, booleans
    };

    // This thread's runner (made on first use; releaseThisThread() ends it).
    static ScriptRunner &forThisThread();
    // Ends this thread's runner and its engine (a worker does it once its sessions are gone, before the
    // thread ends: an engine must go on the thread that made it, while Qt is still up).
    static void releaseThisThread();

    // The set's scripts in this thread's engine, evaluated when the set is new to it (the last two sets
    // are kept: a reload meets sessions that have not seen it yet).
    std::shared_ptr<const LoadedSet> load(const ScriptSet &set);
    // Calls fn(args) within timeoutMs, as `script` on behalf of `session` (for its commands and timers;
    // null outside a session). A failure (exception, time or memory limit) is logged and counted against
    // the script. Disabled scripts are not called (Skipped).
    Outcome call(const Loaded &script, const QJSValue &fn, Mode mode, const QJSValueList &args, int timeoutMs,
                 ScriptSession *session);
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
    QJSValue m_normalize; // reads what a hook returned into plain data, under the time limit
    QJSValue m_describe; // the same for what a hook threw
    QJSValue m_registerFormat;
    std::vector<std::pair<quint64, std::shared_ptr<LoadedSet>>> m_sets; // by generation, newest last
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
