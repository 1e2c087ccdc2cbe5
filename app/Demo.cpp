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
    return true;
}

void Demo::serve()
{
    while (QWebSocket *ws = m_server->nextPendingConnection()) {
        ws->setParent(this);
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
    connect(m_chat, &QWebSocket::disconnected, this, [this] {
        if (++m_done == 2)
            emit finished();
    });
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
    connect(m_ticker, &QWebSocket::disconnected, this, [this] {
        if (++m_done == 2)
            emit finished();
    });
    m_ticker->open(QUrl(QStringLiteral("ws://127.0.0.1:%1/ticker").arg(serverPort())));
}

} // namespace socktap::app
