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
// A client refused for the connection limit holds a descriptor until its request arrives: not for long.
constexpr int RefusalHeadTimeoutMs = 5'000;

} // namespace

ProxyConnection::ProxyConnection(int fd, const ProxyConfig &config, capture::CaptureWriter &capture,
                                 const QString &refusal, QObject *parent)
    : QObject(parent)
    , m_config(config)
    , m_capture(capture)
    , m_client(new StreamSocket(fd, this))
    , m_refusal(refusal)
    , m_requestParser(http::HeadParser::Kind::Request, config.headLimits)
    , m_responseParser(http::HeadParser::Kind::Response, config.headLimits)
{
    m_acceptedAt = nowMicros();
    m_headTimer.setSingleShot(true);
    connect(&m_headTimer, &QTimer::timeout, this, &ProxyConnection::onHeadTimeout);
    m_responseTimer.setSingleShot(true);
    connect(&m_responseTimer, &QTimer::timeout, this, &ProxyConnection::onResponseTimeout);
    m_lingerTimer.setSingleShot(true);
    connect(&m_lingerTimer, &QTimer::timeout, this, [this] {
        // A FIN waiting for held messages means the user still has them: they are not thrown away. Bytes a
        // throttle has not let through yet (a Close's answer among them) are waited for too.
        if (m_finPending[0] || m_finPending[1] || (m_ws && m_ws->throttleWaiting()))
            m_lingerTimer.start();
        else
            closeAll();
    });
}

ProxyConnection::~ProxyConnection() = default;

