#include "ExtensionHeader.h"

#include "core/http/HttpHead.h"

namespace socktap::ws {

namespace {

std::nullopt_t failWith(QString *error, const QString &message)
{
    if (error)
        *error = message;
    return std::nullopt;
}

// Splits at separator outside quoted strings.
QList<QByteArrayView> splitOutsideQuotes(QByteArrayView text, char separator)
{
    QList<QByteArrayView> out;
    bool quoted = false;
    qsizetype start = 0;
    for (qsizetype i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted && c == '\\') {
            ++i;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (!quoted && c == separator) {
            out.append(text.sliced(start, i - start).trimmed());
            start = i + 1;
        }
    }
    out.append(text.sliced(start).trimmed());
    return out;
}

std::optional<QByteArray> unquote(QByteArrayView v)
{
    if (!v.startsWith('"'))
        return v.toByteArray();
    if (v.size() < 2 || !v.endsWith('"'))
        return std::nullopt;
    QByteArray out;
    for (qsizetype i = 1; i + 1 < v.size(); ++i) {
        if (v[i] == '\\' && i + 2 < v.size())
            ++i;
        out += v[i];
    }
    return out;
}

} // namespace

std::optional<QList<Extension>> parseExtensions(QByteArrayView value, QString *error)
{
    QList<Extension> out;
    for (QByteArrayView item : splitOutsideQuotes(value, ',')) {
        if (item.isEmpty())
            continue; // RFC 9110 5.6.1: empty list elements are ignored
        const QList<QByteArrayView> parts = splitOutsideQuotes(item, ';');
        Extension ext;
        ext.name = parts.front().toByteArray();
        if (!http::isToken(ext.name))
            return failWith(error,
                            QStringLiteral("invalid extension name '%1'").arg(QString::fromLatin1(ext.name)));
        for (qsizetype i = 1; i < parts.size(); ++i) {
            const QByteArrayView part = parts[i];
            const qsizetype eq = part.indexOf('=');
            ExtensionParam param;
            param.name = (eq < 0 ? part : part.first(eq)).trimmed().toByteArray();
            if (!http::isToken(param.name))
                return failWith(error,
                                QStringLiteral("invalid parameter '%1' in extension %2")
                                    .arg(QString::fromLatin1(part), QString::fromLatin1(ext.name)));
            if (eq >= 0) {
                const auto v = unquote(part.sliced(eq + 1).trimmed());
                // RFC 6455 9.1: the value, unquoted, must conform to token.
                if (!v || !http::isToken(*v))
                    return failWith(error,
                                    QStringLiteral("invalid value in parameter '%1' of extension %2")
                                        .arg(QString::fromLatin1(part), QString::fromLatin1(ext.name)));
                param.value = *v;
            }
            ext.params.append(param);
        }
        out.append(ext);
    }
    return out;
}

QByteArray serializeExtension(const Extension &extension)
{
    QByteArray out = extension.name;
    for (const ExtensionParam &p : extension.params) {
        out += "; " + p.name;
        if (p.value)
            out += '=' + *p.value;
    }
    return out;
}

QByteArray serializeExtensions(const QList<Extension> &extensions)
{
    QByteArray out;
    for (const Extension &e : extensions) {
        if (!out.isEmpty())
            out += ", ";
        out += serializeExtension(e);
    }
    return out;
}

std::optional<QList<QByteArray>> parseProtocols(QByteArrayView value, QString *error)
{
    QList<QByteArray> out;
    for (QByteArrayView item : http::splitList(value)) {
        if (!http::isToken(item))
            return failWith(error, QStringLiteral("invalid subprotocol '%1'").arg(QString::fromLatin1(item)));
        out.append(item.toByteArray());
    }
    return out;
}

} // namespace socktap::ws
