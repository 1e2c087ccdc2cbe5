#include "ScriptRunner.h"

#include "ScriptLog.h"
#include "ScriptSession.h"

#include <QJSEngine>
#include <QJSManagedValue>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

namespace socktap::intercept {

namespace {

using Clock = std::chrono::steady_clock;

// The process's resident memory in bytes (/proc/self/statm), or -1.
qint64 residentBytes()
{
    static const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    char buf[128];
    const ssize_t n = fd >= 0 ? ::pread(fd, buf, sizeof buf - 1, 0) : -1;
    if (n <= 0)
        return -1;
    buf[n] = 0;
    long size = 0, resident = 0;
    if (std::sscanf(buf, "%ld %ld", &size, &resident) != 2)
        return -1;
    return qint64(resident) * ::sysconf(_SC_PAGESIZE);
}

// One thread for every engine: it interrupts a call that runs past its deadline, or whose memory grows
// past ScriptRunner::MemoryPerCall while it runs (Qt 6.4's engine has no heap limit of its own; the
// process's resident memory is what can be seen, from the first look at a call on). setInterrupted is the
// one QJSEngine call made for another thread.
class Watchdog
{
public:
    static Watchdog &instance()
    {
        // Never destroyed: engines of other threads may still go while the program exits.
        static Watchdog *dog = new Watchdog;
        return *dog;
    }
    void arm(QJSEngine *engine, Clock::time_point deadline)
    {
        // No wake-up while calls keep coming: the watchdog looks every 2 ms (a futex wake per call cost
        // more than the call); only after a second without calls does it sleep until the next one.
        // An engine keeps its entry between calls: arming allocates nothing.
        std::lock_guard lock(m_mutex);
        m_armed[engine] = {deadline, -1, false, true};
        ++m_active;
        ++m_calls;
        if (m_sleeping) {
            m_sleeping = false;
            m_wake.notify_one();
        }
    }
    // Whether the call was stopped for its memory.
    bool disarm(QJSEngine *engine)
    {
        std::lock_guard lock(m_mutex);
        const auto it = m_armed.find(engine);
        if (it == m_armed.end() || !it->second.active)
            return false;
        it->second.active = false;
        --m_active;
        return it->second.memory;
    }
    // The engine is going away.
    void forget(QJSEngine *engine)
    {
        std::lock_guard lock(m_mutex);
        const auto it = m_armed.find(engine);
        if (it == m_armed.end())
            return;
        m_active -= it->second.active ? 1 : 0;
        m_armed.erase(it);
    }

private:
    struct Armed
    {
        Clock::time_point deadline;
        qint64 baseline = -1; // resident bytes when the watchdog first saw the call
        bool memory = false;
        bool active = false; // a call is running
    };
    Watchdog()
        : m_thread([this](std::stop_token stop) { run(stop); })
    {
        m_thread.detach(); // (the process ends it)
    }
    void run(std::stop_token stop)
    {
        std::unique_lock lock(m_mutex);
        quint64 seen = 0;
        int quiet = 0; // looks without a call since the last one
        while (!stop.stop_requested()) {
            quiet = m_calls == seen && m_active == 0 ? quiet + 1 : 0;
            seen = m_calls;
            if (quiet > 500) {
                m_sleeping = true;
                m_wake.wait(lock, [this] { return !m_sleeping; });
                quiet = 0;
                continue;
            }
            if (m_active > 0) {
                const auto now = Clock::now();
                const qint64 resident = residentBytes(); // (only while a call runs: most calls never see it)
                for (auto &[engine, armed] : m_armed) {
                    if (!armed.active)
                        continue;
                    if (armed.baseline < 0)
                        armed.baseline = resident;
                    else if (resident >= 0 && resident - armed.baseline > ScriptRunner::MemoryPerCall)
                        armed.memory = true;
                    if (armed.deadline <= now || armed.memory)
                        engine->setInterrupted(true);
                }
            }
            m_wake.wait_for(lock, stop, std::chrono::milliseconds(2), [] { return false; });
        }
    }

