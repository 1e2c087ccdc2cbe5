// Engine settings, with the defaults `socktap --help` shows.
#pragma once

#include "core/http/HeadParser.h"
#include "core/http/RequestTarget.h"
#include "core/ws/BufferBudget.h"

#include <QHostAddress>
#include <QStringList>

#include <atomic>
#include <memory>
#include <optional>

namespace socktap::proxy {

class TlsContexts;
}
namespace socktap::intercept {
class InterceptHub;
}
namespace socktap::proxy {

// --upstream-proxy http://[USER:PASSWORD@]HOST:PORT: every connection to a server is a CONNECT tunnel
// through this proxy (a corporate one), except for hosts matching upstreamProxyBypass.
struct UpstreamProxy
{
    QByteArray host;
    quint16 port = 0;
    QByteArray credentials; // "user:password" sent as Proxy-Authorization: Basic; empty: none
    QByteArray authority() const; // host:port, IPv6 in brackets
};

struct ProxyConfig
{
    QHostAddress listenAddress {QHostAddress::LocalHost};
    quint16 listenPort = 8080;
    int listenBacklog = 4096; // Qt's default of 50 drops connection storms
    // Client connections served at once; each may hold two descriptors (client and server). Past it a new
    // client gets 503 instead of a connection that fails half-way. 0: from the open-file limit at start.
    int maxConnections = 0;
    std::optional<http::RequestTarget> reverse; // --reverse ws://host:port: where origin-form requests go
    // socktap mock: `reverse` is Socktap's own mock of a captured session, and every session says so
    // ("mock of FILE session N", SessionInfo::mock).
    QString mockOf;
    // This Socktap's name in the Via header it adds to forwarded requests (RFC 9110 7.6.3), so a request
    // that comes back to it (a reverse target pointing at itself, two instances pointing at each other)
    // is recognised and refused with 508 instead of recursing. Chosen at random by ProxyServer when empty.
    QByteArray viaName;
    // "user:password" a client must send as Proxy-Authorization: Basic (RFC 7617) to use Socktap as its
    // proxy (absolute-form requests and CONNECT); empty: no authentication (the loopback default).
    QByteArray proxyCredentials;
    bool strict = false; // act as the RFC endpoint on protocol violations
    int workers = 0; // 0: one per core
    int connectTimeoutMs = 10'000;
    int headTimeoutMs = 30'000; // a client must send its request head within this
    // A server must answer (and then keep its response moving) within this, else 504 / the session ends
    // with a timeout. 0: no limit. As nginx's proxy_read_timeout, 60 s by default, so long polls survive.
    int responseTimeoutMs = 60'000;
    int shutdownGraceMs = 1'000; // how long peers get to answer our Close 1001 on shutdown
    qsizetype maxMessageCapture = 64 * 1024 * 1024;
    // Memory for messages being assembled, shared by every connection (the capture store's share of
    // --max-capture-memory; set by ProxyServer when empty).
    std::shared_ptr<ws::BufferBudget> messagesInProgress;
    // Bytes waiting to be written (or held) per direction of a connection before its sender is paused:
    // highWater at most, but all connections share relayBuffers between them, so 2,000 busy connections
    // do not queue a megabyte each (that was 2 GB of RSS). A direction holds at most twice its share (one
    // read lands on top; reads are no larger than the share), two directions a connection: a quarter of
    // relayBuffers / connections each, never less than MinHighWater.
    qsizetype highWater = 1024 * 1024;
    qsizetype relayBuffers = 64 * 1024 * 1024;
    static constexpr qsizetype MinHighWater = 16 * 1024;
    std::shared_ptr<std::atomic<int>> openConnections; // kept by ProxyServer
    qsizetype highWaterNow() const;
    http::HeadLimits headLimits;

    // TLS interception. Without contexts, TLS inside CONNECT is relayed untouched as an opaque tunnel.
    std::shared_ptr<TlsContexts> tls;
    // --upstream-ca: PEM files whose CAs are trusted for servers besides the system's; `tls` was built with
    // them (whoever changes the list builds new contexts).
    QStringList upstreamCaFiles;
    QStringList noIntercept; // host patterns ("*.bank.example") tunnelled untouched (certificate pinning)
    bool insecureUpstream = false; // accept any upstream certificate (loudly)
    QStringList insecureUpstreamHosts; // ... for these host patterns only

    std::optional<UpstreamProxy> upstreamProxy;
    // Host patterns dialled directly despite upstreamProxy. Loopback (localhost, 127.0.0.0/8, ::1) always
    // is, as browsers do (the proxy's loopback is not this machine's), unless the list holds "<-loopback>"
    // (Chromium's spelling).
    QStringList upstreamProxyBypass;
    bool throughUpstreamProxy(QByteArrayView host) const;

    // Rules and held messages shared with the front ends; none: every message is forwarded as received.
    std::shared_ptr<intercept::InterceptHub> intercept;
};

// Beyond loopback anyone who reaches the port could use Socktap to reach any host (the machine's own
// loopback services included) and read what it records: proxy credentials are required, generated unless
// given. Returns the warning to show, or empty on loopback. (At start, and whenever Settings moves the
// listener.)
QString requireCredentialsBeyondLoopback(ProxyConfig &config);

// Whether host matches one of the glob patterns (case-insensitive; '*' matches any run of characters).
bool matchesHost(const QStringList &patterns, QByteArrayView host);

} // namespace socktap::proxy
