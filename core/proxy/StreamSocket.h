// A connected, non-blocking TCP socket driven by QSocketNotifier. Reads go straight into the caller's
// buffer and writes go straight to the kernel, buffering only what it will not take yet, so relayed bytes
// are copied at most once. Unlike QTcpSocket it reports a reset apart from a clean EOF, can pause reading
// (backpressure) and can half-close. The only class besides TcpConnector and Listener that touches fds.
#pragma once

#include <QByteArray>
#include <QObject>
#include <QString>

#include <deque>
#include <memory>

class QSocketNotifier;

namespace socktap::proxy {

class TlsSession;

class StreamSocket final : public QObject
{
    Q_OBJECT

public:
    enum class ReadStatus { Data, WouldBlock, Eof, Reset, Error };

    explicit StreamSocket(int fd, QObject *parent = nullptr);
    ~StreamSocket() override;

    // From here on the stream is TLS: read() returns plaintext and write() encrypts. alreadyRead is
    // ciphertext read before the decision (the sniffed ClientHello). A client session starts its handshake.
    void startTls(std::unique_ptr<TlsSession> session, QByteArrayView alreadyRead = {});
    TlsSession *tls() const { return m_tls.get(); }

    // Appends up to max bytes to buffer.
    ReadStatus read(QByteArray &buffer, qsizetype max);
    // Sends what the kernel takes now and queues the rest (sent in order as the socket drains).
    void write(QByteArrayView data);
    qsizetype pendingWrite() const { return m_pending; }

    void setReadEnabled(bool enabled);
    bool readEnabled() const { return m_readEnabled; }
    // Flushes the queue, then sends FIN and closes.
    void closeGracefully();
    // Flushes the queue, then sends FIN but keeps reading: passes on a peer's half-close.
    void shutdownWrite();
    // Closes now; with reset, the peer gets a TCP RST (SO_LINGER 0), as a reset on the other leg deserves.
    void abort(bool reset = false);
    bool isOpen() const { return m_fd >= 0; }
    // Nothing more may be written: shutdownWrite() or closeGracefully() was called.
    bool writeShut() const { return m_writeShut; }
    // Whether the peer has ended its stream or the connection failed, without reading anything (for a
    // side that is deliberately not read: a stalled one must still notice that its peer left).
    bool peerHungUp() const;

    QString peerAddress() const { return m_peerAddress; }
    quint16 peerPort() const { return m_peerPort; }
    // This end's address as "host:port" ("[::1]:8080" for IPv6): where the peer reached us.
    QString localAuthority() const { return m_localAuthority; }
    QString errorString() const { return m_error; }

signals:
    void readable();
    void drained(); // the write queue emptied
    void writeFailed(); // the peer is gone (EPIPE, ECONNRESET on send)
    void closed(); // after closeGracefully() finished or abort()
    void tlsReady(); // the TLS handshake completed (queued)
    void tlsFailed(const QString &why); // (queued)

private:
    void rawWrite(QByteArrayView data);
    void flushTls();
    ReadStatus readTls(QByteArray &buffer, qsizetype max);
    void onWritable();
    bool flushQueue();
    void finishClose();

    int m_fd = -1;
    QSocketNotifier *m_readNotifier = nullptr;
    QSocketNotifier *m_writeNotifier = nullptr;
    std::deque<QByteArray> m_queue;
    qsizetype m_queueOffset = 0; // bytes of m_queue.front() already sent
    qsizetype m_pending = 0;
    bool m_readEnabled = true;
    bool m_closing = false;
    bool m_shutdownPending = false;
    bool m_writeShut = false;
    QString m_peerAddress;
    quint16 m_peerPort = 0;
    QString m_localAuthority;
    QString m_error;
    std::unique_ptr<TlsSession> m_tls;
    QByteArray m_cipher; // ciphertext read, for the TLS session
    bool m_tlsReported = false;
    bool m_tlsEof = false; // the peer's close_notify arrived: every later read is the end
};

// Puts fd in non-blocking mode with TCP_NODELAY (small messages must not wait for Nagle).
void prepareSocket(int fd);

} // namespace socktap::proxy
