#include "InterceptHub.h"

#include "ScriptFormat.h"

namespace socktap::intercept {

InterceptHub::InterceptHub()
    : m_rules(std::make_shared<const RuleSet>())
{ }

void InterceptHub::setRules(RuleSet rules)
{
    auto next = std::make_shared<const RuleSet>(std::move(rules));
    MockServing serve;
    {
        std::lock_guard lock(m_mutex);
        serve = m_serveMocks;
    }
    // Outside the lock: serving a mock reads its capture and starts a listener.
    std::map<QString, MockRoute> routes = serve ? serve(*next) : std::map<QString, MockRoute> {};
    std::lock_guard lock(m_mutex);
    m_rules = std::move(next);
    m_mockRoutes = std::move(routes);
    m_refused.assign(m_rules->rules.size(), 0);
    m_rulesGeneration.fetch_add(1, std::memory_order_acq_rel);
}

QString InterceptHub::setScripts(ScriptSet scripts)
{
    // Which hooks and formats the scripts define: found once here, in an engine of this thread's.
    const QString error = scripts.inspect();
    std::lock_guard lock(m_mutex);
    scripts.generation = m_rulesGeneration.load() + 1; // (each set new to every engine)
    const std::shared_ptr<const ScriptSet> set =
        scripts.scripts.empty() ? nullptr : std::make_shared<const ScriptSet>(std::move(scripts));
    // The formats first: a session that sees the new generation builds its decoder with them.
    installScriptFormats(set);
    m_scripts = set;
    m_rulesGeneration.fetch_add(1, std::memory_order_acq_rel);
    return error;
}

void InterceptHub::setScriptTimeout(int ms)
{
    m_scriptTimeoutMs.store(ms, std::memory_order_relaxed);
}

std::shared_ptr<const ScriptSet> InterceptHub::scripts() const
{
    std::lock_guard lock(m_mutex);
    return m_scripts;
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

std::optional<InterceptHub::Mock> InterceptHub::mock(QByteArrayView host, QByteArrayView path) const
{
    std::lock_guard lock(m_mutex);
    for (size_t i = 0; i < m_rules->rules.size(); ++i) {
        const Rule &r = m_rules->rules[i];
        if (r.action != Action::Mock || !r.enabled || !r.matchesTarget(host, path))
            continue;
        const auto found = m_mockRoutes.find(mockKey(r));
        Mock m;
        if (found == m_mockRoutes.end())
            m.route.error =
                QStringLiteral("no mock is served for it (only the window and headless Socktap serve mocks)");
        else
            m.route = found->second;
        m.note = m.route.port
            ? QStringLiteral("%1: answered by the %2").arg(r.label(int(i) + 1), m.route.label)
            : QStringLiteral("%1: its mock is not serving: %2").arg(r.label(int(i) + 1), m.route.error);
        return m;
    }
    return std::nullopt;
}

bool InterceptHub::mocksHost(QByteArrayView host) const
{
    std::lock_guard lock(m_mutex);
    return std::any_of(m_rules->rules.begin(), m_rules->rules.end(),
                       [&](const Rule &r) { return r.action == Action::Mock && r.matchesHost(host); });
}

void InterceptHub::setMockServing(MockServing serve)
{
    std::shared_ptr<const RuleSet> rules;
    {
        std::lock_guard lock(m_mutex);
        m_serveMocks = std::move(serve);
        rules = m_rules;
    }
    setRules(*rules); // the mocks the current rules ask for
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
