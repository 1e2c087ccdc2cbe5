#include "Rule.h"

#include <cstring>

#include "RuleInternal.h"

#include "core/decode/JsonFormats.h"
#include "core/decode/JsonValue.h"

#include <QRandomGenerator>

#include <algorithm>
#include <cmath>
#include <random>

namespace socktap::intercept {

using capture::Direction;
using namespace detail;

namespace {

bool isAsciiDigit(QChar c)
{
    return c.unicode() >= u'0' && c.unicode() <= u'9';
}

// Anchored glob with '*' as the only wildcard (any run, '/' included): no '?' or '[' classes, which would
// turn ordinary URL characters into patterns. Backtracks only to the last '*', so it stays linear-ish.
bool globMatches(QStringView glob, QStringView text, Qt::CaseSensitivity cs)
{
    auto same = [cs](QChar a, QChar b) {
        return a == b || (cs == Qt::CaseInsensitive && a.toCaseFolded() == b.toCaseFolded());
    };
    qsizetype g = 0, t = 0, star = -1, resume = 0;
    while (t < text.size()) {
        if (g < glob.size() && glob[g] == u'*') {
            star = g++;
            resume = t;
        } else if (g < glob.size() && same(glob[g], text[t])) {
            ++g;
            ++t;
        } else if (star >= 0) {
            g = star + 1;
            t = ++resume;
        } else {
            return false;
        }
    }
    while (g < glob.size() && glob[g] == u'*')
        ++g;
    return g == glob.size();
}

std::optional<QString> applyHeaderRule(const Rule &rule, HeadSide side, http::Headers &headers)
{
    const QString name = QString::fromUtf8(rule.headerName);
    const QString head = side == HeadSide::Request ? QStringLiteral("request") : QStringLiteral("response");
    if (rule.action == Action::SetHeader) {
        if (headers.values(rule.headerName) == QList<QByteArray> {rule.headerValue})
            return std::nullopt; // already exactly so: nothing changed, nothing to report
        headers.set(rule.headerName, rule.headerValue);
        return QStringLiteral("set %1: %2 on the %3").arg(name, QString::fromUtf8(rule.headerValue), head);
    }
    const int removed = headers.remove(rule.headerName);
    if (removed == 0)
        return std::nullopt;
    if (removed == 1)
        return QStringLiteral("removed %1 from the %2").arg(name, head);
    return QStringLiteral("removed %1 (%2 fields) from the %3").arg(name, QString::number(removed), head);
}

} // namespace

std::vector<ReplacementPiece> detail::parseReplacement(const QString &with, int captureCount)
{
    std::vector<ReplacementPiece> pieces;
    auto literal = [&](QStringView s) {
        if (pieces.empty() || pieces.back().group >= 0)
            pieces.push_back({});
        pieces.back().text += s;
    };
    for (qsizetype i = 0; i < with.size(); ++i) {
        const QChar c = with[i];
        const QChar next = i + 1 < with.size() ? with[i + 1] : QChar();
        if (c != u'$' || !(next == u'$' || isAsciiDigit(next))) {
            literal(QStringView(&with.constData()[i], 1));
            continue;
        }
        if (next == u'$') {
            literal(u"$");
            ++i;
            continue;
        }
        int group = next.digitValue();
        ++i;
        if (i + 1 < with.size() && isAsciiDigit(with[i + 1])) {
            const int two = group * 10 + with[i + 1].digitValue();
            if (two >= 1 && two <= captureCount) {
                group = two;
                ++i;
            }
        }
        pieces.push_back({QString(), group});
    }
    return pieces;
}

const char *actionName(Action a)
{
    return spell(ActionSpellings, a);
}

namespace {

const char *sideName(SenderMatch s)
{
    return s == SenderMatch::Client ? "the client" : s == SenderMatch::Server ? "the server" : "both sides";
}

} // namespace

QString mockKey(const Rule &r)
{
    return QStringLiteral("%1\n%2\n%3\n%4").arg(r.mockFile).arg(r.mockSession).arg(r.mockTiming, r.mockMatch);
}

int drawDelay(const Rule &r)
{
    // One generator per thread (a worker's sessions draw in turn), seeded from the system's.
    thread_local std::mt19937 generator(QRandomGenerator::system()->generate());
    double ms = r.delayMs;
    if (r.spread == Spread::Normal)
        ms = std::normal_distribution<double>(r.delayMs, r.jitterMs)(generator);
    else
        ms =
            std::uniform_real_distribution<double>(r.delayMs - r.jitterMs, r.delayMs + r.jitterMs)(generator);
    return int(std::clamp(std::lround(ms), 0l, 600000l));
}

QString faultText(const Rule &r)
{
    QString what;
    switch (r.action) {
    case Action::Close:
        what =
            QStringLiteral("close %1%2 toward %3")
                .arg(r.closeCode)
                .arg(r.closeReason.isEmpty() ? QString()
                                             : QStringLiteral(" '%1'").arg(QString::fromUtf8(r.closeReason)),
                     QLatin1String(sideName(r.toward)));
        if (!r.closeHandshake)
            what += QStringLiteral(", then end TCP (no closing handshake)");
        break;
    case Action::Reset:
        what = r.toward == SenderMatch::Both ? QStringLiteral("reset both connections")
            : r.toward == SenderMatch::Client
            ? QStringLiteral("reset the client's connection (the server's ends with a FIN)")
            : QStringLiteral("reset the server's connection (the client's ends with a FIN)");
        break;
    case Action::Stall:
        what = QStringLiteral("stall what %1 sends%2")
                   .arg(QLatin1String(sideName(r.stop)),
                        r.stop == SenderMatch::Both ? QStringLiteral(" (both ways)") : QString());
        break;
    default:
        return QLatin1String(actionName(r.action));
    }
    if (r.afterMs >= 0)
        return what + QStringLiteral(" (%1 ms after the upgrade)").arg(r.afterMs);
    return r.afterMessages > 1 ? what + QStringLiteral(" (at matching message %1)").arg(r.afterMessages)
                               : what;
}

QString Rule::label(int index) const
{
    QString out = QStringLiteral("rule %1").arg(index);
    if (!name.isEmpty())
        out += QStringLiteral(" '%1'").arg(name);
    return out;
}

bool Rule::matchesHost(QByteArrayView host) const
{
    return enabled
        && (match.host.isEmpty() || globMatches(match.host, QString::fromUtf8(host), Qt::CaseInsensitive));
}

bool Rule::matchesTarget(QByteArrayView host, QByteArrayView path) const
{
    if (!matchesHost(host))
        return false;
    return match.path.isEmpty() || globMatches(match.path, QString::fromUtf8(path), Qt::CaseSensitive);
}

bool Rule::matchesSender(Direction from) const
{
    // Handshake rules act on the upgrade, so they never apply to any message.
    if (!enabled || isHandshakeRule())
        return false;
    switch (match.sender) {
    case SenderMatch::Both:
        return true;
    case SenderMatch::Client:
        return from == Direction::ClientToServer;
    case SenderMatch::Server:
        return from == Direction::ServerToClient;
    }
    return false;
}

bool Rule::matchesMessage(Direction from, quint8 opcode, QByteArrayView payload) const
{
    if (!matchesSender(from))
        return false;
    if ((match.type == TypeMatch::Text && opcode != 1) || (match.type == TypeMatch::Binary && opcode != 2))
        return false;
    // glibc's memmem rather than QByteArrayView::contains: with 20 rules on every message of a gated
    // direction this search is the relay's hot spot, and Qt 6.4's hashing search is several times slower.
    if (!match.payload.isEmpty()
        && !::memmem(payload.data(), size_t(payload.size()), match.payload.constData(),
                     size_t(match.payload.size())))
        return false;
    if (match.regexText.isEmpty())
        return true;
    // Rules built in code may set only the text; compile it here rather than silently never matching.
    const QRegularExpression re =
        match.regex.pattern() == match.regexText ? match.regex : QRegularExpression(match.regexText);
    const QString subject = opcode == 1 ? QString::fromUtf8(payload) : QString::fromLatin1(payload);
    return re.match(subject).hasMatch();
}

bool Rule::matchesDecoded(const decode::Decoded &decoded) const
{
    if (!match.format.isEmpty() && decoded.format != match.format)
        return false;
    for (const decode::DecodedQuery &q : match.decoded)
        if (!q.matches(decoded))
            return false;
    return true;
}

QByteArray regexReplace(const QRegularExpression &pattern, const QString &with, QByteArrayView payload)
{
    if (!pattern.isValid())
        return payload.toByteArray();
    const QString text = QString::fromUtf8(payload);
    const std::vector<ReplacementPiece> pieces = parseReplacement(with, pattern.captureCount());
    QString out;
    qsizetype copied = 0;
    bool matched = false;
    // globalMatch steps past empty matches itself (retrying non-empty at the same offset, then advancing
    // one character), so patterns like "x*" terminate.
    for (auto it = pattern.globalMatch(text); it.hasNext();) {
        const QRegularExpressionMatch m = it.next();
        matched = true;
        out += QStringView(text).sliced(copied, m.capturedStart() - copied);
        for (const ReplacementPiece &p : pieces) {
            if (p.group < 0)
                out += p.text;
            else
                out += m.capturedView(p.group); // null for a group that did not take part
        }
        copied = m.capturedEnd();
    }
    // Without a match the bytes stay exact, even when they are not valid UTF-8.
    if (!matched)
        return payload.toByteArray();
    out += QStringView(text).sliced(copied);
    return out.toUtf8();
}

bool RuleSet::hasHoldRules() const
{
    // A disabled hold rule never holds anything, so it must not stop a headless start.
    return std::any_of(rules.begin(), rules.end(),
                       [](const Rule &r) { return r.enabled && r.action == Action::Hold; });
}

QStringList applyHeaderRules(const RuleSet &rules, HeadSide side, QByteArrayView host, QByteArrayView path,
                             http::Headers &headers)
{
    QStringList notes;
    // Every matching header rule applies, in order: "continue" is about messages only.
    for (size_t i = 0; i < rules.rules.size(); ++i) {
        const Rule &rule = rules.rules[i];
        if (!rule.isHeaderRule() || rule.on != side || !rule.matchesTarget(host, path))
            continue;
        if (const auto note = applyHeaderRule(rule, side, headers))
            notes.append(QStringLiteral("%1: %2").arg(rule.label(int(i) + 1), *note));
    }
    return notes;
}

namespace {

const QRegularExpression &placeholder()
{
    static const QRegularExpression re(QStringLiteral(R"(\{\{\s*([^}]*?)\s*\}\})"));
    return re;
}

// What a {{...}} names: a regex group (a number) or a JSON path; neither: nullopt.
struct Placeholder
{
    std::optional<int> group;
    QStringList path; // when not a group ("$" alone: the whole value)
};
std::optional<Placeholder> parsePlaceholder(const QString &inside)
{
    bool isNumber = false;
    const int group = inside.toInt(&isNumber);
    if (isNumber)
        return Placeholder {group, {}};
    if (const auto path = decode::parseJsonPath(inside))
        return Placeholder {std::nullopt, *path};
    return std::nullopt;
}

} // namespace

QString templateError(const QByteArray &payload, const QRegularExpression &regex, bool hasRegex)
{
    const QString text = QString::fromUtf8(payload);
    for (auto it = placeholder().globalMatch(text); it.hasNext();) {
        const QString inside = it.next().captured(1);
        const auto p = parsePlaceholder(inside);
        if (!p)
            return QStringLiteral("{{%1}} is neither a JSON path (like $.id) nor a regex group number")
                .arg(inside);
        if (p->group && !hasRegex)
            return QStringLiteral("{{%1}} copies a group of match.regex, and the rule has none").arg(inside);
        if (p->group && (*p->group < 0 || *p->group > regex.captureCount()))
            return QStringLiteral("{{%1}}: match.regex has %2 group(s)")
                .arg(inside)
                .arg(regex.captureCount());
    }
    return {};
}

std::optional<QByteArray> fillTemplate(const Rule &rule, const QJsonValue &value, QByteArrayView payload,
                                       QString *why)
{
    if (rule.respondBinary)
        return rule.payload;
    const QString text = QString::fromUtf8(rule.payload);
    if (!text.contains(QLatin1String("{{")))
        return rule.payload;
    QRegularExpressionMatch groups;
    if (!rule.match.regexText.isEmpty())
        groups = rule.match.regex.match(QString::fromUtf8(payload));
    QString out;
    qsizetype at = 0;
    for (auto it = placeholder().globalMatch(text); it.hasNext();) {
        const QRegularExpressionMatch m = it.next();
        out += QStringView(text).sliced(at, m.capturedStart() - at);
        at = m.capturedEnd();
        const auto p = parsePlaceholder(m.captured(1)); // checked when the rules loaded
        if (p && p->group) {
            out += groups.captured(*p->group); // a group that took no part copies nothing
            continue;
        }
        const QJsonValue found = p ? decode::valueAt(value, p->path) : QJsonValue(QJsonValue::Undefined);
        if (found.isUndefined()) {
            *why = QStringLiteral("%1 is not in this message").arg(m.captured(1));
            return std::nullopt;
        }
        out += QString::fromUtf8(decode::compactJson(found));
    }
    out += QStringView(text).sliced(at);
    return out.toUtf8();
}

} // namespace socktap::intercept
