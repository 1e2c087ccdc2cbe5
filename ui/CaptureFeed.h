// The GUI thread's view of the live capture: drains the store's subscription at most ~30 times a second
// and tells the models what changed, in aggregate. A firehose of messages costs the GUI the same as a
// trickle. Knows the store, not the engine.
#pragma once

#include "core/capture/CaptureStore.h"

#include <QObject>
#include <QSet>
#include <QTimer>

namespace socktap::ui {

class CaptureFeed final : public QObject
{
    Q_OBJECT

public:
    explicit CaptureFeed(capture::CaptureStore &store, QObject *parent = nullptr);
    ~CaptureFeed() override;

    capture::CaptureStore &store() const { return m_store; }
    // Drains now (tests, and a final refresh).
    void refresh();

signals:
    // Sessions created or changed since the last refresh, in id order.
    void sessionsChanged(const QList<capture::SessionId> &ids);
    // Messages appended to sessions since the last refresh.
    void messagesAppended(const QSet<capture::SessionId> &sessions);
    // The feed fell behind and lost batches: re-read everything from the store.
    void resynchronise();

private:
    capture::CaptureStore &m_store;
    std::shared_ptr<capture::CaptureStore::Subscription> m_subscription;
    QTimer m_timer;
    quint64 m_dropped = 0;
};

} // namespace socktap::ui
