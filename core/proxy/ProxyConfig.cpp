#include "ProxyConfig.h"

#include <QRegularExpression>

namespace socktap::proxy {

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
