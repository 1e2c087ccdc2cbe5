#include "HttpHead.h"

#include <algorithm>

namespace socktap::http {

namespace {

bool sameName(QByteArrayView a, QByteArrayView b)
{
    return a.compare(b, Qt::CaseInsensitive) == 0;
}

} // namespace

bool Headers::contains(QByteArrayView name) const
{
    for (const HeaderField &f : m_fields) {
        if (sameName(f.name, name))
            return true;
    }
    return false;
}

QByteArray Headers::value(QByteArrayView name) const
{
    for (const HeaderField &f : m_fields) {
        if (sameName(f.name, name))
            return f.value;
    }
    return {};
}

QList<QByteArray> Headers::values(QByteArrayView name) const
{
    QList<QByteArray> out;
    for (const HeaderField &f : m_fields) {
        if (sameName(f.name, name))
            out.append(f.value);
    }
    return out;
}

QByteArray Headers::combined(QByteArrayView name) const
{
    QByteArray out;
    for (const HeaderField &f : m_fields) {
        if (!sameName(f.name, name))
            continue;
        if (!out.isEmpty())
            out += ", ";
        out += f.value;
    }
    return out;
}

bool Headers::hasToken(QByteArrayView name, QByteArrayView token) const
{
    for (const HeaderField &f : m_fields) {
        if (!sameName(f.name, name))
            continue;
        for (QByteArrayView element : splitList(f.value)) {
            if (sameName(element, token))
                return true;
        }
    }
    return false;
}

void Headers::append(QByteArray name, QByteArray value)
{
    m_fields.push_back({std::move(name), std::move(value)});
}

void Headers::set(QByteArrayView name, QByteArray value)
{
    auto it = std::find_if(m_fields.begin(), m_fields.end(),
                           [&](const HeaderField &f) { return sameName(f.name, name); });
    if (it == m_fields.end()) {
        append(name.toByteArray(), std::move(value));
        return;
    }
    it->value = std::move(value);
    auto rest = std::remove_if(std::next(it), m_fields.end(),
                               [&](const HeaderField &f) { return sameName(f.name, name); });
    m_fields.erase(rest, m_fields.end());
}

int Headers::remove(QByteArrayView name)
{
    const auto before = m_fields.size();
    std::erase_if(m_fields, [&](const HeaderField &f) { return sameName(f.name, name); });
    return int(before - m_fields.size());
}

bool persists(const Headers &headers, Version version)
{
    if (headers.hasToken("Connection", "close"))
        return false;
    return version.minor >= 1 || headers.hasToken("Connection", "keep-alive");
}

QList<QByteArrayView> splitList(QByteArrayView value)
{
    QList<QByteArrayView> out;
    qsizetype start = 0;
    bool inQuotes = false;
    for (qsizetype i = 0; i <= value.size(); ++i) {
        if (i < value.size()) {
            const char c = value[i];
            if (c == '"')
                inQuotes = !inQuotes;
            else if (c == '\\' && inQuotes)
                ++i; // quoted-pair: skip the escaped character
            if (inQuotes || c != ',')
                continue;
        }
        QByteArrayView element = value.sliced(start, std::min(i, value.size()) - start).trimmed();
        if (!element.isEmpty())
            out.append(element);
        start = i + 1;
    }
    return out;
}

bool isTokenChar(char c)
{
    // RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" /
    // "|" / "~" / DIGIT / ALPHA
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

bool isToken(QByteArrayView text)
{
    if (text.isEmpty())
        return false;
    return std::all_of(text.begin(), text.end(), isTokenChar);
}

} // namespace socktap::http
