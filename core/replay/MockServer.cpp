#include "MockServer.h"

#include "core/http/HeadParser.h"
#include "core/ws/ClosePayload.h"
#include "core/ws/Deflater.h"
#include "core/ws/FrameParser.h"
#include "core/ws/Handshake.h"
#include "core/ws/MessageAssembler.h"
#include "core/ws/MessageEncoder.h"

#include <QElapsedTimer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>

#include <limits>

namespace socktap::replay {

namespace {

qint64 nowUs()
{
    static QElapsedTimer clock = [] {
        QElapsedTimer t;
        t.start();
        return t;
    }();
    return clock.nsecsElapsed() / 1000;
}

QByteArray errorResponse(int status, const char *reason, const QString &why)
{
    const QByteArray body = why.toUtf8() + '\n';
    return "HTTP/1.1 " + QByteArray::number(status) + ' ' + reason
        + "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: "
        + QByteArray::number(body.size()) + "\r\n\r\n" + body;
}

// RFC 7692 7.1: accept the client's first offer with the limits it asks for (its window and context
// rules; the Deflater compresses within an 8-bit window too).
ws::DeflateParams acceptOffer(const ws::DeflateOffer &offer)
{
    ws::DeflateParams p;
    p.serverNoContextTakeover = offer.serverNoContextTakeover;
    p.clientNoContextTakeover = offer.clientNoContextTakeover;
    p.serverMaxWindowBits = offer.serverMaxWindowBits.value_or(15);
    if (offer.clientMaxWindowBits && offer.clientMaxWindowBitsValue)
        p.clientMaxWindowBits = *offer.clientMaxWindowBitsValue;
    return p;
}

// The response's extension: 7.1.2.1 asks for server_max_window_bits back whenever the offer had it, 15
// included (which toExtension leaves out as the default).
ws::Extension acceptedExtension(const ws::DeflateOffer &offer, const ws::DeflateParams &params)
{
    ws::Extension e = ws::PerMessageDeflate::toExtension(params);
    const bool echoed = std::any_of(e.params.begin(), e.params.end(), [](const ws::ExtensionParam &p) {
        return p.name == "server_max_window_bits";
    });
    if (offer.serverMaxWindowBits && !echoed)
        e.params.append({"server_max_window_bits", QByteArray::number(params.serverMaxWindowBits)});
    return e;
}

// The path without its query: a client with a fresh token in the query is still on the recorded path.
QByteArrayView pathOnly(QByteArrayView target)
{
    const qsizetype q = target.indexOf('?');
    return q < 0 ? target : target.first(q);
}

} // namespace

class MockServer::Connection final : public QObject
{
public:
    Connection(MockServer *server, QTcpSocket *socket)
        : QObject(server)
        , m_server(server)
        , m_socket(socket)
        , m_player(server->m_plan, server->m_options.play)
    {
        m_socket->setParent(this);
        m_timer.setTimerType(Qt::PreciseTimer);
        m_timer.setSingleShot(true);
        connect(&m_timer, &QTimer::timeout, this, [this] { onTimer(); });
        connect(m_socket, &QTcpSocket::readyRead, this, [this] { onReadable(); });
        connect(m_socket, &QTcpSocket::bytesWritten, this, [this] { pump(); });
        connect(m_socket, &QTcpSocket::disconnected, this, [this] { finish(); });
        connect(m_socket, &QTcpSocket::errorOccurred, this, [this] { finish(); });
        m_timer.start(server->m_options.headTimeoutMs);
        server->m_live.push_back(this);
    }

    ~Connection() override { std::erase(m_server->m_live, this); } // (the server deletes its own first)

    void goAway()
    {
        if (m_phase == Phase::Open && !m_closeSent)
            sendClose(1001, "socktap mock stopped");
        else
            m_socket->abort();
    }

private:
    enum class Phase { Head, Open, Done };

    void onReadable()
    {
        const QByteArray data = m_socket->readAll();
        QByteArrayView rest = data;
        if (m_phase == Phase::Head) {
            const auto r = m_head.feed(rest);
            if (r.status == http::HeadParser::Status::Error) {
                refuse(m_head.error().httpStatus ? m_head.error().httpStatus : 400, "Bad Request",
                       m_head.error().message);
                return;
            }
            if (r.status == http::HeadParser::Status::NeedMore)
                return;
            rest = rest.sliced(r.consumed);
            if (!upgrade(m_head.takeRequest()))
                return;
        }
        if (m_phase == Phase::Open)
            readFrames(rest);
        pump();
    }

