// The request-target forms a proxy meets (RFC 9112 3.2): origin ("/chat?x=1"), absolute
// ("ws://h:p/p"), authority (CONNECT "host:443", "[::1]:8443") and asterisk ("*"). Parses text only;
// resolves nothing.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <optional>

namespace socktap::http {

struct RequestTarget
{
    enum class Form { Origin, Absolute, Authority, Asterisk };

    Form form = Form::Origin;
    QByteArray scheme; // lower case: http, https, ws, wss (absolute form only)
    QByteArray host; // without IPv6 brackets; lower case for names
    quint16 port = 0; // explicit, or the scheme's default
    bool explicitPort = false;
    QByteArray pathAndQuery; // "/" at least for origin and absolute forms

    bool isIpv6() const { return host.contains(':'); }
    bool isSecure() const { return scheme == "https" || scheme == "wss"; }
    // host[:port] for a Host header or CONNECT line; the port is left out when it is the default.
    QByteArray authority(bool alwaysWithPort = false) const;
    // scheme://authority/path as a display URL.
    QByteArray url() const;

    // CONNECT requires the authority form and nothing else may use it (RFC 9112 3.2.3).
    static std::optional<RequestTarget> parse(QByteArrayView method, QByteArrayView target,
                                              QString *error = nullptr);
    // "host:port", "[v6]:port"; defaultPort applies when the port is absent (0 means required).
    static std::optional<RequestTarget> parseAuthority(QByteArrayView authority, quint16 defaultPort,
                                                       QString *error = nullptr);
    // An absolute URI with one of the schemes above.
    static std::optional<RequestTarget> parseAbsolute(QByteArrayView uri, QString *error = nullptr);
};

quint16 defaultPort(QByteArrayView scheme);

} // namespace socktap::http
