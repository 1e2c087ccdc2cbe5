#include "TcpConnector.h"

#include "StreamSocket.h"

#include "core/http/HeadParser.h"

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
        fail(
            504,
            QStringLiteral("connecting to %1 timed out after %2 s").arg(dialled()).arg(m_timeoutMs / 1000.0));
    });
}

TcpConnector::~TcpConnector()
{
    if (m_lookupId >= 0)
        QHostInfo::abortHostLookup(m_lookupId);
    closeAttempt();
}

QString TcpConnector::dialled() const
{
    const QString target = QStringLiteral("%1:%2").arg(QString::fromLatin1(m_host)).arg(m_port);
    if (!m_via)
        return target;
    return QStringLiteral("%1 through the upstream proxy %2")
        .arg(target, QString::fromLatin1(m_via->authority()));
}

void TcpConnector::start()
{
    m_timer.start(m_timeoutMs);
    const QByteArray host = m_via ? m_via->host : m_host;
    QHostAddress literal;
    if (literal.setAddress(QString::fromLatin1(host))) {
        m_addresses = {literal};
        tryNext();
        return;
    }
    m_lookupId = QHostInfo::lookupHost(QString::fromLatin1(host), this, &TcpConnector::onResolved);
}

void TcpConnector::onResolved(const QHostInfo &info)
{
    m_lookupId = -1;
    if (m_done)
        return;
    if (info.error() != QHostInfo::NoError || info.addresses().isEmpty()) {
        fail(502,
             QStringLiteral("cannot resolve host '%1'%2: %3")
                 .arg(QString::fromLatin1(m_via ? m_via->host : m_host),
                      m_via ? QStringLiteral(" (the upstream proxy)") : QString(), info.errorString()));
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
            s6->sin6_port = htons(m_via ? m_via->port : m_port);
            const Q_IPV6ADDR a = address.toIPv6Address();
            std::memcpy(&s6->sin6_addr, a.c, 16);
            len = sizeof(sockaddr_in6);
        } else {
            auto *s4 = reinterpret_cast<sockaddr_in *>(&sa);
            s4->sin_family = AF_INET;
            s4->sin_port = htons(m_via ? m_via->port : m_port);
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
         m_via ? QStringLiteral("cannot connect to the upstream proxy %1: %2 (is it running, and is "
                                "--upstream-proxy right? Hosts it should not handle: --upstream-proxy-bypass "
                                "PATTERN)")
                     .arg(QString::fromLatin1(m_via->authority()), m_lastError)
               : QStringLiteral("cannot connect to %1: %2").arg(dialled(), m_lastError));
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
    if (m_via)
        askForTunnel();
    else
        succeed();
}

void TcpConnector::succeed()
{
    delete m_notifier;
    m_notifier = nullptr;
    const int fd = std::exchange(m_fd, -1);
    m_done = true;
    m_timer.stop();
    emit connected(fd);
}

void TcpConnector::askForTunnel()
{
    const QByteArray target =
        (m_host.contains(':') ? '[' + m_host + ']' : m_host) + ':' + QByteArray::number(m_port);
    QByteArray request = "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n";
    if (!m_via->credentials.isEmpty())
        request += "Proxy-Authorization: Basic " + m_via->credentials.toBase64() + "\r\n";
    request += "\r\n";
    // A fresh connection's send buffer takes a few hundred bytes at once.
    if (::send(m_fd, request.constData(), size_t(request.size()), MSG_NOSIGNAL) != request.size()) {
        fail(502,
             QStringLiteral("cannot talk to the upstream proxy %1: %2")
                 .arg(QString::fromLatin1(m_via->authority()), QString::fromLocal8Bit(std::strerror(errno))));
        return;
    }
    delete m_notifier; // the one that said writable
    m_notifier = new QSocketNotifier(m_fd, QSocketNotifier::Read, this);
    connect(m_notifier, &QSocketNotifier::activated, this, &TcpConnector::onTunnelAnswer);
}

void TcpConnector::onTunnelAnswer()
{
    // Peeked, then consumed only as far as the head goes: whatever follows it is the server's and stays in
    // the socket for the relay. Bytes before the end of the head are consumed as they come (so the
    // notifier does not fire again on data already seen).
    constexpr qsizetype MaxHead = 16 * 1024;
    QByteArray peek(MaxHead - m_answer.size(), Qt::Uninitialized);
    const ssize_t n = ::recv(m_fd, peek.data(), size_t(peek.size()), MSG_PEEK);
    const QString proxy = QString::fromLatin1(m_via->authority());
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        fail(502,
             QStringLiteral("the upstream proxy %1 closed the connection instead of answering CONNECT %2")
                 .arg(proxy, dialled().section(QLatin1Char(' '), 0, 0)));
        return;
    }
    peek.truncate(n);
    const qsizetype seen = m_answer.size();
    const qsizetype end = (m_answer + peek).indexOf("\r\n\r\n", std::max<qsizetype>(0, seen - 3));
    const qsizetype take = end < 0 ? n : end + 4 - seen;
    QByteArray part(take, Qt::Uninitialized);
    if (::recv(m_fd, part.data(), size_t(take), 0) != take) {
        fail(502, QStringLiteral("reading the upstream proxy %1's answer failed").arg(proxy));
        return;
    }
    m_answer += part;
    if (end < 0) {
        if (m_answer.size() >= MaxHead)
            fail(502,
                 QStringLiteral("the upstream proxy %1 answered CONNECT with a head over 16 KiB").arg(proxy));
        return; // the rest of the head is on its way
    }
    http::HeadParser parser(http::HeadParser::Kind::Response);
    const auto parsed = parser.feed(m_answer);
    if (parsed.status != http::HeadParser::Status::Complete) {
        fail(502,
             QStringLiteral("the upstream proxy %1 answered CONNECT with something that is not HTTP")
                 .arg(proxy));
        return;
    }
    const auto &response = parser.response();
    if (response.status < 200 || response.status > 299) {
        QString why = QStringLiteral("the upstream proxy %1 refused CONNECT %2:%3: %4 %5")
                          .arg(proxy, QString::fromLatin1(m_host))
                          .arg(m_port)
                          .arg(response.status)
                          .arg(QString::fromLatin1(response.reason));
        if (response.status == 407)
            why += m_via->credentials.isEmpty()
                ? QStringLiteral(" (it wants credentials: --upstream-proxy http://USER:PASSWORD@%1)")
                      .arg(proxy)
                : QStringLiteral(" (the credentials given were not accepted)");
        fail(response.status == 504 ? 504 : 502, why);
        return;
    }
    succeed();
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
