// Opens a TCP connection to host:port without blocking: resolves the name (QHostInfo), tries each address
// with a non-blocking connect, and reports either the connected descriptor or why not, as the HTTP status
// a proxy answers (502 for unknown host, refused, unreachable; 504 for a timeout) and a precise sentence.
#pragma once

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

    QByteArray m_host;
    quint16 m_port;
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
