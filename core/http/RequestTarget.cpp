#include "RequestTarget.h"

#include <arpa/inet.h>

#include <algorithm>

namespace socktap::http {

namespace {

std::nullopt_t failWith(QString *error, const QString &message)
{
    if (error)
        *error = message;
    return std::nullopt;
}

bool isRegNameChar(char c)
{
    // RFC 3986 3.2.2: reg-name = *( unreserved / pct-encoded / sub-delims ), minus what breaks a proxy.
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'
        || c == '_' || c == '~' || c == '%';
}

bool validIpv6(QByteArrayView text)
{
    in6_addr addr;
    const QByteArray z = text.toByteArray();
    return inet_pton(AF_INET6, z.constData(), &addr) == 1;
}

bool parsePort(QByteArrayView text, quint16 &port)
{
    if (text.isEmpty() || text.size() > 5
        || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
    const int value = text.toInt();
    if (value < 1 || value > 65535)
        return false;
    port = quint16(value);
    return true;
}

} // namespace

quint16 defaultPort(QByteArrayView scheme)
{
    if (scheme == "http" || scheme == "ws")
        return 80;
    if (scheme == "https" || scheme == "wss")
        return 443;
    return 0;
}

QByteArray RequestTarget::authority(bool alwaysWithPort) const
{
    QByteArray out = isIpv6() ? '[' + host + ']' : host;
    if (alwaysWithPort || form == Form::Authority || port != defaultPort(scheme))
        out += ':' + QByteArray::number(port);
    return out;
}

QByteArray RequestTarget::url() const
{
    if (form == Form::Authority)
        return authority(true);
    if (form == Form::Origin || form == Form::Asterisk)
        return pathAndQuery;
    return scheme + "://" + authority() + pathAndQuery;
}

std::optional<RequestTarget> RequestTarget::parseAuthority(QByteArrayView text, quint16 fallbackPort,
                                                           QString *error)
{
    RequestTarget t;
    t.form = Form::Authority;
    QByteArrayView portText;
    if (text.startsWith('[')) {
        const qsizetype close = text.indexOf(']');
        if (close < 0)
            return failWith(
                error, QStringLiteral("unterminated IPv6 literal in '%1'").arg(QString::fromLatin1(text)));
        const QByteArrayView v6 = text.sliced(1, close - 1);
        if (!validIpv6(v6))
            return failWith(error, QStringLiteral("invalid IPv6 address '%1'").arg(QString::fromLatin1(v6)));
        t.host = v6.toByteArray().toLower();
        const QByteArrayView rest = text.sliced(close + 1);
        if (!rest.isEmpty() && !rest.startsWith(':'))
            return failWith(
                error,
                QStringLiteral("unexpected text after IPv6 literal in '%1'").arg(QString::fromLatin1(text)));
        portText = rest.isEmpty() ? QByteArrayView() : rest.sliced(1);
        t.explicitPort = !rest.isEmpty();
    } else {
        const qsizetype colon = text.lastIndexOf(':');
        const QByteArrayView host = colon < 0 ? text : text.first(colon);
        if (host.isEmpty() || !std::all_of(host.begin(), host.end(), isRegNameChar))
            return failWith(error, QStringLiteral("invalid host '%1'").arg(QString::fromLatin1(host)));
        t.host = host.toByteArray().toLower();
        t.explicitPort = colon >= 0;
        portText = colon < 0 ? QByteArrayView() : text.sliced(colon + 1);
    }
    if (t.explicitPort) {
        if (!parsePort(portText, t.port))
            return failWith(error,
                            QStringLiteral("invalid port '%1' (1-65535)").arg(QString::fromLatin1(portText)));
    } else if (fallbackPort == 0) {
        return failWith(error, QStringLiteral("'%1' has no port").arg(QString::fromLatin1(text)));
    } else {
        t.port = fallbackPort;
    }
    return t;
}

std::optional<RequestTarget> RequestTarget::parseAbsolute(QByteArrayView uri, QString *error)
{
    const qsizetype sep = uri.indexOf("://");
    if (sep <= 0)
        return failWith(error, QStringLiteral("'%1' is not an absolute URI").arg(QString::fromLatin1(uri)));
    const QByteArray scheme = uri.first(sep).toByteArray().toLower();
    if (defaultPort(scheme) == 0)
        return failWith(error,
                        QStringLiteral("unsupported scheme '%1' (http, https, ws, wss)")
                            .arg(QString::fromLatin1(scheme)));
    const QByteArrayView rest = uri.sliced(sep + 3);
    const qsizetype pathStart = std::min(rest.indexOf('/') < 0 ? rest.size() : rest.indexOf('/'),
                                         rest.indexOf('?') < 0 ? rest.size() : rest.indexOf('?'));
    const QByteArrayView authority = rest.first(pathStart);
    if (authority.contains('@'))
        // RFC 9110 4.2.4: userinfo is deprecated in http(s) URIs and a common phishing device.
        return failWith(error, QStringLiteral("userinfo ('user@') in the target URI is not accepted"));
    auto t = parseAuthority(authority, defaultPort(scheme), error);
    if (!t)
        return std::nullopt;
    t->form = Form::Absolute;
    t->scheme = scheme;
    QByteArrayView path = rest.sliced(pathStart);
    if (const qsizetype hash = path.indexOf('#'); hash >= 0)
        path = path.first(hash); // fragments never go on the wire (RFC 9110 7.1)
    t->pathAndQuery = path.isEmpty() || path.startsWith('?') ? '/' + path.toByteArray() : path.toByteArray();
    return t;
}

std::optional<RequestTarget> RequestTarget::parse(QByteArrayView method, QByteArrayView target,
                                                  QString *error)
{
    const bool connect = method == "CONNECT";
    if (connect) {
        // RFC 9112 3.2.3: CONNECT uses the authority form, with a port (RFC 9110 9.3.6).
        return parseAuthority(target, 0, error);
    }
    if (target == "*") {
        if (method != "OPTIONS")
            return failWith(error, QStringLiteral("'*' target is only valid for OPTIONS (RFC 9112 3.2.4)"));
        RequestTarget t;
        t.form = Form::Asterisk;
        t.pathAndQuery = "*";
        return t;
    }
    if (target.startsWith('/')) {
        RequestTarget t;
        t.form = Form::Origin;
        t.pathAndQuery = target.toByteArray();
        return t;
    }
    if (target.contains("://"))
        return parseAbsolute(target, error);
    return failWith(
        error,
        QStringLiteral(
            "request target '%1' is neither origin form (/path) nor absolute form (scheme://host/path)")
            .arg(QString::fromLatin1(target.first(std::min<qsizetype>(target.size(), 80)))));
}

} // namespace socktap::http