    std::mutex m_mutex;
    std::condition_variable_any m_wake;
    std::map<QJSEngine *, Armed> m_armed;
    int m_active = 0;
    quint64 m_calls = 0;
    bool m_sleeping = false;
    std::jthread m_thread;
};

// The global `store`: one for every session on every thread, so its values are copies (JSON), not shared
// objects. Bounded.
class ScriptStore
{
public:
    static ScriptStore &instance()
    {
        static ScriptStore store;
        return store;
    }
    std::optional<QJsonValue> get(const QString &key) const
    {
        std::lock_guard lock(m_mutex);
        const auto it = m_values.find(key);
        return it == m_values.end() ? std::nullopt : std::optional<QJsonValue>(it->second.value);
    }
    bool set(const QString &key, const QJsonValue &value)
    {
        const qsizetype size = key.size() + sizeOf(value);
        std::lock_guard lock(m_mutex);
        auto it = m_values.find(key);
        const qsizetype before = it == m_values.end() ? 0 : it->second.size;
        if (m_bytes - before + size > Limit)
            return false;
        m_bytes += size - before;
        m_values[key] = {value, size};
        return true;
    }
    void remove(const QString &key)
    {
        std::lock_guard lock(m_mutex);
        if (const auto it = m_values.find(key); it != m_values.end()) {
            m_bytes -= it->second.size;
            m_values.erase(it);
        }
    }
    QStringList keys() const
    {
        std::lock_guard lock(m_mutex);
        QStringList out;
        for (const auto &[key, value] : m_values)
            out.append(key);
        return out;
    }
    static constexpr qsizetype Limit = 64 << 20;

private:
    static qsizetype sizeOf(const QJsonValue &v)
    {
        if (v.isObject())
            return QJsonDocument(v.toObject()).toJson(QJsonDocument::Compact).size();
        if (v.isArray())
            return QJsonDocument(v.toArray()).toJson(QJsonDocument::Compact).size();
        return v.isString() ? v.toString().size() * 2 : 8;
    }
    struct Entry
    {
        QJsonValue value;
        qsizetype size = 0;
    };
    mutable std::mutex m_mutex;
    std::map<QString, Entry> m_values;
    qsizetype m_bytes = 0;
};

QString errorText(const QJSValue &error, const QString &path)
{
    const int line = error.property(QStringLiteral("lineNumber")).toInt();
    return QStringLiteral("%1:%2: %3").arg(path).arg(line).arg(error.toString());
}

// The script in a scope of its own, its hooks handed back in Hook's order: a file of plain global
// functions keeps its line numbers (the wrapper adds nothing before its first line).
QString wrapped(const QString &source)
{
    QString hooks;
    for (int h = 0; h < HookCount; ++h)
        hooks += QStringLiteral("typeof %1 === 'function' ? %1 : undefined, ")
                     .arg(QLatin1String(hookName(Hook(h))));
    return QStringLiteral("(function (console, registerFormat) {") + source + QStringLiteral("\n;return [")
        + hooks + QStringLiteral("];\n})");
}

// What every engine has besides the language: console (per script), setTimeout, store, and the session
// object's maker. Nothing else: no file system, network or process.
const char *const Prelude = R"JS((function (host) {
    var setTimeout = function (fn, ms) {
        if (typeof fn !== 'function')
            throw new TypeError('setTimeout(fn, ms): fn must be a function');
        return host.setTimeout(fn, Number(ms) || 0);
    };
    var clearTimeout = function (id) { host.clearTimeout(Number(id) || 0); };
    // (Qt 6.4's engine refuses a Proxy that describes properties its target lacks: the target is brought
    // in step with the store before it is listed, so keys, for-in and JSON.stringify work.)
    var inStep = function (t) {
        Object.keys(t).forEach(function (k) { delete t[k]; });
        var keys = host.storeKeys(), out = [];
        for (var i = 0; i < keys.length; ++i) {
            var k = String(keys[i]);
            Object.defineProperty(t, k, { value: host.storeGet(k), enumerable: true, configurable: true,
                                          writable: true });
            out.push(k);
        }
        return out;
    };
    var store = new Proxy({}, {
        get: function (t, k) { return typeof k === 'string' ? host.storeGet(k) : undefined; },
        set: function (t, k, v) { host.storeSet(String(k), v); return true; },
        has: function (t, k) { return host.storeHas(String(k)); },
        deleteProperty: function (t, k) { host.storeDelete(String(k)); delete t[k]; return true; },
        ownKeys: function (t) { return inStep(t); },
        getOwnPropertyDescriptor: function (t, k) {
            inStep(t);
            return Object.getOwnPropertyDescriptor(t, k);
        }
    });
    function text(a) {
        if (typeof a === 'string')
            return a;
        if (a instanceof Error)
            return String(a);
        try {
            var s = JSON.stringify(a);
            return s === undefined ? String(a) : s;
        } catch (e) {
            return String(a);
        }
    }
    var newConsole = function (name) {
        function line(level) {
            return function () { host.log(name, level, Array.prototype.map.call(arguments, text).join(' ')); };
        }
        return { log: line('log'), info: line('log'), debug: line('log'), warn: line('warn'),
                 error: line('error') };
    };
    var newSession = function (id, url) {
        return {
            id: id, url: url, state: {},
            send: function (to, data) { host.send(id, String(to), data); },
            close: function (code, reason, to) {
                host.close(id, code === undefined ? 1000 : Number(code), reason === undefined ? '' : String(reason),
                           to === undefined ? 'both' : String(to));
            }
        };
    };
    function plainHeaders(h) {
        var o = {};
        if (h === null || typeof h !== 'object')
            return o;
        for (var k in h) {
            var v = h[k];
            if (v !== undefined && v !== null)
                o[k] = String(v);
        }
        return o;
    }
    function copy(v) {
        return v === undefined ? null : JSON.parse(JSON.stringify(v));
    }
    // A hook called, and what it returned read into plain data, all within the call's time limit (a
    // getter, a Proxy trap or a toString in the result runs here, where the watchdog can stop it).
    // What a hook threw, as plain data (its text may be a script of its own: this runs under the limit).
    var describe = function (e) {
        var line = 0, t;
        try {
            line = (e && e.lineNumber) || 0;
        } catch (x) {
        }
        try {
            t = text(e);
        } catch (x) {
            t = 'an exception whose text could not be read';
        }
        return { kind: 'error', text: t, line: line };
    };
    // What a hook returned, when it is an object (or a handshake's headers are wanted), read into plain
    // data while the call's time limit still holds: a getter, a Proxy trap or a toJSON in it is a script.
    var normalize = function (mode, r, a) {
        var out = { kind: 'other' };
        try {
            if (mode === 'handshake')
                out.headers = plainHeaders(a.headers);
            if (r === undefined) {
                out.kind = 'undefined';
            } else if (r === null) {
                out.kind = 'null';
            } else if (mode === 'value') {
                out.kind = 'value';
                out.value = copy(r);
            } else if (typeof r === 'string') {
                out.kind = 'text';
                out.text = r;
            } else if (typeof r === 'number') {
                out.kind = 'number';
                out.number = r;
            } else if (r instanceof ArrayBuffer) {
                out.kind = 'bytes';
                out.bytes = r;
            } else if (typeof r === 'object' && mode === 'message' && r.hold === true) {
                out.kind = 'hold';
            } else if (typeof r === 'object' && mode === 'message' && 'decoded' in r) {
                out.kind = 'decoded';
                out.value = copy(r.decoded);
            } else if (typeof r === 'object' && mode === 'message' && typeof r.text === 'string') {
                out.kind = 'text';
                out.text = r.text;
            } else if (typeof r === 'object' && mode === 'message' && r.bytes instanceof ArrayBuffer) {
                out.kind = 'bytes';
                out.bytes = r.bytes;
            } else if (typeof r === 'object' && mode === 'handshake' && typeof r.status === 'number') {
                out.kind = 'number';
                out.number = r.status;
                if (r.body !== undefined) {
                    out.hasBody = true;
                    out.text = String(r.body);
                }
            } else {
                out.text = text(r);
            }
        } catch (e) {
            return describe(e);
        }
        return out;
    };
    // (A plain copy of what the spec names, made while loading runs under the watchdog: later reads of it
    // run no getter.)
    var registerFormatOf = function (spec) {
        if (spec === null || typeof spec !== 'object')
            throw new TypeError('registerFormat({name, decode, ...}): an object');
        var subprotocols = spec.subprotocols;
        host.registerFormat({
            name: spec.name === undefined ? undefined : String(spec.name),
            decode: spec.decode, detect: spec.detect, summary: spec.summary, encode: spec.encode,
            subprotocols: typeof subprotocols === 'string' ? [subprotocols]
                : Array.isArray(subprotocols) ? subprotocols.map(String) : [],
            url: typeof spec.url === 'string' ? spec.url : '',
            binary: !!spec.binary
        });
    };
    return [newConsole, newSession, setTimeout, clearTimeout, store, normalize, registerFormatOf, describe];
}))JS";

} // namespace

