// One pool of memory shared by every message being assembled, across connections and threads: decoded
// payloads and compressed copies of messages still in progress. Without it each connection and direction
// could hold a 64 MiB unfinished message (128 MiB compressed), so 16 hostile connections took 1 GB whatever
// the capture budget said. A buffer grows only by what the pool grants; what it cannot keep is counted,
// not kept (the message is captured truncated, and still relayed whole).
#pragma once

#include <QtGlobal>

#include <algorithm>
#include <atomic>

namespace socktap::ws {

class BufferBudget
{
public:
    explicit BufferBudget(qint64 limit)
        : m_limit(limit)
    { }

    // Takes up to `wanted` bytes of what is left; returns how many it took (0 when the pool is empty).
    qint64 takeUpTo(qint64 wanted)
    {
        qint64 used = m_used.load(std::memory_order_relaxed);
        for (;;) {
            const qint64 grant =
                std::clamp<qint64>(m_limit.load(std::memory_order_relaxed) - used, 0, wanted);
            if (grant == 0)
                return 0;
            if (m_used.compare_exchange_weak(used, used + grant, std::memory_order_relaxed))
                return grant;
        }
    }
    // Counts bytes already allocated (an allocator's rounding), even past the limit; negative gives back.
    void adjust(qint64 bytes) { m_used.fetch_add(bytes, std::memory_order_relaxed); }
    void give(qint64 bytes) { adjust(-bytes); }

    qint64 used() const { return m_used.load(std::memory_order_relaxed); }
    qint64 limit() const { return m_limit.load(std::memory_order_relaxed); }
    void setLimit(qint64 limit) { m_limit.store(limit, std::memory_order_relaxed); }

private:
    std::atomic<qint64> m_limit;
    std::atomic<qint64> m_used {0};
};

} // namespace socktap::ws
