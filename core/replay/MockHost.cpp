#include "MockHost.h"

#include "core/capture/NativeFile.h"

#include <QFileInfo>
#include <QTimer>

namespace socktap::replay {

MockHost::MockHost(QObject *parent)
    : QObject(parent)
{ }

MockHost::~MockHost()
{
    if (const auto hub = m_hub.lock())
        hub->setMockServing({});
}

void MockHost::attach(const std::shared_ptr<intercept::InterceptHub> &hub)
{
    m_hub = hub;
    hub->setMockServing([this](const intercept::RuleSet &rules) { return serve(rules); });
}

MockHost::Mock MockHost::start(const intercept::Rule &rule)
{
    Mock mock;
    QString error;
    capture::CaptureStore store;
    if (!capture::openCapture(rule.mockFile, store, &error, capture::OpenOptions {true, {}, {}})) {
        mock.route.error = error;
        return mock;
    }
    const capture::SessionId id =
        rule.mockSession > 0 ? capture::SessionId(rule.mockSession) : capture::firstWebSocketSession(store);
    auto plan = id ? planMock(store, id, &error) : std::nullopt;
    if (!plan) {
        mock.route.error = id ? error : QStringLiteral("%1 has no WebSocket session").arg(rule.mockFile);
        return mock;
    }
    plan->label = QStringLiteral("mock of %1 session %2").arg(QFileInfo(rule.mockFile).fileName()).arg(id);
    MockServer::Options options;
    options.play.timing = *timingFromName(rule.mockTiming);
    options.play.match = rule.mockMatch == u"content" ? MockMatch::Content : MockMatch::Order;
    const QString label = plan->label;
    mock.server = std::make_unique<MockServer>(std::make_shared<const MockPlan>(std::move(*plan)), options);
    if (!mock.server->listen(QHostAddress::LocalHost, 0, &error)) {
        mock.server.reset();
        mock.route.error = error;
        return mock;
    }
    connect(mock.server.get(), &MockServer::unanswered, this, &MockHost::unanswered);
    connect(mock.server.get(), &MockServer::finished, this, &MockHost::finished);
    mock.route.port = mock.server->port();
    mock.route.label = label;
    return mock;
}

std::map<QString, intercept::MockRoute> MockHost::serve(const intercept::RuleSet &rules)
{
    std::map<QString, Mock> next;
    for (const intercept::Rule &rule : rules.rules) {
        if (rule.action != intercept::Action::Mock || !rule.enabled)
            continue;
        const QString key = intercept::mockKey(rule);
        if (next.contains(key))
            continue;
        // A mock already serving goes on (its clients stay connected); one that failed is tried again.
        if (const auto running = m_mocks.find(key); running != m_mocks.end() && running->second.server)
            next.emplace(key, std::move(running->second));
        else if (Mock mock = start(rule); mock.server)
            next.emplace(key, std::move(mock));
        else {
            emit cannotServe(QStringLiteral("the mock of %1: %2").arg(rule.mockFile, mock.route.error));
            next.emplace(key, std::move(mock));
        }
    }
    for (auto &[key, mock] : m_mocks) {
        if (!mock.server)
            continue;
        // No rule asks for it any more: its clients get a Close 1001, which has a moment to go out.
        MockServer *stopped = mock.server.release();
        stopped->setParent(this);
        stopped->stop();
        QTimer::singleShot(stopped->connections() ? 2000 : 0, stopped, &QObject::deleteLater);
    }
    m_mocks = std::move(next);
    std::map<QString, intercept::MockRoute> routes;
    for (const auto &[key, mock] : m_mocks)
        routes.emplace(key, mock.route);
    return routes;
}

} // namespace socktap::replay
