#include "ScriptRunner.h"

#include <QJSEngine>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace socktap::intercept {

namespace {

using Clock = std::chrono::steady_clock;

// One thread for every engine: it interrupts a call that runs past its deadline. setInterrupted is the
// one QJSEngine call made for another thread.
class Watchdog
{
public:
    static Watchdog &instance()
    {
        static Watchdog dog;
        return dog;
    }
    void arm(QJSEngine *engine, Clock::time_point deadline)
    {
        // No wake-up: the watchdog looks every 2 ms (a futex wake per call cost more than the call).
        std::lock_guard lock(m_mutex);
        m_deadlines[engine] = deadline;
    }
    void disarm(QJSEngine *engine)
    {
        std::lock_guard lock(m_mutex);
        m_deadlines.erase(engine);
    }

private:
    Watchdog()
        : m_thread([this](std::stop_token stop) { run(stop); })
    { }
    ~Watchdog()
    {
        m_thread.request_stop();
        m_wake.notify_one();
    }
    void run(std::stop_token stop)
    {
        std::unique_lock lock(m_mutex);
        while (!stop.stop_requested()) {
            const auto now = Clock::now();
            for (const auto &[engine, deadline] : m_deadlines)
                if (deadline <= now)
                    engine->setInterrupted(true);
            m_wake.wait_for(lock, stop, std::chrono::milliseconds(2), [] { return false; });
        }
    }

    std::mutex m_mutex;
    std::condition_variable_any m_wake;
    std::map<QJSEngine *, Clock::time_point> m_deadlines;
    std::jthread m_thread;
};

QString errorText(const QJSValue &error, const QString &path)
{
    const int line = error.property(QStringLiteral("lineNumber")).toInt();
    return QStringLiteral("%1:%2: %3").arg(path).arg(line).arg(error.toString());
}

// The script in a scope of its own, its functions handed back: a file of plain global functions keeps its
// line numbers (the wrapper adds nothing before its first line).
QString wrapped(const QString &source)
{
    return QStringLiteral("(function () {") + source
        + QStringLiteral(
               "\n;return { onMessage: typeof onMessage === 'function' ? onMessage : undefined };\n})()");
}

} // namespace

QString scriptError(const Script &script)
{
    QJSEngine engine;
    const QJSValue result = engine.evaluate(wrapped(script.source), script.path);
    return result.isError() ? errorText(result, script.path) : QString();
}

ScriptRunner::ScriptRunner()
    : m_engine(std::make_unique<QJSEngine>())
{
    m_engine->installExtensions(QJSEngine::ConsoleExtension); // console.log, to the program's log
}

ScriptRunner::~ScriptRunner()
{
    Watchdog::instance().disarm(m_engine.get());
}

ScriptRunner &ScriptRunner::forThisThread()
{
    thread_local ScriptRunner runner;
    return runner;
}

const std::vector<ScriptRunner::Loaded> &ScriptRunner::load(const ScriptSet &set)
{
    if (set.generation == m_generation && m_generation != 0)
        return m_loaded;
    m_generation = set.generation;
    m_loaded.clear();
    for (const Script &s : set.scripts) {
        Loaded loaded;
        loaded.name = s.name;
        Watchdog::instance().arm(m_engine.get(),
                                 Clock::now() + std::chrono::milliseconds(set.timeoutMs * 10));
        QJSValue result = m_engine->evaluate(wrapped(s.source), s.path);
        if (m_engine->hasError())
            result = m_engine->catchError();
        Watchdog::instance().disarm(m_engine.get());
        if (m_engine->isInterrupted()) {
            m_engine->setInterrupted(false);
            loaded.error =
                QStringLiteral("%1: stopped while loading after %2 ms").arg(s.path).arg(set.timeoutMs * 10);
        } else if (result.isError()) {
            loaded.error = errorText(result, s.path);
        } else {
            loaded.onMessage = result.property(QStringLiteral("onMessage"));
        }
        m_loaded.push_back(std::move(loaded));
    }
    return m_loaded;
}

QJSValue ScriptRunner::call(QJSValue fn, const QJSValueList &args, int timeoutMs, const QString &path,
                            QString *error)
{
    if (!fn.isCallable())
        return QJSValue();
    if (timeoutMs > 0)
        Watchdog::instance().arm(m_engine.get(), Clock::now() + std::chrono::milliseconds(timeoutMs));
    QJSValue result = fn.call(args);
    if (timeoutMs > 0)
        Watchdog::instance().disarm(m_engine.get());
    if (m_engine->isInterrupted()) {
        m_engine->setInterrupted(false);
        (void)m_engine->catchError();
        if (error)
            *error = QStringLiteral("%1: stopped after %2 ms (--script-timeout)").arg(path).arg(timeoutMs);
        return QJSValue();
    }
    const bool threw = m_engine->hasError();
    if (threw)
        result = m_engine->catchError(); // (a thrown value that is no Error object too)
    if (threw || result.isError()) {
        if (error)
            *error = errorText(result, path);
        return QJSValue();
    }
    return result;
}

} // namespace socktap::intercept
