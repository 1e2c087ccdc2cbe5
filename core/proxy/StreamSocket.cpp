#include "StreamSocket.h"

#include "TlsSession.h"

#include <QHostAddress>
#include <QSocketNotifier>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace socktap::proxy {

void prepareSocket(int fd)
{
    const int flags = ::fcntl(fd, F_GETFL, 0);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

StreamSocket::StreamSocket(int fd, QObject *parent)
    : QObject(parent)
    , m_fd(fd)
{
    prepareSocket(fd);
    sockaddr_storage addr {};
    socklen_t len = sizeof addr;
    if (::getpeername(fd, reinterpret_cast<sockaddr *>(&addr), &len) == 0) {
        QHostAddress host(reinterpret_cast<sockaddr *>(&addr));
        m_peerAddress = host.toString();
        m_peerPort = addr.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6 *>(&addr)->sin6_port)
                                                : ntohs(reinterpret_cast<sockaddr_in *>(&addr)->sin_port);
    }
    len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) == 0) {
        const QHostAddress host(reinterpret_cast<sockaddr *>(&addr));
        const quint16 port = addr.ss_family == AF_INET6
            ? ntohs(reinterpret_cast<sockaddr_in6 *>(&addr)->sin6_port)
            : ntohs(reinterpret_cast<sockaddr_in *>(&addr)->sin_port);
        const QString name = host.protocol() == QAbstractSocket::IPv6Protocol && !host.toIPv4Address()
            ? QLatin1Char('[') + host.toString() + QLatin1Char(']')
            : QHostAddress(host.toIPv4Address()).toString();
        m_localAuthority = QStringLiteral("%1:%2").arg(name).arg(port);
    }
    m_readNotifier = new QSocketNotifier(fd, QSocketNotifier::Read, this);
    m_writeNotifier = new QSocketNotifier(fd, QSocketNotifier::Write, this);
    m_writeNotifier->setEnabled(false);
    connect(m_readNotifier, &QSocketNotifier::activated, this, &StreamSocket::readable);
    connect(m_writeNotifier, &QSocketNotifier::activated, this, &StreamSocket::onWritable);
}

StreamSocket::~StreamSocket()
{
    // Unregister the notifiers before the descriptor number can be reused.
    delete m_readNotifier;
    delete m_writeNotifier;
    if (m_fd >= 0)
        ::close(m_fd);
}

void StreamSocket::startTls(std::unique_ptr<TlsSession> session, QByteArrayView alreadyRead)
{
    m_tls = std::move(session);
    m_tls->start();
    if (!alreadyRead.isEmpty()) {
        QByteArray ignored; // nothing decrypts before the handshake completes
        m_tls->receive(alreadyRead, ignored);
    }
    flushTls();
    // Data may already wait in the kernel; let the owner read it through the TLS layer.
    QMetaObject::invokeMethod(this, &StreamSocket::readable, Qt::QueuedConnection);
}

void StreamSocket::flushTls()
{
    const QByteArray out = m_tls->takeOutgoing();
    if (!out.isEmpty())
        rawWrite(out);
    if (!m_tlsReported && m_tls->handshakeDone()) {
        m_tlsReported = true;
        QMetaObject::invokeMethod(this, &StreamSocket::tlsReady, Qt::QueuedConnection);
    }
}

StreamSocket::ReadStatus StreamSocket::readTls(QByteArray &buffer, qsizetype max)
{
    const qsizetype before = buffer.size();
    if (m_tlsEof)
        return ReadStatus::Eof;
    for (;;) {
        m_cipher.resize(max);
        const ssize_t n = m_fd < 0 ? 0 : ::recv(m_fd, m_cipher.data(), size_t(max), 0);
        const int savedErrno = errno;
        m_cipher.resize(std::max<qsizetype>(n, 0));
        if (n > 0) {
            const TlsSession::Status st = m_tls->receive(m_cipher, buffer);
            flushTls();
            if (st == TlsSession::Status::Failed) {
                m_error = m_tls->error();
                m_readNotifier->setEnabled(false);
                if (!m_tlsReported) {
                    m_tlsReported = true;
                    QMetaObject::invokeMethod(
                        this, [this, why = m_error] { emit tlsFailed(why); }, Qt::QueuedConnection);
                }
                return ReadStatus::Error;
            }
            if (st == TlsSession::Status::Closed) {
                // The last data and the close_notify often come in one segment: the data now, the end at
                // the next read (which the socket itself may never announce: its peer waits for ours).
                m_tlsEof = true;
                m_readNotifier->setEnabled(false);
                if (buffer.size() == before)
                    return ReadStatus::Eof;
                QMetaObject::invokeMethod(this, [this] { emit readable(); }, Qt::QueuedConnection);
                return ReadStatus::Data;
            }
            if (buffer.size() > before)
                return ReadStatus::Data;
            continue; // handshake records only: read on
        }
        if (n == 0) {
            m_readNotifier->setEnabled(false);
            return ReadStatus::Eof;
        }
        if (savedErrno == EAGAIN || savedErrno == EWOULDBLOCK || savedErrno == EINTR)
            return ReadStatus::WouldBlock;
        m_error = QString::fromLocal8Bit(std::strerror(savedErrno));
        m_readNotifier->setEnabled(false);
        return savedErrno == ECONNRESET ? ReadStatus::Reset : ReadStatus::Error;
    }
}

