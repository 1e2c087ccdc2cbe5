#include "ProxyServer.h"

#include "core/http/RequestTarget.h"
#include "core/intercept/ScriptRunner.h"

#include <QRandomGenerator>

#include "Worker.h"

#include <QDir>
#include <QSocketNotifier>
#include <QThread>

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace socktap::proxy {

namespace {

// Past the limit, this many more clients are held long enough to be told 503 (a burst of them arrives
// at once); beyond that they are closed at once: the descriptors must not run out.
constexpr int RefusalRoom = 96;
// Descriptors kept free beyond what the connections use: the refusals above, and capture files, spill
// segments, certificates being read.
constexpr int SpareDescriptors = RefusalRoom + 32;
// While accept() fails for want of descriptors: first retry after this, doubling up to the maximum.
constexpr int AcceptRetryFirstMs = 50;
constexpr int AcceptRetryMaxMs = 1'000;

int openDescriptors()
{
    return int(QDir(QStringLiteral("/proc/self/fd")).entryList(QDir::Files | QDir::System).size());
}

} // namespace

// QTcpServer binds and listens (and words the errors); the accepting is ours. Qt 6.4 treats a failing
// accept() (EMFILE: out of descriptors) as temporary and keeps the socket's notifier on, so the event loop
// would spin at 100% CPU while clients wait in the backlog. Each descriptor goes to a worker thread without
// ever being a QTcpSocket.
class ProxyServer::Listener final : public QTcpServer
{
public:
    explicit Listener(ProxyServer *server)
        : QTcpServer(server)
        , m_server(server)
    { }

    bool start(const QHostAddress &address, quint16 port)
    {
        if (!listen(address, port))
            return false;
        pauseAccepting(); // QTcpServer's own notifier stays off
        m_notifier = new QSocketNotifier(socketDescriptor(), QSocketNotifier::Read, this);
        connect(m_notifier, &QSocketNotifier::activated, this, &Listener::acceptAll);
        return true;
    }
    void setAccepting(bool on)
    {
        if (m_notifier)
            m_notifier->setEnabled(on);
    }
    void stop()
    {
        delete m_notifier;
        m_notifier = nullptr;
        close();
    }

private:
    void acceptAll()
    {
        for (int i = 0; i < 256 && m_notifier && m_notifier->isEnabled(); ++i) {
            const int fd = ::accept4(int(socketDescriptor()), nullptr, nullptr, SOCK_CLOEXEC);
            if (fd >= 0) {
                m_server->dispatch(fd);
                continue;
            }
            // accept(2): errors of the waiting connection itself (it gave up, its network went away) are
            // for retrying at once; the next client may be fine.
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO || errno == ENETDOWN
                || errno == ENOPROTOOPT || errno == EHOSTDOWN || errno == ENONET || errno == EHOSTUNREACH
                || errno == EOPNOTSUPP || errno == ENETUNREACH)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            m_server->onAcceptError(errno); // EMFILE, ENFILE, ENOBUFS, ENOMEM: pause and retry later
            return;
        }
    }

    ProxyServer *m_server;
    QSocketNotifier *m_notifier = nullptr;
};

ProxyServer::ProxyServer(ProxyConfig config, capture::CaptureStore &store, QObject *parent)
    : QObject(parent)
    , m_config(std::move(config))
    , m_store(store)
{
    // Connections handed to workers and not yet finished: for the limit, and to share relay buffers.
    m_config.openConnections = std::make_shared<std::atomic<int>>(0);
    if (!m_config.messagesInProgress)
        m_config.messagesInProgress = store.messagesInProgress();
    m_acceptRetry.setSingleShot(true);
    connect(&m_acceptRetry, &QTimer::timeout, this, &ProxyServer::retryAccepting);
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
        // The worker and its connections go on their thread, then the scripts' engine there (it must go
        // on the thread that made it, after the sessions that hold its values).
        QMetaObject::invokeMethod(
            m_workers[i],
            [w = m_workers[i]] {
                delete w;
                intercept::ScriptRunner::releaseThisThread();
            },
            Qt::BlockingQueuedConnection);
        m_threads[i]->quit();
        m_threads[i]->wait();
        delete m_threads[i];
    }
}

