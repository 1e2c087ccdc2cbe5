// Private to Rule.cpp and RuleJson.cpp (not part of socktap_intercept's interface): what both need, the
// spellings of the rule enums and the parser of regex-replace templates ($N and $$).
#pragma once

#include "Rule.h"

#include <QString>

#include <cstddef>
#include <vector>

namespace socktap::intercept::detail {

template<typename E>
struct Spelling
{
    const char *text;
    E value;
};

inline constexpr Spelling<Action> ActionSpellings[] = {
    {"drop", Action::Drop},
    {"delay", Action::Delay},
    {"replace", Action::Replace},
    {"regex-replace", Action::RegexReplace},
    {"hold", Action::Hold},
    {"set-header", Action::SetHeader},
    {"remove-header", Action::RemoveHeader},
    {"set-field", Action::SetField},
    {"respond", Action::Respond},
    {"echo", Action::Echo},
    {"refuse", Action::Refuse},
    {"close", Action::Close},
    {"reset", Action::Reset},
    {"stall", Action::Stall},
    {"throttle", Action::Throttle},
    {"mock", Action::Mock},
};
inline constexpr Spelling<Spread> SpreadSpellings[] = {{"uniform", Spread::Uniform},
                                                       {"normal", Spread::Normal}};
inline constexpr Spelling<SenderMatch> SenderSpellings[] = {
    {"client", SenderMatch::Client}, {"server", SenderMatch::Server}, {"both", SenderMatch::Both}};
inline constexpr Spelling<TypeMatch> TypeSpellings[] = {
    {"text", TypeMatch::Text}, {"binary", TypeMatch::Binary}, {"any", TypeMatch::Any}};
inline constexpr Spelling<HeadSide> SideSpellings[] = {{"request", HeadSide::Request},
                                                       {"response", HeadSide::Response}};

template<typename E, std::size_t N>
const char *spell(const Spelling<E> (&spellings)[N], E value)
{
    for (const auto &s : spellings) {
        if (s.value == value)
            return s.text;
    }
    return "";
}

// One piece of a regex-replace replacement: literal text, or a group reference.
struct ReplacementPiece
{
    QString text;
    int group = -1;
};

// Splits `with` at $N and $$. "$12" means group 12 when the pattern has twelve groups and group 1 followed
// by "2" otherwise (as JavaScript reads it), so "$10" stays usable with a single group. A '$' before
// anything else is literal.
std::vector<ReplacementPiece> parseReplacement(const QString &with, int captureCount);

} // namespace socktap::intercept::detail
