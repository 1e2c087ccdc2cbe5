// Serialises heads back to bytes and applies the hop-by-hop rules a proxy must follow when it relays a
// head (RFC 9110 7.6.1). Bytes only.
#pragma once

#include "HttpHead.h"

namespace socktap::http {

QByteArray serialize(const RequestHead &head);
QByteArray serialize(const ResponseHead &head);

// Removes the fields that belong to one hop: those named in Connection, plus Proxy-Connection,
// Proxy-Authorization, Proxy-Authenticate and Keep-Alive (RFC 9110 7.6.1). For an upgrade the Connection and
// Upgrade fields themselves are kept, since the upgrade must reach the origin (RFC 9110 7.8).
// Returns the names removed, for the session record.
QList<QByteArray> removeHopByHop(Headers &headers, bool keepUpgrade);

// The reason phrase conventionally sent with a status code ("Bad Gateway" for 502).
QByteArray reasonPhrase(int status);

// A complete HTTP/1.1 error response with a text/plain body; the connection is closed after it. The head
// comes with its bytes (`raw`), so that what is sent and what the capture records are the same.
struct ErrorAnswer
{
    ResponseHead head;
    QByteArray body;
    QByteArray wire() const { return head.raw + body; }
};
ErrorAnswer errorAnswer(int status, const QString &message, const Headers &extra = {});

} // namespace socktap::http
