// TlsSession in memory: a Socktap server session and a client session pump bytes at each other (no
// sockets). SNI picks the leaf, ALPN settles on http/1.1, data flows both ways, and the client's verdict on
// the server's certificate is right for a trusted CA, an unknown CA and a wrong name.
#include "certs/CertificateAuthority.h"
#include "core/proxy/ClientHello.h"
#include "core/proxy/StreamSocket.h"
#include "core/proxy/TlsSession.h"

#include <QRandomGenerator>

#include <QFile>
#include <QTemporaryDir>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QTest>

#include <sys/socket.h>
#include <unistd.h>

using namespace socktap;
using proxy::TlsContexts;
using proxy::TlsSession;

namespace {

// Runs the handshake to completion (or failure) by shuttling outgoing bytes.
bool handshake(TlsSession &client, TlsSession &server)
{
    client.start();
    for (int round = 0; round < 20; ++round) {
        QByteArray ignored;
        if (server.receive(client.takeOutgoing(), ignored) == TlsSession::Status::Failed)
            return false;
        if (client.receive(server.takeOutgoing(), ignored) == TlsSession::Status::Failed)
            return false;
        if (client.handshakeDone() && server.handshakeDone())
            return true;
    }
    return false;
}

} // namespace

class TestTlsSession final : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<certs::CertificateAuthority> m_ca;
    QTemporaryDir m_dir;
    QString m_caFile;

