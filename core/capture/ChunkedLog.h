// An append-at-the-back, drop-at-the-front sequence in chunks of N elements: what a session's message
// records need. std::deque does the same in 512-byte nodes, which for 72-byte records is one allocation per
// 7 messages: at a million 64-byte messages a second that was a fifth of the relay's CPU (malloc, and the
// kernel zeroing each new page). Here one allocation holds N records; the first chunk of a sequence grows
// like a vector, so a session of a few messages costs a few records' memory, not N. Chunks dropped at the
// front are kept for the next ones (of any log of this type): records that leave memory for the crash
// journal make room for new ones in pages already touched, not fresh ones.
#pragma once

#include "RecyclingPool.h"

#include <cstddef>
#include <deque>
#include <vector>

namespace socktap::capture {

template<typename T, std::size_t N = 256>
class ChunkedLog
{
public:
    std::size_t size() const { return m_size; }
    bool empty() const { return m_size == 0; }
    // Memory held for elements (what a budget counts): whole chunks, dropped elements included until
    // their chunk goes.
    std::size_t allocatedBytes() const { return m_allocated * sizeof(T); }

    const T &operator[](std::size_t i) const
    {
        const std::size_t at = m_head + i;
        return m_chunks[at / N][at % N];
    }
    T &operator[](std::size_t i)
    {
        const std::size_t at = m_head + i;
        return m_chunks[at / N][at % N];
    }
    const T &front() const { return (*this)[0]; }

    // Returns the bytes it allocated for it (mostly 0; a chunk's worth when one starts).
    std::size_t push_back(const T &value)
    {
        const std::size_t before = m_allocated;
        if (m_chunks.empty() || m_chunks.back().size() == N) {
            m_chunks.emplace_back(m_chunks.empty() ? std::vector<T>() : spareChunks().take());
            if (m_chunks.size() > 1) {
                m_chunks.back().reserve(N); // the first chunk grows as needed; later ones are filled
                m_allocated += m_chunks.back().capacity();
            }
        }
        std::vector<T> &last = m_chunks.back();
        const std::size_t capacity = last.capacity();
        last.push_back(value);
        m_allocated += last.capacity() - capacity;
        ++m_size;
        return (m_allocated - before) * sizeof(T);
    }

    // Forgets the n first elements (n <= size()); their chunk is freed once all of it is forgotten.
    // Returns the bytes freed.
    std::size_t dropFront(std::size_t n)
    {
        const std::size_t before = m_allocated;
        m_head += n;
        m_size -= n;
        while (m_head >= N && !m_chunks.empty()) {
            m_allocated -= m_chunks.front().capacity();
            recycle(std::move(m_chunks.front()));
            m_chunks.pop_front();
            m_head -= N;
        }
        if (m_size == 0) {
            while (!m_chunks.empty()) {
                recycle(std::move(m_chunks.front()));
                m_chunks.pop_front();
            }
            m_head = 0;
            m_allocated = 0;
        }
        return (before - m_allocated) * sizeof(T);
    }

    // Elements [from, to) appended to out.
    void copyTo(std::size_t from, std::size_t to, std::vector<T> &out) const
    {
        out.reserve(out.size() + (to - from));
        for (std::size_t i = from; i < to; ++i)
            out.push_back((*this)[i]);
    }

private:
    // Full-size chunks only (a first chunk that grew smaller is freed). Never destroyed: a log may be
    // destroyed after static destructors ran.
    static RecyclingPool<std::vector<T>> &spareChunks()
    {
        static auto *pool = new RecyclingPool<std::vector<T>>(64, N);
        return *pool;
    }

    static void recycle(std::vector<T> &&chunk)
    {
        if (chunk.capacity() == N)
            spareChunks().give(std::move(chunk));
    }

    std::deque<std::vector<T>> m_chunks; // each full chunk holds N; the last may hold fewer
    std::size_t m_head = 0; // elements already dropped from the first chunk
    std::size_t m_size = 0;
    std::size_t m_allocated = 0; // elements' room in every chunk
};

} // namespace socktap::capture
