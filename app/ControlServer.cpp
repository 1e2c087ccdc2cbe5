#include "ControlServer.h"

#include "certs/CertificateAuthority.h"
#include "core/capture/BatchJournal.h"

#include <QSslConfiguration>
#include <QSslKey>
#include <QTimer>
#include <QUrlQuery>
#include <QWebSocket>
#include <QWebSocketServer>

#include <openssl/x509.h>

namespace socktap::app {

ControlServer::ControlServer(std::shared_ptr<capture::BatchJournal> journal, QObject *parent)
    : QObject(parent)
    , m_journal(std::move(journal))
    , m_timer(new QTimer(this))
{
    // What the journal's flusher wrote (at least every 100 ms) goes out within 50 ms more.
    m_timer->setInterval(50);
    connect(m_timer, &QTimer::timeout, this, &ControlServer::pump);
}

ControlServer::~ControlServer()
{
    for (Client &c : m_clients)
        c.socket->abort();
}

bool ControlServer::listen(const QString &host, quint16 port, certs::CertificateAuthority &ca,
                           const QString &token, QString *error)
{
    if (!m_journal) {
        *error =
            QStringLiteral("--control streams the crash journal, and this run keeps none (--memory-only)");
        return false;
    }
    QString why;
    const auto leaf = ca.leafFor(host, &why);
    if (!leaf) {
        *error = QStringLiteral("--control: no certificate for %1: %2").arg(host, why);
        return false;
    }
    QSslConfiguration ssl = QSslConfiguration::defaultConfiguration();
    ssl.setLocalCertificate(
        QSslCertificate(certs::CertificateAuthority::certificatePem(leaf->certificate.get())));
    ssl.setPrivateKey(QSslKey(ca.leafKeyPem(), QSsl::Ec));
    if (ssl.privateKey().isNull())
        ssl.setPrivateKey(QSslKey(ca.leafKeyPem(), QSsl::Rsa));
    ssl.setPeerVerifyMode(QSslSocket::VerifyNone); // (clients prove themselves with the token)
    m_server = new QWebSocketServer(QStringLiteral("socktap-control"), QWebSocketServer::SecureMode, this);
    m_server->setSslConfiguration(ssl);
    m_token = token;
    if (!m_server->listen(QHostAddress(host), port)) {
        *error = QStringLiteral("--control %1:%2: %3").arg(host).arg(port).arg(m_server->errorString());
        return false;
    }
    connect(m_server, &QWebSocketServer::newConnection, this, &ControlServer::accept);
    m_timer->start();
    return true;
}

quint16 ControlServer::port() const
{
    return m_server ? m_server->serverPort() : 0;
}

int ControlServer::clients() const
{
    return int(m_clients.size());
}

void ControlServer::accept()
{
    while (QWebSocket *socket = m_server->nextPendingConnection()) {
        socket->setParent(this);
        const QUrlQuery query(socket->requestUrl());
        // Compared in full whatever differs first: no timing hint about how much of a guess was right.
        const QByteArray given = query.queryItemValue(QStringLiteral("token")).toUtf8();
        const QByteArray wanted = m_token.toUtf8();
        int diff = given.size() == wanted.size() ? 0 : 1;
        for (qsizetype i = 0; i < std::min(given.size(), wanted.size()); ++i)
            diff |= given[i] ^ wanted[i];
        if (diff != 0 || socket->requestUrl().path() != QLatin1String("/capture")) {
            socket->close(QWebSocketProtocol::CloseCodePolicyViolated, QStringLiteral("wrong token"));
            socket->deleteLater();
            continue;
        }
        bool ok = true;
        const quint64 from = query.queryItemValue(QStringLiteral("from")).toULongLong(&ok);
        Client c {socket, ok ? from : 0};
        connect(socket, &QWebSocket::disconnected, this, [this, socket] {
            std::erase_if(m_clients, [socket](const Client &c) { return c.socket == socket; });
            socket->deleteLater();
        });
        m_clients.push_back(c);
    }
    pump();
}

void ControlServer::pump()
{
    // Only what the flusher has handed to the kernel: bytes still pending may be rewritten (a padded
    // last block), and the stream's bytes are final once sent.
    const auto file = m_journal->file();
    const quint64 written = file->written();
    for (Client &c : m_clients) {
        while (c.offset < written && c.socket->bytesToWrite() < SendAhead) {
            const qint64 n = qint64(std::min<quint64>(written - c.offset, Piece));
            const QByteArray bytes = file->read(c.offset, n);
            if (bytes.size() != n)
                break; // (read again at the next turn)
            c.socket->sendBinaryMessage(bytes);
            c.offset += quint64(n);
        }
    }
}

} // namespace socktap::app
