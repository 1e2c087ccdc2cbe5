#include "Replayer.h"

#include "core/capture/Clock.h"
#include "core/ws/Frame.h"

#include <QSslConfiguration>
#include <QWebSocketHandshakeOptions>

namespace socktap::replay {

namespace {

QString originOf(const ReplayPlan &plan)
{
    // QWebSocket writes the Origin header itself from its constructor's argument.
    for (const auto &[name, value] : plan.headers)
        if (name.compare("Origin", Qt::CaseInsensitive) == 0)
            return QString::fromUtf8(value);
    return {};
}

} // namespace

Replayer::Replayer(ReplayPlan plan, Options options, QObject *parent)
    : QObject(parent)
    , m_plan(std::move(plan))
    , m_options(std::move(options))
    , m_socket(originOf(m_plan), QWebSocketProtocol::VersionLatest, this)
{
    m_timer.setSingleShot(true);
    m_timer.setTimerType(Qt::PreciseTimer);
    connect(&m_timer, &QTimer::timeout, this, [this] {
        if (m_next < m_plan.steps.size())
            sendStep();
        else if (m_socket.state() == QAbstractSocket::ConnectedState)
            m_socket.close(QWebSocketProtocol::CloseCodeNormal, QStringLiteral("replay done"));
    });
    m_connectTimer.setSingleShot(true);
    connect(&m_connectTimer, &QTimer::timeout, this, [this] {
        finish(QStringLiteral("no WebSocket connection to %1 within %2 s")
                   .arg(m_plan.url.toString())
                   .arg(m_options.connectTimeoutMs / 1000.0));
    });
    connect(&m_socket, &QWebSocket::connected, this, &Replayer::onConnected);
    connect(&m_socket, &QWebSocket::textMessageReceived, this, &Replayer::onReceived);
    connect(&m_socket, &QWebSocket::binaryMessageReceived, this, &Replayer::onReceived);
    connect(&m_socket, &QWebSocket::disconnected, this, &Replayer::onDisconnected);
    connect(&m_socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this, [this] {
        if (!m_result.connected)
            finish(QStringLiteral("%1: %2").arg(m_plan.url.toString(), m_socket.errorString()));
    });
}

Replayer::~Replayer()
{
    m_socket.disconnect(this);
    m_socket.abort();
}

void Replayer::start()
{
    m_running = true;
    m_result.startedAt = capture::nowMicros();
    QNetworkRequest request(m_plan.url);
    for (const auto &[name, value] : m_plan.headers)
        if (name.compare("Origin", Qt::CaseInsensitive) != 0)
            request.setRawHeader(name, value);
    if (m_plan.original) // for Socktap's capture, which removes it before it goes on
        request.setRawHeader(capture::ReplayOfHeader, QByteArray::number(m_plan.original));
    m_socket.setProxy(m_options.proxy.value_or(QNetworkProxy(QNetworkProxy::NoProxy)));
    if (m_plan.url.scheme() == u"wss") {
        QSslConfiguration ssl = QSslConfiguration::defaultConfiguration();
        ssl.addCaCertificates(m_options.trustedCas);
        m_socket.setSslConfiguration(ssl);
    }
    QWebSocketHandshakeOptions handshake;
    handshake.setSubprotocols(m_plan.subprotocols);
    m_connectTimer.start(m_options.connectTimeoutMs);
    m_socket.open(request, handshake);
}

void Replayer::cancel()
{
    if (!m_running)
        return;
    m_result.cancelled = true;
    m_socket.abort();
    finish();
}

void Replayer::onConnected()
{
    m_connectTimer.stop();
    m_result.connected = true;
    m_result.localPort = m_socket.localPort();
    m_clock.start();
    scheduleNext();
}

void Replayer::scheduleNext()
{
    if (m_closing || !m_running)
        return;
    if (m_next >= m_plan.steps.size()) {
        awaitReplies();
        return;
    }
    const ReplayStep &step = m_plan.steps[m_next];
    if (step.opcode == quint8(ws::Opcode::Close) && m_result.received < step.serverMessagesBefore) {
        // Whatever the timing, the client's Close waits for what the server had said before it: closing
        // first would cut the answers off.
        m_waitingForServer = true;
        m_timer.start(m_options.waitMs);
        return;
    }
    switch (m_options.timing) {
    case Timing::Fast:
        m_timer.start(0);
        return;
    case Timing::Original: {
        const qint64 dueMs = qint64(double(step.offsetUs) / m_options.speed / 1000.0);
        m_timer.start(int(std::max<qint64>(0, dueMs - m_clock.elapsed())));
        return;
    }
    case Timing::Conversation:
        m_waitingForServer = m_result.received < step.serverMessagesBefore;
        m_timer.start(m_waitingForServer ? m_options.waitMs : 0);
        return;
    }
}

void Replayer::sendStep()
{
    const ReplayStep &step = m_plan.steps[m_next];
    if (m_waitingForServer && m_result.received < step.serverMessagesBefore)
        m_result.notes.append(
            QStringLiteral("message %1 was sent after waiting %2 s: the server had sent %3 of the "
                           "%4 messages it had sent before it in the original")
                .arg(m_result.sent + 1)
                .arg(m_options.waitMs / 1000.0)
                .arg(m_result.received)
                .arg(step.serverMessagesBefore));
    m_waitingForServer = false;
    if (m_options.timing == Timing::Original)
        m_result.lateUs.push_back(m_clock.nsecsElapsed() / 1000
                                  - qint64(double(step.offsetUs) / m_options.speed));
    ++m_next;
    switch (ws::Opcode(step.opcode)) {
    case ws::Opcode::Text:
        m_socket.sendTextMessage(QString::fromUtf8(step.payload));
        break;
    case ws::Opcode::Binary:
        m_socket.sendBinaryMessage(step.payload);
        break;
    case ws::Opcode::Ping:
        m_socket.ping(step.payload);
        break;
    case ws::Opcode::Close: {
        // The original client's Close, as it was: the server answers it and the connection ends.
        const quint16 code = step.payload.size() >= 2
            ? quint16((quint8(step.payload[0]) << 8) | quint8(step.payload[1]))
            : quint16(QWebSocketProtocol::CloseCodeNormal);
        m_closing = true;
        m_socket.close(QWebSocketProtocol::CloseCode(code), QString::fromUtf8(step.payload.mid(2)));
        return;
    }
    default:
        break;
    }
    ++m_result.sent;
    emit progress(m_result.sent, m_result.received);
    scheduleNext();
}

void Replayer::onReceived()
{
    ++m_result.received;
    emit progress(m_result.sent, m_result.received);
    if (m_waitingForServer && m_next < m_plan.steps.size()
        && m_result.received >= m_plan.steps[m_next].serverMessagesBefore) {
        m_waitingForServer = false;
        m_timer.start(0);
    } else if (m_next >= m_plan.steps.size() && !m_closing) {
        awaitReplies(); // the expected ones may all be here: from now on, only a short quiet time
    }
}

void Replayer::awaitReplies()
{
    // After the last message: the server's remaining messages (waitMs at most), then a moment for extra
    // ones, then a normal close (the original client never closed, or the plan would have ended with its
    // Close). Each deadline is set once: a server that keeps talking (a ticker) must not keep it open.
    const bool allHere = m_result.received >= int(m_plan.originalMessages[1].size());
    if (m_plan.awaitServerClose) {
        // The server closed the original: its Close ends the replay (disconnected); only a server that
        // no longer closes meets the wait limit, and then the replay closes.
        if (m_awaiting == Awaiting::No) {
            m_awaiting = Awaiting::Replies;
            m_timer.start(m_options.waitMs);
        }
        return;
    }
    if (m_awaiting == Awaiting::No) {
        m_awaiting = allHere ? Awaiting::Quiet : Awaiting::Replies;
        m_timer.start(allHere ? m_options.quietMs : m_options.waitMs);
    } else if (m_awaiting == Awaiting::Replies && allHere) {
        m_awaiting = Awaiting::Quiet;
        m_timer.start(std::min(m_timer.remainingTime(), m_options.quietMs));
    }
}

void Replayer::onDisconnected()
{
    if (!m_result.connected) {
        finish(QStringLiteral("%1: %2").arg(m_plan.url.toString(), m_socket.errorString()));
        return;
    }
    finish();
}

void Replayer::finish(const QString &error)
{
    if (!m_running)
        return;
    m_running = false;
    m_timer.stop();
    m_connectTimer.stop();
    if (!error.isEmpty() && m_result.error.isEmpty())
        m_result.error = error;
    if (m_socket.state() != QAbstractSocket::UnconnectedState && !error.isEmpty())
        m_socket.abort();
    emit finished();
}

QString proxyFailure(const capture::CaptureStore &store, const QUrl &url, qint64 since)
{
    const std::vector<capture::SessionId> ids = store.sessionIds();
    const int port = url.port(url.scheme() == u"wss" ? 443 : 80);
    for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
        const auto s = store.session(*it);
        if (!s || s->acceptedAt < since)
            continue;
        if (s->host != url.host().toUtf8() || s->port != port)
            continue;
        if (s->state == capture::SessionState::Rejected)
            return QStringLiteral("%1: the server refused the upgrade with %2 %3")
                .arg(url.toString())
                .arg(s->response.status)
                .arg(QString::fromLatin1(s->response.reason));
        if (s->state == capture::SessionState::Failed && !s->error.isEmpty())
            return QStringLiteral("%1: %2").arg(url.toString(), s->error);
    }
    return {};
}

} // namespace socktap::replay