const char *hookName(Hook hook)
{
    static const char *const names[HookCount] = {
        "onMessage", "onClientMessage", "onServerMessage", "onRequest", "onResponse", "onOpen", "onClose"};
    return names[int(hook)];
}

QJSValue toScript(QJSEngine &engine, const QJsonValue &value)
{
    return engine.toScriptValue(value.toVariant());
}

QJsonValue fromScript(const QJSValue &value)
{
    if (value.isUndefined())
        return QJsonValue(QJsonValue::Undefined);
    return QJsonValue::fromVariant(value.toVariant());
}

// What the prelude calls. Errors are thrown into the script (QJSEngine::throwError) with what went wrong.
class ScriptHost : public QObject
{
    Q_OBJECT
public:
    explicit ScriptHost(ScriptRunner &runner)
        : m_runner(runner)
    { }

    Q_INVOKABLE void log(const QString &script, const QString &level, const QString &text)
    {
        if (m_runner.m_quiet)
            return;
        const ScriptSession *s = m_runner.currentSession();
        ScriptLog::instance().add(script, s ? s->id() : 0,
                                  level == QLatin1String("error")      ? ScriptLogLine::Level::Error
                                      : level == QLatin1String("warn") ? ScriptLogLine::Level::Warn
                                                                       : ScriptLogLine::Level::Log,
                                  text);
    }
    Q_INVOKABLE void registerFormat(const QJSValue &spec)
    {
        if (!m_runner.m_loading)
            return fail(QStringLiteral("registerFormat() works at the top of a script, not in a hook"));
        const QString name = spec.property(QStringLiteral("name")).toString();
        if (!spec.isObject() || name.isEmpty() || spec.property(QStringLiteral("name")).isUndefined()
            || !spec.property(QStringLiteral("decode")).isCallable())
            return fail(
                QStringLiteral("registerFormat({name, decode, ...}): a name and a decode function are "
                               "needed"));
        m_runner.m_loading->formats[name] = spec;
    }
    Q_INVOKABLE int setTimeout(const QJSValue &fn, double ms)
    {
        ScriptSession *s = m_runner.currentSession();
        const ScriptRunner::Loaded *script = m_runner.currentScript();
        if (!s || !script) {
            fail(QStringLiteral("setTimeout() works in a session's hooks (its timers end with it)"));
            return 0;
        }
        QString error;
        const int id = s->addTimer(fn, script->name, int(std::clamp(ms, 0.0, 86'400'000.0)), &error);
        if (!id)
            fail(error);
        return id;
    }
    Q_INVOKABLE void clearTimeout(double id)
    {
        if (ScriptSession *s = m_runner.currentSession())
            s->clearTimer(int(id));
    }
    Q_INVOKABLE void send(double session, const QString &to, const QJSValue &data)
    {
        ScriptSession *s = target(session);
        if (!s)
            return;
        if (to != QLatin1String("client") && to != QLatin1String("server"))
            return fail(
                QStringLiteral("session.send(to, data): to is \"client\" or \"server\", not \"%1\"").arg(to));
        SessionCommand c;
        c.kind = SessionCommand::Kind::Send;
        c.from = to == QLatin1String("server") ? capture::Direction::ClientToServer
                                               : capture::Direction::ServerToClient;
        c.flag = capture::MessageFlag::Injected;
        c.by = by();
        if (data.isString()) {
            c.message = OutgoingMessage {1, data.toString().toUtf8(), 1};
        } else if (const QVariant bytes = data.toVariant(); bytes.typeId() == QMetaType::QByteArray) {
            c.message = OutgoingMessage {2, bytes.toByteArray(), 1};
        } else {
            return fail(QStringLiteral("session.send(to, data): data is a string (text) or an ArrayBuffer "
                                       "(binary)"));
        }
        s->command(std::move(c));
    }
    Q_INVOKABLE void close(double session, double code, const QString &reason, const QString &to)
    {
        ScriptSession *s = target(session);
        if (!s)
            return;
        if (to != QLatin1String("client") && to != QLatin1String("server") && to != QLatin1String("both"))
            return fail(QStringLiteral("session.close(code, reason, to): to is \"client\", \"server\" or "
                                       "\"both\", not \"%1\"")
                            .arg(to));
        const QByteArray r = reason.toUtf8();
        if (code < 0 || code > 65535 || r.size() > 123) // RFC 6455 5.5: a control frame's payload <= 125
            return fail(QStringLiteral("session.close(code, reason, to): a code from 0 to 65535 and a reason "
                                       "of at most 123 bytes"));
        SessionCommand c;
        c.kind = SessionCommand::Kind::Close;
        c.closeCode = quint16(code);
        c.closeReason = r;
        c.toClient = to != QLatin1String("server");
        c.toServer = to != QLatin1String("client");
        c.by = by();
        s->command(std::move(c));
    }
    Q_INVOKABLE QJSValue storeGet(const QString &key)
    {
        const auto v = ScriptStore::instance().get(key);
        return v ? toScript(*m_runner.m_engine, *v) : QJSValue();
    }
    Q_INVOKABLE void storeSet(const QString &key, const QJSValue &value)
    {
        if (value.isUndefined())
            return ScriptStore::instance().remove(key);
        if (value.isCallable())
            return fail(QStringLiteral("store.%1: a function cannot be kept between sessions").arg(key));
        if (!ScriptStore::instance().set(key, fromScript(value)))
            fail(QStringLiteral("store.%1: the store is full (%2 MiB)")
                     .arg(key)
                     .arg(ScriptStore::Limit >> 20));
    }
    Q_INVOKABLE bool storeHas(const QString &key) { return ScriptStore::instance().get(key).has_value(); }
    Q_INVOKABLE void storeDelete(const QString &key) { ScriptStore::instance().remove(key); }
    Q_INVOKABLE QStringList storeKeys() { return ScriptStore::instance().keys(); }

private:
    void fail(const QString &why) { m_runner.m_engine->throwError(QJSValue::TypeError, why); }
    QString by() const
    {
        const ScriptRunner::Loaded *script = m_runner.currentScript();
        return QStringLiteral("script %1").arg(script ? script->name : QStringLiteral("?"));
    }
    ScriptSession *target(double id)
    {
        ScriptSession *s = m_runner.session(capture::SessionId(id));
        if (!s || s->ended())
            fail(QStringLiteral("session %1 has ended (or is not this thread's: a session object works in "
                                "that session's hooks)")
                     .arg(capture::SessionId(id)));
        return s && !s->ended() ? s : nullptr;
    }

