// ProxyConnection, continued: CONNECT tunnels. The tunnel is dialled and answered, then what the client
// speaks decides: TLS is intercepted (or tunnelled untouched), HTTP is parsed request by request, and
// anything else is relayed as opaque bytes.
#include "ProxyConnection.h"

#include "core/intercept/InterceptHub.h"

#include "ClientHello.h"

#include "core/capture/Clock.h"

namespace socktap::proxy {

using capture::Direction;
using capture::EndReason;
using capture::nowMicros;
using capture::SessionState;

void ProxyConnection::handleConnect(const http::RequestHead &head)
{
    QString why;
    m_connectTarget = http::RequestTarget::parse(head.method, head.target, &why);
    if (!m_connectTarget) {
        failRequest(400, QStringLiteral("bad CONNECT target: %1").arg(why), EndReason::ClientError);
        return;
    }
    beginSession(capture::SessionKind::Tunnel);
    m_session.mode = capture::ProxyMode::Connect;
    m_session.host = m_connectTarget->host;
    m_session.port = m_connectTarget->port;
    m_session.request = head;
    m_phase = Phase::Connecting;
    m_client->setReadEnabled(false);
    const auto established = [this] {
        m_client->write("HTTP/1.1 200 Connection Established\r\n\r\n");
        m_phase = Phase::Sniffing;
        m_headTimer.start(m_config.headTimeoutMs); // a client that then says nothing does not hold it forever
        m_client->setReadEnabled(true);
        if (m_upstream)
            m_upstream->setReadEnabled(true);
        if (!m_clientBuffer.isEmpty())
            sniff();
    };
    // A host a mock rule answers may have no server at all: the tunnel is not dialled; each request in
    // it goes to its mock, or to the server when no mock rule takes its path (dialled then).
    m_mockTunnel = m_config.intercept && m_config.intercept->mocksHost(m_connectTarget->host);
    if (m_mockTunnel) {
        established();
        return;
    }
    dial(m_connectTarget->host, m_connectTarget->port, false, established);
}

void ProxyConnection::sniff()
{
    if (m_clientBuffer.isEmpty())
        return;
    const uchar first = uchar(m_clientBuffer[0]);
    if (first == 0x16) {
        // A TLS ClientHello (record type 22): intercepted, unless the host is exempt (certificate pinning)
        // or interception is off, in which case it is relayed untouched as an opaque tunnel.
        if (!m_config.tls || matchesHost(m_config.noIntercept, m_connectTarget->host)) {
            becomeTunnel();
            return;
        }
        // Whether it names a server decides who goes first: wait for the whole first record (at most
        // 16 KiB; the head timer bounds a client that stops halfway).
        if (peekClientHello(m_clientBuffer).status == ClientHelloPeek::Status::NeedMore)
            return;
        interceptTunnel();
        return;
    }
    // An HTTP request starts with a method token and a space.
    const qsizetype space = m_clientBuffer.indexOf(' ');
    const QByteArrayView method =
        QByteArrayView(m_clientBuffer).first(space < 0 ? m_clientBuffer.size() : space);
    if (!http::isToken(method)) {
        becomeTunnel();
        return;
    }
    if (space < 0 && m_clientBuffer.size() < 32)
        return; // need more bytes to decide
    if (space < 0) {
        becomeTunnel();
        return;
    }
    // Plain HTTP inside the tunnel: each request becomes its own session.
    m_inTunnel = true;
    m_haveSession = false;
    m_phase = Phase::Idle;
    processClient();
}

void ProxyConnection::becomeTunnel()
{
    if (!m_upstream) {
        // A CONNECT to a host a mock rule names was not dialled; what came is no request Socktap reads
        // (TLS it does not intercept, another protocol): it was meant for the server, dialled now.
        m_mockTunnel = false;
        m_client->setReadEnabled(false);
        dial(m_connectTarget->host, m_connectTarget->port, false, [this] {
            m_client->setReadEnabled(true);
            becomeTunnel();
        });
        return;
    }
    m_phase = Phase::Tunnel;
    m_headTimer.stop();
    ensureSession(capture::SessionKind::Tunnel);
    m_session.kind = capture::SessionKind::Tunnel;
    m_session.state = SessionState::Open;
    m_session.upgradedAt = nowMicros();
    if (!m_clientBuffer.isEmpty()) {
        m_upstream->write(m_clientBuffer);
        m_session.tunnelBytes[0] += quint64(m_clientBuffer.size());
        m_clientBuffer.clear();
    }
    if (!m_upstreamBuffer.isEmpty()) {
        m_client->write(m_upstreamBuffer);
        m_session.tunnelBytes[1] += quint64(m_upstreamBuffer.size());
        m_upstreamBuffer.clear();
    }
    m_client->setReadEnabled(true);
    m_upstream->setReadEnabled(true);
    publish();
}

} // namespace socktap::proxy
