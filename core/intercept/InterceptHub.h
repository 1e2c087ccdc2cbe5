// What the engine's worker threads and the front ends (window, headless) share about interception: the
// current rules (swapped whole; sessions see a new set at their next message) and the list of held
// messages the window shows. Thread-safe; holds no connection and sends nothing.
#pragma once

#include "HeldMessage.h"
#include "Rule.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace socktap::intercept {

class InterceptHub
{
public:
    InterceptHub();

    void setRules(RuleSet rules);
    std::shared_ptr<const RuleSet> rules() const;
    // Changes whenever the rules do: a session compares it with the one it last saw (one atomic load per
    // chunk of traffic, so rules can change under live sessions at no cost to the relay).
    quint64 rulesGeneration() const { return m_rulesGeneration.load(std::memory_order_acquire); }

    void addHeld(HeldMessage message);
    void removeHeld(capture::SessionId session, capture::Direction from, quint64 id);
    void removeSession(capture::SessionId session);
    std::vector<HeldMessage> held() const; // oldest first
    quint64 heldGeneration() const { return m_heldGeneration.load(std::memory_order_acquire); }

private:
    mutable std::mutex m_mutex;
    std::shared_ptr<const RuleSet> m_rules;
    std::vector<HeldMessage> m_held;
    std::atomic<quint64> m_rulesGeneration {0};
    std::atomic<quint64> m_heldGeneration {0};
};

} // namespace socktap::intercept
