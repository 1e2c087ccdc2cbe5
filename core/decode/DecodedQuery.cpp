#include "DecodedQuery.h"

#include "JsonValue.h"

#include <QJsonArray>
#include <QJsonObject>

namespace socktap::decode {

namespace {

// * any text, ? one character; # and + as MQTT's multi- and single-level wildcards.
QRegularExpression globToRegex(const QString &glob)
{
    QString re;
    for (const QChar c : glob) {
        if (c == QLatin1Char('*') || c == QLatin1Char('#'))
            re += QStringLiteral(".*");
        else if (c == QLatin1Char('+'))
            re += QStringLiteral("[^/]*");
        else if (c == QLatin1Char('?'))
            re += QLatin1Char('.');
        else
            re += QRegularExpression::escape(QString(c));
    }
    return QRegularExpression(QRegularExpression::anchoredPattern(re),
                              QRegularExpression::CaseInsensitiveOption);
}

} // namespace

std::optional<DecodedQuery> DecodedQuery::parse(const QString &input)
{
    const QString text = input.trimmed();
    DecodedQuery q;
    q.m_text = text;
    if (text.startsWith(QLatin1String("$."))) {
        q.m_kind = Kind::Path;
        const qsizetype eq = text.indexOf(QLatin1Char('='));
        const auto path = parseJsonPath(eq < 0 ? text : text.left(eq));
        if (!path)
            return std::nullopt;
        q.m_path = *path;
        if (q.m_path.isEmpty())
            return std::nullopt;
        if (eq >= 0)
            q.m_value = globToRegex(text.mid(eq + 1));
        return q;
    }
    static const QRegularExpression field(QStringLiteral(R"(^([A-Za-z_][\w-]*):(\S.*)$)"));
    const auto m = field.match(text);
    // "https://host/..." is text to find, not a field named https.
    if (!m.hasMatch() || m.captured(2).startsWith(QLatin1String("//")))
        return std::nullopt;
    const QString name = m.captured(1);
    q.m_value = globToRegex(m.captured(2));
    if (name == QLatin1String("format")) {
        q.m_kind = Kind::Format;
    } else if (name == QLatin1String("summary")) {
        q.m_kind = Kind::Summary;
    } else {
        q.m_names << name;
        if (name == QLatin1String("method"))
            q.m_names << QStringLiteral("target") << QStringLiteral("procedure");
        if (name == QLatin1String("topic"))
            q.m_names << QStringLiteral("destination") << QStringLiteral("filter");
    }
    return q;
}

bool DecodedQuery::valueMatches(const QJsonValue &value) const
{
    if (m_value.pattern().isEmpty())
        return !value.isUndefined();
    if (value.isArray()) {
        for (const QJsonValue &v : value.toArray())
            if (valueMatches(v))
                return true;
        return false;
    }
    if (value.isObject() || value.isUndefined())
        return false;
    return m_value.match(textOf(value)).hasMatch();
}

bool DecodedQuery::anyField(const QJsonValue &value, int depth) const
{
    if (depth > 64)
        return false;
    if (value.isObject()) {
        const QJsonObject o = value.toObject();
        for (auto it = o.begin(); it != o.end(); ++it) {
            if (m_names.contains(it.key()) && valueMatches(it.value()))
                return true;
            if (anyField(it.value(), depth + 1))
                return true;
        }
    } else if (value.isArray()) {
        for (const QJsonValue &v : value.toArray())
            if (anyField(v, depth + 1))
                return true;
    }
    return false;
}

bool DecodedQuery::matches(const Decoded &d) const
{
    if (!d.decoded())
        return false;
    switch (m_kind) {
    case Kind::Format:
        return m_value.match(d.format).hasMatch();
    case Kind::Summary:
        return m_value.match(d.summary).hasMatch();
    case Kind::Path: {
        const QJsonValue at = valueAt(d.value, m_path);
        return !at.isUndefined() && valueMatches(at);
    }
    case Kind::Field:
        return anyField(d.value, 0);
    }
    return false;
}

} // namespace socktap::decode
