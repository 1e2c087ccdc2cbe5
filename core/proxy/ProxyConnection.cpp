#include "ProxyConnection.h"

#include "TcpConnector.h"
#include "TlsSession.h"

#include "core/capture/Clock.h"
#include "core/http/HeadWriter.h"
#include "core/ws/CloseCode.h"
#include "core/ws/ClosePayload.h"
#include "core/ws/FrameWriter.h"

namespace socktap::proxy {

using capture::Direction;
using capture::EndReason;
using capture::nowMicros;
using capture::SessionState;

namespace {

constexpr qsizetype ReadChunk = 64 * 1024;
constexpr int ReadsPerWakeup = 8; // fairness between connections sharing a worker thread
constexpr int LingerMs =
    5000; // a half-closed WebSocket or tunnel gets this long for the other side to finish

} // namespace

ProxyConnection::ProxyConnection(int fd, const ProxyConfig &config, capture::CaptureWriter &capture,
                                 QObject *parent)
    : QObject(parent)
    , m_config(config)
    , m_capture(capture)
    , m_client(new StreamSocket(fd, this))
    , m_requestParser(http::HeadParser::Kind::Request, config.headLimits)
    , m_responseParser(http::HeadParser::Kind::Response, config.headLimits)
{
    m_acceptedAt = nowMicros();
    m_readBuffer.reserve(ReadChunk);
    m_headTimer.setSingleShot(true);
    connect(&m_headTimer, &QTimer::timeout, this, &ProxyConnection::onHeadTimeout);
    m_lingerTimer.setSingleShot(true);
    connect(&m_lingerTimer, &QTimer::timeout, this, [this] { closeAll(); });
}

ProxyConnection::~ProxyConnection() = default;

void ProxyConnection::start()
{
    connect(m_client, &StreamSocket::readable, this, [this] { readFrom(Direction::ClientToServer); });
    connect(m_client, &StreamSocket::drained, this, [this] { onDrained(Direction::ServerToClient); });
    connect(m_client, &StreamSocket::writeFailed, this,
            [this] { onSideEnded(Direction::ClientToServer, StreamSocket::ReadStatus::Reset); });
    connect(m_client, &StreamSocket::closed, this, &ProxyConnection::maybeFinish);
    m_headTimer.start(m_config.headTimeoutMs);
}

StreamSocket *ProxyConnection::receiverOf(Direction d) const
{
    return d == Direction::ClientToServer ? m_upstream : m_client;
}

StreamSocket *ProxyConnection::senderOf(Direction d) const
{
    return d == Direction::ClientToServer ? m_client : m_upstream;
}

// --- reading ---

void ProxyConnection::readFrom(Direction from)
{
    for (int i = 0; i < ReadsPerWakeup; ++i) {
        // Looked up each turn: a handler may have replaced the upstream (a keep-alive redial).
        StreamSocket *socket = senderOf(from);
        if (!socket || !socket->isOpen() || !socket->readEnabled())
            return;
        m_readBuffer.resize(0);
        const auto status = socket->read(m_readBuffer, ReadChunk);
        if (status == StreamSocket::ReadStatus::WouldBlock)
            return;
        if (status != StreamSocket::ReadStatus::Data) {
            onSideEnded(from, status);
            return;
        }
        if (from == Direction::ClientToServer)
            onClientData(m_readBuffer);
        else
            onUpstreamData(m_readBuffer);
    }
}

void ProxyConnection::onClientData(QByteArrayView bytes)
{
    switch (m_phase) {
    case Phase::WebSocket:
        m_ws->received(Direction::ClientToServer, bytes);
        return;
    case Phase::Tunnel:
        m_upstream->write(bytes);
        m_session.tunnelBytes[0] += quint64(bytes.size());
        pauseIfCongested(Direction::ClientToServer);
        return;
    case Phase::Sniffing:
        m_clientBuffer.append(bytes);
        sniff();
        return;
    case Phase::Exchange:
        m_clientBuffer.append(bytes);
        processRequestBody();
        return;
    case Phase::Idle:
        m_clientBuffer.append(bytes);
        processClient();
        return;
    case Phase::Connecting:
    case Phase::Upgrading:
    case Phase::TlsHandshake:
        // Held until the upstream is ready; reading is paused so this stays small.
        m_clientBuffer.append(bytes);
        return;
    case Phase::Closing:
        return;
    }
}

void ProxyConnection::onUpstreamData(QByteArrayView bytes)
{
    switch (m_phase) {
    case Phase::WebSocket:
        m_ws->received(Direction::ServerToClient, bytes);
        return;
    case Phase::Tunnel:
        m_client->write(bytes);
        m_session.tunnelBytes[1] += quint64(bytes.size());
        pauseIfCongested(Direction::ServerToClient);
        return;
    case Phase::Sniffing:
        // The server speaks first (SMTP, SSH...): not HTTP, not TLS from the client. Relay it.
        m_upstreamBuffer.append(bytes);
        becomeTunnel();
        return;
    case Phase::Exchange:
    case Phase::Upgrading:
        m_upstreamBuffer.append(bytes);
        processResponse();
        return;
    case Phase::Idle:
    case Phase::Connecting:
    case Phase::TlsHandshake:
    case Phase::Closing:
        return; // an idle keep-alive upstream has nothing to say; drop it
    }
}

// --- backpressure ---

void ProxyConnection::pauseIfCongested(Direction from)
{
    // Stop reading the sender while the receiver has more than highWater bytes queued: TCP then slows the
    // sender down instead of Socktap buffering without bound.
    StreamSocket *to = receiverOf(from);
    StreamSocket *source = senderOf(from);
    if (to && source && to->pendingWrite() > m_config.highWater)
        source->setReadEnabled(false);
}

void ProxyConnection::onDrained(Direction towards)
{
    // The receiver of `towards` drained, so its sender may go on, where backpressure is what paused it.
    // Reading stays off elsewhere on purpose: while dialing, while waiting for a 101, and for a client's
    // pipelined requests once the current request's body is through.
    StreamSocket *source = senderOf(towards);
    if (!source || !source->isOpen() || source->readEnabled())
        return;
    const bool relaying = m_phase == Phase::WebSocket || m_phase == Phase::Tunnel;
    const bool streamingBody = m_phase == Phase::Exchange && (source == m_upstream || !m_requestBody.done());
    if (relaying || streamingBody)
        source->setReadEnabled(true); // the notifier fires for data already waiting in the kernel
}

// --- sessions ---

void ProxyConnection::beginSession(capture::SessionKind kind)
{
    m_session = capture::SessionInfo(); // its id comes with the first publish(): no gaps for discarded ones
    m_session.kind = kind;
    m_session.clientAddress = m_client->peerAddress();
    m_session.clientPort = m_client->peerPort();
    m_session.acceptedAt = m_acceptedAt;
    m_session.requestAt = nowMicros();
    m_session.tls = m_tls;
    m_haveSession = true;
}

void ProxyConnection::publish()
{
    if (!m_haveSession)
        return;
    if (m_session.id == 0)
        m_session.id = m_capture.store().newSessionId();
    if (m_ws) {
        const WebSocketRelay &relay = m_ws->relay();
        m_session.violations = relay.violations();
        m_session.firstViolation = relay.firstViolation();
        const EndReason end = m_session.close.end;
        const QString detail = m_session.close.detail;
        m_session.close = relay.close();
        m_session.close.end = end;
        m_session.close.detail = detail;
    }
    m_capture.session(m_session);
}

void ProxyConnection::failRequest(int status, const QString &message, EndReason reason)
{
    // HTTP phase errors answer the client precisely and leave a session entry saying what happened.
    if (!m_haveSession) {
        beginSession(m_connectTarget && !m_inTunnel ? capture::SessionKind::Tunnel
                                                    : capture::SessionKind::Http);
        m_session.request = m_request;
    }
    m_session.state = SessionState::Failed;
    m_session.error =
        QStringLiteral("%1 %2: %3").arg(status).arg(QString::fromLatin1(http::reasonPhrase(status)), message);
    m_session.close.end = reason;
    m_session.closedAt = nowMicros();
    m_session.response.status = status;
    m_session.response.reason = http::reasonPhrase(status);
    publish();
    m_haveSession = false;
    if (!m_sentToClient && m_client->isOpen())
        m_client->write(http::errorResponse(status, message));
    closeAll();
}

void ProxyConnection::onHeadTimeout()
{
    if (m_phase == Phase::TlsHandshake) {
        if (!m_haveSession)
            beginSession(capture::SessionKind::Tunnel);
        m_session.state = SessionState::Failed;
        m_session.error = QStringLiteral("the TLS handshake did not finish within %1 s")
                              .arg(m_config.headTimeoutMs / 1000.0);
        m_session.close.end = EndReason::Timeout;
        m_session.closedAt = nowMicros();
        publish();
        closeAll();
        return;
    }
    if (m_phase != Phase::Idle)
        return;
    if (m_clientBuffer.isEmpty() && m_requestParser.status() == http::HeadParser::Status::NeedMore
        && !m_haveSession) {
        closeAll(); // an idle keep-alive connection: nothing to record
        return;
    }
    failRequest(408,
                QStringLiteral("no complete request head within %1 s").arg(m_config.headTimeoutMs / 1000.0),
                EndReason::Timeout);
}

// --- upstream ---

void ProxyConnection::dial(const QByteArray &host, quint16 port, bool tls, std::function<void()> then)
{
    if (tls && !m_config.tls) {
        failRequest(502, QStringLiteral("TLS to the server is not available in this configuration"),
                    EndReason::TlsError);
        return;
    }
    const QByteArray key = host + ':' + QByteArray::number(port);
    if (m_upstream && m_upstream->isOpen() && m_upstreamKey == key) {
        then(); // keep-alive: reuse the connection
        return;
    }
    if (m_upstream) {
        m_upstream->disconnect(this);
        m_upstream->abort();
        m_upstream->deleteLater();
        m_upstream = nullptr;
    }
    m_upstreamBuffer.clear();
    m_connector = new TcpConnector(host, port, m_config.connectTimeoutMs, this);
    connect(m_connector, &TcpConnector::connected, this, [this, key, host, tls, then](int fd) {
        m_connector->deleteLater();
        m_connector = nullptr;
        attachUpstream(fd, key);
        if (!tls) {
            then();
            return;
        }
        startUpstreamTls(upstreamTlsHost(host), [this, then] {
            if (!m_upstreamTlsProblem.isEmpty()) {
                failRequest(502, m_upstreamTlsProblem, EndReason::TlsError);
                return;
            }
            then();
        });
    });
    connect(m_connector, &TcpConnector::failed, this, [this](int status, const QString &message) {
        m_connector->deleteLater();
        m_connector = nullptr;
        failRequest(status, message, EndReason::UpstreamFailed);
    });
    m_connector->start();
}

void ProxyConnection::attachUpstream(int fd, const QByteArray &key)
{
    m_upstream = new StreamSocket(fd, this);
    m_upstreamKey = key;
    connect(m_upstream, &StreamSocket::readable, this, [this] { readFrom(Direction::ServerToClient); });
    connect(m_upstream, &StreamSocket::drained, this, [this] { onDrained(Direction::ClientToServer); });
    connect(m_upstream, &StreamSocket::writeFailed, this,
            [this] { onSideEnded(Direction::ServerToClient, StreamSocket::ReadStatus::Reset); });
    connect(m_upstream, &StreamSocket::closed, this, &ProxyConnection::maybeFinish);
}

// --- CONNECT ---

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
    dial(m_connectTarget->host, m_connectTarget->port, false, [this] {
        m_client->write("HTTP/1.1 200 Connection Established\r\n\r\n");
        m_phase = Phase::Sniffing;
        m_client->setReadEnabled(true);
        m_upstream->setReadEnabled(true);
        if (!m_clientBuffer.isEmpty())
            sniff();
    });
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
        interceptClient(QString::fromLatin1(m_connectTarget->host), [this] {
            startUpstreamTls(upstreamTlsHost(m_connectTarget->host), [this] {
                // Requests inside the tunnel are parsed now; a rejected server certificate answers them 502.
                m_inTunnel = true;
                m_haveSession = false;
                m_phase = Phase::Idle;
                m_client->setReadEnabled(true);
                m_headTimer.start(m_config.headTimeoutMs);
                processClient();
            });
        });
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
    m_phase = Phase::Tunnel;
    m_headTimer.stop();
    if (!m_haveSession)
        beginSession(capture::SessionKind::Tunnel);
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

// --- ending ---

void ProxyConnection::onSideEnded(Direction side, StreamSocket::ReadStatus how)
{
    const bool reset = how == StreamSocket::ReadStatus::Reset || how == StreamSocket::ReadStatus::Error;
    const bool client = side == Direction::ClientToServer;
    if (m_phase == Phase::WebSocket || m_phase == Phase::Tunnel) {
        if (m_ws)
            m_ws->ended(side);
        if (!m_firstEnd)
            m_firstEnd = FirstEnd {side, reset, m_ws && m_ws->relay().close().handshakeCompleted()};
        if (!reset && m_ws && m_ws->relay().backlog(side) > 0) {
            // Messages held from this side still have to reach the other: its FIN waits for them.
            m_finPending[capture::directionIndex(side)] = true;
            senderOf(side)->setReadEnabled(false);
            publish();
            return;
        }
        if (!reset && passOnHalfClose(side)) {
            publish();
            return;
        }
        closeAll(reset); // records how it ended
        return;
    }
    if (!client && (m_phase == Phase::Exchange || m_phase == Phase::Upgrading)) {
        // The server went away in the middle of an exchange.
        if (m_responseHeadDone && m_responseBody.kind() == http::BodyFramer::Kind::UntilClose && !reset) {
            m_responseBody.finishAtClose();
            m_keepAlive = false;
            exchangeFinished();
            return;
        }
        const QString what = reset ? QStringLiteral("the server reset the connection")
                                   : QStringLiteral("the server closed the connection");
        if (!m_sentToClient) {
            failRequest(502, QStringLiteral("%1 before sending a complete response").arg(what),
                        EndReason::UpstreamFailed);
            return;
        }
        m_session.state = SessionState::Failed;
        m_session.error = QStringLiteral("%1 in the middle of the response body").arg(what);
        m_session.close.end = reset ? EndReason::ServerReset : EndReason::ServerEof;
        m_session.closedAt = nowMicros();
        publish();
        closeAll(true); // the client must not take a truncated body for a whole one
        return;
    }
    if (!client && (m_phase == Phase::Idle || m_phase == Phase::Connecting)) {
        // An idle keep-alive upstream closed: forget it, keep the client.
        if (m_upstream) {
            m_upstream->disconnect(this);
            m_upstream->abort();
            m_upstream->deleteLater();
            m_upstream = nullptr;
        }
        return;
    }
    if (client && m_haveSession && m_session.state == SessionState::Connecting) {
        m_session.state = SessionState::Failed;
        m_session.error = QStringLiteral("the client went away before the exchange completed");
        m_session.close.end = reset ? EndReason::ClientReset : EndReason::ClientEof;
        m_session.closedAt = nowMicros();
        publish();
    }
    closeAll(reset);
}

EndReason ProxyConnection::finalEndReason()
{
    if (m_ws && m_ws->relay().close().handshakeCompleted()) {
        if (m_firstEnd && !m_firstEnd->handshakeDone)
            m_session.close.detail =
                QStringLiteral("the %1 ended TCP before the %2's Close frame arrived")
                    .arg(QLatin1String(capture::directionName(m_firstEnd->side)),
                         QLatin1String(capture::directionName(capture::opposite(m_firstEnd->side))));
        return EndReason::Closed;
    }
    if (!m_firstEnd)
        return EndReason::Timeout; // nobody ended it: the linger ran out
    if (m_firstEnd->side == Direction::ClientToServer)
        return m_firstEnd->reset ? EndReason::ClientReset : EndReason::ClientEof;
    return m_firstEnd->reset ? EndReason::ServerReset : EndReason::ServerEof;
}

bool ProxyConnection::passOnHalfClose(Direction side)
{
    // TCP transparency: a FIN from one peer is passed on as a FIN, and the other direction keeps flowing
    // (a Close reply may still be on its way) until that peer ends too.
    if (m_halfClosed && *m_halfClosed != side)
        return false; // both sides have sent FIN: done
    m_halfClosed = side;
    StreamSocket *receiver = receiverOf(side);
    if (!receiver || !receiver->isOpen())
        return false;
    receiver->shutdownWrite();
    m_lingerTimer.start(LingerMs);
    return true;
}

void ProxyConnection::closeAll(bool reset)
{
    m_lingerTimer.stop();
    if (m_phase == Phase::WebSocket)
        endWebSocket(finalEndReason());
    if (m_phase == Phase::Tunnel && m_session.close.end == EndReason::None) {
        m_session.state = SessionState::Closed;
        m_session.closedAt = nowMicros();
        m_session.close.end = finalEndReason();
        publish();
    }
    m_phase = Phase::Closing;
    m_headTimer.stop();
    if (m_connector) {
        m_connector->deleteLater();
        m_connector = nullptr;
    }
    for (StreamSocket *s : {m_client, m_upstream}) {
        if (!s || !s->isOpen())
            continue;
        if (reset)
            s->abort(true); // a reset on one leg is passed on as a reset
        else
            s->closeGracefully(); // after what is queued
    }
    maybeFinish();
}

void ProxyConnection::maybeFinish()
{
    if (m_finished || m_phase != Phase::Closing)
        return;
    if ((m_client && m_client->isOpen()) || (m_upstream && m_upstream->isOpen()))
        return;
    m_finished = true;
    emit finished();
}

void ProxyConnection::shutdown()
{
    m_shuttingDown = true;
    if (m_phase == Phase::WebSocket && m_ws && !m_ws->relay().failed()) {
        m_ws->sendClose(ws::CloseCode::GoingAway, "Socktap is shutting down", true, true);
        endWebSocket(EndReason::ProxyShutdown);
        closeAll();
        return;
    }
    if (m_haveSession
        && (m_session.state == SessionState::Open || m_session.state == SessionState::Connecting)) {
        m_session.state = m_session.state == SessionState::Open ? SessionState::Closed : SessionState::Failed;
        m_session.close.end = EndReason::ProxyShutdown;
        m_session.closedAt = nowMicros();
        publish();
    }
    closeAll();
}

} // namespace socktap::proxy