    bool upgrade(const http::RequestHead &request)
    {
        QString why;
        const auto ws = ws::Handshake::checkRequest(request, &why);
        if (!ws) {
            refuse(400, "Bad Request", QStringLiteral("not a WebSocket upgrade: %1").arg(why));
            return false;
        }
        const MockPlan &plan = *m_server->m_plan;
        m_session = request.headers.value(capture::MockSessionHeader).toULongLong();
        if (m_server->m_options.proxiedOnly && !m_session) {
            refuse(403, "Forbidden",
                   QStringLiteral("this is the mock's internal port: connect to Socktap's listener, which "
                                  "captures the session"));
            return false;
        }
        if (m_server->m_options.exactPath && pathOnly(request.target) != pathOnly(plan.path)) {
            refuse(404, "Not Found",
                   QStringLiteral("this mock serves %1 only (any query)")
                       .arg(QString::fromLatin1(pathOnly(plan.path).toByteArray())));
            return false;
        }
        QByteArray head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: "
            + ws::Handshake::acceptFor(ws->key) + "\r\n";
        // RFC 6455 4.2.2: the recorded subprotocol, when this client offers it.
        if (!plan.subprotocol.isEmpty() && ws->protocols.contains(plan.subprotocol))
            head += "Sec-WebSocket-Protocol: " + plan.subprotocol + "\r\n";
        if (plan.deflate && !ws->deflateOffers.isEmpty()) {
            const ws::DeflateParams params = acceptOffer(ws->deflateOffers.front());
            head += "Sec-WebSocket-Extensions: "
                + ws::serializeExtension(acceptedExtension(ws->deflateOffers.front(), params)) + "\r\n";
            m_parser.setPerMessageDeflate(true);
            m_assembler.enableDeflate(params.clientMaxWindowBits, params.clientNoContextTakeover);
            m_deflater =
                std::make_unique<ws::Deflater>(params.serverMaxWindowBits, params.serverNoContextTakeover);
        }
        for (const http::HeaderField &f : plan.responseHeaders.fields())
            head += f.name + ": " + f.value + "\r\n";
        m_socket->write(head + "\r\n");
        m_phase = Phase::Open;
        m_timer.stop();
        m_upgraded = true;
        ++m_server->m_connections;
        m_player.start(nowUs());
        return true;
    }

    void refuse(int status, const char *reason, const QString &why)
    {
        m_socket->write(errorResponse(status, reason, why));
        m_phase = Phase::Done;
        m_socket->disconnectFromHost();
    }

    void readFrames(QByteArrayView input)
    {
        while (m_phase == Phase::Open) {
            const ws::FrameParser::Event e = m_parser.next(input);
            input = input.sliced(e.consumed);
            if (e.kind == ws::FrameParser::Event::Kind::NeedMore)
                return;
            if (e.kind == ws::FrameParser::Event::Kind::Error) {
                sendClose(1002, "socktap mock: the client's frames could not be parsed"); // RFC 6455 7.4.1
                return;
            }
            if (const auto *m = m_assembler.handle(e, nowUs()))
                onMessage(*m);
        }
    }

    void onMessage(const ws::MessageAssembler::Message &m)
    {
        switch (ws::Opcode(m.opcode)) {
        case ws::Opcode::Ping: // RFC 6455 5.5.3: a Pong with the Ping's payload
            if (!m_closeSent)
                write(ws::MessageEncoder::encode(quint8(ws::Opcode::Pong), m.payload, false).wire);
            return;
        case ws::Opcode::Close:
            m_player.onClientClose(m.close.code, nowUs());
            if (m_closeSent)
                endTcp(); // the client answered the mock's Close: RFC 6455 7.1.1
            return;
        case ws::Opcode::Text:
        case ws::Opcode::Binary: {
            const QString line = m_player.onClientMessage(m.opcode, m.payload, nowUs());
            if (!line.isEmpty())
                emit m_server->unanswered(m_session, line);
            return;
        }
        default:
            return;
        }
    }