    ScriptRunner &m_runner;
};

QString scriptError(const Script &script, int timeoutMs)
{
    ScriptSet set;
    set.timeoutMs = timeoutMs;
    set.scripts.push_back(script);
    return set.inspect();
}

QString ScriptSet::inspect()
{
    // An engine of its own on this thread: the check must not disturb this thread's runner.
    ScriptRunner runner;
    runner.m_quiet = true;
    generation = ~0ull; // (any value: a fresh runner evaluates whatever it is given)
    const auto loadedSet = runner.load(*this);
    const ScriptRunner::LoadedSet &loaded = *loadedSet;
    std::fill(std::begin(hooks), std::end(hooks), false);
    formats.clear();
    wantsDecoded = false;
    wantsBytes = false;
    for (size_t i = 0; i < loaded.size(); ++i) {
        const ScriptRunner::Loaded &l = loaded[i];
        if (!l.error.isEmpty())
            return l.error;
        for (int h = 0; h < HookCount; ++h)
            hooks[h] = hooks[h] || l.hooks[h].isCallable();
        for (const auto &[name, spec] : l.formats) {
            ScriptFormatSpec f;
            f.script = int(i);
            f.name = name;
            const QJSValue sub = spec.property(QStringLiteral("subprotocols"));
            if (sub.isString())
                f.subprotocols = {sub.toString()};
            else if (sub.isArray())
                f.subprotocols = sub.toVariant().toStringList();
            const QJSValue url = spec.property(QStringLiteral("url"));
            f.urlPattern = url.isString() ? url.toString() : QString();
            f.binary = spec.property(QStringLiteral("binary")).toBool();
            formats.push_back(std::move(f));
        }
        // message.decoded costs a decode of every message: made only for scripts that read it.
        wantsDecoded = wantsDecoded || scripts[i].source.contains(QLatin1String("decoded"));
        wantsBytes = wantsBytes || scripts[i].source.contains(QLatin1String("bytes"));
    }
    generation = 0;
    return {};
}

