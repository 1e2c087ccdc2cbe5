// wss:// through Socktap with real peers: QWebSocket via CONNECT trusting the Socktap CA, a TLS
// QWebSocketServer upstream with a certificate from its own test CA. Verified upstream, rejected upstream
// (502 inside the tunnel), --insecure-upstream-host, --no-intercept, and reverse wss://.
#include "certs/CertificateAuthority.h"
#include "core/proxy/TlsSession.h"
#include "support/Peers.h"
#include "support/TlsPeers.h"

#include <QCryptographicHash>
#include <QRegularExpression>
#include <QSslConfiguration>
#include <QSslKey>
#include <QSslSocket>
#include <QTemporaryDir>

using namespace socktap;
using namespace socktap::test;
using capture::SessionState;

class TestProxyTls final : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<certs::CertificateAuthority> m_socktapCa; // what the client trusts
    std::unique_ptr<certs::CertificateAuthority> m_serverCa; // what signs the real server
    QTemporaryDir m_dir;
    QString m_serverCaFile;

    proxy::ProxyConfig config(bool trustServerCa = true)
    {
        proxy::ProxyConfig c;
        QString error;
        c.tls = std::make_shared<proxy::TlsContexts>(
            m_socktapCa.get(), trustServerCa ? QStringList {m_serverCaFile} : QStringList {}, &error);
        if (!c.tls->isValid())
            qFatal("tls contexts: %s", qPrintable(error));
        return c;
    }

    // A wss:// client through the proxy to localhost:port that is disconnected instead of left hanging.
    bool refusedThrough(const ProxyHarness &proxy, quint16 port)
    {
        QWebSocket ws;
        ws.setProxy(proxy.networkProxy());
        ws.setSslConfiguration(trusting(m_socktapCa->certificatePem()));
        QSignalSpy closed(&ws, &QWebSocket::disconnected);
        ws.open(QUrl(QStringLiteral("wss://localhost:%1/").arg(port)));
        return closed.wait(WaitMs) && ws.state() != QAbstractSocket::ConnectedState;
    }

    std::unique_ptr<QWebSocket> client(const QUrl &url, const ProxyHarness &proxy,
                                       const QByteArray &trustedCa)
    {
        auto ws = std::make_unique<QWebSocket>();
        ws->setProxy(proxy.networkProxy());
        ws->setSslConfiguration(trusting(trustedCa));
        ws->open(url);
        if (!QTest::qWaitFor([&] { return ws->state() == QAbstractSocket::ConnectedState; }, WaitMs))
            return nullptr;
        return ws;
    }

