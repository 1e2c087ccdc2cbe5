#include "PayloadSpill.h"

#include "LogRanges.h"

#include <QFileInfo>

#include <algorithm>

namespace socktap::capture {

PayloadSpill::PayloadSpill(SegmentFactory factory, quint64 maxDisk)
    : m_factory(std::move(factory))
    , m_maxDisk(maxDisk)
    , m_segmentBytes(std::max<quint64>(maxDisk / 8, 1 << 20))
{ }

bool PayloadSpill::spill(quint64 start, QByteArray bytes, quint64 payloads)
{
    if (m_segments.empty() || m_segments.back().bytes >= m_segmentBytes) {
        auto file = m_factory ? m_factory() : nullptr;
        if (!file)
            return false;
        m_segments.push_back(Segment {std::move(file), 0});
    }
    Segment &segment = m_segments.back();
    const quint64 size = quint64(bytes.size());
    const quint64 offset = segment.file->append(std::move(bytes));
    m_ranges.push_back(Range {start, size, offset, payloads, m_firstSegment + m_segments.size() - 1});
    segment.bytes += size;
    m_diskBytes += size;
    // The newest segment always stays: what was just spilled must stay readable.
    while (m_diskBytes > m_maxDisk && m_segments.size() > 1)
        dropOldest();
    return true;
}

void PayloadSpill::dropOldest()
{
    while (!m_ranges.empty() && m_ranges.front().segment == m_firstSegment) {
        m_droppedPayloads += m_ranges.front().payloads;
        m_droppedBytes += m_ranges.front().size;
        m_ranges.pop_front();
    }
    m_diskBytes -= m_segments.front().bytes;
    m_segments.front().file->discardPending(); // no point writing what is about to be removed
    m_segments.pop_front(); // a temporary segment removes itself
    ++m_firstSegment;
    ++m_droppedSegments;
}

std::optional<PayloadSpill::Location> PayloadSpill::locate(quint64 ref) const
{
    const auto it = rangeContaining(m_ranges, ref);
    if (it == m_ranges.end())
        return std::nullopt;
    return Location {m_segments[it->segment - m_firstSegment].file, it->offset + (ref - it->start)};
}

QString PayloadSpill::directory() const
{
    return m_segments.empty() ? QString() : QFileInfo(m_segments.back().file->path()).absolutePath();
}

} // namespace socktap::capture
