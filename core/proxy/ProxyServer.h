// The engine's front door: listens, hands each accepted connection to a worker thread round-robin, and
// stops cleanly. The capture store it writes to belongs to the caller.
#pragma once

#include "ProxyConfig.h"

#include "core/capture/CaptureStore.h"

#include <QObject>
#include <QTcpServer>

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
    const ProxyConfig &config() const { return m_config; }

signals:
    void stopped();

private:
    class Listener;
    void dispatch(qintptr fd);
    void onWorkerIdle();

    ProxyConfig m_config;
    capture::CaptureStore &m_store;
    Listener *m_listener = nullptr;
    std::vector<QThread *> m_threads;
    std::vector<Worker *> m_workers;
    size_t m_next = 0;
    int m_idleWorkers = 0;
    bool m_stopping = false;
};

} // namespace socktap::proxy