bool StreamSocket::peerHungUp() const
{
    if (m_fd < 0)
        return true;
    pollfd p {m_fd, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

StreamSocket::ReadStatus StreamSocket::read(QByteArray &buffer, qsizetype max)
{
    if (m_tls)
        return readTls(buffer, max);
    if (m_fd < 0)
        return ReadStatus::Eof;
    const qsizetype before = buffer.size();
    buffer.resize(before + max);
    const ssize_t n = ::recv(m_fd, buffer.data() + before, size_t(max), 0);
    buffer.resize(before + std::max<qsizetype>(n, 0));
    if (n > 0)
        return ReadStatus::Data;
    if (n == 0) {
        m_readNotifier->setEnabled(false); // EOF stays readable: stop the notifier from spinning
        return ReadStatus::Eof;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return ReadStatus::WouldBlock;
    m_error = QString::fromLocal8Bit(std::strerror(errno));
    m_readNotifier->setEnabled(false);
    return errno == ECONNRESET ? ReadStatus::Reset : ReadStatus::Error;
}

void StreamSocket::write(QByteArrayView data)
{
    if (!m_tls) {
        rawWrite(data);
        return;
    }
    m_tls->send(data);
    flushTls();
}

void StreamSocket::rawWrite(QByteArrayView data)
{
    if (m_fd < 0 || data.isEmpty())
        return;
    qsizetype sent = 0;
    if (m_queue.empty()) {
        // Fast path: straight to the kernel, no copy.
        const ssize_t n = ::send(m_fd, data.data(), size_t(data.size()), MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            m_error = QString::fromLocal8Bit(std::strerror(errno));
            emit writeFailed();
            return;
        }
        sent = std::max<qsizetype>(n, 0);
        if (sent == data.size())
            return;
    }
    m_queue.emplace_back(data.sliced(sent).toByteArray());
    m_pending += data.size() - sent;
    m_writeNotifier->setEnabled(true);
}

bool StreamSocket::flushQueue()
{
    while (!m_queue.empty()) {
        iovec iov[16];
        int count = 0;
        for (auto it = m_queue.begin(); it != m_queue.end() && count < 16; ++it, ++count) {
            const qsizetype skip = count == 0 ? m_queueOffset : 0;
            iov[count].iov_base = const_cast<char *>(it->constData()) + skip;
            iov[count].iov_len = size_t(it->size() - skip);
        }
        msghdr msg {};
        msg.msg_iov = iov;
        msg.msg_iovlen = size_t(count);
        ssize_t n = ::sendmsg(m_fd, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return true;
            m_error = QString::fromLocal8Bit(std::strerror(errno));
            return false;
        }
        m_pending -= n;
        while (n > 0) {
            const qsizetype left = m_queue.front().size() - m_queueOffset;
            if (n < left) {
                m_queueOffset += n;
                return true; // the kernel is full
            }
            n -= left;
            m_queue.pop_front();
            m_queueOffset = 0;
        }
    }
    return true;
}

void StreamSocket::onWritable()
{
    if (!flushQueue()) {
        m_writeNotifier->setEnabled(false);
        emit writeFailed();
        return;
    }
    if (!m_queue.empty())
        return;
    m_writeNotifier->setEnabled(false);
    if (m_closing) {
        finishClose();
        return;
    }
    if (m_shutdownPending) {
        m_shutdownPending = false;
        ::shutdown(m_fd, SHUT_WR);
    }
    emit drained();
}

void StreamSocket::setReadEnabled(bool enabled)
{
    m_readEnabled = enabled;
    if (m_fd >= 0)
        m_readNotifier->setEnabled(enabled && !m_tlsEof);
    // A TLS end already read is announced again: the socket itself will not (its peer waits for us).
    if (enabled && m_tlsEof)
        QMetaObject::invokeMethod(this, [this] { emit readable(); }, Qt::QueuedConnection);
}

void StreamSocket::closeGracefully()
{
    if (m_fd < 0)
        return;
    m_writeShut = true;
    if (m_tls) {
        m_tls->close(); // close_notify before the FIN
        flushTls();
    }
    m_closing = true;
    m_readNotifier->setEnabled(false);
    if (m_queue.empty())
        finishClose();
}

void StreamSocket::shutdownWrite()
{
    if (m_fd < 0)
        return;
    m_writeShut = true;
    if (m_tls) {
        m_tls->close();
        flushTls();
    }
    if (m_queue.empty())
        ::shutdown(m_fd, SHUT_WR);
    else
        m_shutdownPending = true;
}

void StreamSocket::finishClose()
{
    if (m_fd < 0)
        return;
    ::shutdown(m_fd, SHUT_WR); // FIN after everything queued went out
    m_readNotifier->setEnabled(false);
    m_writeNotifier->setEnabled(false);
    ::close(m_fd);
    m_fd = -1;
    emit closed();
}

void StreamSocket::abort(bool reset)
{
    if (m_fd < 0)
        return;
    if (reset) {
        const linger l {1, 0};
        ::setsockopt(m_fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    m_readNotifier->setEnabled(false);
    m_writeNotifier->setEnabled(false);
    ::close(m_fd);
    m_fd = -1;
    m_queue.clear();
    m_pending = 0;
    emit closed();
}

} // namespace socktap::proxy
