#include "ScriptSession.h"

#include "ScriptLog.h"

#include <QJSEngine>

namespace socktap::intercept {

ScriptSession::ScriptSession(std::shared_ptr<const ScriptSet> scripts, capture::SessionId id, QString url,
                             Io io)
    : m_scripts(std::move(scripts))
    , m_id(id)
    , m_url(std::move(url))
    , m_io(std::move(io))
{
    ScriptRunner::forThisThread().addSession(this);
}

ScriptSession::~ScriptSession()
{
    ScriptRunner::forThisThread().removeSession(this);
}

QJSValue ScriptSession::object()
{
    if (m_object.isUndefined())
        m_object = ScriptRunner::forThisThread().m_newSession.call({double(m_id), m_url});
    return m_object;
}

void ScriptSession::command(SessionCommand command)
{
    if (m_collecting)
        m_collecting->push_back(std::move(command));
    else if (m_io.command)
        m_io.command(command);
}

int ScriptSession::addTimer(const QJSValue &fn, const QString &script, int ms, QString *error)
{
    if (m_ended || !m_io.schedule) {
        *error = QStringLiteral("setTimeout(): session %1 has ended").arg(m_id);
        return 0;
    }
    if (m_timers.size() >= MaxTimers) {
        *error =
            QStringLiteral("setTimeout(): session %1 has %2 timers pending already").arg(m_id).arg(MaxTimers);
        return 0;
    }
    const int id = m_nextTimer++;
    m_timers[id] = {fn, script};
    m_io.schedule(id, ms);
    return id;
}

void ScriptSession::fireTimer(int timer)
{
    const auto it = m_timers.find(timer);
    if (it == m_timers.end() || m_ended || !m_scripts)
        return;
    const Timer t = std::move(it->second);
    m_timers.erase(it);
    ScriptRunner &runner = ScriptRunner::forThisThread();
    // The script that set it, as loaded now (a reload keeps its timers: they call the function they got;
    // a script removed meanwhile takes its timers with it).
    const auto loaded = runner.load(*m_scripts);
    for (const ScriptRunner::Loaded &script : *loaded) {
        if (script.name == t.script) {
            runner.call(script, t.fn, ScriptRunner::Mode::Plain, {}, m_scripts->timeoutMs, this);
            return;
        }
    }
}

void ScriptSession::opened()
{
    if (!m_scripts || !m_scripts->has(Hook::Open))
        return;
    ScriptRunner &runner = ScriptRunner::forThisThread();
    const auto loaded = runner.load(*m_scripts);
    for (const ScriptRunner::Loaded &script : *loaded)
        runner.call(script, script.hook(Hook::Open), ScriptRunner::Mode::Plain, {object()},
                    m_scripts->timeoutMs, this);
}

void ScriptSession::closed(const capture::CloseInfo &close, const QString &detail)
{
    if (m_ended)
        return;
    // Ended before onClose runs: nothing can be sent or timed from it (a clear error if it tries).
    m_ended = true;
    m_timers.clear();
    if (!m_scripts || !m_scripts->has(Hook::Close))
        return;
    ScriptRunner &runner = ScriptRunner::forThisThread();
    QJSEngine &engine = runner.engine();
    QJSValue info = engine.newObject();
    // What an application would see (RFC 6455 7.1.5), who closed first, and how TCP ended.
    info.setProperty(QStringLiteral("code"), close.effectiveCode());
    if (close.firstCloser) {
        const int i = capture::directionIndex(*close.firstCloser);
        info.setProperty(QStringLiteral("reason"), QString::fromUtf8(close.reason[i]));
        info.setProperty(QStringLiteral("by"),
                         *close.firstCloser == capture::Direction::ClientToServer ? QStringLiteral("client")
                                                                                  : QStringLiteral("server"));
    } else {
        info.setProperty(QStringLiteral("reason"), QString());
        info.setProperty(QStringLiteral("by"), QJSValue(QJSValue::NullValue));
    }
    info.setProperty(QStringLiteral("clean"), close.handshakeCompleted());
    info.setProperty(QStringLiteral("end"), QLatin1String(capture::endReasonName(close.end)));
    info.setProperty(QStringLiteral("detail"), detail);
    const auto loaded = runner.load(*m_scripts);
    for (const ScriptRunner::Loaded &script : *loaded)
        runner.call(script, script.hook(Hook::Close), ScriptRunner::Mode::Plain, {object(), info},
                    m_scripts->timeoutMs, this);
}

} // namespace socktap::intercept