ScriptRunner::ScriptRunner()
    : m_host(nullptr)
    , m_engine(std::make_unique<QJSEngine>())
{
    auto host = std::make_unique<ScriptHost>(*this);
    QJSEngine::setObjectOwnership(host.get(), QJSEngine::CppOwnership);
    const QJSValue makers =
        m_engine->evaluate(QString::fromUtf8(Prelude)).call({m_engine->newQObject(host.get())});
    if (!makers.isArray())
        qWarning("socktap: the scripts' prelude did not evaluate: %s", qPrintable(makers.toString()));
    m_newConsole = makers.property(0);
    m_newSession = makers.property(1);
    // (Qt 6.4's engine has no globalThis: the globals are set from here.)
    m_engine->globalObject().setProperty(QStringLiteral("setTimeout"), makers.property(2));
    m_engine->globalObject().setProperty(QStringLiteral("clearTimeout"), makers.property(3));
    m_engine->globalObject().setProperty(QStringLiteral("store"), makers.property(4));
    m_normalize = makers.property(5);
    m_registerFormat = makers.property(6);
    m_describe = makers.property(7);

    m_host = std::move(host);
}

ScriptRunner::~ScriptRunner()
{
    Watchdog::instance().forget(m_engine.get());
    m_sets.clear();
    m_newConsole = QJSValue();
    m_newSession = QJSValue();
    m_normalize = QJSValue();
    m_registerFormat = QJSValue();
    m_describe = QJSValue();

    m_engine.reset(); // before the host it calls
}

