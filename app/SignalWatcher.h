// Turns SIGINT and SIGTERM into a Qt signal on the main thread (self-pipe), so shutdown runs as ordinary
// event-loop code instead of inside a signal handler.
#pragma once

#include <QObject>

class QSocketNotifier;

namespace socktap::app {

class SignalWatcher final : public QObject
{
    Q_OBJECT

public:
    explicit SignalWatcher(QObject *parent = nullptr);
    ~SignalWatcher() override;

signals:
    void terminationRequested(int signal);

private:
    QSocketNotifier *m_notifier = nullptr;
};

} // namespace socktap::app
