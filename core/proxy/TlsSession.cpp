#include "TlsSession.h"

#include "certs/CertificateAuthority.h"

#include <QFile>
#include <QHostAddress>

#include <openssl/err.h>

namespace socktap::proxy {

namespace {

int g_fallbackIndex = -1; // SSL ex_data slot: the host to issue for when there is no SNI
int g_caIndex = -1; // SSL_CTX ex_data slot: the CA

int selectCertificate(SSL *ssl, int *alert, void *)
{
    // The servername callback runs on every ClientHello once extensions are parsed (OpenSSL 1.1.1+), with
    // or without SNI.
    auto *ca =
        static_cast<certs::CertificateAuthority *>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), g_caIndex));
    const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    const auto *fallback = static_cast<const QStringList *>(SSL_get_ex_data(ssl, g_fallbackIndex));
    const QStringList names =
        sni ? QStringList {QString::fromUtf8(sni)} : (fallback ? *fallback : QStringList());
    QString error;
    const auto leaf = ca && !names.isEmpty() ? ca->leafFor(names, &error) : nullptr;
    if (!leaf || SSL_use_certificate(ssl, leaf->certificate.get()) != 1
        || SSL_use_PrivateKey(ssl, leaf->key) != 1) {
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    return SSL_TLSEXT_ERR_OK;
}

int selectAlpn(SSL *, const unsigned char **out, unsigned char *outLength, const unsigned char *in,
               unsigned int inLength, void *)
{
    // Only http/1.1: an HTTP/2 connection would carry WebSockets (RFC 8441) that this proxy does not speak.
    static const unsigned char http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    if (SSL_select_next_proto(const_cast<unsigned char **>(out), outLength, http11, sizeof http11, in,
                              inLength)
        == OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_OK;
    return SSL_TLSEXT_ERR_NOACK;
}

} // namespace

TlsContexts::TlsContexts(certs::CertificateAuthority *ca, const QStringList &extraUpstreamCas, QString *error)
    : m_ca(ca)
{
    if (g_fallbackIndex < 0) {
        g_fallbackIndex = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
        g_caIndex = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    }
    certs::SslCtxPtr server(SSL_CTX_new(TLS_server_method()));
    certs::SslCtxPtr client(SSL_CTX_new(TLS_client_method()));
    if (!server || !client) {
        if (error)
            *error = certs::opensslError(QStringLiteral("creating TLS contexts"));
        return;
    }
    for (SSL_CTX *ctx : {server.get(), client.get()})
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_ex_data(server.get(), g_caIndex, ca);
    SSL_CTX_set_tlsext_servername_callback(server.get(), selectCertificate);
    SSL_CTX_set_alpn_select_cb(server.get(), selectAlpn, nullptr);

    // Upstream: the system's trust store plus what the user added.
    if (SSL_CTX_set_default_verify_paths(client.get()) != 1) {
        if (error)
            *error = certs::opensslError(QStringLiteral("loading the system trust store"));
        return;
    }
    for (const QString &file : extraUpstreamCas) {
        if (SSL_CTX_load_verify_locations(client.get(), QFile::encodeName(file).constData(), nullptr) != 1) {
            if (error)
                *error = certs::opensslError(QStringLiteral("loading --upstream-ca %1").arg(file));
            return;
        }
    }
    static const unsigned char http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_protos(client.get(), http11, sizeof http11);
    // Verification runs and its verdict is kept, but does not abort the handshake: the proxy reports it
    // (502 with the reason, or on with --insecure-upstream-host).
    SSL_CTX_set_verify(client.get(), SSL_VERIFY_NONE, nullptr);
    m_server = std::move(server);
    m_client = std::move(client);
}

std::unique_ptr<TlsSession> TlsSession::server(const TlsContexts &contexts, const QStringList &fallbackNames)
{
    std::unique_ptr<TlsSession> s(new TlsSession);
    s->m_ssl.reset(SSL_new(contexts.server()));
    s->m_in = BIO_new(BIO_s_mem());
    s->m_out = BIO_new(BIO_s_mem());
    SSL_set_bio(s->m_ssl.get(), s->m_in, s->m_out);
    SSL_set_accept_state(s->m_ssl.get());
    // The fallback names must outlive the handshake: kept with the session.
    SSL_set_ex_data(s->m_ssl.get(), g_fallbackIndex, new QStringList(fallbackNames));
    return s;
}

std::unique_ptr<TlsSession> TlsSession::client(const TlsContexts &contexts, const QString &host)
{
    std::unique_ptr<TlsSession> s(new TlsSession);
    s->m_client = true;
    s->m_ssl.reset(SSL_new(contexts.client()));
    s->m_in = BIO_new(BIO_s_mem());
    s->m_out = BIO_new(BIO_s_mem());
    SSL_set_bio(s->m_ssl.get(), s->m_in, s->m_out);
    SSL_set_connect_state(s->m_ssl.get());
    const QByteArray name = host.toUtf8();
    const QHostAddress ip(host);
    X509_VERIFY_PARAM *param = SSL_get0_param(s->m_ssl.get());
    if (ip.isNull()) {
        SSL_set_tlsext_host_name(s->m_ssl.get(), name.constData()); // RFC 6066 3: names only, not IPs
        X509_VERIFY_PARAM_set1_host(param, name.constData(), size_t(name.size()));
    } else {
        X509_VERIFY_PARAM_set1_ip_asc(param, name.constData());
    }
    return s;
}

