// A worker thread's share of the engine: the connections handed to it and its capture writer, which it
// flushes to the store every few milliseconds. Lives in its own QThread; talks to the server by queued
// calls only.
#pragma once

#include "ProxyConfig.h"

#include "core/capture/CaptureWriter.h"
#include "core/intercept/SessionCommand.h"

#include <QHash>

#include <QObject>
#include <QSet>
#include <QTimer>

#include <atomic>

namespace socktap::proxy {

class ProxyConnection;

class Worker final : public QObject
{
    Q_OBJECT

public:
    // `open` counts the server's connections; the worker takes its connections off it as they finish.
    Worker(const ProxyConfig &config, capture::CaptureStore &store, std::atomic<int> &open);
    ~Worker() override;

    // Called in the worker's thread (queued). With a refusal, the client's request gets 503 with it.
    void adopt(int fd, const QString &refusal = {});
    // Closes every connection (WebSocket peers get Close 1001), flushes the capture, then emits idle.
    void shutdown();
    // Carries out a command for one of this worker's WebSocket sessions (in the worker's thread).
    intercept::CommandResult command(capture::SessionId session, const intercept::SessionCommand &command);

signals:
    void idle();
    void sessionOpened(capture::SessionId id); // (direct: the server's directory is thread-safe)
    void sessionEnded(capture::SessionId id);

private:
    void onFinished(ProxyConnection *connection);
    void flushCapture();
    void finishShutdown();

    void forget(ProxyConnection *connection);

    const ProxyConfig &m_config;
    std::atomic<int> &m_open;
    capture::CaptureWriter m_capture;
    QSet<ProxyConnection *> m_connections;
    QHash<capture::SessionId, ProxyConnection *> m_sessions; // open WebSocket sessions, for commands
    QTimer m_flushTimer;
    QTimer m_graceTimer;
    bool m_stopping = false;
};

} // namespace socktap::proxy
