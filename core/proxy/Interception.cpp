// ProxyConnection, continued: TLS interception. The client's TLS ends at Socktap (a leaf from the Socktap
// CA for the name it asked for); Socktap opens its own TLS to the server, verifies the certificate and
// records both legs. A rejected server certificate is answered inside the tunnel with a 502.
#include "ProxyConnection.h"

#include "ClientHello.h"
#include "TlsSession.h"

#include "core/capture/Clock.h"

namespace socktap::proxy {

using capture::EndReason;
using capture::SessionState;

QString ProxyConnection::upstreamTlsHost(const QByteArray &targetHost) const
{
    // The name the client asked for (SNI) is the one to ask the server for.
    return QString::fromLatin1(m_tls.sni.isEmpty() ? targetHost : m_tls.sni);
}

void ProxyConnection::interceptClient(const QStringList &fallbackNames, std::function<void()> then)
{
    m_phase = Phase::TlsHandshake;
    m_tls.intercepted = true;
    m_headTimer.start(m_config.headTimeoutMs);
    if (m_upstream)
        m_upstream->setReadEnabled(false); // nothing from the server until our TLS to it is up
    connect(m_client, &StreamSocket::tlsReady, this, [this, then] {
        TlsSession *t = m_client->tls();
        m_tls.sni = t->sni();
        m_tls.clientProtocol = t->protocol();
        m_tls.clientCipher = t->cipher();
        then();
    });
    connect(m_client, &StreamSocket::tlsFailed, this, [this](const QString &why) {
        ensureSession(capture::SessionKind::Tunnel);
        m_session.tls = m_tls;
        endSession(
            SessionState::Failed, EndReason::TlsError,
            QStringLiteral("TLS handshake with the client failed: %1 (does the client trust the Socktap CA? "
                           "socktap ca export)")
                .arg(why));
        closeAll();
    });
    m_client->startTls(TlsSession::server(*m_config.tls, fallbackNames), m_clientBuffer);
    m_clientBuffer.clear();
}

void ProxyConnection::startUpstreamTls(const QString &host, std::function<void()> then)
{
    connect(m_upstream, &StreamSocket::tlsReady, this, [this, host, then] {
        TlsSession *t = m_upstream->tls();
        m_tls.upstreamProtocol = t->protocol();
        m_tls.upstreamCipher = t->cipher();
        m_tls.upstreamSubject = t->peerSubject();
        m_tls.upstreamIssuer = t->peerIssuer();
        m_tls.upstreamValidity = t->peerValidity();
        m_tls.upstreamVerification = t->verification();
        m_tls.upstreamVerified = t->verified();
        const bool insecure =
            m_config.insecureUpstream || matchesHost(m_config.insecureUpstreamHosts, host.toLatin1());
        if (!t->verified() && insecure)
            m_tls.upstreamVerification += QStringLiteral(" (accepted: verification is off for this host)");
        if (m_haveSession)
            m_session.tls = m_tls; // learnt after the session began (reverse wss://, keep-alive redials)
        if (!t->verified() && !insecure)
            m_upstreamTlsProblem =
                QStringLiteral("the server's certificate for %1 was rejected: %2 (subject %3, issuer %4). "
                               "Trust its CA with --upstream-ca FILE or skip the check with "
                               "--insecure-upstream-host %1")
                    .arg(host, t->verification(), m_tls.upstreamSubject, m_tls.upstreamIssuer);
        then();
    });
    connect(m_upstream, &StreamSocket::tlsFailed, this, [this, then](const QString &why) {
        m_tls.upstreamVerification = why;
        m_upstreamTlsProblem = QStringLiteral("TLS handshake with the server failed: %1").arg(why);
        then();
    });
    m_upstream->setReadEnabled(true);
    m_upstream->startTls(TlsSession::client(*m_config.tls, host));
}

void ProxyConnection::interceptTunnel()
{
    const auto enterTunnel = [this] {
        // Requests inside the tunnel are parsed now; a rejected server certificate answers them 502.
        m_inTunnel = true;
        m_haveSession = false;
        m_phase = Phase::Idle;
        m_client->setReadEnabled(true);
        if (m_upstream)
            m_upstream->setReadEnabled(true);
        m_headTimer.start(m_config.headTimeoutMs);
        processClient();
    };
    const QString target = QString::fromLatin1(m_connectTarget->host);
    if (m_mockTunnel) {
        // No server to ask for its names or to verify: the client's TLS ends here with a leaf for the
        // name it asked for (or dialled), and each request dials its mock (or the server) itself.
        interceptClient({target}, enterTunnel);
        return;
    }
    if (!peekClientHello(m_clientBuffer).serverName.isEmpty()) {
        interceptClient({target}, [this, enterTunnel] {
            startUpstreamTls(upstreamTlsHost(m_connectTarget->host), enterTunnel);
        });
        return;
    }
    // No SNI (the client dialled an IP address, or checks another name than it dialled): the leaf must
    // carry the names of the server's own certificate, as mitmproxy's does, so the server goes first. The
    // ClientHello waits in m_clientBuffer meanwhile.
    m_phase = Phase::TlsHandshake;
    m_client->setReadEnabled(false);
    startUpstreamTls(target, [this, target, enterTunnel] {
        QStringList names {target};
        if (m_upstream->tls())
            names += m_upstream->tls()->peerNames();
        m_client->setReadEnabled(true);
        interceptClient(names, enterTunnel);
    });
}

bool ProxyConnection::maybeStartClientTls()
{
    // Reverse mode: a client may speak TLS to Socktap itself (wss:// to the listener). Looked at once.
    if (m_clientTlsDecided || !m_config.reverse || !m_config.tls || m_clientBuffer.isEmpty())
        return false;
    m_clientTlsDecided = true;
    if (uchar(m_clientBuffer[0]) != 0x16)
        return false;
    interceptClient({QString::fromLatin1(m_config.reverse->host)}, [this] {
        m_phase = Phase::Idle;
        m_headTimer.start(m_config.headTimeoutMs);
        processClient();
    });
    return true;
}

} // namespace socktap::proxy