void ProxyConnection::start()
{
    connect(m_client, &StreamSocket::readable, this, [this] { readFrom(Direction::ClientToServer); });
    connect(m_client, &StreamSocket::drained, this, [this] { onDrained(Direction::ServerToClient); });
    connect(m_client, &StreamSocket::writeFailed, this,
            [this] { onSideEnded(Direction::ClientToServer, StreamSocket::ReadStatus::Reset); });
    connect(m_client, &StreamSocket::closed, this, &ProxyConnection::maybeFinish);
    m_headTimer.start(m_refusal.isEmpty() ? m_config.headTimeoutMs
                                          : std::min(m_config.headTimeoutMs, RefusalHeadTimeoutMs));
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
    if (m_ws)
        m_ws->startSlice(from);
    for (int i = 0; i < ReadsPerWakeup; ++i) {
        // Looked up each turn: a handler may have replaced the upstream (a keep-alive redial).
        StreamSocket *socket = senderOf(from);
        if (!socket || !socket->isOpen() || !socket->readEnabled())
            return;
        // One buffer per worker thread, not per connection (64 KiB each of 10,000 adds up): nothing keeps a
        // view into it past this call, and reads never nest (they start from the event loop only).
        static thread_local QByteArray buffer;
        buffer.resize(0);
        qsizetype most = std::min(ReadChunk, m_config.highWaterNow());
        if (m_ws && m_phase == Phase::WebSocket) {
            // A throttle rule: read no faster than its rate (the session wakes reading up again).
            if (const qsizetype allowed = m_ws->readAllowance(from); allowed == 0) {
                socket->setReadEnabled(false);
                return;
            } else if (allowed > 0) {
                most = std::min(most, allowed);
            }
        }
        const auto status = socket->read(buffer, most);
        if (status == StreamSocket::ReadStatus::WouldBlock)
            return;
        if (status != StreamSocket::ReadStatus::Data) {
            onSideEnded(from, status);
            return;
        }
        if (m_ws && m_phase == Phase::WebSocket)
            m_ws->readTaken(from, buffer.size());
        if (from == Direction::ClientToServer)
            onClientData(buffer);
        else
            onUpstreamData(buffer);
        if (m_ws && m_ws->sliceSpent(from))
            return; // decoding had its share of this turn; the socket stays readable for the next
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
    case Phase::Upgrading:
        // Held for after the 101. Reading goes on (so a client that leaves is noticed, not left in
        // CLOSE-WAIT for as long as the server is silent) until highWater bytes wait.
        m_clientBuffer.append(bytes);
        if (m_clientBuffer.size() > m_config.highWaterNow())
            m_client->setReadEnabled(false);
        return;
    case Phase::Connecting:
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
        if (m_config.responseTimeoutMs > 0)
            m_responseTimer.start(m_config.responseTimeoutMs); // it is moving
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
    if (to && source && to->pendingWrite() > m_config.highWaterNow())
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
    if (m_ws && !m_ws->mayRead(towards))
        return; // held messages are what keeps it paused: a command will resume it
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

void ProxyConnection::ensureSession(capture::SessionKind kind)
{
    if (!m_haveSession)
        beginSession(kind);
}

void ProxyConnection::endSession(SessionState state, EndReason reason, const QString &error)
{
    // The one place a session ends: its state, why, when, and the record published.
    m_session.state = state;
    if (!error.isEmpty())
        m_session.error = error;
    if (reason != EndReason::None)
        m_session.close.end = reason;
    m_session.closedAt = nowMicros();
    publish();
    if (m_ws && reason != EndReason::None)
        m_ws->sessionEnded();
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

void ProxyConnection::failRequest(int status, const QString &message, EndReason reason,
                                  const http::Headers &extraHeaders)
{
    // HTTP phase errors answer the client precisely and leave a session entry saying what happened.
    if (!m_haveSession) {
        beginSession(m_connectTarget && !m_inTunnel ? capture::SessionKind::Tunnel
                                                    : capture::SessionKind::Http);
        m_session.request = m_request;
    }
    // The record holds the head and body the client gets (a refusal's Retry-After, a 407's challenge),
    // when it gets them: after part of a response, or with the client gone, it gets nothing (the error
    // text says what Socktap meant to answer). A head the server sent stays in the record: what it said
    // is the point of a 502 after a bad 101.
    const bool answer = !m_sentToClient && m_client->isOpen();
    const http::ErrorAnswer error = http::errorAnswer(status, message, extraHeaders);
    if (answer && m_session.response.status == 0) {
        m_session.response = error.head;
        m_session.responseBody = error.body;
        m_session.responseBodySize = quint64(error.body.size());
    }
    endSession(SessionState::Failed, reason,
               QStringLiteral("%1 %2: %3")
                   .arg(status)
                   .arg(QString::fromLatin1(http::reasonPhrase(status)), message));
    m_haveSession = false;
    if (answer)
        m_client->write(error.wire());
    closeAll();
}

void ProxyConnection::onResponseTimeout()
{
    if (m_phase != Phase::Upgrading && m_phase != Phase::Exchange)
        return;
    const double seconds = m_config.responseTimeoutMs / 1000.0;
    if (!m_sentToClient) {
        failRequest(504,
                    QStringLiteral("the server accepted the request but sent no response within %1 s "
                                   "(--response-timeout)")
                        .arg(seconds),
                    EndReason::Timeout);
        return;
    }
    endSession(
        SessionState::Failed, EndReason::Timeout,
        QStringLiteral("the server's response stalled: nothing for %1 s (--response-timeout)").arg(seconds));
    closeAll(true); // the client must not take a truncated body for a whole one
}

void ProxyConnection::onHeadTimeout()
{
    if (m_phase == Phase::TlsHandshake || m_phase == Phase::Sniffing) {
        ensureSession(capture::SessionKind::Tunnel);
        const QString what = m_phase == Phase::Sniffing
            ? QStringLiteral("the client sent nothing through the tunnel within %1 s")
            : QStringLiteral("the TLS handshake did not finish within %1 s");
        endSession(SessionState::Failed, EndReason::Timeout, what.arg(m_config.headTimeoutMs / 1000.0));
        closeAll();
        return;
    }
    if (m_phase != Phase::Idle)
        return;
    // The parser may already hold the bytes of a head dribbled in: that is a slow request (408), not an
    // idle keep-alive connection.
    if (m_clientBuffer.isEmpty() && m_requestParser.status() == http::HeadParser::Status::NeedMore
        && !m_requestParser.hasPartialHead() && !m_haveSession) {
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
    if (m_config.throughUpstreamProxy(host) && !m_mockPort) // (a mock is Socktap's own, on this machine)
        m_connector->setUpstreamProxy(*m_config.upstreamProxy);
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

} // namespace socktap::proxy
