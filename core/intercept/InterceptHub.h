// What the engine's worker threads and the front ends (window, headless) share about interception: the
// current rules (swapped whole; sessions see a new set at their next message) and the list of held
// messages the window shows. Thread-safe; holds no connection and sends nothing.
#pragma once

#include "HeldMessage.h"
#include "Rule.h"
#include "ScriptRunner.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace socktap::intercept {

class InterceptHub
{
public:
    InterceptHub();

    void setRules(RuleSet rules);
    std::shared_ptr<const RuleSet> rules() const;
    // JavaScript addons (--script, Tools > Scripts): sessions see a new set at their next message, as with
    // rules; their formats are installed in the registry. Returns the first script's error that did not
    // load (that script then does nothing).
    QString setScripts(ScriptSet scripts);
    std::shared_ptr<const ScriptSet> scripts() const;
    // --script-timeout, for the scripts the window loads too.
    void setScriptTimeout(int ms);
    int scriptTimeout() const { return m_scriptTimeoutMs.load(std::memory_order_relaxed); }
    // Changes whenever the rules do: a session compares it with the one it last saw (one atomic load per
    // chunk of traffic, so rules can change under live sessions at no cost to the relay).
    quint64 rulesGeneration() const { return m_rulesGeneration.load(std::memory_order_acquire); }

    // Refuse rules: whether the upgrade to host and path is to be refused, counting the attempt (each rule
    // refuses its `times` attempts, counted afresh when the rules change). Thread-safe: workers ask.
    struct Refusal
    {
        int status = 503;
        int retryAfter = -1;
        bool reset = false;
        QString note; // "rule 2 'flaky': refused (attempt 1 of 3)"
    };
    std::optional<Refusal> refusal(QByteArrayView host, QByteArrayView path);

    // Mock rules: the first enabled one for host and path, with where its mock listens (or why it does
    // not). Routes come from whoever serves the mocks, called back (on the thread that sets the rules)
    // before setRules() returns, so a new mock rule never meets a request without its route.
    struct Mock
    {
        MockRoute route;
        QString note; // "rule 2 'offline': answered by the mock of chat.socktap session 1"
    };
    std::optional<Mock> mock(QByteArrayView host, QByteArrayView path) const;
    using MockServing = std::function<std::map<QString, MockRoute>(const RuleSet &)>;
    void setMockServing(MockServing serve);
    // Whether a mock rule names host (any path): a CONNECT to it is not dialled, since its server may not
    // exist; the requests inside go to the mock, or to the server when their path has no mock.
    bool mocksHost(QByteArrayView host) const;

    void addHeld(HeldMessage message);
    void removeHeld(capture::SessionId session, capture::Direction from, quint64 id);
    void removeSession(capture::SessionId session);
    std::vector<HeldMessage> held() const; // oldest first
    quint64 heldGeneration() const { return m_heldGeneration.load(std::memory_order_acquire); }

private:
    mutable std::mutex m_mutex;
    std::shared_ptr<const RuleSet> m_rules;
    std::shared_ptr<const ScriptSet> m_scripts;
    std::vector<HeldMessage> m_held;
    std::vector<int> m_refused; // attempts refused by each rule of m_rules
    MockServing m_serveMocks;
    std::map<QString, MockRoute> m_mockRoutes; // by mockKey()
    std::atomic<quint64> m_rulesGeneration {0};
    std::atomic<int> m_scriptTimeoutMs {100};
    std::atomic<quint64> m_heldGeneration {0};
};

} // namespace socktap::intercept
