#include "ScriptLog.h"

#include "core/capture/Clock.h"
#include "core/capture/TextFormat.h"

#include <algorithm>

namespace socktap::intercept {

QString ScriptLogLine::display() const
{
    QString out = capture::clockTime(time) + QLatin1Char(' ') + script;
    if (session)
        out += QStringLiteral(" session %1").arg(session);
    switch (level) {
    case Level::Warn:
        out += QStringLiteral(" warning");
        break;
    case Level::Error:
        out += QStringLiteral(" error");
        break;
    case Level::Log:
        break;
    }
    return out + QStringLiteral(": ") + text;
}

ScriptLog &ScriptLog::instance()
{
    static ScriptLog log;
    return log;
}

void ScriptLog::add(const QString &script, capture::SessionId session, ScriptLogLine::Level level,
                    const QString &text)
{
    std::lock_guard lock(m_mutex);
    ScriptLogLine line {++m_seq, capture::nowMicros(), script, session, level, text};
    if (m_listener)
        m_listener(line);
    m_lines.push_back(std::move(line));
    if (m_lines.size() > Limit) {
        m_lines.pop_front();
        ++m_evicted;
    }
}

std::vector<ScriptLogLine> ScriptLog::since(quint64 seq) const
{
    std::lock_guard lock(m_mutex);
    std::vector<ScriptLogLine> out;
    for (auto it = m_lines.rbegin(); it != m_lines.rend() && it->seq > seq; ++it)
        out.push_back(*it);
    std::reverse(out.begin(), out.end());
    return out;
}

quint64 ScriptLog::lastSeq() const
{
    std::lock_guard lock(m_mutex);
    return m_seq;
}

quint64 ScriptLog::evicted() const
{
    std::lock_guard lock(m_mutex);
    return m_evicted;
}

void ScriptLog::clear()
{
    std::lock_guard lock(m_mutex);
    m_evicted = 0;
    m_lines.clear();
}

void ScriptLog::setListener(std::function<void(const ScriptLogLine &)> listener)
{
    std::lock_guard lock(m_mutex);
    m_listener = std::move(listener);
}

} // namespace socktap::intercept