private slots:
    void initTestCase()
    {
        m_ca = certs::CertificateAuthority::create();
        QVERIFY(m_ca);
        m_caFile = m_dir.filePath("ca.pem");
        QFile f(m_caFile);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(m_ca->certificatePem());
    }

    void handshakeSniAlpnAndData_data()
    {
        QTest::addColumn<QString>("host");
        QTest::newRow("name") << "chat.example.test";
        QTest::newRow("ip (no SNI: the fallback name picks the leaf)") << "127.0.0.1";
    }

    void handshakeSniAlpnAndData()
    {
        QFETCH(QString, host);
        QString error;
        TlsContexts contexts(m_ca.get(), {m_caFile}, &error);
        QVERIFY2(contexts.isValid(), qPrintable(error));
        auto server = TlsSession::server(contexts, {host});
        auto client = TlsSession::client(contexts, host);
        QVERIFY2(handshake(*client, *server), qPrintable(client->error() + server->error()));
        QVERIFY2(client->verified(), qPrintable(client->verification()));
        QCOMPARE(client->verification(), QStringLiteral("ok"));
        QCOMPARE(server->alpn(), QByteArray("http/1.1"));
        QCOMPARE(client->alpn(), QByteArray("http/1.1"));
        QCOMPARE(server->sni(), host.contains('.') && !host.front().isDigit() ? host.toUtf8() : QByteArray());
        QVERIFY(client->protocol().startsWith("TLSv1."));
        QVERIFY(client->peerSubject().contains("CN=" + host));
        QVERIFY(client->peerIssuer().contains("Socktap Root CA"));
        // Data both ways, including what was queued before the handshake.
        client->send("GET /chat HTTP/1.1\r\n\r\n");
        QByteArray atServer;
        QCOMPARE(server->receive(client->takeOutgoing(), atServer), TlsSession::Status::Ok);
        QCOMPARE(atServer, QByteArray("GET /chat HTTP/1.1\r\n\r\n"));
        const QByteArray big(100000, 'z');
        server->send(big);
        QByteArray atClient;
        QCOMPARE(client->receive(server->takeOutgoing(), atClient), TlsSession::Status::Ok);
        QCOMPARE(atClient, big);
        server->close();
        QByteArray rest;
        QCOMPARE(client->receive(server->takeOutgoing(), rest), TlsSession::Status::Closed);
    }

    void closeNotifyWithTheLastDataIsAnEnd()
    {
        // A peer's last data and its close_notify in one segment, and no FIN after it (the peer waits for
        // ours): the data is read, and the next read says the stream ended (it used to say "would block",
        // and the end went unnoticed until a timeout).
        int fds[2];
        QVERIFY(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
        const auto closePeer = qScopeGuard([&] { ::close(fds[1]); });
        QString error;
        TlsContexts contexts(m_ca.get(), {m_caFile}, &error);
        QVERIFY2(contexts.isValid(), qPrintable(error));
        auto server = TlsSession::server(contexts, {QStringLiteral("peer.test")});
        proxy::StreamSocket socket(fds[0]);
        socket.startTls(TlsSession::client(contexts, QStringLiteral("peer.test")));
        const auto pump = [&] {
            QByteArray plain;
            socket.read(plain, 65536);
            char buffer[65536];
            const ssize_t n = ::recv(fds[1], buffer, sizeof buffer, 0);
            QByteArray ignored;
            if (n > 0)
                server->receive(QByteArrayView(buffer, n), ignored);
            const QByteArray out = server->takeOutgoing();
            if (!out.isEmpty())
                ::send(fds[1], out.constData(), size_t(out.size()), 0);
        };
        for (int round = 0; round < 50 && !(server->handshakeDone() && socket.tls()->handshakeDone()); ++round)
            pump();
        QVERIFY(server->handshakeDone() && socket.tls()->handshakeDone());
        server->send("last words");
        server->close();
        const QByteArray both = server->takeOutgoing(); // one write: data and close_notify together
        QCOMPARE(::send(fds[1], both.constData(), size_t(both.size()), 0), ssize_t(both.size()));
        QByteArray plain;
        QCOMPARE(socket.read(plain, 65536), proxy::StreamSocket::ReadStatus::Data);
        QCOMPARE(plain, QByteArray("last words"));
        QCOMPARE(socket.read(plain, 65536), proxy::StreamSocket::ReadStatus::Eof);
        // Reading paused and resumed (backpressure) after that: the end is announced again, since the
        // socket itself will not say anything more (its peer waits for our close_notify).
        QCoreApplication::processEvents(); // the announcement made when the end was read
        QSignalSpy readable(&socket, &proxy::StreamSocket::readable);
        socket.setReadEnabled(false);
        socket.setReadEnabled(true);
        QVERIFY(readable.wait(2000));
    }

    void unknownCaIsReported()
    {
        // The client side trusts only the system store: a Socktap leaf is unknown to it. The handshake
        // completes (the proxy decides), the verdict says why.
        auto other = certs::CertificateAuthority::create();
        TlsContexts serverSide(other.get(), {}, nullptr);
        TlsContexts clientSide(m_ca.get(), {}, nullptr);
        auto server = TlsSession::server(serverSide, {"api.example.test"});
        auto client = TlsSession::client(clientSide, "api.example.test");
        QVERIFY(handshake(*client, *server));
        QVERIFY(!client->verified());
        QVERIFY2(client->verification().contains("local issuer"), qPrintable(client->verification()));
    }

    void wrongAddressIsReported()
    {
        // Names cannot mismatch here (the server picks its leaf by the SNI asked for); addresses can, as no
        // SNI is sent for them: a leaf for 127.0.0.2 does not pass for 127.0.0.1.
        TlsContexts contexts(m_ca.get(), {m_caFile}, nullptr);
        auto server = TlsSession::server(contexts, {"127.0.0.2"});
        auto client = TlsSession::client(contexts, "127.0.0.1");
        QVERIFY(handshake(*client, *server));
        QVERIFY(!client->verified());
        QVERIFY2(client->verification().contains("IP address mismatch"), qPrintable(client->verification()));
    }

    void clientHelloPeek()
    {
        // Real ClientHellos from OpenSSL: one names its server, one (for an IP address) does not.
        using proxy::ClientHelloPeek;
        using proxy::peekClientHello;
        TlsContexts contexts(m_ca.get(), {}, nullptr);
        const QByteArray named = [&] {
            auto c = TlsSession::client(contexts, "chat.example.test");
            c->start();
            return c->takeOutgoing();
        }();
        const QByteArray unnamed = [&] {
            auto c = TlsSession::client(contexts, "127.0.0.1");
            c->start();
            return c->takeOutgoing();
        }();
        auto peek = peekClientHello(named);
        QCOMPARE(peek.status, ClientHelloPeek::Status::Hello);
        QCOMPARE(peek.serverName, QByteArray("chat.example.test"));
        peek = peekClientHello(unnamed);
        QCOMPARE(peek.status, ClientHelloPeek::Status::Hello);
        QVERIFY(peek.serverName.isEmpty());
        // Any shorter prefix waits for the rest of the record.
        for (qsizetype n = 0; n < named.size(); ++n)
            QCOMPARE(peekClientHello(QByteArrayView(named).first(n)).status,
                     ClientHelloPeek::Status::NeedMore);
        QCOMPARE(peekClientHello("GET / HTTP/1.1\r\n").status, ClientHelloPeek::Status::Unknown);
        // Lengths that point past their container are not followed: the host name's own length, then the
        // server_name extension's, set far beyond the record.
        const qsizetype at = named.indexOf("chat.example.test");
        QVERIFY(at > 9);
        for (const qsizetype lengthAt : {at - 2, at - 7}) {
            QByteArray bad = named;
            bad[lengthAt] = char(0x7f);
            const auto broken = peekClientHello(bad);
            QVERIFY2(broken.serverName.isEmpty(), qPrintable(QString::number(lengthAt)));
        }
        // Random corruption: in the sanitizer build (scripts/test.sh runs every suite under ASan) any read
        // out of bounds fails this test; here the outcome must at least be one of the three.
        auto *random = QRandomGenerator::global();
        for (int round = 0; round < 5000; ++round) {
            QByteArray bad = named;
            for (int flips = 1 + int(random->bounded(4)); flips > 0; --flips)
                bad[random->bounded(qsizetype(5), bad.size())] = char(random->bounded(256));
            if (random->bounded(4) == 0)
                bad.truncate(random->bounded(bad.size()));
            const auto status = peekClientHello(bad).status;
            QVERIFY(status == ClientHelloPeek::Status::NeedMore || status == ClientHelloPeek::Status::Hello
                    || status == ClientHelloPeek::Status::Unknown);
        }
    }

    void leafWithTheServersNames()
    {
        // A client that sent no SNI gets a leaf for every name the real server's certificate has.
        TlsContexts contexts(m_ca.get(), {m_caFile}, nullptr);
        const QStringList names {"127.0.0.1", "localhost", "*.example.test"};
        auto server = TlsSession::server(contexts, names);
        auto client = TlsSession::client(contexts, "127.0.0.1");
        QVERIFY(handshake(*client, *server));
        QVERIFY2(client->verified(), qPrintable(client->verification()));
        QCOMPARE(client->peerNames(), names);
        QVERIFY(client->peerSubject().contains("CN=127.0.0.1"));
    }

    void garbageFailsCleanly()
    {
        TlsContexts contexts(m_ca.get(), {}, nullptr);
        auto server = TlsSession::server(contexts, {"x.test"});
        QByteArray plain;
        QCOMPARE(server->receive("GET / HTTP/1.1\r\n\r\n", plain), TlsSession::Status::Failed);
        QVERIFY(!server->error().isEmpty());
    }

    void badUpstreamCaFileIsAnError()
    {
        QString error;
        TlsContexts contexts(m_ca.get(), {m_dir.filePath("missing.pem")}, &error);
        QVERIFY(!contexts.isValid());
        QVERIFY2(error.contains("--upstream-ca"), qPrintable(error));
    }
};

QTEST_GUILESS_MAIN(TestTlsSession)
#include "tst_tlssession.moc"
