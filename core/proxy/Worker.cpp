#include "Worker.h"

#include "ProxyConnection.h"

#include <unistd.h>

namespace socktap::proxy {

namespace {

constexpr int FlushIntervalMs = 5; // capture latency to the UI, at most this plus its own refresh

} // namespace

Worker::Worker(const ProxyConfig &config, capture::CaptureStore &store, std::atomic<int> &open)
    : m_config(config)
    , m_open(open)
    , m_capture(store)
    , m_flushTimer(this) // parented, so moveToThread takes the timers along
    , m_graceTimer(this)
{
    m_flushTimer.setInterval(FlushIntervalMs);
    connect(&m_flushTimer, &QTimer::timeout, this, &Worker::flushCapture);
    m_graceTimer.setSingleShot(true);
    connect(&m_graceTimer, &QTimer::timeout, this, &Worker::finishShutdown);
}

Worker::~Worker()
{
    m_capture.flush();
}

void Worker::adopt(int fd, const QString &refusal)
{
    if (m_stopping) {
        ::close(fd);
        m_open.fetch_sub(1, std::memory_order_relaxed);
        return;
    }
    if (!m_flushTimer.isActive()) {
        // Timers must start in the thread that owns them; the first connection does it.
        m_flushTimer.start();
    }
    auto *connection = new ProxyConnection(fd, m_config, m_capture, refusal, this);
    m_connections.insert(connection);
    connect(connection, &ProxyConnection::finished, this, [this, connection] { onFinished(connection); });
    connect(connection, &ProxyConnection::sessionOpened, this, [this, connection](capture::SessionId id) {
        m_sessions.insert(id, connection);
        emit sessionOpened(id);
    });
    connect(connection, &ProxyConnection::sessionEnded, this, [this](capture::SessionId id) {
        if (m_sessions.remove(id))
            emit sessionEnded(id);
    });
    connection->start();
}

void Worker::forget(ProxyConnection *connection)
{
    m_connections.remove(connection);
    m_open.fetch_sub(1, std::memory_order_relaxed);
    if (m_sessions.remove(connection->sessionId()))
        emit sessionEnded(connection->sessionId());
}

void Worker::onFinished(ProxyConnection *connection)
{
    if (!m_connections.contains(connection))
        return;
    forget(connection);
    connection->deleteLater();
    if (m_stopping && m_connections.isEmpty())
        finishShutdown();
}

intercept::CommandResult Worker::command(capture::SessionId session, const intercept::SessionCommand &command)
{
    ProxyConnection *connection = m_sessions.value(session);
    if (!connection)
        return intercept::CommandResult::failure(QStringLiteral("session %1 has ended").arg(session));
    const auto result = connection->command(command);
    m_capture.flush(); // what the command sent reaches the capture (and the window) at once
    return result;
}

void Worker::flushCapture()
{
    m_capture.flush();
    if (m_connections.isEmpty())
        m_flushTimer.stop(); // an idle worker sleeps; the next connection starts the timer again
}

void Worker::shutdown()
{
    m_stopping = true;
    const auto connections = m_connections; // shutdown() may finish some at once
    for (ProxyConnection *c : connections)
        c->shutdown();
    flushCapture();
    if (m_connections.isEmpty()) {
        finishShutdown();
        return;
    }
    m_graceTimer.start(m_config.shutdownGraceMs);
}

void Worker::finishShutdown()
{
    if (!m_stopping)
        return;
    m_graceTimer.stop();
    m_flushTimer.stop();
    // Peers that did not answer within the grace period are cut off.
    const auto left = m_connections;
    for (ProxyConnection *c : left) {
        forget(c);
        delete c;
    }
    m_capture.flush();
    m_stopping = false;
    emit idle();
}

} // namespace socktap::proxy
