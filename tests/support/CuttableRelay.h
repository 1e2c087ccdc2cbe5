// Tests of remote attach: a TCP relay between a client and a remote Socktap's --control, cut on demand.
#pragma once

#include <QTcpServer>
#include <QTcpSocket>

#include <utility>
#include <vector>

namespace socktap::test {

// A TCP relay a test can cut: a link to a remote Socktap (socktap attach, the window) that drops.
struct CuttableRelay
{
    QTcpServer server;
    quint16 to = 0;
    std::vector<std::pair<QTcpSocket *, QTcpSocket *>> pairs;
    int accepted = 0;

    explicit CuttableRelay(quint16 target)
        : to(target)
    {
        server.listen(QHostAddress::LocalHost, 0);
        QObject::connect(&server, &QTcpServer::newConnection, [this] {
            while (QTcpSocket *in = server.nextPendingConnection()) {
                ++accepted;
                auto *out = new QTcpSocket(&server);
                out->connectToHost(QHostAddress::LocalHost, to);
                QObject::connect(in, &QTcpSocket::readyRead, out, [in, out] { out->write(in->readAll()); });
                QObject::connect(out, &QTcpSocket::readyRead, in, [in, out] { in->write(out->readAll()); });
                QObject::connect(out, &QTcpSocket::disconnected, in, [in] { in->disconnectFromHost(); });
                QObject::connect(in, &QTcpSocket::disconnected, out, [out] { out->disconnectFromHost(); });
                pairs.emplace_back(in, out);
            }
        });
    }
    // Resets every link open now (the next ones go through).
    void cut()
    {
        for (auto &[in, out] : pairs) {
            in->abort();
            out->abort();
        }
        pairs.clear();
    }
};

} // namespace socktap::test