namespace {

thread_local std::unique_ptr<ScriptRunner> t_runner;

} // namespace

ScriptRunner &ScriptRunner::forThisThread()
{
    if (!t_runner)
        t_runner = std::make_unique<ScriptRunner>();
    return *t_runner;
}

void ScriptRunner::releaseThisThread()
{
    t_runner.reset();
}

void ScriptRunner::addSession(ScriptSession *session)
{
    m_sessions[session->id()] = session;
}

void ScriptRunner::removeSession(ScriptSession *session)
{
    if (const auto it = m_sessions.find(session->id()); it != m_sessions.end() && it->second == session)
        m_sessions.erase(it);
    if (m_currentSession == session)
        m_currentSession = nullptr;
}

ScriptSession *ScriptRunner::session(capture::SessionId id) const
{
    const auto it = m_sessions.find(id);
    return it == m_sessions.end() ? nullptr : it->second;
}

std::shared_ptr<const ScriptRunner::LoadedSet> ScriptRunner::load(const ScriptSet &set)
{
    for (const auto &[generation, loaded] : m_sets)
        if (generation == set.generation && generation != 0)
            return loaded;
    auto loadedSet = std::make_shared<LoadedSet>();
    loadedSet->reserve(set.scripts.size()); // m_loading points into it
    const int limitMs = set.timeoutMs * 10;
    for (const Script &s : set.scripts) {
        Loaded &loaded = loadedSet->emplace_back();
        loaded.name = s.name;
        loaded.path = s.path;
        loaded.health = s.health.get();
        Watchdog::instance().arm(m_engine.get(), Clock::now() + std::chrono::milliseconds(limitMs));
        QJSValue result = m_engine->evaluate(wrapped(s.source), s.path);
        if (!result.isError() && !m_engine->hasError()) {
            m_loading = &loaded;
            result = result.call({m_newConsole.call({s.name}), m_registerFormat});
            m_loading = nullptr;
        }
        if (m_engine->hasError())
            result = m_engine->catchError();
        // (What an error says is read before the watchdog lets go: a thrown object's toString is a script.)
        if (!m_engine->isInterrupted() && result.isError())
            loaded.error = errorText(result, s.path);
        else if (!m_engine->isInterrupted() && !result.isArray())
            loaded.error = QStringLiteral("%1: did not load: %2").arg(s.path, result.toString());
        Watchdog::instance().disarm(m_engine.get());
        if (m_engine->isInterrupted()) {
            m_engine->setInterrupted(false);
            loaded.error = QStringLiteral("%1: stopped while loading after %2 ms").arg(s.path).arg(limitMs);
        } else if (loaded.error.isEmpty()) {
            for (int h = 0; h < HookCount; ++h)
                loaded.hooks[h] = result.property(quint32(h));
        }
        if (!loaded.error.isEmpty() && !m_quiet)
            ScriptLog::instance().add(s.name, 0, ScriptLogLine::Level::Error,
                                      QStringLiteral("did not load: %1").arg(loaded.error));
    }
    m_sets.emplace_back(set.generation, loadedSet);
    if (m_sets.size() > 2)
        m_sets.erase(m_sets.begin());
    return loadedSet;
}

