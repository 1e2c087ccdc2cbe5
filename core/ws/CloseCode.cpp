#include "CloseCode.h"

#include <array>

namespace socktap::ws {

namespace {

struct Entry
{
    quint16 code;
    const char *name;
    const char *meaning;
    bool onWire;
};

// IANA WebSocket Close Code Number Registry (RFC 6455 11.7).
constexpr std::array<Entry, 19> Registry {{
    {1000, "Normal Closure", "The purpose of the connection has been fulfilled.", true},
    {1001, "Going Away", "The endpoint is going away: server shutting down or browser leaving the page.",
     true},
    {1002, "Protocol Error", "The endpoint received a frame that breaks the WebSocket protocol.", true},
    {1003, "Unsupported Data",
     "The endpoint received a type of data it cannot accept (e.g. binary when it only takes text).", true},
    {1004, "Reserved", "Reserved; its meaning might be defined in the future. Not to be sent.", false},
    {1005, "No Status Rcvd", "The Close frame carried no status code. Never sent on the wire.", false},
    {1006, "Abnormal Closure",
     "The connection ended without a Close frame (reset, EOF, timeout). Never sent on the wire.", false},
    {1007, "Invalid frame payload data", "A message's data did not match its type (e.g. non-UTF-8 text).",
     true},
    {1008, "Policy Violation", "A message violated the endpoint's policy.", true},
    {1009, "Message Too Big", "A message was too big for the endpoint to process.", true},
    {1010, "Mandatory Ext.", "The client needed an extension the server did not negotiate.", true},
    {1011, "Internal Error", "The server hit an unexpected condition.", true},
    {1012, "Service Restart", "The service is restarting; reconnect later.", true},
    {1013, "Try Again Later", "A temporary condition (such as overload); reconnect later.", true},
    {1014, "Bad Gateway", "A gateway or proxy received an invalid response from upstream.", true},
    {1015, "TLS handshake", "The TLS handshake failed. Never sent on the wire.", false},
    {3000, "Unauthorized", "The endpoint is not authorized (registered 3000-range code).", true},
    {3003, "Forbidden", "The endpoint is authenticated but not allowed (registered 3000-range code).", true},
    {3008, "Timeout", "The endpoint timed out (registered 3000-range code).", true},
}};

CloseCodeInfo::Range rangeOf(quint16 code)
{
    if (code < 1000)
        return CloseCodeInfo::Range::Unused;
    if (code < 3000)
        return CloseCodeInfo::Range::Protocol;
    if (code < 4000)
        return CloseCodeInfo::Range::Registered;
    if (code < 5000)
        return CloseCodeInfo::Range::Private;
    return CloseCodeInfo::Range::Invalid;
}

} // namespace

CloseCodeInfo closeCodeInfo(quint16 code)
{
    CloseCodeInfo info;
    info.range = rangeOf(code);
    for (const Entry &e : Registry) {
        if (e.code == code) {
            info.name = QString::fromLatin1(e.name);
            info.meaning = QString::fromLatin1(e.meaning);
            info.registered = true;
            info.allowedOnWire = e.onWire;
            return info;
        }
    }
    switch (info.range) {
    case CloseCodeInfo::Range::Unused:
        info.name = QStringLiteral("Invalid");
        info.meaning = QStringLiteral("Codes below 1000 are never used (RFC 6455 7.4.2).");
        break;
    case CloseCodeInfo::Range::Protocol:
        info.name = QStringLiteral("Unassigned");
        info.meaning =
            QStringLiteral("Reserved for the WebSocket protocol and its extensions; not assigned.");
        break;
    case CloseCodeInfo::Range::Registered:
        info.name = QStringLiteral("Unregistered");
        info.meaning = QStringLiteral(
            "Range for libraries and frameworks (IANA registration); this code is not registered.");
        info.allowedOnWire = true;
        break;
    case CloseCodeInfo::Range::Private:
        info.name = QStringLiteral("Private Use");
        info.meaning = QStringLiteral("Application-defined code (4000-4999, private use).");
        info.allowedOnWire = true;
        break;
    case CloseCodeInfo::Range::Invalid:
        info.name = QStringLiteral("Invalid");
        info.meaning = QStringLiteral("Codes above 4999 are not defined (RFC 6455 7.4.2).");
        break;
    }
    return info;
}

QString closeCodeLabel(quint16 code)
{
    return QStringLiteral("%1 %2").arg(code).arg(closeCodeInfo(code).name);
}

bool isValidOnWire(quint16 code)
{
    return closeCodeInfo(code).allowedOnWire;
}

} // namespace socktap::ws
