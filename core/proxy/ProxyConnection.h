// One client connection and everything it leads to: the HTTP request phase, CONNECT tunnels, plain HTTP
// forwarding with keep-alive, the WebSocket upgrade and relay, opaque tunnels, and how each ends. Owns the
// two sockets; protocol rules live in core/http and core/ws, the relay's in WebSocketRelay.
#pragma once

#include "ProxyConfig.h"
#include "StreamSocket.h"
#include "WebSocketSession.h"

#include "core/intercept/SessionCommand.h"

#include "core/capture/CaptureWriter.h"
#include "core/http/BodyFramer.h"
#include "core/http/HeadParser.h"
#include "core/ws/Handshake.h"

#include <QObject>
#include <QTimer>

#include <memory>

namespace socktap::proxy {

class TcpConnector;

class ProxyConnection final : public QObject
{
    Q_OBJECT

public:
    // With a refusal (Socktap is at its connection limit), the client's request is answered 503 with it.
    ProxyConnection(int fd, const ProxyConfig &config, capture::CaptureWriter &capture,
                    const QString &refusal = {}, QObject *parent = nullptr);
    ~ProxyConnection() override;

    void start();
    // The proxy is stopping: WebSocket peers get Close 1001, everything else is closed.
    void shutdown();
    // A command for this connection's WebSocket session (on the worker thread that owns it).
    intercept::CommandResult command(const intercept::SessionCommand &command);
    capture::SessionId sessionId() const { return m_session.id; }

signals:
    void finished();
    // The WebSocket session `id` is open to commands, or no longer.
    void sessionOpened(capture::SessionId id);
    void sessionEnded(capture::SessionId id);

private:
    enum class Phase {
        Idle, // reading a request head
        Connecting, // dialing the upstream for the current request
        Exchange, // plain HTTP request forwarded; streaming bodies
        Upgrading, // WebSocket request forwarded; waiting for the response head
        Sniffing, // CONNECT answered; waiting to see what the client speaks
        TlsHandshake, // intercepting: TLS with the client (then the server) under way
        WebSocket,
        Tunnel,
        Closing,
    };
    struct Target
    {
        QByteArray scheme;
        QByteArray host;
        quint16 port = 0;
        QByteArray path;
        capture::ProxyMode mode = capture::ProxyMode::Explicit;
    };

    // --- I/O and lifecycle (ProxyConnection.cpp)
    void readFrom(capture::Direction from);
    void onClientData(QByteArrayView bytes);
    void onUpstreamData(QByteArrayView bytes);
    void onSideEnded(capture::Direction side, StreamSocket::ReadStatus how);
    bool passOnHalfClose(capture::Direction side);
    // A Close from `from` was captured: the half-close passOnHalfClose deferred for it may go on.
    void onCloseReceived(capture::Direction from);
    void onDrained(capture::Direction side);
    void attachUpstream(int fd, const QByteArray &key);
    void dial(const QByteArray &host, quint16 port, bool tls, std::function<void()> then);
    void pauseIfCongested(capture::Direction from);
    void closeAll(bool reset = false) { closeAll(reset, reset); }
    // Ends both legs: with a reset (RST) where asked, else gracefully (FIN after what is queued).
    void closeAll(bool resetClient, bool resetServer);
    void maybeFinish();
    void publish();
    void beginSession(capture::SessionKind kind);
    void ensureSession(capture::SessionKind kind); // begins one unless a session is under way
    // The one place a session ends: sets its state, end reason (None: keep) and error, and publishes it.
    void endSession(capture::SessionState state, capture::EndReason reason, const QString &error = {});
    void onResponseTimeout();
    void failRequest(int status, const QString &message, capture::EndReason reason,
                     const http::Headers &extraHeaders = {});
    bool authorized(const http::RequestHead &head) const;
    bool cameBackHere(const http::Headers &headers) const;
    void onHeadTimeout();

    // --- CONNECT and tunnels (ProxyConnection.cpp)
    void handleConnect(const http::RequestHead &head);
    void sniff();
    void becomeTunnel();

    // --- TLS interception (Interception.cpp)
    // fallbackNames: the leaf's names when the client sends no SNI.
    void interceptClient(const QStringList &fallbackNames, std::function<void()> then);
    // CONNECT + TLS, once the ClientHello is in: intercepted (server first when it names no server).
    void interceptTunnel();
    void startUpstreamTls(const QString &host, std::function<void()> then);
    bool maybeStartClientTls();
    QString upstreamTlsHost(const QByteArray &targetHost) const;

