#include "CaptureTypes.h"

#include "core/ws/CloseCode.h"

namespace socktap::capture {

const char *directionName(Direction d)
{
    return d == Direction::ClientToServer ? "client" : "server";
}

const char *kindName(SessionKind k)
{
    switch (k) {
    case SessionKind::WebSocket:
        return "websocket";
    case SessionKind::Http:
        return "http";
    case SessionKind::Tunnel:
        return "tunnel";
    }
    return "?";
}

const char *modeName(ProxyMode m)
{
    switch (m) {
    case ProxyMode::Explicit:
        return "explicit";
    case ProxyMode::Connect:
        return "connect";
    case ProxyMode::Reverse:
        return "reverse";
    }
    return "?";
}

const char *stateName(SessionState s)
{
    switch (s) {
    case SessionState::Connecting:
        return "connecting";
    case SessionState::Open:
        return "open";
    case SessionState::Closing:
        return "closing";
    case SessionState::Closed:
        return "closed";
    case SessionState::Failed:
        return "failed";
    case SessionState::Rejected:
        return "rejected";
    }
    return "?";
}

const char *endReasonName(EndReason r)
{
    switch (r) {
    case EndReason::None:
        return "none";
    case EndReason::Closed:
        return "closed";
    case EndReason::ClientEof:
        return "client-eof";
    case EndReason::ServerEof:
        return "server-eof";
    case EndReason::ClientReset:
        return "client-reset";
    case EndReason::ServerReset:
        return "server-reset";
    case EndReason::Timeout:
        return "timeout";
    case EndReason::ProxyShutdown:
        return "proxy-shutdown";
    case EndReason::StrictClose:
        return "strict-close";
    case EndReason::UpstreamFailed:
        return "upstream-failed";
    case EndReason::TlsError:
        return "tls-error";
    case EndReason::ClientError:
        return "client-error";
    case EndReason::UserReset:
        return "user-reset";
    case EndReason::Refused:
        return "refused";
    case EndReason::Fault:
        return "fault";
    }
    return "?";
}

QString endReasonText(EndReason r)
{
    switch (r) {
    case EndReason::None:
        return QStringLiteral("still open");
    case EndReason::Closed:
        return QStringLiteral("TCP closed after the closing handshake");
    case EndReason::ClientEof:
        return QStringLiteral("client closed TCP without completing the closing handshake");
    case EndReason::ServerEof:
        return QStringLiteral("server closed TCP without completing the closing handshake");
    case EndReason::ClientReset:
        return QStringLiteral("client reset the TCP connection");
    case EndReason::ServerReset:
        return QStringLiteral("server reset the TCP connection");
    case EndReason::Timeout:
        return QStringLiteral("timed out");
    case EndReason::ProxyShutdown:
        return QStringLiteral("Socktap shut down");
    case EndReason::StrictClose:
        return QStringLiteral("Socktap failed the connection after a protocol violation (--strict)");
    case EndReason::UpstreamFailed:
        return QStringLiteral("the server could not be reached or broke the handshake");
    case EndReason::TlsError:
        return QStringLiteral("TLS error");
    case EndReason::ClientError:
        return QStringLiteral("the client sent an unusable request");
    case EndReason::UserReset:
        return QStringLiteral("Socktap reset both TCP connections, as its user asked");
    case EndReason::Refused:
        return QStringLiteral("Socktap was at its connection limit and refused the client");
    case EndReason::Fault:
        return QStringLiteral("Socktap refused or cut the connection, as a fault asked (a rule's, or the "
                              "user's)");
    }
    return {};
}

quint16 CloseInfo::effectiveCode() const
{
    if (!firstCloser)
        return ws::CloseCode::AbnormalClosure;
    return code[directionIndex(*firstCloser)].value_or(ws::CloseCode::NoStatusReceived);
}

SessionId SessionInfo::replayOf() const
{
    return request.headers.value(ReplayOfHeader).trimmed().toULongLong();
}

QByteArray SessionInfo::url() const
{
    if (host.isEmpty())
        return path.isEmpty() ? request.target : path;
    const bool v6 = host.contains(':');
    QByteArray out = scheme.isEmpty() ? QByteArray() : scheme + "://";
    out += v6 ? '[' + host + ']' : host;
    out += ':' + QByteArray::number(port);
    out += path;
    return out;
}

MessageCopy::MessageCopy(const MessageFacts &f)
    : facts(f)
    , payload(f.payload.toByteArray())
    , wirePayload(f.wirePayload.toByteArray())
    , frames(f.frames.begin(), f.frames.end())
{
    facts.original = {}; // a message as received has no original
    point();
}

MessageCopy::MessageCopy(MessageCopy &&other) noexcept
    : facts(std::move(other.facts))
    , payload(std::move(other.payload))
    , wirePayload(std::move(other.wirePayload))
    , frames(std::move(other.frames))
{
    point();
}

MessageCopy &MessageCopy::operator=(MessageCopy &&other) noexcept
{
    facts = std::move(other.facts);
    payload = std::move(other.payload);
    wirePayload = std::move(other.wirePayload);
    frames = std::move(other.frames);
    point();
    return *this;
}

void MessageCopy::point()
{
    facts.payload = payload;
    facts.wirePayload = wirePayload;
    facts.frames = frames;
}

std::span<const MessageFlagName> messageFlagNames()
{
    static constexpr MessageFlagName Names[] = {
        {MessageFlag::Compressed, "compressed"},
        {MessageFlag::Truncated, "truncated"},
        {MessageFlag::Incomplete, "incomplete"},
        {MessageFlag::Edited, "edited"},
        {MessageFlag::Injected, "injected"},
        {MessageFlag::Dropped, "dropped"},
        {MessageFlag::Replayed, "replayed"},
        {MessageFlag::Delayed, "delayed"},
        {MessageFlag::Held, "held"},
        {MessageFlag::Resent, "resent"},
        {MessageFlag::Reencoded, "reencoded"},
        {MessageFlag::Undelivered, "undelivered"},
    };
    return Names;
}

} // namespace socktap::capture
