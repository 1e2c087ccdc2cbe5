#include "JsonTree.h"

#include <QStringDecoder>

namespace socktap::capture {

namespace {

class Parser
{
public:
    Parser(QByteArrayView text, int maxDepth)
        : m_text(text)
        , m_maxDepth(maxDepth)
    { }

    std::optional<JsonNode> document()
    {
        JsonNode root;
        skipSpace();
        if (!value(root, 0))
            return std::nullopt;
        skipSpace();
        if (m_pos != m_text.size())
            return std::nullopt; // RFC 8259 2: one value, nothing after it
        return root;
    }

private:
    bool atEnd() const { return m_pos >= m_text.size(); }
    char peek() const { return atEnd() ? '\0' : m_text[m_pos]; }
    void skipSpace()
    {
        while (!atEnd() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r'))
            ++m_pos;
    }
    bool literal(QByteArrayView word)
    {
        if (m_text.sliced(m_pos).startsWith(word)) {
            m_pos += word.size();
            return true;
        }
        return false;
    }

    bool value(JsonNode &node, int depth)
    {
        if (depth > m_maxDepth)
            return false;
        switch (peek()) {
        case '{':
            return object(node, depth);
        case '[':
            return array(node, depth);
        case '"':
            node.type = JsonNode::Type::String;
            return string(node.value);
        case 't':
            node.type = JsonNode::Type::Bool;
            node.value = QStringLiteral("true");
            return literal("true");
        case 'f':
            node.type = JsonNode::Type::Bool;
            node.value = QStringLiteral("false");
            return literal("false");
        case 'n':
            node.type = JsonNode::Type::Null;
            node.value = QStringLiteral("null");
            return literal("null");
        default:
            node.type = JsonNode::Type::Number;
            return number(node.value);
        }
    }

    bool object(JsonNode &node, int depth)
    {
        node.type = JsonNode::Type::Object;
        ++m_pos; // {
        skipSpace();
        if (peek() == '}') {
            ++m_pos;
            return true;
        }
        for (;;) {
            JsonNode member;
            skipSpace();
            if (peek() != '"' || !string(member.key))
                return false;
            skipSpace();
            if (peek() != ':')
                return false;
            ++m_pos;
            skipSpace();
            if (!value(member, depth + 1))
                return false;
            node.children.push_back(std::move(member));
            skipSpace();
            if (peek() == ',') {
                ++m_pos;
                continue;
            }
            if (peek() != '}')
                return false;
            ++m_pos;
            return true;
        }
    }

    bool array(JsonNode &node, int depth)
    {
        node.type = JsonNode::Type::Array;
        ++m_pos; // [
        skipSpace();
        if (peek() == ']') {
            ++m_pos;
            return true;
        }
        for (;;) {
            JsonNode element;
            skipSpace();
            if (!value(element, depth + 1))
                return false;
            node.children.push_back(std::move(element));
            skipSpace();
            if (peek() == ',') {
                ++m_pos;
                continue;
            }
            if (peek() != ']')
                return false;
            ++m_pos;
            return true;
        }
    }

    // RFC 8259 6: -? int frac? exp?, kept as written.
    bool number(QString &out)
    {
        const qsizetype start = m_pos;
        const auto digits = [this] {
            const qsizetype from = m_pos;
            while (!atEnd() && peek() >= '0' && peek() <= '9')
                ++m_pos;
            return m_pos > from;
        };
        if (peek() == '-')
            ++m_pos;
        if (peek() == '0')
            ++m_pos;
        else if (!digits())
            return false;
        if (peek() == '.') {
            ++m_pos;
            if (!digits())
                return false;
        }
        if (peek() == 'e' || peek() == 'E') {
            ++m_pos;
            if (peek() == '+' || peek() == '-')
                ++m_pos;
            if (!digits())
                return false;
        }
        out = QString::fromLatin1(m_text.sliced(start, m_pos - start));
        return true;
    }

    int hex4()
    {
        if (m_pos + 4 > m_text.size())
            return -1;
        int v = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = m_text[m_pos++];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= c - '0';
            else if (c >= 'a' && c <= 'f')
                v |= c - 'a' + 10;
            else if (c >= 'A' && c <= 'F')
                v |= c - 'A' + 10;
            else
                return -1;
        }
        return v;
    }