private slots:
    void initTestCase()
    {
        QNetworkProxyFactory::setUseSystemConfiguration(false);
        m_socktapCa = certs::CertificateAuthority::create();
        m_serverCa = certs::CertificateAuthority::create();
        m_serverCaFile = m_dir.filePath("server-ca.pem");
        QFile f(m_serverCaFile);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(m_serverCa->certificatePem());
    }

    void caPageAndPacThroughTheProxy()
    {
        // http://socktap/ exists only through the proxy: the CA to download, its fingerprint, proxy.pac.
        ProxyHarness proxy(config());
        const auto get = [&](const QByteArray &path, QByteArray *body) -> int {
            RawClient client;
            if (!client.connect(proxy.port()))
                return 0;
            client.send("GET http://socktap" + path + " HTTP/1.1\r\nHost: socktap\r\n\r\n");
            const auto head = client.readResponseHead();
            if (!head)
                return 0;
            const qsizetype length = head->headers.value("Content-Length").toLongLong();
            if (!client.readAtLeast(length))
                return 0;
            *body = client.buffer.first(length);
            return head->status;
        };
        const QByteArray pem = m_socktapCa->certificatePem();
        const QSslCertificate ca(pem);
        QByteArray body;
        QCOMPARE(get("/", &body), 200);
        QVERIFY2(body.contains(m_socktapCa->commonName().toUtf8()), body.constData());
        QVERIFY(body.contains(ca.digest(QCryptographicHash::Sha256).toHex(':').toUpper()));
        QVERIFY(body.contains("href=\"/proxy.pac\""));
        QCOMPARE(get("/ca.pem", &body), 200);
        QCOMPARE(body, pem);
        QCOMPARE(get("/ca.crt", &body), 200);
        QCOMPARE(QSslCertificate(body, QSsl::Der), ca);
        QCOMPARE(get("/proxy.pac", &body), 200);
        const QRegularExpression pac(QStringLiteral("^function FindProxyForURL\\(url, host\\) \\{\\s*return "
                                                    "\"PROXY 127\\.0\\.0\\.1:(\\d+)\";\\s*\\}\\s*$"));
        const auto match = pac.match(QString::fromUtf8(body));
        QVERIFY2(match.hasMatch(), body.constData());
        QCOMPARE(match.captured(1).toUShort(), proxy.port());
        QCOMPARE(get("/elsewhere", &body), 404);
        QCOMPARE(proxy.store.sessionIds().size(), size_t(0)); // Socktap's own page is not traffic
    }

    void hostPatternsMatchWholeNames()
    {
        // --insecure-upstream-host and --no-intercept turn off a security rule for the hosts they name:
        // a pattern must match the whole name, never a part of it.
        const QStringList patterns = {QStringLiteral("*.test"), QStringLiteral("api.example.com")};
        QVERIFY(proxy::matchesHost(patterns, "a.test"));
        QVERIFY(proxy::matchesHost(patterns, "A.B.TEST")); // case-insensitive
        QVERIFY(proxy::matchesHost(patterns, "api.example.com"));
        QVERIFY(!proxy::matchesHost(patterns, "a.test.evil.com"));
        QVERIFY(!proxy::matchesHost(patterns, "evil-api.example.com"));
        QVERIFY(!proxy::matchesHost(patterns, "api.example.com.evil"));
        QVERIFY(!proxy::matchesHost(patterns, "test"));
    }

    void interceptedWss()
    {
        SecureEcho echo(*m_serverCa, "localhost");
        ProxyHarness proxy(config());
        auto ws = client(QUrl(QStringLiteral("wss://localhost:%1/secure").arg(echo.port())), proxy,
                         m_socktapCa->certificatePem());
        QVERIFY(ws);
        // The client saw Socktap's certificate for the name it asked for, not the server's.
        const QSslCertificate seen = ws->sslConfiguration().peerCertificate();
        QVERIFY(seen.issuerInfo(QSslCertificate::CommonName).join("").startsWith("Socktap Root CA"));
        QStringList texts;
        QList<QByteArray> binaries;
        QObject::connect(ws.get(), &QWebSocket::textMessageReceived,
                         [&](const QString &m) { texts.append(m); });
        QObject::connect(ws.get(), &QWebSocket::binaryMessageReceived,
                         [&](const QByteArray &m) { binaries.append(m); });
        ws->sendTextMessage(QStringLiteral("over TLS"));
        ws->sendBinaryMessage(QByteArray(70000, 'b'));
        QVERIFY(QTest::qWaitFor([&] { return texts.size() == 1 && binaries.size() == 1; }, WaitMs));
        ws->close(QWebSocketProtocol::CloseCode(4001), QStringLiteral("app bye"));
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Closed; });
        QVERIFY(s);
        QCOMPARE(s->scheme, QByteArray("wss"));
        QCOMPARE(s->mode, capture::ProxyMode::Connect);
        QVERIFY(s->tls.intercepted);
        QCOMPARE(s->tls.sni, QByteArray("localhost"));
        QVERIFY(s->tls.clientProtocol.startsWith("TLSv1."));
        QVERIFY(s->tls.upstreamVerified);
        QCOMPARE(s->tls.upstreamVerification, QStringLiteral("ok"));
        QVERIFY(s->tls.upstreamSubject.contains("CN=localhost"));
        QVERIFY(s->tls.upstreamIssuer.contains(
            "Socktap Root CA")); // the test server CA is also a Socktap-made CA
        QCOMPARE(int(s->close.code[0].value_or(0)), 4001);
        QVERIFY(proxy.waitMessages(s->id, 6));
        // Decrypted and decoded both ways (echoes may interleave with the client's messages).
        int texts70 = 0, binaries70 = 0;
        for (const auto &m : proxy.messages(s->id)) {
            texts70 += m.payload == "over TLS";
            binaries70 += m.payload == QByteArray(70000, 'b');
        }
        QCOMPARE(texts70, 2);
        QCOMPARE(binaries70, 2);
    }

    void clientWithoutSniGetsTheServersNames()
    {
        // A client dials 127.0.0.1 (so it sends no SNI) but checks the name "localhost", as clients given
        // an address and a name do. The real server's certificate is for both; Socktap's leaf must carry
        // the server's names, not only the address dialled.
        SecureEcho echo(*m_serverCa, QStringList {"localhost", "127.0.0.1"});
        ProxyHarness proxy(config());
        QSslConfiguration ssl = trusting(m_socktapCa->certificatePem());
        ssl.setPeerVerifyMode(QSslSocket::VerifyNone); // checked below, against the name it wants
        QWebSocket ws;
        ws.setProxy(proxy.networkProxy());
        ws.setSslConfiguration(ssl);
        ws.open(QUrl(QStringLiteral("wss://127.0.0.1:%1/no-sni").arg(echo.port())));
        QVERIFY(QTest::qWaitFor([&] { return ws.state() == QAbstractSocket::ConnectedState; }, WaitMs));
        const QList<QSslCertificate> chain = ws.sslConfiguration().peerCertificateChain();
        QVERIFY(!chain.isEmpty());
        QVERIFY(chain.front().issuerInfo(QSslCertificate::CommonName).join("").startsWith("Socktap Root CA"));
        QSslConfiguration::setDefaultConfiguration(trusting(m_socktapCa->certificatePem()));
        const auto errors = QSslCertificate::verify(chain, QStringLiteral("localhost"));
        QVERIFY2(errors.isEmpty(), qPrintable(errors.value(0).errorString()));
        const auto names = chain.front().subjectAlternativeNames();
        QVERIFY(names.values(QSsl::DnsEntry).contains("localhost"));
        QVERIFY(names.values(QSsl::IpAddressEntry).contains("127.0.0.1"));
        QString echoed;
        QObject::connect(&ws, &QWebSocket::textMessageReceived, [&](const QString &m) { echoed = m; });
        ws.sendTextMessage(QStringLiteral("no name asked"));
        QVERIFY(QTest::qWaitFor([&] { return echoed == QStringLiteral("no name asked"); }, WaitMs));
        const auto s =
            proxy.waitSession([](const auto &s) { return s.kind == capture::SessionKind::WebSocket; });
        QVERIFY(s);
        QVERIFY(s->tls.sni.isEmpty()); // it really sent none
        QVERIFY(s->tls.upstreamVerified);
    }

    void throughAnUpstreamProxy()
    {
        // --upstream-proxy: ws:// and wss:// reach their servers through a CONNECT proxy (with credentials),
        // and the capture is as without it; wss:// is still verified end to end.
        EchoServer plain;
        SecureEcho secure(*m_serverCa, "localhost");
        ConnectProxy corporate;
        corporate.credentials = "alice:s3cret";
        proxy::ProxyConfig c = config();
        c.upstreamProxy = proxy::UpstreamProxy {"127.0.0.1", corporate.port(), "alice:s3cret"};
        // The servers here are on loopback, which goes around an upstream proxy unless told otherwise.
        c.upstreamProxyBypass = {QStringLiteral("<-loopback>")};
        ProxyHarness proxy(c);
        for (const QUrl &url : {plain.url(QStringLiteral("/chained")),
                                QUrl(QStringLiteral("wss://localhost:%1/chained").arg(secure.port()))}) {
            auto ws = client(url, proxy, m_socktapCa->certificatePem());
            QVERIFY2(ws, qPrintable(url.toString()));
            QString echoed;
            QObject::connect(ws.get(), &QWebSocket::textMessageReceived,
                             [&](const QString &m) { echoed = m; });
            ws->sendTextMessage(QStringLiteral("via the corporate proxy"));
            QVERIFY(
                QTest::qWaitFor([&] { return echoed == QStringLiteral("via the corporate proxy"); }, WaitMs));
        }
        QCOMPARE(corporate.targets,
                 QList<QByteArray>({"127.0.0.1:" + QByteArray::number(plain.port()),
                                    "localhost:" + QByteArray::number(secure.port())}));
        const auto s = proxy.waitSession([](const auto &s) { return s.scheme == "wss"; });
        QVERIFY(s && s->tls.upstreamVerified);

        // Bypassed hosts are dialled directly: by pattern, and loopback by default (as browsers do: the
        // proxy's loopback is not this machine's).
        c.upstreamProxyBypass = {QStringLiteral("<-loopback>"), QStringLiteral("127.0.0.*")};
        ProxyHarness bypassing(c);
        QVERIFY(client(plain.url(QStringLiteral("/direct")), bypassing, {}));
        c.upstreamProxyBypass = {};
        ProxyHarness loopbackDirect(c);
        QVERIFY(client(plain.url(QStringLiteral("/direct")), loopbackDirect, {}));
        QVERIFY(
            client(QUrl(QStringLiteral("ws://localhost:%1/direct").arg(plain.port())), loopbackDirect, {}));
        QCOMPARE(corporate.targets.size(), 2);
    }

    void upstreamProxyAnswerInPiecesOrWithServerBytes()
    {
        // A server that speaks first: its greeting must reach the client whether the proxy's 200 comes in
        // pieces or in the same segment as the greeting (nothing after the head may be swallowed).
        QTcpServer greeter;
        QVERIFY(greeter.listen(QHostAddress::LocalHost, 0));
        QObject::connect(&greeter, &QTcpServer::newConnection, [&] {
            QTcpSocket *s = greeter.nextPendingConnection();
            s->write("220 hello from the server\r\n");
        });
        const QByteArray greeting = "220 hello from the server\r\n";
        for (const bool split : {true, false}) {
            ConnectProxy corporate;
            corporate.splitAnswer = split;
            corporate.answerWithServerBytes = !split;
            proxy::ProxyConfig c = config();
            c.upstreamProxy = proxy::UpstreamProxy {"127.0.0.1", corporate.port(), {}};
            c.upstreamProxyBypass = {QStringLiteral("<-loopback>")};
            ProxyHarness proxy(c);
            RawClient raw;
            QVERIFY(raw.openTunnel(proxy.port(), "127.0.0.1:" + QByteArray::number(greeter.serverPort())));
            QVERIFY2(raw.readAtLeast(greeting.size()), raw.buffer.constData());
            QCOMPARE(raw.buffer, greeting);
        }
    }

    void upstreamProxyRefusals()
    {
        // What goes wrong at the corporate proxy is said, as the 502 body and in the session.
        EchoServer plain;
        ConnectProxy corporate;
        corporate.credentials = "alice:s3cret";
        proxy::ProxyConfig c = config();
        c.upstreamProxy = proxy::UpstreamProxy {"127.0.0.1", corporate.port(), {}};
        c.upstreamProxyBypass = {QStringLiteral("<-loopback>")};
        {
            ProxyHarness proxy(c);
            RawClient raw;
            QVERIFY(raw.connect(proxy.port()));
            raw.send(RawClient::upgradeTo(plain.port()));
            const auto head = raw.readResponseHead();
            QVERIFY(head);
            QCOMPARE(head->status, 502);
            QVERIFY(raw.waitClosed());
            QVERIFY2(raw.buffer.contains("407")
                         && raw.buffer.contains("--upstream-proxy http://USER:PASSWORD@"),
                     raw.buffer.constData());
            const auto s = proxy.waitSession([](const auto &s) { return !s.error.isEmpty(); });
            QVERIFY(s && s->error.contains("upstream proxy"));
        }
        // Nobody listening there.
        QTcpServer closed;
        QVERIFY(closed.listen(QHostAddress::LocalHost, 0));
        c.upstreamProxy->port = closed.serverPort();
        closed.close();
        ProxyHarness proxy(c);
        RawClient raw;
        QVERIFY(raw.connect(proxy.port()));
        raw.send(RawClient::upgradeTo(plain.port()));
        const auto head = raw.readResponseHead();
        QVERIFY(head && head->status == 502);
        QVERIFY(raw.waitClosed());
        QVERIFY2(raw.buffer.contains("cannot connect to the upstream proxy"), raw.buffer.constData());
    }

    void rejectedUpstreamCertificate()
    {
        // The server's CA is not trusted: the client's TLS to Socktap works, its request is answered 502 with
        // the reason, and the session says what was wrong with the certificate.
        SecureEcho echo(*m_serverCa, "localhost");
        ProxyHarness proxy(config(false));
        QSslSocket raw;
        raw.connectToHost(QHostAddress::LocalHost, proxy.port());
        QVERIFY(raw.waitForConnected(WaitMs));
        raw.write("CONNECT localhost:" + QByteArray::number(echo.port())
                  + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
        QByteArray established;
        QVERIFY(QTest::qWaitFor(
            [&] {
                established += raw.readAll();
                return established.contains("\r\n\r\n");
            },
            WaitMs));
        QVERIFY(established.startsWith("HTTP/1.1 200"));
        raw.setSslConfiguration(trusting(m_socktapCa->certificatePem()));
        raw.setPeerVerifyName(QStringLiteral("localhost")); // sends SNI and checks the name
        raw.startClientEncryption();
        QVERIFY(raw.waitForEncrypted(WaitMs));
        raw.write(RawClient::upgradeRequest("/secure", "localhost", ws::Handshake::generateKey()));
        QByteArray answer;
        QVERIFY(QTest::qWaitFor(
            [&] {
                answer += raw.readAll();
                return answer.contains("\r\n\r\n") && answer.endsWith('\n');
            },
            WaitMs));
        QVERIFY2(answer.startsWith("HTTP/1.1 502 Bad Gateway"), answer.constData());
        QVERIFY2(answer.contains("rejected: unable to get local issuer certificate"), answer.constData());
        QVERIFY(answer.contains("--insecure-upstream-host localhost"));
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Failed; });
        QVERIFY(s);
        QCOMPARE(s->close.end, capture::EndReason::TlsError);
        QVERIFY(!s->tls.upstreamVerified);
        QVERIFY(s->tls.upstreamVerification.contains("local issuer"));

        // A QWebSocket client sees the failure too, instead of hanging.
        QVERIFY(refusedThrough(proxy, echo.port()));
    }

    void certificateForAnotherNameIsRejected()
    {
        // The security rule of an intercepting proxy: a valid certificate from a trusted CA, but for another
        // DNS name, must be refused (the hostname check, not only the chain).
        SecureEcho echo(*m_serverCa, "other.test");
        ProxyHarness proxy(config());
        QVERIFY(refusedThrough(proxy, echo.port()));
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Failed; });
        QVERIFY(s);
        QCOMPARE(s->close.end, capture::EndReason::TlsError);
        QVERIFY(!s->tls.upstreamVerified);
        QVERIFY2(s->tls.upstreamVerification.contains("hostname mismatch", Qt::CaseInsensitive),
                 qPrintable(s->tls.upstreamVerification));
    }

    void insecureHostIsAccepted()
    {
        SecureEcho echo(*m_serverCa, "localhost");
        proxy::ProxyConfig c = config(false);
        c.insecureUpstreamHosts = {QStringLiteral("local*")};
        ProxyHarness proxy(c);
        auto ws = client(QUrl(QStringLiteral("wss://localhost:%1/").arg(echo.port())), proxy,
                         m_socktapCa->certificatePem());
        QVERIFY(ws);
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Open; });
        QVERIFY(s);
        QVERIFY(!s->tls.upstreamVerified);
        QVERIFY2(s->tls.upstreamVerification.contains("accepted: verification is off"),
                 qPrintable(s->tls.upstreamVerification));
    }

    void noInterceptTunnelsUntouched()
    {
        SecureEcho echo(*m_serverCa, "localhost");
        proxy::ProxyConfig c = config();
        c.noIntercept = {QStringLiteral("localhost")};
        ProxyHarness proxy(c);
        // The client trusts only the server's CA: it works because it talks to the real server.
        auto ws = client(QUrl(QStringLiteral("wss://localhost:%1/").arg(echo.port())), proxy,
                         m_serverCa->certificatePem());
        QVERIFY(ws);
        QCOMPARE(ws->sslConfiguration().peerCertificate().issuerInfo(QSslCertificate::CommonName).join(""),
                 m_serverCa->commonName());
        QStringList texts;
        QObject::connect(ws.get(), &QWebSocket::textMessageReceived,
                         [&](const QString &m) { texts.append(m); });
        ws->sendTextMessage(QStringLiteral("opaque"));
        QVERIFY(QTest::qWaitFor([&] { return texts.size() == 1; }, WaitMs));
        ws->close();
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Closed; });
        QVERIFY(s);
        QCOMPARE(s->kind, capture::SessionKind::Tunnel);
        QVERIFY(s->tunnelBytes[0] > 0 && s->tunnelBytes[1] > 0);
        QVERIFY(!s->tls.intercepted);
    }

    void reverseWss()
    {
        // Clients speak wss:// to Socktap (a Socktap leaf), Socktap speaks wss:// to the server.
        SecureEcho echo(*m_serverCa, "localhost");
        proxy::ProxyConfig c = config();
        c.reverse = http::RequestTarget::parseAbsolute("wss://localhost:" + QByteArray::number(echo.port()));
        ProxyHarness proxy(c);
        QWebSocket ws;
        ws.setProxy(QNetworkProxy::NoProxy);
        ws.setSslConfiguration(trusting(m_socktapCa->certificatePem()));
        ws.open(QUrl(QStringLiteral("wss://localhost:%1/reverse").arg(proxy.port())));
        QVERIFY(QTest::qWaitFor([&] { return ws.state() == QAbstractSocket::ConnectedState; }, WaitMs));
        QStringList texts;
        QObject::connect(&ws, &QWebSocket::textMessageReceived, [&](const QString &m) { texts.append(m); });
        ws.sendTextMessage(QStringLiteral("reverse tls"));
        QVERIFY(QTest::qWaitFor([&] { return texts.size() == 1; }, WaitMs));
        const auto s = proxy.waitSession([](const auto &s) { return s.state == SessionState::Open; });
        QVERIFY(s);
        QCOMPARE(s->mode, capture::ProxyMode::Reverse);
        QCOMPARE(s->scheme, QByteArray("wss"));
        QVERIFY(s->tls.intercepted);
        QVERIFY(s->tls.upstreamVerified);
        QCOMPARE(s->path, QByteArray("/reverse"));
    }
};

QTEST_MAIN(TestProxyTls)
#include "tst_proxy_tls.moc"
