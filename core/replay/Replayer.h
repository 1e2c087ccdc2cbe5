// Carries out a ReplayPlan: opens a WebSocket to the plan's URL with its headers (Qt's QWebSocket, through
// Socktap's own proxy so the replay is captured like any session, frames and all), sends the client's
// messages with the chosen timing, waits for the server's answers, and ends. The comparison is then made
// between the two captures. Besides core/proxy, the one place that opens sockets: a client, not a relay.
#pragma once

#include "ReplayPlan.h"

#include <QNetworkProxy>
#include <QObject>
#include <QSslCertificate>
#include <QTimer>
#include <QWebSocket>

#include <QElapsedTimer>

namespace socktap::replay {

class Replayer final : public QObject
{
    Q_OBJECT

public:
    struct Options
    {
        Timing timing = Timing::Fast;
        double speed = 1.0; // Original timing: 2 plays twice as fast
        std::optional<QNetworkProxy> proxy; // Socktap, so that the replay is captured
        QList<QSslCertificate> trustedCas; // Socktap's root CA: wss:// through it is intercepted
        int connectTimeoutMs = 10'000;
        // Conversation timing: how long a message waits for the server's messages before it is sent anyway.
        // After the last message: how long the server's remaining messages may take.
        int waitMs = 10'000;
        int quietMs = 500; // after the expected messages arrived: extra ones still counted for this long
    };

    struct Result
    {
        bool connected = false;
        bool cancelled = false;
        QString error; // could not connect, the handshake failed...
        QStringList notes; // a conversation step sent without its answer, and such
        quint16 localPort = 0; // the connection to the proxy: the replay session's client port
        int sent = 0;
        int received = 0; // data messages
        qint64 startedAt = 0; // µs since the epoch, when start() was called
        std::vector<qint64> lateUs; // Original timing: how late each send was against its schedule
    };

    Replayer(ReplayPlan plan, Options options, QObject *parent = nullptr);
    ~Replayer() override;

    void start();
    // Stops at once: the connection is aborted, nothing more is sent; finished() follows.
    void cancel();
    const Result &result() const { return m_result; }
    const ReplayPlan &plan() const { return m_plan; }
    bool isRunning() const { return m_running; }

signals:
    void progress(int sent, int received);
    void finished();

private:
    void onConnected();
    void onReceived();
    void onDisconnected();
    void scheduleNext();
    void sendStep();
    void awaitReplies();
    void finish(const QString &error = {});

    ReplayPlan m_plan;
    Options m_options;
    Result m_result;
    QWebSocket m_socket;
    QTimer m_timer; // the next send, a conversation step's patience, or the end
    QTimer m_connectTimer;
    QElapsedTimer m_clock; // since the upgrade
    size_t m_next = 0;
    bool m_running = false;
    bool m_waitingForServer = false; // a conversation step waits for the server's messages
    bool m_closing = false;
    enum class Awaiting { No, Replies, Quiet };
    Awaiting m_awaiting = Awaiting::No; // after the last message
};

// Why the proxy refused a replay that failed, in Socktap's words: QWebSocket only says "Error
// communicating with HTTP proxy" or "Unhandled http status code: 502", while the proxy recorded the cause
// (connection refused, certificate rejected, the server's own status). Looks in the proxy's capture for
// the attempt (a session to url's host and port that began at or after since and failed or was refused);
// empty when there is none.
QString proxyFailure(const capture::CaptureStore &store, const QUrl &url, qint64 since);

} // namespace socktap::replay
