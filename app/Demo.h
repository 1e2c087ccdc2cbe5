// socktap --demo: a built-in echo and ticker server on loopback, and scripted clients through the proxy
// (text, JSON, binary, a fragmented message, a ping, a normal close and an abnormal one), and a chat that
// speaks Socket.IO's packets (heartbeats, emits with acks) for the decoded views, so a new user sees Socktap
// working in the first seconds. Ordinary peers: QWebSocketServer and QWebSocket.
#pragma once

#include <QList>
#include <QObject>

class QWebSocket;
class QWebSocketServer;

namespace socktap::app {

class Demo final : public QObject
{
    Q_OBJECT

public:
    explicit Demo(quint16 proxyPort, QObject *parent = nullptr);
    ~Demo() override;
    bool start(QString *error = nullptr);
    quint16 serverPort() const;

signals:
    void finished(); // every scripted client is done

private:
    void runChat();
    void runTicker();
    void runSocketIo();
    void serveSocketIo(QWebSocket *ws);
    void clientDone();
    void serve();

    quint16 m_proxyPort;
    QWebSocketServer *m_server = nullptr;
    QWebSocket *m_chat = nullptr;
    QWebSocket *m_ticker = nullptr;
    QWebSocket *m_socketIo = nullptr;
    int m_done = 0;
};

} // namespace socktap::app