TlsSession::~TlsSession()
{
    if (m_ssl && !m_client)
        delete static_cast<QStringList *>(SSL_get_ex_data(m_ssl.get(), g_fallbackIndex));
}

void TlsSession::start()
{
    drive();
}

bool TlsSession::drive()
{
    if (m_handshakeDone)
        return true;
    ERR_clear_error();
    const int rc = SSL_do_handshake(m_ssl.get());
    if (rc == 1) {
        m_handshakeDone = true;
        if (m_client)
            m_verifyResult = SSL_get_verify_result(m_ssl.get());
        if (!m_pendingPlain.isEmpty())
            send(std::exchange(m_pendingPlain, QByteArray()));
        return true;
    }
    const int err = SSL_get_error(m_ssl.get(), rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
        return true;
    m_error = certs::opensslError(QStringLiteral("TLS handshake failed"));
    return false;
}

TlsSession::Status TlsSession::readPlain(QByteArray &plaintext)
{
    char buffer[16 * 1024];
    for (;;) {
        ERR_clear_error();
        const int n = SSL_read(m_ssl.get(), buffer, sizeof buffer);
        if (n > 0) {
            plaintext.append(buffer, n);
            continue;
        }
        const int err = SSL_get_error(m_ssl.get(), n);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
            return Status::Ok;
        if (err == SSL_ERROR_ZERO_RETURN)
            return Status::Closed; // close_notify
        m_error = certs::opensslError(QStringLiteral("TLS read failed"));
        return Status::Failed;
    }
}

TlsSession::Status TlsSession::receive(QByteArrayView ciphertext, QByteArray &plaintext)
{
    if (!ciphertext.isEmpty())
        BIO_write(m_in, ciphertext.data(), int(ciphertext.size()));
    if (!m_handshakeDone && !drive())
        return Status::Failed;
    if (!m_handshakeDone)
        return Status::Ok;
    return readPlain(plaintext);
}

void TlsSession::send(QByteArrayView plaintext)
{
    if (!m_handshakeDone) {
        m_pendingPlain.append(plaintext);
        return;
    }
    qsizetype done = 0;
    while (done < plaintext.size()) {
        const int n = SSL_write(m_ssl.get(), plaintext.data() + done,
                                int(std::min<qsizetype>(plaintext.size() - done, 1 << 30)));
        if (n <= 0)
            return; // with memory BIOs a write only fails if the session is dead; reads will say why
        done += n;
    }
}

void TlsSession::close()
{
    if (m_handshakeDone)
        SSL_shutdown(m_ssl.get());
}

QByteArray TlsSession::takeOutgoing()
{
    QByteArray out;
    const size_t pending = BIO_ctrl_pending(m_out);
    if (pending == 0)
        return out;
    out.resize(qsizetype(pending));
    const int n = BIO_read(m_out, out.data(), int(pending));
    out.resize(std::max(n, 0));
    return out;
}

QByteArray TlsSession::sni() const
{
    const char *name = SSL_get_servername(m_ssl.get(), TLSEXT_NAMETYPE_host_name);
    return name ? QByteArray(name) : QByteArray();
}

QString TlsSession::protocol() const
{
    return QString::fromLatin1(SSL_get_version(m_ssl.get()));
}

QString TlsSession::cipher() const
{
    return QString::fromLatin1(SSL_get_cipher_name(m_ssl.get()));
}

QByteArray TlsSession::alpn() const
{
    const unsigned char *data = nullptr;
    unsigned int length = 0;
    SSL_get0_alpn_selected(m_ssl.get(), &data, &length);
    return QByteArray(reinterpret_cast<const char *>(data), int(length));
}

QString TlsSession::verification() const
{
    return m_verifyResult == X509_V_OK ? QStringLiteral("ok")
                                       : QString::fromLatin1(X509_verify_cert_error_string(m_verifyResult));
}

QString TlsSession::peerSubject() const
{
    X509 *peer = SSL_get0_peer_certificate(m_ssl.get());
    return peer ? certs::nameText(X509_get_subject_name(peer)) : QString();
}

QString TlsSession::peerIssuer() const
{
    X509 *peer = SSL_get0_peer_certificate(m_ssl.get());
    return peer ? certs::nameText(X509_get_issuer_name(peer)) : QString();
}

QStringList TlsSession::peerNames() const
{
    X509 *peer = SSL_get0_peer_certificate(m_ssl.get());
    return peer ? certs::subjectNames(peer) : QStringList();
}

QString TlsSession::peerValidity() const
{
    X509 *peer = SSL_get0_peer_certificate(m_ssl.get());
    return peer ? certs::validityText(peer) : QString();
}

} // namespace socktap::proxy
