// The opening handshake (RFC 6455 4): key and accept values, and checks of a client's upgrade request
// and a server's response with a precise reason for each refusal. Works on parsed heads; no sockets.
#pragma once

#include "ExtensionHeader.h"
#include "PerMessageDeflate.h"

#include "core/http/HttpHead.h"

namespace socktap::ws {

namespace Handshake {

// 4.1: a nonce of 16 random bytes, base64-encoded.
QByteArray generateKey();
// 4.2.2: base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
QByteArray acceptFor(QByteArrayView key);

// Whether a request asks for a WebSocket upgrade at all (Upgrade: websocket), before any validation.
bool isUpgradeRequest(const http::RequestHead &request);

struct Request
{
    QByteArray key;
    QList<QByteArray> protocols; // offered subprotocols, in order
    QList<Extension> extensions; // offered extensions, in order
    QList<DeflateOffer> deflateOffers; // the permessage-deflate offers among them
    QByteArray origin;
};

// 4.2.1: what a server requires of the client's opening handshake.
std::optional<Request> checkRequest(const http::RequestHead &request, QString *error = nullptr);

struct Response
{
    QByteArray protocol; // the chosen subprotocol, or empty
    QList<Extension> extensions; // accepted extensions
    std::optional<DeflateParams> deflate; // permessage-deflate, when accepted
};

// 4.1 (client steps 1-6): what a client requires of the server's answer to request. A non-101 status is
// reported as such; the caller decides whether that is a rejection to relay.
std::optional<Response> checkResponse(const http::ResponseHead &response, const Request &request,
                                      QString *error = nullptr);

// What a 101 claims (subprotocol, extensions, deflate parameters) without checking it against the
// request: how a transparent proxy decodes a server that breaks the handshake rules.
Response claimedResponse(const http::ResponseHead &response);

} // namespace Handshake

} // namespace socktap::ws
