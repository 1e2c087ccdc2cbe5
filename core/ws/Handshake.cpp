#include "Handshake.h"

#include <QCryptographicHash>
#include <QRandomGenerator>

namespace socktap::ws::Handshake {

namespace {

std::nullopt_t failWith(QString *error, const QString &message)
{
    if (error)
        *error = message;
    return std::nullopt;
}

QString latin1(QByteArrayView v)
{
    return QString::fromLatin1(v.first(std::min<qsizetype>(v.size(), 100)));
}

} // namespace

QByteArray generateKey()
{
    quint32 nonce[4];
    QRandomGenerator::system()->fillRange(nonce);
    return QByteArray(reinterpret_cast<const char *>(nonce), 16).toBase64();
}

QByteArray acceptFor(QByteArrayView key)
{
    // 4.2.2 step 5.4 (GUID from 1.3).
    QCryptographicHash sha1(QCryptographicHash::Sha1);
    sha1.addData(key);
    sha1.addData(QByteArrayView("258EAFA5-E914-47DA-95CA-C5AB0DC85B11"));
    return sha1.result().toBase64();
}

bool isUpgradeRequest(const http::RequestHead &request)
{
    return request.headers.hasToken("Upgrade", "websocket");
}

std::optional<Request> checkRequest(const http::RequestHead &req, QString *error)
{
    // 4.2.1 items 1-6 (and 4.1 for what the client must send).
    if (req.method != "GET")
        return failWith(
            error,
            QStringLiteral("upgrade request method is %1, not GET (RFC 6455 4.2.1)").arg(latin1(req.method)));
    if (req.version.minor < 1)
        return failWith(
            error, QStringLiteral("upgrade request is HTTP/1.0; WebSocket needs HTTP/1.1 (RFC 6455 4.2.1)"));
    if (!req.headers.contains("Host"))
        return failWith(error, QStringLiteral("upgrade request has no Host header (RFC 6455 4.2.1 item 2)"));
    if (!req.headers.hasToken("Upgrade", "websocket"))
        return failWith(error,
                        QStringLiteral("Upgrade header does not name websocket (RFC 6455 4.2.1 item 3)"));
    if (!req.headers.hasToken("Connection", "Upgrade"))
        return failWith(error,
                        QStringLiteral("Connection header lacks the Upgrade token (RFC 6455 4.2.1 item 4)"));
    const QList<QByteArray> keys = req.headers.values("Sec-WebSocket-Key");
    if (keys.size() != 1)
        return failWith(error,
                        keys.isEmpty()
                            ? QStringLiteral("Sec-WebSocket-Key is missing (RFC 6455 4.2.1 item 5)")
                            : QStringLiteral("Sec-WebSocket-Key appears more than once (RFC 6455 11.3.1)"));
    const auto decoded =
        QByteArray::fromBase64Encoding(keys.front(), QByteArray::AbortOnBase64DecodingErrors);
    if (!decoded || decoded.decoded.size() != 16)
        return failWith(
            error,
            QStringLiteral("Sec-WebSocket-Key '%1' is not 16 bytes in base64 (RFC 6455 4.2.1 item 5)")
                .arg(latin1(keys.front())));
    const QByteArray version = req.headers.combined("Sec-WebSocket-Version");
    if (version != "13")
        return failWith(error,
                        QStringLiteral("Sec-WebSocket-Version is '%1', not 13 (RFC 6455 4.2.1 item 6)")
                            .arg(latin1(version)));

    Request out;
    out.key = keys.front();
    out.origin = req.headers.value("Origin");
    QString why;
    const auto protocols = parseProtocols(req.headers.combined("Sec-WebSocket-Protocol"), &why);
    if (!protocols)
        return failWith(error, QStringLiteral("Sec-WebSocket-Protocol: %1").arg(why));
    out.protocols = *protocols;
    const auto extensions = parseExtensions(req.headers.combined("Sec-WebSocket-Extensions"), &why);
    if (!extensions)
        return failWith(error, QStringLiteral("Sec-WebSocket-Extensions: %1").arg(why));
    out.extensions = *extensions;
    for (const Extension &e : out.extensions) {
        if (!PerMessageDeflate::isDeflate(e))
            continue;
        // RFC 7692 5: a server declines an offer it cannot parse; the proxy keeps the valid ones.
        if (const auto offer = PerMessageDeflate::parseOffer(e))
            out.deflateOffers.append(*offer);
    }
    return out;
}

std::optional<Response> checkResponse(const http::ResponseHead &res, const Request &request, QString *error)
{
    // 4.1, the client's checks of the server's handshake, in order.
    if (res.status != 101)
        return failWith(
            error,
            QStringLiteral("server answered %1 %2 instead of 101 Switching Protocols (RFC 6455 4.1 item 1)")
                .arg(res.status)
                .arg(latin1(res.reason)));
    if (!res.headers.hasToken("Upgrade", "websocket"))
        return failWith(
            error, QStringLiteral("response Upgrade header does not name websocket (RFC 6455 4.1 item 2)"));
    if (!res.headers.hasToken("Connection", "Upgrade"))
        return failWith(
            error,
            QStringLiteral("response Connection header lacks the Upgrade token (RFC 6455 4.1 item 3)"));
    const QByteArray accept = res.headers.value("Sec-WebSocket-Accept");
    const QByteArray expected = acceptFor(request.key);
    if (accept != expected)
        return failWith(
            error,
            accept.isEmpty()
                ? QStringLiteral("Sec-WebSocket-Accept is missing (RFC 6455 4.1 item 4)")
                : QStringLiteral("Sec-WebSocket-Accept is '%1', expected '%2' (RFC 6455 4.1 item 4)")
                      .arg(latin1(accept), latin1(expected)));
    Response out;
    QString why;
    const auto extensions = parseExtensions(res.headers.combined("Sec-WebSocket-Extensions"), &why);
    if (!extensions)
        return failWith(error, QStringLiteral("response Sec-WebSocket-Extensions: %1").arg(why));
    for (const Extension &e : *extensions) {
        // 4.1 item 5: only extensions the client offered.
        const bool offered =
            std::any_of(request.extensions.begin(), request.extensions.end(),
                        [&](const Extension &o) { return o.name.compare(e.name, Qt::CaseInsensitive) == 0; });
        if (!offered)
            return failWith(
                error,
                QStringLiteral(
                    "server accepted extension '%1' that the client did not offer (RFC 6455 4.1 item 5)")
                    .arg(latin1(e.name)));
        if (PerMessageDeflate::isDeflate(e)) {
            if (out.deflate)
                return failWith(error, QStringLiteral("permessage-deflate accepted twice (RFC 7692 5)"));
            out.deflate = PerMessageDeflate::acceptResponse(request.deflateOffers, e, &why);
            if (!out.deflate)
                return failWith(error, why);
        }
    }
    out.extensions = *extensions;
    // 4.1 item 6: the subprotocol must be one the client asked for, and only one.
    const QList<QByteArray> protocols = res.headers.values("Sec-WebSocket-Protocol");
    if (protocols.size() > 1 || (protocols.size() == 1 && protocols.front().contains(',')))
        return failWith(error, QStringLiteral("server selected more than one subprotocol (RFC 6455 4.2.2)"));
    if (!protocols.isEmpty()) {
        out.protocol = protocols.front();
        if (!request.protocols.contains(out.protocol))
            return failWith(
                error,
                QStringLiteral(
                    "server selected subprotocol '%1' that the client did not offer (RFC 6455 4.1 item 6)")
                    .arg(latin1(out.protocol)));
    }
    return out;
}

Response claimedResponse(const http::ResponseHead &response)
{
    Response out;
    out.protocol = response.headers.value("Sec-WebSocket-Protocol");
    out.extensions =
        parseExtensions(response.headers.combined("Sec-WebSocket-Extensions")).value_or(QList<Extension>());
    for (const Extension &e : std::as_const(out.extensions)) {
        if (!PerMessageDeflate::isDeflate(e))
            continue;
        // Any offer the server could have been answering; parameters that do not even parse mean defaults.
        DeflateOffer anything;
        anything.clientMaxWindowBits = true;
        out.deflate = PerMessageDeflate::acceptResponse({anything}, e).value_or(DeflateParams {});
        break;
    }
    return out;
}

} // namespace socktap::ws::Handshake
