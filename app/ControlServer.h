// socktap --control HOST:PORT (issue 22): a headless Socktap offers its live capture and its controls to
// a window (File > Attach) or `socktap attach` on another machine. A WebSocket over TLS (a leaf from
// Socktap's CA) that refuses anything without the token (wss://HOST:PORT/capture?token=T&from=OFFSET&
// journal=ID). Binary messages carry the crash journal's bytes from OFFSET as they are written, so a client
// that lost its link resumes where it stopped and loses or repeats nothing; text messages carry JSON both
// ways: the server's hello (which journal, from where), the held messages as they come and go, and the
// answers to the client's requests (a SessionCommand for one session, or a new rule set). The protocol is
// in docs/architecture.md.
#pragma once

#include <QObject>
#include <QString>

#include <memory>
#include <set>
#include <tuple>

class QTimer;
class QWebSocket;
class QWebSocketServer;

namespace socktap::capture {
class BatchJournal;
}
namespace socktap::certs {
class CertificateAuthority;
}
namespace socktap::intercept {
class InterceptHub;
}
namespace socktap::proxy {
class ProxyServer;
}

namespace socktap::app {

class ControlServer final : public QObject
{
    Q_OBJECT

public:
    // server and hub may be null (nothing to command: requests are answered with why).
    ControlServer(std::shared_ptr<capture::BatchJournal> journal, proxy::ProxyServer *server,
                  std::shared_ptr<intercept::InterceptHub> hub, QObject *parent = nullptr);
    ~ControlServer() override;

    // Listens on host:port with a leaf for host from ca; false with *error.
    bool listen(const QString &host, quint16 port, certs::CertificateAuthority &ca, const QString &token,
                QString *error);
    quint16 port() const;
    // Held messages are forwarded once no client has been attached for this long (--control-hold-grace).
    void setHoldGrace(int seconds) { m_holdGraceMs = qint64(seconds) * 1000; }
    int clients() const;
    // Names this run's journal: a client that comes back with another one's offset starts again at 0.
    QString journalId() const { return m_journalId; }

    static constexpr qint64 SendAhead = 4 << 20; // bytes queued to a slow client before it waits
    static constexpr qint64 Piece = 1 << 20; // bytes per message
    static constexpr qint64 MaxRequest = 64 << 20; // a request's JSON (an inject of a large message)
    static constexpr qint64 PingMs = 10'000;
    static constexpr qint64 SilentMs = 60'000; // no Pong for this long: the client is let go

private:
    struct Client
    {
        QWebSocket *socket = nullptr;
        quint64 offset = 0;
        quint64 heldGeneration = 0;
        std::set<std::tuple<quint64, int, quint64>> held; // (session, from, id) the client was told of
        qint64 lastPong = 0; // ms since the epoch
        quint64 logSkipped = 0; // script log lines not sent while it was not reading
        bool window = false; // can release held messages (socktap attach only reads)
    };
    void accept();
    void pump();
    void pumpClient(Client &c);
    void sendHeld(Client &c);
    void releaseUnwatched(qint64 now);
    void request(QWebSocket *socket, const QString &text);

    std::shared_ptr<capture::BatchJournal> m_journal;
    proxy::ProxyServer *m_proxy;
    std::shared_ptr<intercept::InterceptHub> m_hub;
    QWebSocketServer *m_server = nullptr;
    QTimer *m_timer = nullptr;
    QString m_token;
    QString m_journalId;
    std::vector<Client> m_clients;
    quint64 m_logSeq = 0; // the script log's lines sent so far
    qint64 m_lastPing = 0;
    qint64 m_holdGraceMs = 60'000;
    qint64 m_unwatchedSince = 0; // ms since the epoch; 0 while a client is attached
    std::set<std::tuple<quint64, int, quint64>> m_releasing; // released for want of a window, not gone yet
};

} // namespace socktap::app
