// One TLS endpoint over memory BIOs: ciphertext in, plaintext out and the other way round, sans I/O
// (StreamSocket moves the bytes). Server side: picks the leaf certificate for the client's SNI from the
// Socktap CA and offers only http/1.1 by ALPN, so browsers speak HTTP/1.1 upgrades to us. Client side:
// SNI, ALPN http/1.1, and the upstream certificate verified against the system store (plus extra CAs);
// the verdict is recorded and the caller decides whether to go on.
#pragma once

#include "certs/Ossl.h"

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <memory>

namespace socktap::certs {
class CertificateAuthority;
}

namespace socktap::proxy {

// Process-wide TLS settings shared by every connection (SSL_CTX objects are thread-safe once built).
class TlsContexts
{
public:
    TlsContexts(certs::CertificateAuthority *ca, const QStringList &extraUpstreamCas, QString *error);
    SSL_CTX *server() const { return m_server.get(); }
    SSL_CTX *client() const { return m_client.get(); }
    certs::CertificateAuthority *ca() const { return m_ca; }
    bool isValid() const { return m_server && m_client; }

private:
    certs::CertificateAuthority *m_ca;
    certs::SslCtxPtr m_server;
    certs::SslCtxPtr m_client;
};

class TlsSession
{
public:
    enum class Status { Ok, Closed, Failed };

    // Facing a client: fallbackNames name the leaf when the client sends no SNI (the first is its CN).
    static std::unique_ptr<TlsSession> server(const TlsContexts &contexts, const QStringList &fallbackNames);
    // Facing a server: sni is sent (for names) and the certificate is checked against it.
    static std::unique_ptr<TlsSession> client(const TlsContexts &contexts, const QString &host);
    ~TlsSession();

    // Feeds ciphertext from the peer; decrypted bytes are appended to plaintext. Handshake records are
    // answered through outgoing().
    Status receive(QByteArrayView ciphertext, QByteArray &plaintext);
    // Encrypts plaintext (queued until the handshake is done).
    void send(QByteArrayView plaintext);
    // Starts the handshake (a client's ClientHello) and produces what must go out.
    void start();
    // Sends close_notify.
    void close();
    // Ciphertext waiting to be written to the socket.
    QByteArray takeOutgoing();

    bool handshakeDone() const { return m_handshakeDone; }
    QString error() const { return m_error; }
    QByteArray sni() const; // server side: what the client asked for
    QString protocol() const; // "TLSv1.3"
    QString cipher() const;
    QByteArray alpn() const;
    // Client side, after the handshake.
    bool verified() const { return m_verifyResult == X509_V_OK; }
    QString verification() const; // "ok", or OpenSSL's reason
    QString peerSubject() const;
    QString peerIssuer() const;
    QString peerValidity() const;
    // The names the server's certificate is for (subjectAltName DNS and IP, else CN).
    QStringList peerNames() const;

private:
    TlsSession() = default;
    bool drive();
    Status readPlain(QByteArray &plaintext);

    certs::SslPtr m_ssl;
    BIO *m_in = nullptr; // owned by m_ssl
    BIO *m_out = nullptr;
    bool m_handshakeDone = false;
    bool m_client = false;
    long m_verifyResult = X509_V_OK;
    QByteArray m_pendingPlain; // written before the handshake finished
    QString m_error;
};

} // namespace socktap::proxy
