// ProxyConnection, continued: how a connection ends. Half-closes pass through (a FIN becomes a FIN while the
// other direction still flows), a reset on one leg becomes a reset on the other, the session's end reason
// is decided when both sides are done, and shutdown closes WebSocket peers with 1001.
#include "ProxyConnection.h"
#include "TcpConnector.h"

#include "core/capture/Clock.h"
#include "core/ws/CloseCode.h"

namespace socktap::proxy {

using capture::Direction;
using capture::EndReason;
using capture::nowMicros;
using capture::SessionState;

namespace {

constexpr int LingerMs =
    5000; // a half-closed WebSocket or tunnel gets this long for the other side to finish

} // namespace

void ProxyConnection::onSideEnded(Direction side, StreamSocket::ReadStatus how)
{
    const bool reset = how == StreamSocket::ReadStatus::Reset || how == StreamSocket::ReadStatus::Error;
    const bool client = side == Direction::ClientToServer;
    if (m_phase == Phase::WebSocket || m_phase == Phase::Tunnel) {
        if (m_ws)
            m_ws->ended(side, reset);
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
        endSession(SessionState::Failed, reset ? EndReason::ServerReset : EndReason::ServerEof,
                   QStringLiteral("%1 in the middle of the response body").arg(what));
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
        endSession(SessionState::Failed, reset ? EndReason::ClientReset : EndReason::ClientEof,
                   QStringLiteral("the client went away before the exchange completed"));
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
    if (receiver->tls() && m_ws) {
        const capture::CloseInfo &c = m_ws->relay().close();
        const int i = capture::directionIndex(side);
        if (c.closeSent[i] && !c.closeSent[1 - i]) {
            // RFC 6455 7.1.1: an endpoint that sent a Close waits for the answering Close before it ends
            // TCP. A client that closes TCP at once (Qt's QWebSocket does) would, passed on as Socktap's
            // close_notify, make the server's TLS stack drop its answer (Python's asyncio does): lost from
            // the capture and from the replay. Socktap is the TLS endpoint on that leg, so its close_notify
            // waits for the answer (or the linger); plain TCP keeps passing the FIN on at once.
            m_deferredHalfClose = side;
            m_lingerTimer.start(LingerMs);
            return true;
        }
    }
    receiver->shutdownWrite();
    m_lingerTimer.start(LingerMs);
    return true;
}

void ProxyConnection::onCloseReceived(Direction from)
{
    if (!m_deferredHalfClose || from != capture::opposite(*m_deferredHalfClose))
        return;
    const Direction side = *std::exchange(m_deferredHalfClose, std::nullopt);
    if (StreamSocket *receiver = receiverOf(side); receiver && receiver->isOpen())
        receiver->shutdownWrite(); // the answer is in: the TLS leg may close now
}

void ProxyConnection::closeAll(bool resetClient, bool resetServer)
{
    m_lingerTimer.stop();
    if (m_phase == Phase::WebSocket)
        endWebSocket(finalEndReason());
    if (m_phase == Phase::Tunnel && m_session.close.end == EndReason::None) {
        endSession(SessionState::Closed, finalEndReason());
    }
    m_phase = Phase::Closing;
    m_headTimer.stop();
    m_responseTimer.stop();
    if (m_connector) {
        m_connector->deleteLater();
        m_connector = nullptr;
    }
    for (StreamSocket *s : {m_client, m_upstream}) {
        if (!s || !s->isOpen())
            continue;
        if (s == m_client ? resetClient : resetServer)
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
        endSession(m_session.state == SessionState::Open ? SessionState::Closed : SessionState::Failed,
                   EndReason::ProxyShutdown);
    }
    closeAll();
}

} // namespace socktap::proxy
