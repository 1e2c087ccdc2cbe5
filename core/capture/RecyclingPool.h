// A bounded, thread-safe stack of spent buffers kept for reuse, emptied but with their allocation: the
// capture appends hundreds of MB a second, and fresh allocations make the kernel zero every page first
// (on this project's virtual machines 1.7-2.7 s of CPU per GB). Used for the --record journal's line
// buffers (CaptureFile) and the writers' batch vectors and payload buffers (CaptureWriter).
#pragma once

#include <QByteArray>

#include <cstddef>
#include <mutex>
#include <vector>

namespace socktap::capture {

template<typename Buffer>
class RecyclingPool
{
public:
    RecyclingPool(std::size_t maxBuffers, std::size_t maxCapacity)
        : m_maxBuffers(maxBuffers)
        , m_maxCapacity(maxCapacity)
    { }

    // Keeps buffer if there is room, it is not too large and nobody else holds it (a QByteArray shared
    // with another owner, or raw data, is left alone); else it is freed as usual.
    void give(Buffer &&buffer)
    {
        if (!soleOwner(buffer) || std::size_t(buffer.capacity()) > m_maxCapacity)
            return;
        std::lock_guard lock(m_mutex);
        if (m_buffers.size() >= m_maxBuffers)
            return;
        emptyKeepingRoom(buffer);
        m_buffers.push_back(std::move(buffer));
    }

    // A kept buffer (empty, with room), or an empty new one.
    Buffer take()
    {
        std::lock_guard lock(m_mutex);
        if (m_buffers.empty())
            return {};
        Buffer b = std::move(m_buffers.back());
        m_buffers.pop_back();
        return b;
    }

private:
    static bool soleOwner(QByteArray &b) { return !b.data_ptr().needsDetach(); }
    template<typename Other>
    static bool soleOwner(const Other &)
    {
        return true;
    }
    static void emptyKeepingRoom(QByteArray &b) { b.resize(0); } // (QByteArray::clear frees)
    template<typename Other>
    static void emptyKeepingRoom(Other &b)
    {
        b.clear();
    }

    std::mutex m_mutex;
    std::vector<Buffer> m_buffers;
    std::size_t m_maxBuffers;
    std::size_t m_maxCapacity;
};

} // namespace socktap::capture
