// The scripts' handshake hooks: onRequest(handshake) sees the upgrade request on its way to the server and
// may change its headers or answer it itself with a status (a reject); onResponse(handshake) sees the 101
// on its way to the client and may change its headers. Sans-I/O: headers in, changed headers or a status
// out; the connection acts on it. What the peers sent stays recorded as they sent it.
#pragma once

#include "ScriptRunner.h"

#include "core/http/HttpHead.h"

#include <optional>

namespace socktap::intercept {

struct HandshakeFacts
{
    capture::SessionId session = 0;
    QString url;
    QByteArray host;
    QByteArray path;
    int status = 0; // the response's (onResponse)
    const http::Headers *request = nullptr; // onResponse: the request's headers as the server got them
};

struct HandshakeVerdict
{
    QStringList notes; // "script auth.js: set Authorization", "script gate.js: rejected with 403"
    // onRequest only: answer the client with this instead of asking the server.
    std::optional<int> rejectStatus;
    QString rejectBody;
};

// Runs every script's onRequest (in order) on `headers`, changed in place. A rejection ends the round.
HandshakeVerdict runRequestHooks(const ScriptSet &set, const HandshakeFacts &facts, http::Headers &headers);
// Runs every script's onResponse on the 101's `headers`, changed in place.
HandshakeVerdict runResponseHooks(const ScriptSet &set, const HandshakeFacts &facts, http::Headers &headers);

} // namespace socktap::intercept
