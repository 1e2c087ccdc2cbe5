// socktap --control HOST:PORT (issue 22, first part of remote attach): a headless Socktap offers its live
// capture to `socktap attach` on another machine. A WebSocket over TLS (a leaf from Socktap's CA) that
// refuses anything without the token (wss://HOST:PORT/capture?token=T&from=OFFSET), then streams the crash
// journal's bytes from OFFSET as they are written (binary messages), so a client that lost its link
// resumes where it stopped and loses or repeats nothing (docs/architecture.md). Commands come later.
#pragma once

#include <QObject>
#include <QString>

#include <memory>

class QTimer;
class QWebSocket;
class QWebSocketServer;

namespace socktap::capture {
class BatchJournal;
}
namespace socktap::certs {
class CertificateAuthority;
}

namespace socktap::app {

class ControlServer final : public QObject
{
    Q_OBJECT

public:
    ControlServer(std::shared_ptr<capture::BatchJournal> journal, QObject *parent = nullptr);
    ~ControlServer() override;

    // Listens on host:port with a leaf for host from ca; false with *error.
    bool listen(const QString &host, quint16 port, certs::CertificateAuthority &ca, const QString &token,
                QString *error);
    quint16 port() const;
    int clients() const;

    static constexpr qint64 SendAhead = 4 << 20; // bytes queued to a slow client before it waits
    static constexpr qint64 Piece = 1 << 20; // bytes per message

private:
    void accept();
    void pump();

    std::shared_ptr<capture::BatchJournal> m_journal;
    QWebSocketServer *m_server = nullptr;
    QTimer *m_timer = nullptr;
    QString m_token;
    struct Client
    {
        QWebSocket *socket = nullptr;
        quint64 offset = 0;
    };
    std::vector<Client> m_clients;
};

} // namespace socktap::app
