#include "InterceptHub.h"

namespace socktap::intercept {

InterceptHub::InterceptHub()
    : m_rules(std::make_shared<const RuleSet>())
{ }

void InterceptHub::setRules(RuleSet rules)
{
    auto next = std::make_shared<const RuleSet>(std::move(rules));
    std::lock_guard lock(m_mutex);
    m_rules = std::move(next);
    m_rulesGeneration.fetch_add(1, std::memory_order_acq_rel);
}

std::shared_ptr<const RuleSet> InterceptHub::rules() const
{
    std::lock_guard lock(m_mutex);
    return m_rules;
}

void InterceptHub::addHeld(HeldMessage message)
{
    std::lock_guard lock(m_mutex);
    m_held.push_back(std::move(message));
    m_heldGeneration.fetch_add(1, std::memory_order_acq_rel);
}

void InterceptHub::removeHeld(capture::SessionId session, capture::Direction from, quint64 id)
{
    std::lock_guard lock(m_mutex);
    const auto removed = std::erase_if(
        m_held, [&](const HeldMessage &h) { return h.session == session && h.from == from && h.id == id; });
    if (removed)
        m_heldGeneration.fetch_add(1, std::memory_order_acq_rel);
}

void InterceptHub::removeSession(capture::SessionId session)
{
    std::lock_guard lock(m_mutex);
    if (std::erase_if(m_held, [&](const HeldMessage &h) { return h.session == session; }))
        m_heldGeneration.fetch_add(1, std::memory_order_acq_rel);
}

std::vector<HeldMessage> InterceptHub::held() const
{
    std::lock_guard lock(m_mutex);
    return m_held;
}

} // namespace socktap::intercept
