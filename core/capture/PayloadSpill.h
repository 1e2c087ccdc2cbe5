// Where payloads go when they leave memory and no journal holds them (the default: no --record): raw
// bytes in temporary segment files, read back on demand, so a capture past its memory budget loses
// nothing while its disk budget lasts. Past the disk budget the oldest segment goes, and the payloads in
// it are evicted (counted, as memory eviction is). Raw, not JSON: spilling is a write of bytes already
// in memory, so the relay's throughput does not pay for encoding (the native format is written when the
// user saves, or live with --record).
//
// Not thread-safe by itself: the store calls it under its own lock (spill under the exclusive lock,
// locate under a shared one).
#pragma once

#include "CaptureFile.h"

#include <deque>
#include <functional>

namespace socktap::capture {

class PayloadSpill
{
public:
    using SegmentFactory = std::function<std::shared_ptr<CaptureFile>()>;

    PayloadSpill(SegmentFactory factory, quint64 maxDisk);

    // Takes over the bytes of the payload log from start (payloads: how many it holds). Returns false
    // when no segment could be created (the bytes are then the caller's to drop).
    bool spill(quint64 start, QByteArray bytes, quint64 payloads);

    struct Location
    {
        std::shared_ptr<CaptureFile> file;
        quint64 offset = 0;
    };
    // Where the payload log byte ref is on disk, or nothing when it was never spilled or was dropped.
    std::optional<Location> locate(quint64 ref) const;

    quint64 diskBytes() const { return m_diskBytes; }
    quint64 droppedPayloads() const { return m_droppedPayloads; }
    quint64 droppedBytes() const { return m_droppedBytes; }
    quint64 droppedSegments() const { return m_droppedSegments; }
    QString directory() const;

private:
    struct Range
    {
        quint64 start = 0; // in the payload log
        quint64 size = 0;
        quint64 offset = 0; // in its segment
        quint64 payloads = 0;
        size_t segment = 0; // absolute index (m_firstSegment + position in m_segments)
    };
    struct Segment
    {
        std::shared_ptr<CaptureFile> file;
        quint64 bytes = 0;
    };

    void dropOldest();

    SegmentFactory m_factory;
    quint64 m_maxDisk;
    quint64 m_segmentBytes;
    std::deque<Segment> m_segments;
    size_t m_firstSegment = 0; // absolute index of m_segments.front()
    std::deque<Range> m_ranges; // in log order
    quint64 m_diskBytes = 0;
    quint64 m_droppedPayloads = 0;
    quint64 m_droppedBytes = 0;
    quint64 m_droppedSegments = 0;
};

} // namespace socktap::capture
