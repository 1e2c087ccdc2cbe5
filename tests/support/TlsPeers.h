// TLS peers for tests: a wss:// echo server whose certificate for a host comes from a given CA (the
// "real server" behind Socktap), and a client configuration that trusts one extra CA.
#pragma once

#include "certs/CertificateAuthority.h"

#include <QSslConfiguration>
#include <QSslKey>
#include <QWebSocket>
#include <QWebSocketServer>

namespace socktap::test {

struct SecureEcho
{
    QWebSocketServer server {QStringLiteral("secure-echo"), QWebSocketServer::SecureMode};

    // A certificate for names (one or more: DNS names, IP addresses).
    SecureEcho(certs::CertificateAuthority &ca, const QStringList &names)
    {
        const auto leaf = ca.leafFor(names);
        QSslConfiguration config = QSslConfiguration::defaultConfiguration();
        config.setLocalCertificate(
            QSslCertificate(certs::CertificateAuthority::certificatePem(leaf->certificate.get())));
        config.setPrivateKey(QSslKey(ca.leafKeyPem(), QSsl::Ec));
        config.setPeerVerifyMode(QSslSocket::VerifyNone);
        server.setSslConfiguration(config);
        if (!server.listen(QHostAddress::LocalHost, 0))
            qFatal("secure echo did not listen");
        QObject::connect(&server, &QWebSocketServer::newConnection, [this] {
            while (QWebSocket *ws = server.nextPendingConnection()) {
                ws->setParent(&server);
                QObject::connect(ws, &QWebSocket::textMessageReceived, ws,
                                 [ws](const QString &m) { ws->sendTextMessage(m); });
                QObject::connect(ws, &QWebSocket::binaryMessageReceived, ws,
                                 [ws](const QByteArray &m) { ws->sendBinaryMessage(m); });
            }
        });
    }
    SecureEcho(certs::CertificateAuthority &ca, const QString &host)
        : SecureEcho(ca, QStringList {host})
    { }
    quint16 port() const { return server.serverPort(); }
};

inline QSslConfiguration trusting(const QByteArray &caPem)
{
    QSslConfiguration c = QSslConfiguration::defaultConfiguration();
    auto cas = c.caCertificates();
    cas.append(QSslCertificate(caPem));
    c.setCaCertificates(cas);
    return c;
}

} // namespace socktap::test
