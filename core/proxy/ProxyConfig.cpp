#include "ProxyConfig.h"

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