bool ProxyServer::start(QString *error)
{
    m_listener = new Listener(this);
    m_listener->setListenBacklogSize(m_config.listenBacklog);
    m_maxConnections = m_config.maxConnections > 0
        ? m_config.maxConnections
        : std::max(1, (openFileLimit() - openDescriptors() - SpareDescriptors) / 2);
    if (!m_listener->start(m_config.listenAddress, m_config.listenPort)) {
        // Said the way a user can act on: who holds the port, or why the address is not ours to take.
        QString why = m_listener->errorString();
        switch (m_listener->serverError()) {
        case QAbstractSocket::AddressInUseError:
            why =
                QStringLiteral("the address is in use by another program (another Socktap?); choose another "
                               "port, or port 0 for any free one");
            break;
        case QAbstractSocket::SocketAccessError:
            why = QStringLiteral("permission denied (ports below 1024 need root); choose a port above 1023");
            break;
        case QAbstractSocket::SocketAddressNotAvailableError:
            why = QStringLiteral("no network interface of this machine has that address");
            break;
        default:
            break;
        }
        if (error)
            *error = QStringLiteral("cannot listen on %1:%2: %3")
                         .arg(m_config.listenAddress.toString())
                         .arg(m_config.listenPort)
                         .arg(why);
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
        auto *worker = new Worker(m_config, m_store, *m_config.openConnections);
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
        // Wait for the thread to be running its event loop: a thread makes its event dispatcher (an
        // eventfd, GLib's wake-up pipe) as it starts, and one that starts late, when clients have already
        // taken every descriptor, makes GLib abort the process ("Creating pipes for GWakeup").
        QMetaObject::invokeMethod(
            worker, [] {}, Qt::BlockingQueuedConnection);
        m_threads.push_back(thread);
        m_workers.push_back(worker);
    }
    return true;
}

int ProxyServer::openFileLimit()
{
    rlimit limit {};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
        return 1 << 20;
    return int(std::min<rlim_t>(limit.rlim_cur, 1 << 30));
}

void ProxyServer::dispatch(qintptr fd)
{
    if (m_acceptDelayMs) {
        m_acceptDelayMs = 0;
        emit acceptRecovered();
    }
    if (m_stopping || m_workers.empty()) {
        ::close(int(fd));
        return;
    }
    const int open = m_config.openConnections->fetch_add(1, std::memory_order_relaxed) + 1;
    if (open > m_maxConnections + RefusalRoom) {
        // Too many even to refuse politely: the descriptor is needed more than the answer.
        ::close(int(fd));
        m_config.openConnections->fetch_sub(1, std::memory_order_relaxed);
        return;
    }
    QString refusal;
    if (open > m_maxConnections)
        refusal = QStringLiteral("Socktap is serving its maximum of %1 connections at once (two descriptors "
                                 "each under an open-file limit of %2); try again when some have ended, or "
                                 "raise the limit (ulimit -n, or --max-connections)")
                      .arg(m_maxConnections)
                      .arg(openFileLimit());
    Worker *worker = m_workers[m_next++ % m_workers.size()];
    QMetaObject::invokeMethod(
        worker, [worker, fd, refusal] { worker->adopt(int(fd), refusal); }, Qt::QueuedConnection);
}

void ProxyServer::onAcceptError(int error)
{
    if (!m_listener || !m_listener->isListening())
        return;
    // The listening socket stays readable: without a pause the event loop would spin on accept().
    m_listener->setAccepting(false);
    if (m_acceptDelayMs == 0) {
        m_acceptDelayMs = AcceptRetryFirstMs;
        emit acceptTrouble(QStringLiteral("cannot accept new clients: %1 (%2 connections open, open-file "
                                          "limit %3); retrying until descriptors free up")
                               .arg(QString::fromLocal8Bit(std::strerror(error)))
                               .arg(openConnections())
                               .arg(openFileLimit()));
    } else {
        m_acceptDelayMs = std::min(m_acceptDelayMs * 2, AcceptRetryMaxMs);
    }
    m_acceptRetry.start(m_acceptDelayMs);
}

void ProxyServer::retryAccepting()
{
    if (m_listener && m_listener->isListening() && !m_stopping)
        m_listener->setAccepting(true);
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

QString ProxyServer::endpoint() const
{
    http::RequestTarget where;
    where.form = http::RequestTarget::Form::Authority;
    where.host = address().toString().toLatin1();
    where.port = port();
    return QString::fromLatin1(where.authority(true));
}

void ProxyServer::stop()
{
    if (m_stopping)
        return;
    m_stopping = true;
    m_acceptRetry.stop();
    if (m_listener)
        m_listener->stop();
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
