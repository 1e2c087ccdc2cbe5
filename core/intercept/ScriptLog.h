// What scripts say (console.log, console.warn, console.error) and what goes wrong in them (exceptions with
// file:line, calls stopped at the time limit, a script disabled), from every thread, for the console pane
// of the window's Tools > Scripts and for the headless mode's stderr. Bounded: past its limit the oldest
// lines go, and the log counts them (said in the pane).
#pragma once

#include "core/capture/CaptureTypes.h"

#include <QString>

#include <deque>
#include <functional>
#include <mutex>

namespace socktap::intercept {

struct ScriptLogLine
{
    enum class Level : quint8 { Log, Warn, Error };
    quint64 seq = 0; // 1, 2, ... in the order the lines came
    qint64 time = 0; // µs since the epoch
    QString script; // "chat.js"
    capture::SessionId session = 0; // 0: not about one session (loading, a format's decode)
    Level level = Level::Log;
    QString text;

    // "12:03:04.123 chat.js session 3: text" (what stderr and the console pane show)
    QString display() const;
};

class ScriptLog
{
public:
    static ScriptLog &instance();

    void add(const QString &script, capture::SessionId session, ScriptLogLine::Level level,
             const QString &text);
    // The lines after `seq` that are still kept, oldest first.
    std::vector<ScriptLogLine> since(quint64 seq) const;
    quint64 lastSeq() const;
    quint64 evicted() const; // lines dropped to stay within the limit, since the start
    void clear();
    // Called with each new line on the thread that added it (headless: stderr). One at a time.
    void setListener(std::function<void(const ScriptLogLine &)> listener);

    static constexpr size_t Limit = 5000;

private:
    mutable std::mutex m_mutex;
    std::deque<ScriptLogLine> m_lines;
    quint64 m_seq = 0;
    quint64 m_evicted = 0;
    std::function<void(const ScriptLogLine &)> m_listener;
};

} // namespace socktap::intercept
