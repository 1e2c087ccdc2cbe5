// Serves a MockPlan: a WebSocket server on a loopback port that answers each upgrade with the recorded 101
// (permessage-deflate negotiated for real when the recording had it and the client offers it) and plays
// the recorded server side with a MockPlayer per connection. Socktap's own proxy stands in front of it
// (socktap mock's listener in reverse mode, or a mock rule in the normal proxy), so every mock session is
// captured like any other, wss:// included. Like the Replayer, a peer rather than the relay: besides
// core/proxy, the places that open sockets.
#pragma once

#include "MockPlan.h"

#include <QHostAddress>
#include <QObject>

class QTcpServer;

namespace socktap::replay {

class MockServer final : public QObject
{
    Q_OBJECT

public:
    struct Options
    {
        MockOptions play;
        bool exactPath =
            false; // refuse (404) an upgrade to another path (its query aside) than the recorded one
        int closeWaitMs = 5'000; // after the mock's Close, how long the client has to answer it
        int headTimeoutMs = 30'000;
        qsizetype maxBuffered =
            256 * 1024; // unsent bytes per connection before the mock waits for the client
        // Only upgrades Socktap's proxy forwards (they name their session): a client that found the
        // internal port would be served without being captured. Off for benchmarks of the mock alone.
        bool proxiedOnly = true;
    };

    MockServer(std::shared_ptr<const MockPlan> plan, Options options, QObject *parent = nullptr);
    ~MockServer() override;

    bool listen(const QHostAddress &address, quint16 port, QString *error);
    quint16 port() const;
    int connections() const { return m_connections; }
    const MockPlan &plan() const { return *m_plan; }
    // Closes every connection (1001 Going Away) and stops listening.
    void stop();

signals:
    // A client message the capture has no answer for; session is the proxy's (0 when not told).
    void unanswered(quint64 session, const QString &line);
    // A connection ended (the client upgraded first; refused upgrades are not reported). Session 0: one
    // the proxy did not forward (proxiedOnly off).
    void finished(quint64 session, const socktap::replay::MockReport &report);

private:
    class Connection;
    void onNewConnection();

    std::shared_ptr<const MockPlan> m_plan;
    Options m_options;
    QTcpServer *m_listener = nullptr;
    std::vector<Connection *> m_live; // (Connection has no meta-object of its own for findChildren)
    int m_connections = 0;
};

} // namespace socktap::replay