    // RFC 8259 7. The text between escapes is UTF-8 (validated by the conversion: invalid bytes fail).
    bool string(QString &out)
    {
        ++m_pos; // "
        // Most strings have no escapes: decoded in one piece.
        const qsizetype start = m_pos;
        qsizetype end = start;
        while (end < m_text.size() && m_text[end] != '"' && m_text[end] != '\\' && uchar(m_text[end]) >= 0x20)
            ++end;
        QByteArray utf8;
        if (end < m_text.size() && m_text[end] == '"') {
            m_pos = end + 1;
            return decode(m_text.sliced(start, end - start), out);
        }
        utf8 = m_text.sliced(start, end - start).toByteArray();
        m_pos = end;
        for (;;) {
            if (atEnd())
                return false;
            const char c = m_text[m_pos++];
            if (c == '"')
                break;
            if (uchar(c) < 0x20)
                return false;
            if (c != '\\') {
                utf8 += c;
                continue;
            }
            if (atEnd())
                return false;
            const char e = m_text[m_pos++];
            switch (e) {
            case '"':
            case '\\':
            case '/':
                utf8 += e;
                break;
            case 'b':
                utf8 += '\b';
                break;
            case 'f':
                utf8 += '\f';
                break;
            case 'n':
                utf8 += '\n';
                break;
            case 'r':
                utf8 += '\r';
                break;
            case 't':
                utf8 += '\t';
                break;
            case 'u': {
                int unit = hex4();
                if (unit < 0)
                    return false;
                char32_t code = char32_t(unit);
                if (unit >= 0xd800 && unit <= 0xdbff && literal("\\u")) {
                    const int low = hex4();
                    if (low < 0xdc00 || low > 0xdfff)
                        return false;
                    code = 0x10000 + ((char32_t(unit) - 0xd800) << 10) + (char32_t(low) - 0xdc00);
                } else if (unit >= 0xd800 && unit <= 0xdfff) {
                    code = 0xfffd; // a lone surrogate: shown as the replacement character
                }
                utf8 += QString::fromUcs4(&code, 1).toUtf8();
                break;
            }
            default:
                return false;
            }
        }
        return decode(utf8, out);
    }

    static bool decode(QByteArrayView utf8, QString &out)
    {
        QStringDecoder decoder(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
        out = decoder(utf8);
        return !decoder.hasError();
    }

    QByteArrayView m_text;
    qsizetype m_pos = 0;
    int m_maxDepth;
};

void quote(QString &out, const QString &s)
{
    out += QLatin1Char('"');
    for (const QChar c : s) {
        switch (c.unicode()) {
        case '"':
            out += QLatin1String("\\\"");
            break;
        case '\\':
            out += QLatin1String("\\\\");
            break;
        case '\n':
            out += QLatin1String("\\n");
            break;
        case '\r':
            out += QLatin1String("\\r");
            break;
        case '\t':
            out += QLatin1String("\\t");
            break;
        default:
            if (c.unicode() < 0x20)
                out += QStringLiteral("\\u%1").arg(c.unicode(), 4, 16, QLatin1Char('0'));
            else
                out += c;
        }
    }
    out += QLatin1Char('"');
}

void pretty(QString &out, const JsonNode &node, int indent)
{
    const bool container = node.type == JsonNode::Type::Object || node.type == JsonNode::Type::Array;
    if (!container) {
        if (node.type == JsonNode::Type::String)
            quote(out, node.value);
        else
            out += node.value;
        return;
    }
    const bool isObject = node.type == JsonNode::Type::Object;
    out += QLatin1Char(isObject ? '{' : '[');
    if (node.children.empty()) {
        out += QLatin1Char(isObject ? '}' : ']');
        return;
    }
    const QString inner(2 * (indent + 1), QLatin1Char(' '));
    for (size_t i = 0; i < node.children.size(); ++i) {
        out += QLatin1Char('\n') + inner;
        if (isObject) {
            quote(out, node.children[i].key);
            out += QLatin1String(": ");
        }
        pretty(out, node.children[i], indent + 1);
        if (i + 1 < node.children.size())
            out += QLatin1Char(',');
    }
    out += QLatin1Char('\n') + QString(2 * indent, QLatin1Char(' ')) + QLatin1Char(isObject ? '}' : ']');
}

} // namespace

const char *JsonNode::typeName(Type type)
{
    switch (type) {
    case Type::Object:
        return "object";
    case Type::Array:
        return "array";
    case Type::String:
        return "string";
    case Type::Number:
        return "number";
    case Type::Bool:
        return "boolean";
    case Type::Null:
        return "null";
    }
    return "";
}

std::optional<JsonNode> parseJsonTree(QByteArrayView text, int maxDepth)
{
    return Parser(text, maxDepth).document();
}

QString prettyJson(const JsonNode &root)
{
    QString out;
    pretty(out, root, 0);
    return out;
}

} // namespace socktap::capture
