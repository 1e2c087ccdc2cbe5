#include "TcpConnector.h"

#include "StreamSocket.h"

#include <QHostInfo>
#include <QSocketNotifier>

#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace socktap::proxy {

TcpConnector::TcpConnector(QByteArray host, quint16 port, int timeoutMs, QObject *parent)
    : QObject(parent)
    , m_host(std::move(host))
    , m_port(port)
    , m_timeoutMs(timeoutMs)
{
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, [this] {
        fail(504,
             QStringLiteral("connecting to %1:%2 timed out after %3 s")
                 .arg(QString::fromLatin1(m_host))
                 .arg(m_port)
                 .arg(m_timeoutMs / 1000.0));
    });
}

TcpConnector::~TcpConnector()
{
    if (m_lookupId >= 0)
        QHostInfo::abortHostLookup(m_lookupId);
    closeAttempt();
}

void TcpConnector::start()
{
    m_timer.start(m_timeoutMs);
    QHostAddress literal;
    if (literal.setAddress(QString::fromLatin1(m_host))) {
        m_addresses = {literal};
        tryNext();
        return;
    }
    m_lookupId = QHostInfo::lookupHost(QString::fromLatin1(m_host), this, &TcpConnector::onResolved);
}

void TcpConnector::onResolved(const QHostInfo &info)
{
    m_lookupId = -1;
    if (m_done)
        return;
    if (info.error() != QHostInfo::NoError || info.addresses().isEmpty()) {
        fail(502,
             QStringLiteral("cannot resolve host '%1': %2")
                 .arg(QString::fromLatin1(m_host), info.errorString()));
        return;
    }
    m_addresses = info.addresses();
    tryNext();
}

void TcpConnector::closeAttempt()
{
    delete m_notifier;
    m_notifier = nullptr;
    if (m_fd >= 0)
        ::close(m_fd);
    m_fd = -1;
}

void TcpConnector::tryNext()
{
    closeAttempt();
    while (!m_addresses.isEmpty()) {
        const QHostAddress address = m_addresses.takeFirst();
        sockaddr_storage sa {};
        socklen_t len = 0;
        if (address.protocol() == QAbstractSocket::IPv6Protocol) {
            auto *s6 = reinterpret_cast<sockaddr_in6 *>(&sa);
            s6->sin6_family = AF_INET6;
            s6->sin6_port = htons(m_port);
            const Q_IPV6ADDR a = address.toIPv6Address();
            std::memcpy(&s6->sin6_addr, a.c, 16);
            len = sizeof(sockaddr_in6);
        } else {
            auto *s4 = reinterpret_cast<sockaddr_in *>(&sa);
            s4->sin_family = AF_INET;
            s4->sin_port = htons(m_port);
            s4->sin_addr.s_addr = htonl(address.toIPv4Address());
            len = sizeof(sockaddr_in);
        }
        m_fd = ::socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (m_fd < 0) {
            m_lastError = QString::fromLocal8Bit(std::strerror(errno));
            continue;
        }
        prepareSocket(m_fd);
        if (::connect(m_fd, reinterpret_cast<sockaddr *>(&sa), len) == 0 || errno == EINPROGRESS) {
            m_notifier = new QSocketNotifier(m_fd, QSocketNotifier::Write, this);
            connect(m_notifier, &QSocketNotifier::activated, this, &TcpConnector::onWritable);
            return;
        }
        m_lastError = QString::fromLocal8Bit(std::strerror(errno));
        ::close(m_fd);
        m_fd = -1;
    }
    fail(502,
         QStringLiteral("cannot connect to %1:%2: %3")
             .arg(QString::fromLatin1(m_host))
             .arg(m_port)
             .arg(m_lastError));
}

void TcpConnector::onWritable()
{
    int error = 0;
    socklen_t len = sizeof error;
    ::getsockopt(m_fd, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0) {
        m_lastError = error == ECONNREFUSED ? QStringLiteral("connection refused")
                                            : QString::fromLocal8Bit(std::strerror(error));
        tryNext();
        return;
    }
    delete m_notifier;
    m_notifier = nullptr;
    const int fd = std::exchange(m_fd, -1);
    m_done = true;
    m_timer.stop();
    emit connected(fd);
}

void TcpConnector::fail(int status, const QString &message)
{
    if (m_done)
        return;
    m_done = true;
    m_timer.stop();
    closeAttempt();
    emit failed(status, message);
}

} // namespace socktap::proxy
