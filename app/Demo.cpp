#include "Demo.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkProxy>
#include <QTimer>
#include <QWebSocket>
#include <QWebSocketServer>

#include <cmath>

namespace socktap::app {

Demo::Demo(quint16 proxyPort, QObject *parent)
    : QObject(parent)
    , m_proxyPort(proxyPort)
    , m_server(new QWebSocketServer(QStringLiteral("socktap-demo"), QWebSocketServer::NonSecureMode, this))
{ }

Demo::~Demo() = default;

quint16 Demo::serverPort() const
{
    return m_server->serverPort();
}

bool Demo::start(QString *error)
{
    if (!m_server->listen(QHostAddress::LocalHost, 0)) {
        if (error)
            *error = m_server->errorString();
        return false;
    }
    connect(m_server, &QWebSocketServer::newConnection, this, &Demo::serve);
    QTimer::singleShot(100, this, &Demo::runChat);
    QTimer::singleShot(300, this, &Demo::runTicker);
    QTimer::singleShot(200, this, &Demo::runSocketIo);
    return true;
}

void Demo::serve()
{
    while (QWebSocket *ws = m_server->nextPendingConnection()) {
        ws->setParent(this);
        if (ws->requestUrl().path() == QLatin1String("/socket.io/")) {
            serveSocketIo(ws);
            continue;
        }
        if (ws->requestUrl().path() == QLatin1String("/ticker")) {
            // A price ticker: JSON every 150 ms until the client goes away.
            auto *timer = new QTimer(ws);
            auto seq = std::make_shared<int>(0);
            connect(timer, &QTimer::timeout, ws, [ws, seq] {
                ++*seq;
                const double price = 64000 + 250 * std::sin(*seq / 3.0);
                ws->sendTextMessage(
                    QString::fromUtf8(QJsonDocument(QJsonObject {{"type", "tick"},
                                                                 {"symbol", "BTC-USD"},
                                                                 {"price", std::round(price * 100) / 100},
                                                                 {"seq", *seq}})
                                          .toJson(QJsonDocument::Compact)));
            });
            timer->start(150);
            continue;
        }
        connect(ws, &QWebSocket::textMessageReceived, ws, [ws](const QString &m) { ws->sendTextMessage(m); });
        connect(ws, &QWebSocket::binaryMessageReceived, ws,
                [ws](const QByteArray &m) { ws->sendBinaryMessage(m); });
    }
}

void Demo::runChat()
{
    m_chat = new QWebSocket(QStringLiteral("http://demo.socktap"), QWebSocketProtocol::VersionLatest, this);
    m_chat->setProxy(QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), m_proxyPort));
    connect(m_chat, &QWebSocket::connected, this, [this] {
        m_chat->sendTextMessage(QStringLiteral("Hello, Socktap!"));
        m_chat->sendTextMessage(
            QStringLiteral(R"({"type":"subscribe","channel":"prices","symbols":["BTC-USD","ETH-USD"],)"
                           R"("id":1,"options":{"depth":5,"snapshot":true}})"));
        QByteArray binary;
        for (int i = 0; i < 48; ++i)
            binary += char(i * 5);
        m_chat->sendBinaryMessage(binary);
        // A long message in 40-byte frames: the Frames view shows the fragmentation.
        m_chat->setOutgoingFrameSize(40);
        m_chat->sendTextMessage(
            QStringLiteral("This message is long enough to travel in several continuation frames, "
                           "which Socktap reassembles while relaying each frame untouched."));
        m_chat->setOutgoingFrameSize(512 * 1024);
        m_chat->ping("are you there?");
        QTimer::singleShot(1500, this, [this] {
            m_chat->close(QWebSocketProtocol::CloseCodeNormal, QStringLiteral("demo finished"));
        });
    });
    connect(m_chat, &QWebSocket::disconnected, this, &Demo::clientDone);
    m_chat->open(QUrl(QStringLiteral("ws://127.0.0.1:%1/chat").arg(serverPort())));
}

