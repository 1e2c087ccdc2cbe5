// Sec-WebSocket-Extensions (RFC 6455 9.1) and Sec-WebSocket-Protocol (RFC 6455 4.1, 11.3.4) values:
// parsed into lists and written back. Text only.
#pragma once

#include <QByteArray>
#include <QList>
#include <QString>

#include <optional>

namespace socktap::ws {

struct ExtensionParam
{
    QByteArray name;
    std::optional<QByteArray> value; // unquoted
    friend bool operator==(const ExtensionParam &, const ExtensionParam &) = default;
};

struct Extension
{
    QByteArray name;
    QList<ExtensionParam> params;
    friend bool operator==(const Extension &, const Extension &) = default;
};

// RFC 6455 9.1: extension-list = 1#extension; extension = token *( ";" param ); param = token [ "=" (token
// / quoted-string) ], and a quoted value must itself be a token once unquoted.
std::optional<QList<Extension>> parseExtensions(QByteArrayView value, QString *error = nullptr);
QByteArray serializeExtensions(const QList<Extension> &extensions);
QByteArray serializeExtension(const Extension &extension);

// RFC 6455 4.1: a comma-separated list of tokens.
std::optional<QList<QByteArray>> parseProtocols(QByteArrayView value, QString *error = nullptr);

} // namespace socktap::ws
