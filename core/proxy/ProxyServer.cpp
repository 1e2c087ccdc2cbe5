#include "ProxyServer.h"

#include <QRandomGenerator>

#include "Worker.h"

#include <QThread>

#include <unistd.h>

namespace socktap::proxy {

// QTcpServer hands us raw descriptors: each goes to a worker thread without ever being a QTcpSocket.
class ProxyServer::Listener final : public QTcpServer
{
public:
    explicit Listener(ProxyServer *server)
        : QTcpServer(server)
        , m_server(server)
    { }

protected:
    void incomingConnection(qintptr fd) override { m_server->dispatch(fd); }

private:
    ProxyServer *m_server;
};

ProxyServer::ProxyServer(ProxyConfig config, capture::CaptureStore &store, QObject *parent)
    : QObject(parent)
    , m_config(std::move(config))
    , m_store(store)
{
    if (m_config.viaName.isEmpty())
        m_config.viaName = "socktap-" + QByteArray::number(QRandomGenerator::global()->generate64(), 16);
}

// A reverse target that is this listener itself: every request would come back to it.
static bool reverseTargetIsSelf(const ProxyConfig &config, quint16 port)
{
    if (!config.reverse || config.reverse->port != port)
        return false;
    QHostAddress target;
    if (config.reverse->host == "localhost")
        target = QHostAddress::LocalHost;
    else if (!target.setAddress(QString::fromLatin1(config.reverse->host)))
        return false; // a name: the Via check catches it at the first request
    return target == config.listenAddress
        || ((config.listenAddress == QHostAddress::Any || config.listenAddress == QHostAddress::AnyIPv4)
            && (target.isLoopback() || target == QHostAddress::AnyIPv4));
}

ProxyServer::~ProxyServer()
{
    for (size_t i = 0; i < m_threads.size(); ++i) {
        QMetaObject::invokeMethod(
            m_workers[i], [w = m_workers[i]] { delete w; }, Qt::BlockingQueuedConnection);
        m_threads[i]->quit();
        m_threads[i]->wait();
        delete m_threads[i];
    }
}

bool ProxyServer::start(QString *error)
{
    m_listener = new Listener(this);
    m_listener->setListenBacklogSize(m_config.listenBacklog);
    if (!m_listener->listen(m_config.listenAddress, m_config.listenPort)) {
        if (error)
            *error = QStringLiteral("cannot listen on %1:%2: %3")
                         .arg(m_config.listenAddress.toString())
                         .arg(m_config.listenPort)
                         .arg(m_listener->errorString());
        delete m_listener;
        m_listener = nullptr;
        return false;
    }
    if (reverseTargetIsSelf(m_config, m_listener->serverPort())) {
        if (error)
            *error =
                QStringLiteral("--reverse %1 is Socktap's own listening address %2:%3: every request would "
                               "come back to Socktap; point --reverse at the server")
                    .arg(QString::fromLatin1(m_config.reverse->url()), m_config.listenAddress.toString())
                    .arg(m_listener->serverPort());
        delete m_listener;
        m_listener = nullptr;
        return false;
    }
    const int count = m_config.workers > 0 ? m_config.workers : std::max(1, QThread::idealThreadCount());
    for (int i = 0; i < count; ++i) {
        auto *thread = new QThread;
        thread->setObjectName(QStringLiteral("socktap-worker-%1").arg(i));
        auto *worker = new Worker(m_config, m_store);
        worker->moveToThread(thread);
        connect(worker, &Worker::idle, this, &ProxyServer::onWorkerIdle, Qt::QueuedConnection);
        // Direct: the directory is guarded by its own mutex, and a command must find a session at once.
        connect(
            worker, &Worker::sessionOpened, this,
            [this, worker](capture::SessionId id) {
                std::lock_guard lock(m_liveMutex);
                m_live[id] = worker;
            },
            Qt::DirectConnection);
        connect(
            worker, &Worker::sessionEnded, this,
            [this](capture::SessionId id) {
                std::lock_guard lock(m_liveMutex);
                m_live.erase(id);
            },
            Qt::DirectConnection);
        thread->start();
        m_threads.push_back(thread);
        m_workers.push_back(worker);
    }
    return true;
}

void ProxyServer::dispatch(qintptr fd)
{
    if (m_stopping || m_workers.empty()) {
        ::close(int(fd));
        return;
    }
    Worker *worker = m_workers[m_next++ % m_workers.size()];
    QMetaObject::invokeMethod(
        worker, [worker, fd] { worker->adopt(int(fd)); }, Qt::QueuedConnection);
}

void ProxyServer::command(capture::SessionId session, const intercept::SessionCommand &command,
                          QObject *context, std::function<void(const intercept::CommandResult &)> done)
{
    Worker *worker = nullptr;
    {
        std::lock_guard lock(m_liveMutex);
        const auto it = m_live.find(session);
        if (it != m_live.end())
            worker = it->second;
    }
    const auto answer = [context, done](intercept::CommandResult result) {
        if (done)
            QMetaObject::invokeMethod(
                context, [done, result] { done(result); }, Qt::QueuedConnection);
    };
    if (!worker) {
        answer(intercept::CommandResult::failure(QStringLiteral("session %1 has ended").arg(session)));
        return;
    }
    QMetaObject::invokeMethod(
        worker, [worker, session, command, answer] { answer(worker->command(session, command)); },
        Qt::QueuedConnection);
}

bool ProxyServer::isLive(capture::SessionId session) const
{
    std::lock_guard lock(m_liveMutex);
    return m_live.contains(session);
}

bool ProxyServer::isListening() const
{
    return m_listener && m_listener->isListening();
}

QHostAddress ProxyServer::address() const
{
    return m_listener ? m_listener->serverAddress() : QHostAddress();
}

quint16 ProxyServer::port() const
{
    return m_listener ? m_listener->serverPort() : 0;
}

void ProxyServer::stop()
{
    if (m_stopping)
        return;
    m_stopping = true;
    if (m_listener)
        m_listener->close();
    if (m_workers.empty()) {
        emit stopped();
        return;
    }
    m_idleWorkers = 0;
    for (Worker *w : m_workers)
        QMetaObject::invokeMethod(w, &Worker::shutdown, Qt::QueuedConnection);
}

void ProxyServer::onWorkerIdle()
{
    if (!m_stopping)
        return;
    if (++m_idleWorkers < int(m_workers.size()))
        return;
    m_stopping = false;
    emit stopped();
}

} // namespace socktap::proxy