void Demo::runTicker()
{
    m_ticker = new QWebSocket(QStringLiteral("http://demo.socktap"), QWebSocketProtocol::VersionLatest, this);
    m_ticker->setProxy(QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), m_proxyPort));
    connect(m_ticker, &QWebSocket::connected, this, [this] {
        m_ticker->sendTextMessage(QStringLiteral(R"({"type":"hello","client":"socktap-demo"})"));
        // Then the client vanishes without a Close frame: an abnormal end (1006) for the Close tab.
        QTimer::singleShot(2000, this, [this] { m_ticker->abort(); });
    });
    connect(m_ticker, &QWebSocket::disconnected, this, &Demo::clientDone);
    m_ticker->open(QUrl(QStringLiteral("ws://127.0.0.1:%1/ticker").arg(serverPort())));
}

void Demo::clientDone()
{
    if (++m_done == 3)
        emit finished();
}

// The server side of Socket.IO's packets (socket.io-protocol v5 over Engine.IO 4), as much as the demo
// chat uses: the open packet, a ping every 300 ms, connect, acks for emits, and a broadcast.
void Demo::serveSocketIo(QWebSocket *ws)
{
    ws->sendTextMessage(QStringLiteral(
        R"(0{"sid":"demo-sid","upgrades":[],"pingInterval":300,"pingTimeout":2000,"maxPayload":1000000})"));
    auto *pings = new QTimer(ws);
    connect(pings, &QTimer::timeout, ws, [ws] { ws->sendTextMessage(QStringLiteral("2")); });
    pings->start(300);
    connect(ws, &QWebSocket::textMessageReceived, ws, [ws](const QString &m) {
        if (m == QLatin1String("40")) {
            ws->sendTextMessage(QStringLiteral(R"(40{"sid":"demo-socket"})"));
            ws->sendTextMessage(
                QStringLiteral(R"(42["message",{"user":"ann","text":"Welcome to #general"}])"));
        } else if (m.startsWith(QLatin1String("42"))) {
            // "42<id>[...]": acknowledge with the same id.
            qsizetype end = 2;
            while (end < m.size() && m[end].isDigit())
                ++end;
            if (end > 2)
                ws->sendTextMessage(QStringLiteral("43") + m.mid(2, end - 2)
                                    + QStringLiteral(R"([{"ok":true,"delivered":3}])"));
        }
    });
}

void Demo::runSocketIo()
{
    m_socketIo =
        new QWebSocket(QStringLiteral("http://demo.socktap"), QWebSocketProtocol::VersionLatest, this);
    m_socketIo->setProxy(QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), m_proxyPort));
    connect(m_socketIo, &QWebSocket::textMessageReceived, this, [this](const QString &m) {
        if (m == QLatin1String("2")) {
            m_socketIo->sendTextMessage(QStringLiteral("3")); // Engine.IO's pong
        } else if (m.startsWith(QLatin1Char('0'))) {
            m_socketIo->sendTextMessage(QStringLiteral("40"));
        } else if (m.startsWith(QLatin1String("40"))) {
            m_socketIo->sendTextMessage(
                QStringLiteral(R"(420["chat",{"room":"general","text":"Hello from the demo!"}])"));
            m_socketIo->sendTextMessage(QStringLiteral(R"(421["typing",{"room":"general"}])"));
        }
    });
    connect(m_socketIo, &QWebSocket::connected, this,
            [this] { QTimer::singleShot(1600, this, [this] { m_socketIo->close(); }); });
    connect(m_socketIo, &QWebSocket::disconnected, this, &Demo::clientDone);
    m_socketIo->open(
        QUrl(QStringLiteral("ws://127.0.0.1:%1/socket.io/?EIO=4&transport=websocket").arg(serverPort())));
}

} // namespace socktap::app