    void pump()
    {
        if (m_phase != Phase::Open || m_closeSent || m_ending)
            return; // nothing follows a Close (RFC 6455 5.5.1); its wait is the timer's
        const qint64 now = nowUs();
        if (m_socket->bytesToWrite() <= m_server->m_options.maxBuffered) {
            for (MockPlayer::Out &out : m_player.takeDue(now)) {
                switch (out.kind) {
                case MockPlayer::Out::Kind::Message:
                    write(
                        ws::MessageEncoder::encode(out.opcode, out.payload, false, 1, m_deflater.get()).wire);
                    break;
                case MockPlayer::Out::Kind::Close:
                    sendClose(out.closeCode, out.payload);
                    break;
                case MockPlayer::Out::Kind::EndTcp:
                    endTcp();
                    return;
                }
            }
        }
        if (m_closeSent || m_ending)
            return; // (the timer now waits for the client's answer, or for the end)
        if (const auto due = m_player.nextDue();
            due && m_socket->bytesToWrite() <= m_server->m_options.maxBuffered)
            m_timer.start(
                int(std::clamp<qint64>((*due - now + 999) / 1000, 0, std::numeric_limits<int>::max())));
    }

    void sendClose(std::optional<quint16> code, const QByteArray &reason)
    {
        if (m_closeSent)
            return;
        m_closeSent = true;
        m_player.stop(); // whatever was still due is not sent after the Close
        const QByteArray payload = code ? ws::ClosePayload::build(*code, reason) : QByteArray();
        write(ws::MessageEncoder::encode(quint8(ws::Opcode::Close), payload, false).wire);
        if (m_player.clientClosed()) {
            endTcp();
            return;
        }
        m_timer.start(m_server->m_options.closeWaitMs); // then the client has had its chance
    }

    void write(const QByteArray &wire) { m_socket->write(wire); }

    // A FIN after what is queued; a client that never reads or never closes its side is cut off later.
    void endTcp()
    {
        m_ending = true;
        m_timer.start(m_server->m_options.closeWaitMs);
        m_socket->disconnectFromHost();
    }

    void onTimer()
    {
        if (m_phase == Phase::Head || m_closeSent || m_ending) {
            m_socket->abort(); // no head in time, no answer to the mock's Close, or no end to its FIN
            return;
        }
        pump();
    }

    void finish()
    {
        if (m_phase == Phase::Done && !m_upgraded)
            return deleteLater();
        const bool upgraded = m_upgraded;
        m_upgraded = false;
        m_phase = Phase::Done;
        m_timer.stop();
        if (upgraded) {
            --m_server->m_connections;
            emit m_server->finished(m_session, m_player.report(true));
        }
        deleteLater();
    }

    MockServer *m_server;
    QTcpSocket *m_socket;
    MockPlayer m_player;
    Phase m_phase = Phase::Head;
    http::HeadParser m_head {http::HeadParser::Kind::Request};
    ws::FrameParser m_parser {ws::FrameParser::Options {ws::FrameParser::Sender::Client, false}};
    ws::MessageAssembler m_assembler;
    std::unique_ptr<ws::Deflater> m_deflater;
    QTimer m_timer; // the head's deadline, the next answer, or the wait for the client's Close
    quint64 m_session = 0;
    bool m_upgraded = false;
    bool m_closeSent = false;
    bool m_ending = false; // TCP is being ended
};

MockServer::MockServer(std::shared_ptr<const MockPlan> plan, Options options, QObject *parent)
    : QObject(parent)
    , m_plan(std::move(plan))
    , m_options(std::move(options))
{ }

MockServer::~MockServer()
{
    // Connections still open go before the members they use (m_live, the plan): Qt would delete them,
    // as children, only after.
    for (Connection *c : std::vector(m_live))
        delete c;
}

bool MockServer::listen(const QHostAddress &address, quint16 port, QString *error)
{
    m_listener = new QTcpServer(this);
    m_listener->setListenBacklogSize(4096);
    if (!m_listener->listen(address, port)) {
        if (error)
            *error = QStringLiteral("the mock cannot listen on %1:%2: %3")
                         .arg(address.toString())
                         .arg(port)
                         .arg(m_listener->errorString());
        return false;
    }
    connect(m_listener, &QTcpServer::newConnection, this, &MockServer::onNewConnection);
    return true;
}

quint16 MockServer::port() const
{
    return m_listener ? m_listener->serverPort() : 0;
}

void MockServer::onNewConnection()
{
    while (QTcpSocket *socket = m_listener->nextPendingConnection()) {
        socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        new Connection(this, socket);
    }
}

void MockServer::stop()
{
    if (m_listener)
        m_listener->close();
    for (Connection *c : std::vector(m_live))
        c->goAway();
}

} // namespace socktap::replay
