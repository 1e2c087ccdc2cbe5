// Ranges of the store's payload log, [start, start + size), sorted by start, each kept somewhere on disk:
// the spill's segments (PayloadSpill) and the crash journal's batches (CaptureStore).
#pragma once

#include <QtGlobal>

#include <algorithm>

namespace socktap::capture {

// The range holding log byte ref, or ranges.end().
template<typename Ranges>
typename Ranges::const_iterator rangeContaining(const Ranges &ranges, quint64 ref)
{
    auto it = std::upper_bound(ranges.begin(), ranges.end(), ref,
                               [](quint64 r, const auto &range) { return r < range.start; });
    if (it == ranges.begin())
        return ranges.end();
    --it;
    return ref < it->start + it->size ? it : ranges.end();
}

} // namespace socktap::capture
