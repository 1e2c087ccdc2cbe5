#include "ProxyConfig.h"

#include <QRandomGenerator>

#include <QRegularExpression>

namespace socktap::proxy {

qsizetype ProxyConfig::highWaterNow() const
{
    const int open = openConnections ? openConnections->load(std::memory_order_relaxed) : 1;
    return std::clamp(relayBuffers / (4 * qsizetype(std::max(1, open))), std::min(MinHighWater, highWater),
                      highWater);
}

QByteArray UpstreamProxy::authority() const
{
    return (host.contains(':') ? '[' + host + ']' : host) + ':' + QByteArray::number(port);
}

bool ProxyConfig::throughUpstreamProxy(QByteArrayView host) const
{
    if (!upstreamProxy || matchesHost(upstreamProxyBypass, host))
        return false;
    const bool loopback = host == "localhost" || host.endsWith(".localhost")
        || QHostAddress(QString::fromLatin1(host)).isLoopback();
    return !loopback || upstreamProxyBypass.contains(QStringLiteral("<-loopback>"));
}

QString requireCredentialsBeyondLoopback(ProxyConfig &config)
{
    if (config.listenAddress.isLoopback())
        return {};
    const bool generated = config.proxyCredentials.isEmpty();
    if (generated)
        config.proxyCredentials =
            "socktap:" + QByteArray::number(QRandomGenerator::system()->generate64(), 36);
    return QStringLiteral("listening on %1, beyond loopback: clients must authenticate as a proxy "
                          "(Proxy-Authorization: Basic) with %2 \"%3\"%4; anyone who has them can reach any "
                          "host through Socktap and read what it records")
        .arg(config.listenAddress.toString(),
             generated ? QStringLiteral("the generated credentials") : QStringLiteral("the credentials"),
             QString::fromUtf8(config.proxyCredentials),
             generated ? QStringLiteral(" (set your own with --proxy-auth USER:PASSWORD)") : QString());
}

bool matchesHost(const QStringList &patterns, QByteArrayView host)
{
    const QString name = QString::fromLatin1(host);
    for (const QString &pattern : patterns) {
        // Host names hold no '/', so Qt 6.4's path-style wildcard conversion is exact for them.
        const QRegularExpression re(QRegularExpression::wildcardToRegularExpression(pattern),
                                    QRegularExpression::CaseInsensitiveOption);
        if (re.match(name).hasMatch())
            return true;
    }
    return false;
}

} // namespace socktap::proxy
