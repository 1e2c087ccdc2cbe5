// A condition on what a message means, as typed in the message list's search box (and, later, in rules):
//   event:chat            any field named "event" whose value matches (a glob: * any text)
//   method:getUser        "method", or SignalR's "target", or WAMP's procedure
//   topic:sensors/#       "topic", STOMP's "destination", MQTT's subscription "filter"; MQTT wildcards
//                         (# the rest, + one level) and * work
//   format:socket.io      the message's format; summary:*#12* its summary
//   $.args[0].price=10    a JSON path into the decoded value, equal to the text (a glob); without "=VALUE",
//                         the path exists
// Field names are compared exactly, values case-insensitively. Sans-I/O: no widgets, no store.
#pragma once

#include "Decoded.h"

#include <QRegularExpression>
#include <QStringList>

#include <optional>

namespace socktap::decode {

class DecodedQuery
{
public:
    // nullopt when the text is not a decoded-field query (plain text to search for).
    static std::optional<DecodedQuery> parse(const QString &text);

    bool matches(const Decoded &decoded) const;
    QString text() const { return m_text; }

private:
    enum class Kind { Field, Format, Summary, Path };
    bool valueMatches(const QJsonValue &value) const;
    bool anyField(const QJsonValue &value, int depth) const;

    Kind m_kind = Kind::Field;
    QString m_text;
    QStringList m_names; // the field and its aliases
    QStringList m_path; // object keys, and array indexes as "[N]"
    QRegularExpression m_value; // empty pattern: the path must only exist
};

} // namespace socktap::decode