ScriptRunner::Outcome ScriptRunner::call(const Loaded &script, const QJSValue &fn, Mode mode,
                                         const QJSValueList &args, int timeoutMs, ScriptSession *session)
{
    Outcome out;
    if (!fn.isCallable() || script.health->disabled.load(std::memory_order_relaxed))
        return out;
    static const QJSValue modes[] = {QJSValue(QStringLiteral("message")),
                                     QJSValue(QStringLiteral("handshake")), QJSValue(QStringLiteral("value")),
                                     QJSValue(QStringLiteral("plain"))};
    ScriptSession *const outerSession = std::exchange(m_currentSession, session);
    const Loaded *const outerScript = std::exchange(m_currentScript, &script);
    const bool outermost = m_depth++ == 0;
    if (outermost && timeoutMs > 0)
        Watchdog::instance().arm(m_engine.get(), Clock::now() + std::chrono::milliseconds(timeoutMs));
    // (QJSManagedValue::call sets the engine's error when the function throws, where QJSValue::call hands
    // back the thrown value as if it were returned: a thrown object is then told apart at no extra cost.)
    const QJSValue returned = QJSManagedValue(fn, m_engine.get()).call(args);
    // A primitive is read as it is; an object (or a thrown value) is made plain data by the prelude before
    // the watchdog lets go, since reading it may run the script's code.
    QJSValue r;
    bool primitive = false;
    if (!m_engine->isInterrupted()) {
        if (m_engine->hasError()) {
            r = m_describe.call({m_engine->catchError()});
        } else if (mode == Mode::Handshake || returned.isObject())
            r = m_normalize.call({modes[int(mode)], returned, args.value(0)});
        else
            primitive = true;
    }
    const bool interrupted = m_engine->isInterrupted();
    const QString kind = interrupted || primitive ? QString() : r.property(QStringLiteral("kind")).toString();
    const bool memory = outermost && timeoutMs > 0 && Watchdog::instance().disarm(m_engine.get());
    --m_depth;
    m_currentSession = outerSession;
    m_currentScript = outerScript;

    // Plain data from here on: a primitive, or an object the prelude made with plain values.
    if (interrupted && outermost) {
        m_engine->setInterrupted(false);
        (void)m_engine->catchError();
        out.error = memory
            ? QStringLiteral("%1: stopped: memory grew by more than %2 MiB during the call")
                  .arg(script.path)
                  .arg(MemoryPerCall >> 20)
            : QStringLiteral("%1: stopped after %2 ms (--script-timeout)").arg(script.path).arg(timeoutMs);
        if (memory)
            m_engine->collectGarbage(); // what the call made is unreachable now
    } else if (m_engine->hasError() || r.isError()) {
        const QJSValue error = m_engine->hasError() ? m_engine->catchError() : r;
        out.error =
            QStringLiteral("%1: %2").arg(script.path, error.toString()); // (an engine error: no script)
    } else if (kind == QLatin1String("error")) {
        // (A thrown value that is no Error object has no line.)
        const int line = r.property(QStringLiteral("line")).toInt();
        out.error = line > 0
            ? QStringLiteral("%1:%2: %3")
                  .arg(script.path)
                  .arg(line)
                  .arg(r.property(QStringLiteral("text")).toString())
            : QStringLiteral("%1: %2").arg(script.path, r.property(QStringLiteral("text")).toString());
    }
    ScriptHealth &health = *script.health;
    if (out.error.isEmpty()) {
        if (health.failuresInARow.load(std::memory_order_relaxed)) // (no write to a shared line per call)
            health.failuresInARow.store(0, std::memory_order_relaxed);
        using K = Outcome::Kind;
        if (primitive) {
            if (returned.isUndefined()) {
                out.kind = K::Undefined;
            } else if (returned.isNull()) {
                out.kind = K::Null;
            } else if (mode == Mode::Value) {
                out.kind = K::Value;
                out.value = fromScript(returned);
            } else if (returned.isString()) {
                out.kind = K::Text;
                out.text = returned.toString();
            } else if (returned.isBool()) {
                out.kind = K::Boolean;
                out.flag = returned.toBool();
            } else if (returned.isNumber()) {
                out.kind = K::Number;
                out.number = returned.toNumber();
            } else {
                out.kind = K::Other;
                out.text = returned.toString();
            }
            return out;
        }
        static const std::pair<QLatin1String, K> kinds[] = {
            {QLatin1String("undefined"), K::Undefined}, {QLatin1String("null"), K::Null},
            {QLatin1String("text"), K::Text},           {QLatin1String("bytes"), K::Bytes},
            {QLatin1String("boolean"), K::Boolean},     {QLatin1String("number"), K::Number},
            {QLatin1String("hold"), K::Hold},           {QLatin1String("decoded"), K::Decoded},
            {QLatin1String("value"), K::Value},         {QLatin1String("other"), K::Other}};
        out.kind = K::Other;
        for (const auto &[name, k] : kinds)
            if (kind == name)
                out.kind = k;
        switch (out.kind) {
        case K::Text:
        case K::Other:
            out.text = r.property(QStringLiteral("text")).toString();
            break;
        case K::Bytes:
            out.bytes = r.property(QStringLiteral("bytes")).toVariant().toByteArray();
            break;
        case K::Boolean:
            out.flag = r.property(QStringLiteral("flag")).toBool();
            break;
        case K::Number:
            out.number = r.property(QStringLiteral("number")).toNumber();
            out.hasBody = r.property(QStringLiteral("hasBody")).toBool();
            out.text = out.hasBody ? r.property(QStringLiteral("text")).toString() : QString();
            break;
        case K::Decoded:
        case K::Value:
            out.value = fromScript(r.property(QStringLiteral("value")));
            break;
        default:
            break;
        }
        if (mode == Mode::Handshake) {
            const QVariantMap headers = r.property(QStringLiteral("headers")).toVariant().toMap();
            for (auto it = headers.constBegin(); it != headers.constEnd(); ++it)
                out.headers.emplace_back(it.key().toLatin1(), it.value().toString().toLatin1());
        }
        return out;
    }
    out.kind = Outcome::Kind::Failed;
    const capture::SessionId id = session ? session->id() : 0;
    ScriptLog::instance().add(script.name, id, ScriptLogLine::Level::Error, out.error);
    if (health.failuresInARow.fetch_add(1) + 1 >= DisableAfter && !health.disabled.exchange(true))
        ScriptLog::instance().add(
            script.name, id, ScriptLogLine::Level::Error,
            QStringLiteral(
                "disabled after %1 failures in a row; reload it (Tools > Scripts) or restart to run it "
                "again")
                .arg(DisableAfter));
    return out;
}

} // namespace socktap::intercept

#include "ScriptRunner.moc"
