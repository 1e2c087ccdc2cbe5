// ProxyConnection, continued: requests, plain HTTP exchanges, the WebSocket upgrade and the relay glue.
#include "CaPage.h"
#include "ProxyConnection.h"
#include "TlsSession.h"

#include "core/capture/Clock.h"
#include "core/capture/TextFormat.h"
#include "core/http/HeadWriter.h"
#include "core/intercept/InterceptHub.h"
#include "core/intercept/ScriptHandshake.h"
#include "core/intercept/ScriptLog.h"
#include "core/ws/CloseCode.h"
#include "core/ws/ClosePayload.h"
#include "core/ws/FrameWriter.h"

namespace socktap::proxy {

using capture::Direction;
using capture::EndReason;
using capture::nowMicros;
using capture::SessionState;

namespace {

constexpr qsizetype KeptBodyBytes = 64 * 1024; // of a rejected handshake or HTTP response, for display

} // namespace

void ProxyConnection::processClient()
{
    if (maybeStartClientTls())
        return;
    while (m_phase == Phase::Idle && !m_clientBuffer.isEmpty()) {
        const auto r = m_requestParser.feed(m_clientBuffer);
        if (r.status == http::HeadParser::Status::Error) {
            m_request = http::RequestHead();
            failRequest(m_requestParser.error().httpStatus, m_requestParser.error().message,
                        EndReason::ClientError);
            return;
        }
        m_clientBuffer.remove(0, r.consumed);
        if (r.status == http::HeadParser::Status::NeedMore)
            continue;
        http::RequestHead head = m_requestParser.takeRequest();
        m_requestParser.reset();
        m_headTimer.stop();
        onRequest(std::move(head));
    }
}

std::optional<ProxyConnection::Target> ProxyConnection::resolveTarget(const http::RequestHead &head,
                                                                      QString *error) const
{
    const bool upgrade = ws::Handshake::isUpgradeRequest(head);
    const auto parsed = http::RequestTarget::parse(head.method, head.target, error);
    if (!parsed)
        return std::nullopt;
    Target t;
    if (parsed->form == http::RequestTarget::Form::Absolute) {
        if (parsed->isSecure() && !m_inTunnel) {
            *error = QStringLiteral("%1 targets need a CONNECT tunnel (configure the client to use Socktap "
                                    "as its proxy for them)")
                         .arg(QString::fromLatin1(parsed->scheme));
            return std::nullopt;
        }
        t = {parsed->scheme, parsed->host, parsed->port, parsed->pathAndQuery,
             m_inTunnel ? capture::ProxyMode::Connect : capture::ProxyMode::Explicit};
        if (t.scheme == "http" && upgrade)
            t.scheme = "ws";
        return t;
    }
    const QByteArray path = parsed->pathAndQuery;
    if (m_inTunnel) {
        const QByteArray scheme = m_tls.intercepted ? (upgrade ? "wss" : "https") : (upgrade ? "ws" : "http");
        t = {scheme, m_connectTarget->host, m_connectTarget->port, path, capture::ProxyMode::Connect};
        return t;
    }
    if (m_config.reverse) {
        const bool secure = m_config.reverse->isSecure();
        t = {upgrade ? (secure ? "wss" : "ws") : (secure ? "https" : "http"), m_config.reverse->host,
             m_config.reverse->port, path, capture::ProxyMode::Reverse};
        return t;
    }
    *error = QStringLiteral(
                 "origin-form request '%1' sent to a forward proxy: point the client at Socktap as its HTTP "
                 "proxy, or start Socktap with --reverse URL")
                 .arg(QString::fromLatin1(head.target.first(std::min<qsizetype>(head.target.size(), 80))));
    return std::nullopt;
}

bool ProxyConnection::cameBackHere(const http::Headers &headers) const
{
    // RFC 9110 7.6.3: Via = 1#( received-protocol RWS received-by [ RWS comment ] ).
    const QByteArray via = headers.combined("Via"); // (the views below point into it)
    for (const QByteArrayView element : http::splitList(via)) {
        const QList<QByteArray> parts = element.toByteArray().simplified().split(' ');
        if (parts.size() >= 2 && parts[1] == m_config.viaName)
            return true;
    }
    return false;
}

QByteArray ProxyConnection::forwardedHead(const http::RequestHead &head, const Target &target, bool upgrade)
{
    http::RequestHead out = head;
    if (upgrade && m_scriptedHeaders)
        out.headers = *m_scriptedHeaders;
    out.target = target.path; // origin form towards the server (RFC 9112 3.2.1)
    http::normalizeFramingFields(out.headers);
    http::removeHopByHop(out.headers, upgrade);
    // RFC 9112 3.2.2: a proxy replaces Host with the authority of an absolute target. In reverse mode the
    // server expects its own name, as nginx's proxy_pass sends it.
    if (target.mode != capture::ProxyMode::Connect) {
        const bool v6 = target.host.contains(':');
        QByteArray authority = v6 ? '[' + target.host + ']' : target.host;
        if (target.port != http::defaultPort(target.scheme))
            authority += ':' + QByteArray::number(target.port);
        out.headers.set("Host", authority);
    }
    out.headers.append("Via", "1.1 " + m_config.viaName); // RFC 9110 7.6.3: a proxy adds itself
    out.headers.remove(
        capture::ReplayOfHeader); // Socktap's own label for a replay: not the server's business
    out.headers.remove(capture::MockSessionHeader);
    if (upgrade && !m_session.mock.isEmpty()) // the mock is Socktap's: it names the session in its reports
        out.headers.set(capture::MockSessionHeader, QByteArray::number(m_session.id));
    if (upgrade && m_config.intercept)
        m_session.handshakeNotes +=
            intercept::applyHeaderRules(*m_config.intercept->rules(), intercept::HeadSide::Request,
                                        target.host, target.path, out.headers);
    return http::serialize(out);
}

bool ProxyConnection::authorized(const http::RequestHead &head) const
{
    // Only proxy use needs credentials: CONNECT and absolute-form requests. Origin-form requests (reverse
    // mode, or inside a tunnel that was authorized at its CONNECT) do not.
    if (m_config.proxyCredentials.isEmpty() || m_inTunnel
        || (head.method != "CONNECT" && head.target.startsWith('/')))
        return true;
    const QByteArray value = head.headers.value("Proxy-Authorization").trimmed();
    const qsizetype space = value.indexOf(' ');
    if (space < 0 || value.first(space).compare("Basic", Qt::CaseInsensitive) != 0) // RFC 7617 2
        return false;
    const auto decoded = QByteArray::fromBase64Encoding(value.sliced(space + 1).trimmed(),
                                                        QByteArray::AbortOnBase64DecodingErrors);
    if (!decoded || decoded.decoded.size() != m_config.proxyCredentials.size())
        return false;
    // Compared in full whatever differs first: no timing hint about how much of a guess was right.
    int diff = 0;
    for (qsizetype i = 0; i < decoded.decoded.size(); ++i)
        diff |= decoded.decoded[i] ^ m_config.proxyCredentials[i];
    return diff == 0;
}

void ProxyConnection::onRequest(http::RequestHead head)
{
    m_request = head;
    if (!m_refusal.isEmpty()) {
        failRequest(503, m_refusal, EndReason::Refused);
        return;
    }
    if (!authorized(head)) {
        http::Headers challenge;
        challenge.append("Proxy-Authenticate", R"(Basic realm="Socktap", charset="UTF-8")");
        failRequest(407,
                    head.headers.contains("Proxy-Authorization")
                        ? QStringLiteral("wrong proxy credentials")
                        : QStringLiteral("Socktap listens beyond loopback, so it needs proxy credentials "
                                         "(Proxy-Authorization: Basic); they were printed when it started"),
                    EndReason::ClientError, challenge);
        return;
    }
    m_sentToClient = false;
    if (!m_inTunnel && isCaPageRequest(head)) {
        // Socktap's own page (the CA, how to trust it, proxy.pac): answered here, never forwarded.
        const CaPageContext context {m_config.tls ? m_config.tls->ca() : nullptr,
                                     m_client->localAuthority().toLatin1()};
        m_client->write(caPageResponse(head, context));
        m_sentToClient = true;
        closeAll();
        return;
    }
    if (head.method == "CONNECT" && !m_inTunnel) {
        handleConnect(head);
        return;
    }
    if (head.method == "CONNECT") {
        failRequest(400, QStringLiteral("CONNECT inside a CONNECT tunnel is not supported"),
                    EndReason::ClientError);
        return;
    }
    const bool upgrade = ws::Handshake::isUpgradeRequest(head);
    beginSession(upgrade ? capture::SessionKind::WebSocket : capture::SessionKind::Http);
    m_session.request = head;
    if (cameBackHere(head.headers)) {
        failRequest(
            508,
            QStringLiteral("this request already went through this Socktap (Via: %1): it is looping "
                           "back; is --reverse, or a proxy after Socktap, pointing at Socktap itself?")
                .arg(QString::fromLatin1(head.headers.combined("Via"))),
            EndReason::ClientError);
        return;
    }
    QString why;
    const auto target = resolveTarget(head, &why);
    if (!target) {
        failRequest(400, why, EndReason::ClientError);
        return;
    }
    m_target = *target;
    m_session.mode = target->mode;
    m_session.scheme = target->scheme;
    m_session.host = target->host;
    m_session.port = target->port;
    m_session.path = target->path;
    m_session.mock = m_config.mockOf;
    if (!m_config.mockOf.isEmpty()) {
        // socktap mock: the URL the client asked for (its scheme, Socktap's listener), not the mock's
        // internal loopback port behind it.
        const QString listener = m_client->localAuthority();
        const qsizetype colon = listener.lastIndexOf(QLatin1Char(':'));
        m_session.scheme = m_tls.intercepted ? (upgrade ? "wss" : "https") : (upgrade ? "ws" : "http");
        m_session.host = listener.left(colon).remove(QLatin1Char('[')).remove(QLatin1Char(']')).toLatin1();
        m_session.port = quint16(listener.mid(colon + 1).toUInt());
    }
    m_mockPort = 0;
    m_scriptedHeaders.reset();
    m_wsRequest.reset();
    if (upgrade) {
        m_wsRequest = ws::Handshake::checkRequest(head, &why);
        if (!m_wsRequest) {
            m_session.handshakeProblems.append(QStringLiteral("request: %1").arg(why));
            if (m_config.strict) {
                failRequest(400, why, EndReason::ClientError);
                return;
            }
        }
        m_requestBody = http::BodyFramer();
        if (refusedByRule(*target) || rejectedByScript(*target) || !routeToMock(*target))
            return;
    } else {
        const auto framer = http::BodyFramer::forRequest(head, &why);
        if (!framer) {
            failRequest(400, why, EndReason::ClientError);
            return;
        }
        m_requestBody = *framer;
        m_requestBody.keepContent(&m_session.requestBody, KeptBodyBytes);
    }
    m_keepAlive = !upgrade && !!http::persists(head.headers, head.version);
    m_responseHeadDone = false;
    if (!m_upstreamTlsProblem.isEmpty() && !m_mockPort) {
        failRequest(502, m_upstreamTlsProblem, EndReason::TlsError);
        return;
    }
    publish();
    m_phase = Phase::Connecting;
    m_client->setReadEnabled(false);
    if (m_mockPort) { // Socktap's own mock on loopback, plain: the client's TLS ends here either way
        dial("127.0.0.1", m_mockPort, false, [this] { onUpstreamReady(); });
        return;
    }
    const bool tls = target->scheme == "wss" || target->scheme == "https";
    dial(target->host, target->port, tls, [this] { onUpstreamReady(); });
}

bool ProxyConnection::refusedByRule(const Target &target)
{
    // A refuse rule (issue 20: watch a client's reconnect and backoff): the upgrade gets the rule's
    // status, with Retry-After when it gives one, or a TCP reset; the server is never asked.
    const auto refusal =
        m_config.intercept ? m_config.intercept->refusal(target.host, target.path) : std::nullopt;
    if (!refusal)
        return false;
    m_session.handshakeNotes.append(refusal->note);
    if (refusal->reset) {
        endSession(SessionState::Failed, EndReason::Fault, refusal->note);
        m_haveSession = false;
        closeAll(true);
        return true;
    }
    http::Headers extra;
    if (refusal->retryAfter >= 0)
        extra.append("Retry-After", QByteArray::number(refusal->retryAfter)); // RFC 9110 10.2.3
    failRequest(refusal->status, refusal->note, EndReason::Fault, extra);
    return true;
}

bool ProxyConnection::rejectedByScript(const Target &target)
{
    const auto scripts = m_config.intercept ? m_config.intercept->scripts() : nullptr;
    if (!scripts || !scripts->has(intercept::Hook::Request))
        return false;
    http::Headers headers = m_request.headers;
    const intercept::HandshakeVerdict verdict = intercept::runRequestHooks(
        *scripts, {m_session.id, QString::fromLatin1(m_session.url()), target.host, target.path, 0, nullptr},
        headers);
    m_session.handshakeNotes += verdict.notes;
    if (verdict.rejectStatus) {
        failRequest(*verdict.rejectStatus, verdict.rejectBody, EndReason::Fault);
        return true;
    }
    if (!verdict.notes.isEmpty()) {
        // The server answers the request as the scripts left it (its offered subprotocols and
        // extensions): the 101 is checked against that one.
        http::RequestHead sent = m_request;
        sent.headers = headers;
        QString ignored;
        if (auto checked = ws::Handshake::checkRequest(sent, &ignored))
            m_wsRequest = std::move(checked);
        m_scriptedHeaders = std::move(headers);
    }
    return false;
}

void ProxyConnection::endAfterClose(const QString &by, int waited)
{
    // Close without the closing handshake: TCP ends right after the Close frames (FIN), so no answering
    // Close can come. A Close waiting for the end of a frame in progress is written first (at most a
    // second: a peer in the middle of a frame that never ends is cut off).
    if (m_phase != Phase::WebSocket || !m_ws)
        return;
    if (m_ws->ownPending() && waited < 1000) {
        QTimer::singleShot(5, this, [this, by, waited] { endAfterClose(by, waited + 5); });
        return;
    }
    m_session.faults.append(
        QStringLiteral("%1 ended both TCP connections after the Close, without the closing handshake (%2)")
            .arg(capture::clockTime(capture::nowMicros()), by));
    endWebSocket(EndReason::Fault);
    closeAll();
}

bool ProxyConnection::routeToMock(const Target &target)
{
    // A mock rule (issue 20: map instead of forward): the upgrade goes to Socktap's mock of a captured
    // session on loopback; the server is never asked. The session records say which mock answered.
    const auto mock = m_config.intercept ? m_config.intercept->mock(target.host, target.path) : std::nullopt;
    if (!mock)
        return true;
    m_session.handshakeNotes.append(mock->note);
    if (!mock->route.port) {
        failRequest(502, mock->note, EndReason::UpstreamFailed);
        return false;
    }
    m_session.mock = mock->route.label;
    m_mockPort = mock->route.port;
    return true;
}

void ProxyConnection::onUpstreamReady()
{
    const bool upgrade = m_session.kind == capture::SessionKind::WebSocket;
    m_upstream->write(forwardedHead(m_request, m_target, upgrade));
    m_upstream->setReadEnabled(true);
    m_responseParser.reset();
    if (m_config.responseTimeoutMs > 0)
        m_responseTimer.start(m_config.responseTimeoutMs);
    if (upgrade) {
        // Bytes a client sends before the 101 wait for it (up to highWater); reading goes on so that a
        // client that leaves is noticed.
        m_phase = Phase::Upgrading;
        m_client->setReadEnabled(true);
        return;
    }
    m_phase = Phase::Exchange;
    m_client->setReadEnabled(true);
    processRequestBody();
}

void ProxyConnection::processRequestBody()
{
    if (!m_requestBody.done() && !m_clientBuffer.isEmpty()) {
        const auto r = m_requestBody.feed(m_clientBuffer);
        if (r.error) {
            m_session.error = QStringLiteral("bad request body: %1").arg(m_requestBody.error());
            failRequest(400, m_session.error, EndReason::ClientError);
            return;
        }
        m_upstream->write(QByteArrayView(m_clientBuffer).first(r.consumed));
        m_clientBuffer.remove(0, r.consumed);
        m_session.requestBodySize = m_requestBody.contentBytes();
        pauseIfCongested(Direction::ClientToServer);
    }
    // Pipelined requests wait in the buffer until this exchange is over. Reading goes on below highWater
    // so that a client that leaves while the server is silent is noticed (as nginx aborts the request).
    if (m_requestBody.done() && m_clientBuffer.size() > m_config.highWaterNow())
        m_client->setReadEnabled(false);
}

void ProxyConnection::processResponse()
{
    while (!m_responseHeadDone && !m_upstreamBuffer.isEmpty()) {
        const auto r = m_responseParser.feed(m_upstreamBuffer);
        if (r.status == http::HeadParser::Status::Error) {
            failRequest(502,
                        QStringLiteral("the server sent an invalid response: %1")
                            .arg(m_responseParser.error().message),
                        EndReason::UpstreamFailed);
            return;
        }
        m_upstreamBuffer.remove(0, r.consumed);
        if (r.status == http::HeadParser::Status::NeedMore)
            continue;
        http::ResponseHead response = m_responseParser.takeResponse();
        m_responseParser.reset();
        if (response.status >= 100 && response.status < 200 && response.status != 101) {
            m_client->write(response.raw); // interim (100 Continue, 103 Early Hints): pass on, keep reading
            continue;
        }
        onResponseHead(std::move(response));
        if (m_phase != Phase::Exchange && m_phase != Phase::Upgrading)
            return;
    }
    if (m_responseHeadDone)
        processResponseBody();
}

void ProxyConnection::onResponseHead(http::ResponseHead response)
{
    m_session.response = response;
    m_session.upgradedAt = nowMicros();
    if (response.status == 101 && m_phase == Phase::Upgrading) {
        startRelay(response);
        return;
    }
    if (m_phase == Phase::Upgrading) {
        // The server refused the upgrade: relay its answer as is and record why.
        m_session.state = SessionState::Rejected;
        m_session.error = QStringLiteral("the server answered %1 %2 instead of 101 Switching Protocols")
                              .arg(response.status)
                              .arg(QString::fromLatin1(response.reason));
        m_keepAlive = false;
        m_phase = Phase::Exchange;
    } else if (response.status == 101) {
        // Some other protocol upgrade (h2c...): from here on, opaque bytes.
        m_client->write(response.raw);
        m_sentToClient = true;
        becomeTunnel();
        return;
    }
    QString why;
    const auto framer = http::BodyFramer::forResponse(response, m_request.method, &why);
    if (!framer) {
        failRequest(502, QStringLiteral("the server sent an invalid response: %1").arg(why),
                    EndReason::UpstreamFailed);
        return;
    }
    http::ResponseHead forwarded = response;
    m_client->write(http::normalizeFramingFields(forwarded.headers) ? http::serialize(forwarded)
                                                                    : response.raw);
    m_sentToClient = true;
    m_responseBody = *framer;
    m_responseBody.keepContent(&m_session.responseBody, KeptBodyBytes);
    m_responseHeadDone = true;
    if (!http::persists(response.headers, response.version)
        || framer->kind() == http::BodyFramer::Kind::UntilClose)
        m_keepAlive = false;
    publish();
}

void ProxyConnection::processResponseBody()
{
    if (!m_responseBody.done() && !m_upstreamBuffer.isEmpty()) {
        const auto r = m_responseBody.feed(m_upstreamBuffer);
        const QByteArrayView body = QByteArrayView(m_upstreamBuffer).first(r.consumed);
        m_client->write(body);
        m_upstreamBuffer.remove(0, r.consumed);
        m_session.responseBodySize = m_responseBody.contentBytes();
        if (r.error) {
            endSession(SessionState::Failed, EndReason::UpstreamFailed,
                       QStringLiteral("bad response body: %1").arg(m_responseBody.error()));
            closeAll(true);
            return;
        }
        pauseIfCongested(Direction::ServerToClient);
    }
    if (m_responseBody.done())
        exchangeFinished();
}

void ProxyConnection::exchangeFinished()
{
    m_responseTimer.stop();
    m_session.responseBodySize = m_responseBody.contentBytes();
    endSession(m_session.state == SessionState::Rejected ? SessionState::Rejected : SessionState::Closed,
               EndReason::None);
    m_haveSession = false;
    if (!m_keepAlive || !m_upstreamBuffer.isEmpty() || m_shuttingDown) {
        closeAll();
        return;
    }
    // Keep-alive: the next request on this connection, maybe already buffered.
    m_phase = Phase::Idle;
    m_responseHeadDone = false;
    m_client->setReadEnabled(true);
    m_headTimer.start(m_config.headTimeoutMs);
    processClient();
}

void ProxyConnection::startRelay(const http::ResponseHead &response)
{
    m_responseTimer.stop(); // from here on WebSocket messages flow at their own pace
    QString why;
    std::optional<ws::Handshake::Response> checked;
    if (m_wsRequest)
        checked = ws::Handshake::checkResponse(response, *m_wsRequest, &why);
    if (m_wsRequest && !checked) {
        m_session.handshakeProblems.append(QStringLiteral("response: %1").arg(why));
        if (m_config.strict) {
            failRequest(502, QStringLiteral("the server's handshake is invalid: %1").arg(why),
                        EndReason::UpstreamFailed);
            return;
        }
    }
    // Transparent by default: a 101 that breaks the rules is decoded as it claims.
    const ws::Handshake::Response negotiated = checked ? *checked : ws::Handshake::claimedResponse(response);
    m_session.subprotocol = negotiated.protocol;
    m_session.extensions = negotiated.extensions;
    m_session.deflate = negotiated.deflate;
    m_session.state = SessionState::Open;

    // Handshake rules may change the 101 on its way to the client; what the server sent stays recorded.
    http::ResponseHead toClient = response;
    const QStringList notes = m_config.intercept
        ? intercept::applyHeaderRules(*m_config.intercept->rules(), intercept::HeadSide::Response,
                                      m_session.host, m_session.path, toClient.headers)
        : QStringList();
    m_session.handshakeNotes += notes;
    bool scripted = false;
    if (const auto scripts = m_config.intercept ? m_config.intercept->scripts() : nullptr;
        scripts && scripts->has(intercept::Hook::Response)) {
        const http::Headers sent = m_scriptedHeaders ? *m_scriptedHeaders : m_request.headers;
        const intercept::HandshakeVerdict verdict =
            intercept::runResponseHooks(*scripts,
                                        {m_session.id, QString::fromLatin1(m_session.url()), m_session.host,
                                         m_session.path, response.status, &sent},
                                        toClient.headers);
        m_session.handshakeNotes += verdict.notes;
        scripted = !verdict.notes.isEmpty();
    }
    m_client->write(notes.isEmpty() && !scripted ? response.raw : http::serialize(toClient));
    m_sentToClient = true;
    m_phase = Phase::WebSocket;
    publish();
    WebSocketSession::Owner owner;
    owner.client = m_client;
    owner.upstream = m_upstream;
    owner.session = &m_session;
    owner.publish = [this] { publish(); };
    owner.failed = [this](Direction from, quint16 code, const QString &why) {
        failWebSocket(from, code, why);
    };
    owner.backlogCleared = [this](Direction from) { onBacklogCleared(from); };
    owner.closeReceived = [this](Direction from) { onCloseReceived(from); };
    owner.fault = [this](const intercept::SessionCommand &command, int afterMs) {
        // On the connection's timer: a reset ends it and the session with it. A session that ended
        // meanwhile refuses the command, and that is all.
        QTimer::singleShot(afterMs, Qt::PreciseTimer, this, [this, command] {
            const intercept::CommandResult result = this->command(command);
            if (!result.ok && command.by.startsWith(QLatin1String("script "))) // a script is told in its log
                intercept::ScriptLog::instance().add(command.by.mid(7), m_session.id,
                                                     intercept::ScriptLogLine::Level::Error,
                                                     QStringLiteral("not done: %1").arg(result.error));
        });
    };
    m_ws = std::make_unique<WebSocketSession>(m_config, m_capture, std::move(owner), m_session.deflate, this);
    emit sessionOpened(m_session.id);

    const QByteArray fromServer = std::exchange(m_upstreamBuffer, QByteArray());
    const QByteArray fromClient = std::exchange(m_clientBuffer, QByteArray());
    if (!fromServer.isEmpty())
        m_ws->received(Direction::ServerToClient, fromServer);
    if (!fromClient.isEmpty() && m_phase == Phase::WebSocket)
        m_ws->received(Direction::ClientToServer, fromClient);
    if (m_phase == Phase::WebSocket) {
        m_client->setReadEnabled(m_ws->mayRead(Direction::ClientToServer));
        m_upstream->setReadEnabled(m_ws->mayRead(Direction::ServerToClient));
    }
}

void ProxyConnection::endWebSocket(EndReason reason)
{
    if (m_session.close.end != EndReason::None)
        return; // the first cause wins (a strict failure, then the TCP end it causes)
    endSession(SessionState::Closed, reason);
    m_session.close.tcpEndTime = m_session.closedAt;
    if (m_ws) {
        m_ws->forgetHeld();
        emit sessionEnded(m_session.id);
    }
}

// --- the WebSocket session ---

void ProxyConnection::failWebSocket(Direction from, quint16 code, const QString &why)
{
    // --strict: Socktap acts as the endpoint that received the bad frame (RFC 6455 7.1.7).
    m_ws->sendClose(code, why.left(100).toUtf8(), true, true, true);
    m_session.close.detail =
        QStringLiteral("%1 broke a rule: %2").arg(QLatin1String(capture::directionName(from)), why);
    endWebSocket(EndReason::StrictClose);
    closeAll();
}

void ProxyConnection::onBacklogCleared(Direction from)
{
    // What was held from `from` has left: a FIN it sent meanwhile may follow now.
    const int i = capture::directionIndex(from);
    if (!m_finPending[i] || m_phase != Phase::WebSocket)
        return;
    m_finPending[i] = false;
    if (passOnHalfClose(from))
        publish();
    else
        closeAll();
}

intercept::CommandResult ProxyConnection::command(const intercept::SessionCommand &command)
{
    if (m_phase != Phase::WebSocket || !m_ws || m_session.close.end != EndReason::None)
        return intercept::CommandResult::failure(QStringLiteral("session %1 has ended").arg(m_session.id));
    const QString by = command.by.isEmpty() ? QStringLiteral("the user") : command.by;
    if (command.kind == intercept::SessionCommand::Kind::Reset) {
        // Ending the connection is the connection's job: the session records why, then the legs end, with
        // a reset (RST) where asked and a FIN on the other.
        const bool both = command.toClient && command.toServer;
        m_session.faults.append(
            QStringLiteral("%1 %2 (%3)")
                .arg(capture::clockTime(capture::nowMicros()),
                     both ? QStringLiteral("reset both connections")
                         : command.toClient
                         ? QStringLiteral("reset the client's connection; the server's ended with a FIN")
                         : QStringLiteral("reset the server's connection; the client's ended with a FIN"),
                     by));
        endWebSocket(command.by.isEmpty() && both ? EndReason::UserReset : EndReason::Fault);
        closeAll(command.toClient, command.toServer);
        return {};
    }
    const intercept::CommandResult result = m_ws->command(command);
    if (result.ok && command.kind == intercept::SessionCommand::Kind::Close && !command.handshake)
        endAfterClose(by, 0);
    return result;
}

} // namespace socktap::proxy
