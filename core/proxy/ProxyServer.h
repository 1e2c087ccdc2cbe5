// The engine's front door: listens, hands each accepted connection to a worker thread round-robin, and
// stops cleanly. The capture store it writes to belongs to the caller.
#pragma once

#include "ProxyConfig.h"

#include "core/capture/CaptureStore.h"
#include "core/intercept/SessionCommand.h"

#include <QObject>
#include <QTcpServer>

#include <QTimer>

#include <atomic>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <vector>

class QThread;

namespace socktap::proxy {

class Worker;

class ProxyServer final : public QObject
{
    Q_OBJECT

public:
    ProxyServer(ProxyConfig config, capture::CaptureStore &store, QObject *parent = nullptr);
    ~ProxyServer() override;

    // Starts listening; on failure returns false with a sentence in error (e.g. the port is in use).
    bool start(QString *error = nullptr);
    // Stops accepting, closes every connection (WebSocket peers get Close 1001), flushes the capture, then
    // emits stopped(). Safe to call twice.
    void stop();
    bool isListening() const;
    QHostAddress address() const;
    quint16 port() const;
    QString endpoint() const; // HOST:PORT as a user types it ([::1]:8080 for IPv6)
    const ProxyConfig &config() const { return m_config; }

    // Sends a command to the live WebSocket session `session` on the worker thread that owns it; `done`
    // runs later in `context`'s thread with the answer ("session 12 has ended" once it has). Any thread.
    void command(capture::SessionId session, const intercept::SessionCommand &command, QObject *context,
                 std::function<void(const intercept::CommandResult &)> done);
    bool isLive(capture::SessionId session) const;
    // Client connections served at once (ProxyConfig::maxConnections, or what the open-file limit allows
    // at two descriptors each); set by start().
    int maxConnections() const { return m_maxConnections; }
    int openConnections() const { return m_config.openConnections->load(std::memory_order_relaxed); }
    // The open-file limit the connection count was derived from.
    static int openFileLimit();

signals:
    void stopped();
    // accept() failed for want of descriptors (or memory): accepting pauses and retries with a growing
    // delay. Said once per episode; recovered() when a client is accepted again.
    void acceptTrouble(const QString &why);
    void acceptRecovered();

private:
    class Listener;
    void dispatch(qintptr fd);
    void onWorkerIdle();
    void onAcceptError(int error);
    void retryAccepting();

    ProxyConfig m_config;
    capture::CaptureStore &m_store;
    Listener *m_listener = nullptr;
    std::vector<QThread *> m_threads;
    std::vector<Worker *> m_workers;
    size_t m_next = 0;
    int m_idleWorkers = 0;
    mutable std::mutex m_liveMutex;
    std::unordered_map<capture::SessionId, Worker *> m_live; // open WebSocket sessions and their worker
    bool m_stopping = false;
    int m_maxConnections = 0;
    QTimer m_acceptRetry; // while accept() fails: when to try again
    int m_acceptDelayMs = 0; // 0: accepting normally
};

} // namespace socktap::proxy
