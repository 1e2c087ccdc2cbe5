#include "CaptureFeed.h"

#include <algorithm>

namespace socktap::ui {

namespace {

constexpr int RefreshIntervalMs = 33; // ~30 Hz: smooth to the eye, bounded work at any message rate

} // namespace

CaptureFeed::CaptureFeed(capture::CaptureStore &store, QObject *parent)
    : QObject(parent)
    , m_store(store)
    , m_subscription(store.subscribe({})) // polled: no cross-thread wake-ups at high rates
{
    m_timer.setInterval(RefreshIntervalMs);
    connect(&m_timer, &QTimer::timeout, this, &CaptureFeed::refresh);
    m_timer.start();
}

CaptureFeed::~CaptureFeed()
{
    m_store.unsubscribe(m_subscription);
}

void CaptureFeed::refresh()
{
    const auto batches = m_subscription->take();
    const quint64 dropped = m_subscription->droppedBatches();
    if (dropped != m_dropped) {
        m_dropped = dropped;
        emit resynchronise();
        return;
    }
    if (batches.empty())
        return;
    QList<capture::SessionId> sessions;
    QSet<capture::SessionId> seen;
    QSet<capture::SessionId> withMessages;
    for (const capture::BatchPtr &b : batches) {
        for (const capture::SessionInfo &s : b->sessions) {
            if (!seen.contains(s.id)) {
                seen.insert(s.id);
                sessions.append(s.id);
            }
        }
        for (const capture::BatchMessage &m : b->messages)
            withMessages.insert(m.session);
    }
    // Counters change with messages: those sessions' rows are refreshed too.
    for (const capture::SessionId id : std::as_const(withMessages)) {
        if (!seen.contains(id)) {
            seen.insert(id);
            sessions.append(id);
        }
    }
    std::sort(sessions.begin(), sessions.end());
    emit sessionsChanged(sessions);
    if (!withMessages.isEmpty())
        emit messagesAppended(withMessages);
}

} // namespace socktap::ui
