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
    m_refused.assign(m_rules->rules.size(), 0);
    m_rulesGeneration.fetch_add(1, std::memory_order_acq_rel);
}

std::shared_ptr<const RuleSet> InterceptHub::rules() const
{
    std::lock_guard lock(m_mutex);
    return m_rules;
}

std::optional<InterceptHub::Refusal> InterceptHub::refusal(QByteArrayView host, QByteArrayView path)
{
    std::lock_guard lock(m_mutex);
    for (size_t i = 0; i < m_rules->rules.size(); ++i) {
        const Rule &r = m_rules->rules[i];
        if (r.action != Action::Refuse || !r.enabled || !r.matchesTarget(host, path))
            continue;
        if (r.times > 0 && m_refused[i] >= r.times)
            continue; // done refusing: the next refuse rule, or the server
        const int attempt = ++m_refused[i];
        const QString count = r.times > 0 ? QStringLiteral("attempt %1 of %2").arg(attempt).arg(r.times)
                                          : QStringLiteral("attempt %1").arg(attempt);
        return Refusal {
            r.status, r.retryAfter, r.reset,
            QStringLiteral("%1: refused (%2%3)")
                .arg(r.label(int(i) + 1), r.reset ? QStringLiteral("TCP reset, ") : QString(), count)};
    }
    return std::nullopt;
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
