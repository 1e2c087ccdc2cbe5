// Wall-clock microseconds since the Unix epoch: the one time unit of the capture.
#pragma once

#include <QtGlobal>

#include <chrono>

namespace socktap::capture {

inline qint64 nowMicros()
{
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

} // namespace socktap::capture