    // --- requests, HTTP exchanges, WebSocket upgrades (HttpForwarding.cpp)
    void processClient();
    void onRequest(http::RequestHead head);
    std::optional<Target> resolveTarget(const http::RequestHead &head, QString *error) const;
    QByteArray forwardedHead(const http::RequestHead &head, const Target &target, bool upgrade);
    void onUpstreamReady();
    // A refuse rule answered the upgrade (the session has ended): true.
    bool refusedByRule(const Target &target);
    // The scripts' onRequest: may change the request's headers (kept for forwardedHead) or answer it.
    bool rejectedByScript(const Target &target);
    // A mock rule for the target: sets m_mockPort (true), or answers 502 when its mock is not serving
    // (false). True without a mock rule.
    bool routeToMock(const Target &target);
    // A Close sent without the closing handshake: ends both legs once the Close is written.
    void endAfterClose(const QString &by, int waited);
    void processRequestBody();
    void processResponse();
    void onResponseHead(http::ResponseHead response);
    void processResponseBody();
    void exchangeFinished();
    void startRelay(const http::ResponseHead &response);
    void endWebSocket(capture::EndReason reason);
    capture::EndReason finalEndReason();

    // --- the WebSocket session's relay
    void failWebSocket(capture::Direction from, quint16 code, const QString &why);
    void onBacklogCleared(capture::Direction from);

    // The socket that bytes travelling in direction d are written to, and the one they come from.
    StreamSocket *receiverOf(capture::Direction d) const;
    StreamSocket *senderOf(capture::Direction d) const;

    const ProxyConfig &m_config;
    capture::CaptureWriter &m_capture;
    StreamSocket *m_client = nullptr;
    StreamSocket *m_upstream = nullptr;
    TcpConnector *m_connector = nullptr;
    QByteArray m_upstreamKey; // host:port m_upstream is connected to
    Phase m_phase = Phase::Idle;
    QTimer m_headTimer;
    QTimer m_responseTimer; // the server's silence while a response is awaited or streaming
    qint64 m_acceptedAt = 0;
    QString m_refusal;

    QByteArray m_clientBuffer; // client bytes not yet consumed (HTTP phases)
    QByteArray m_upstreamBuffer;
    http::HeadParser m_requestParser;
    http::HeadParser m_responseParser;

    std::optional<http::RequestTarget> m_connectTarget; // inside a CONNECT tunnel
    bool m_inTunnel = false;
    capture::TlsInfo m_tls; // both legs, once intercepted; copied into each session
    QString m_upstreamTlsProblem; // why requests in this tunnel get a 502
    bool m_clientTlsDecided = false; // reverse mode: whether the client speaks TLS to us was looked at

    capture::SessionInfo m_session;
    bool m_haveSession = false;
    http::RequestHead m_request;
    Target m_target;
    std::optional<http::Headers> m_scriptedHeaders; // the upgrade request's headers as onRequest left them
    quint16 m_mockPort = 0; // this upgrade goes to Socktap's mock listening here (a mock rule)
    bool m_mockTunnel = false; // a CONNECT to a host a mock rule names: not dialled at CONNECT time
    std::optional<ws::Handshake::Request> m_wsRequest;
    http::BodyFramer m_requestBody;
    http::BodyFramer m_responseBody;
    bool m_responseHeadDone = false;
    bool m_keepAlive = false;
    bool m_sentToClient = false; // some of the current response reached the client
    std::unique_ptr<WebSocketSession> m_ws;
    bool m_finPending[2] = {false, false}; // a FIN waits until what was held from that side has left
    struct FirstEnd
    {
        capture::Direction side;
        bool reset;
        bool handshakeDone; // both Close frames had crossed when it happened
    };
    std::optional<FirstEnd> m_firstEnd; // the first TCP end of a WebSocket or tunnel
    std::optional<capture::Direction> m_halfClosed; // the side that sent FIN first (WebSocket, tunnel)
    // That side's FIN (a close_notify on a TLS leg) waits for the other side's answering Close.
    std::optional<capture::Direction> m_deferredHalfClose;
    QTimer m_lingerTimer; // how long a half-closed connection may stay so
    bool m_finished = false;
    bool m_shuttingDown = false;
};

} // namespace socktap::proxy
