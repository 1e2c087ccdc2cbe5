// Opens a TCP connection to host:port without blocking: resolves the name (QHostInfo), tries each address
// with a non-blocking connect, and reports either the connected descriptor or why not, as the HTTP status
// a proxy answers (502 for unknown host, refused, unreachable; 504 for a timeout) and a precise sentence.
// Through an upstream proxy: dials the proxy, asks it for a CONNECT tunnel (RFC 9110 9.3.6) and reports
// the descriptor once the proxy said 2xx, with nothing of the tunnel read.
#pragma once

#include "ProxyConfig.h"

#include <QHostAddress>
#include <QList>
#include <QObject>
#include <QTimer>

class QHostInfo;
class QSocketNotifier;

namespace socktap::proxy {

class TcpConnector final : public QObject
{
    Q_OBJECT

public:
    TcpConnector(QByteArray host, quint16 port, int timeoutMs, QObject *parent = nullptr);
    ~TcpConnector() override;
    // Before start(): go through this proxy.
    void setUpstreamProxy(const UpstreamProxy &proxy) { m_via = proxy; }
    void start();

signals:
    void connected(int fd);
    void failed(int httpStatus, const QString &message);

private:
    void onResolved(const QHostInfo &info);
    void tryNext();
    void onWritable();
    void fail(int status, const QString &message);
    void closeAttempt();
    void succeed();
    void askForTunnel();
    void onTunnelAnswer();
    QString dialled() const;

    QByteArray m_host;
    quint16 m_port;
    std::optional<UpstreamProxy> m_via;
    QByteArray m_answer; // the proxy's answer head, as far as it has come
    int m_timeoutMs;
    QTimer m_timer;
    QList<QHostAddress> m_addresses;
    int m_lookupId = -1;
    int m_fd = -1;
    QSocketNotifier *m_notifier = nullptr;
    QString m_lastError;
    bool m_done = false;
};

} // namespace socktap::proxy
