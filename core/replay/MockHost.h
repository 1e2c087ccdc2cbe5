// Serves the mocks that mock rules ask for ("action": "mock": a host/path answered from a capture instead
// of the server): one MockServer per capture session and options, on loopback, started when a rule first
// names it and stopped when no rule does. InterceptHub calls serve() whenever the rules change (see
// InterceptHub::setMockServing); the proxy then dials the route's port instead of the server. Lives on the
// thread that sets the rules (the window's or the headless console's).
#pragma once

#include "MockServer.h"

#include "core/intercept/InterceptHub.h"

#include <map>

namespace socktap::replay {

class MockHost final : public QObject
{
    Q_OBJECT

public:
    explicit MockHost(QObject *parent = nullptr);
    ~MockHost() override;

    // Installs itself as hub's mock server (the hub's current rules are served at once).
    // Detached again when the host goes (a hub outliving it serves no mocks).
    void attach(const std::shared_ptr<intercept::InterceptHub> &hub);
    std::map<QString, intercept::MockRoute> serve(const intercept::RuleSet &rules);
    int serving() const { return int(m_mocks.size()); }

signals:
    void unanswered(quint64 session, const QString &line);
    void finished(quint64 session, const socktap::replay::MockReport &report);
    // A mock a rule asks for could not be served (its upgrades get 502 saying why).
    void cannotServe(const QString &why);

private:
    struct Mock
    {
        std::unique_ptr<MockServer> server;
        intercept::MockRoute route;
    };
    Mock start(const intercept::Rule &rule);

    std::map<QString, Mock> m_mocks; // by intercept::mockKey()
    std::weak_ptr<intercept::InterceptHub> m_hub;
};

} // namespace socktap::replay
