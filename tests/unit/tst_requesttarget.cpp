// RequestTarget: the four request-target forms (RFC 9112 3.2) and what a proxy must refuse.
#include "core/http/RequestTarget.h"

#include <QTest>

using namespace socktap::http;

class TestRequestTarget final : public QObject
{
    Q_OBJECT

private slots:
    void valid_data()
    {
        QTest::addColumn<QByteArray>("method");
        QTest::addColumn<QByteArray>("target");
        QTest::addColumn<int>("form");
        QTest::addColumn<QByteArray>("scheme");
        QTest::addColumn<QByteArray>("host");
        QTest::addColumn<int>("port");
        QTest::addColumn<QByteArray>("path");
        QTest::addColumn<QByteArray>("url");
        const int origin = int(RequestTarget::Form::Origin), absolute = int(RequestTarget::Form::Absolute),
                  authority = int(RequestTarget::Form::Authority),
                  asterisk = int(RequestTarget::Form::Asterisk);
        QTest::newRow("origin") << QByteArray("GET") << QByteArray("/chat?x=1") << origin << QByteArray()
                                << QByteArray() << 0 << QByteArray("/chat?x=1") << QByteArray("/chat?x=1");
        QTest::newRow("ws absolute") << QByteArray("GET") << QByteArray("ws://h:9000/p") << absolute
                                     << QByteArray("ws") << QByteArray("h") << 9000 << QByteArray("/p")
                                     << QByteArray("ws://h:9000/p");
        QTest::newRow("wss default port") << QByteArray("GET") << QByteArray("wss://Example.COM/feed")
                                          << absolute << QByteArray("wss") << QByteArray("example.com") << 443
                                          << QByteArray("/feed") << QByteArray("wss://example.com/feed");
        QTest::newRow("http no path")
            << QByteArray("GET") << QByteArray("HTTP://a.b") << absolute << QByteArray("http")
            << QByteArray("a.b") << 80 << QByteArray("/") << QByteArray("http://a.b/");
        QTest::newRow("query without path")
            << QByteArray("GET") << QByteArray("http://a?q=1") << absolute << QByteArray("http")
            << QByteArray("a") << 80 << QByteArray("/?q=1") << QByteArray("http://a/?q=1");
        QTest::newRow("fragment dropped")
            << QByteArray("GET") << QByteArray("http://a/x#frag") << absolute << QByteArray("http")
            << QByteArray("a") << 80 << QByteArray("/x") << QByteArray("http://a/x");
        QTest::newRow("ipv6 absolute")
            << QByteArray("GET") << QByteArray("ws://[::1]:8080/s") << absolute << QByteArray("ws")
            << QByteArray("::1") << 8080 << QByteArray("/s") << QByteArray("ws://[::1]:8080/s");
        QTest::newRow("connect") << QByteArray("CONNECT") << QByteArray("example.com:443") << authority
                                 << QByteArray() << QByteArray("example.com") << 443 << QByteArray()
                                 << QByteArray("example.com:443");
        QTest::newRow("connect ipv6")
            << QByteArray("CONNECT") << QByteArray("[::1]:8443") << authority << QByteArray()
            << QByteArray("::1") << 8443 << QByteArray() << QByteArray("[::1]:8443");
        QTest::newRow("connect ipv4")
            << QByteArray("CONNECT") << QByteArray("127.0.0.1:1") << authority << QByteArray()
            << QByteArray("127.0.0.1") << 1 << QByteArray() << QByteArray("127.0.0.1:1");
        QTest::newRow("asterisk") << QByteArray("OPTIONS") << QByteArray("*") << asterisk << QByteArray()
                                  << QByteArray() << 0 << QByteArray("*") << QByteArray("*");
    }

    void valid()
    {
        QFETCH(QByteArray, method);
        QFETCH(QByteArray, target);
        QFETCH(int, form);
        QFETCH(QByteArray, scheme);
        QFETCH(QByteArray, host);
        QFETCH(int, port);
        QFETCH(QByteArray, path);
        QFETCH(QByteArray, url);
        QString error;
        const auto t = RequestTarget::parse(method, target, &error);
        QVERIFY2(t, qPrintable(error));
        QCOMPARE(int(t->form), form);
        QCOMPARE(t->scheme, scheme);
        QCOMPARE(t->host, host);
        QCOMPARE(int(t->port), port);
        QCOMPARE(t->pathAndQuery, path);
        QCOMPARE(t->url(), url);
    }

    void invalid_data()
    {
        QTest::addColumn<QByteArray>("method");
        QTest::addColumn<QByteArray>("target");
        QTest::addColumn<QString>("messagePart");
        QTest::newRow("connect without port")
            << QByteArray("CONNECT") << QByteArray("example.com") << "has no port";
        QTest::newRow("connect port 0") << QByteArray("CONNECT") << QByteArray("a:0") << "invalid port";
        QTest::newRow("connect port too big")
            << QByteArray("CONNECT") << QByteArray("a:65536") << "invalid port";
        QTest::newRow("connect port not a number")
            << QByteArray("CONNECT") << QByteArray("a:8x") << "invalid port";
        QTest::newRow("connect with origin form")
            << QByteArray("CONNECT") << QByteArray("/x") << "invalid host";
        QTest::newRow("unterminated ipv6")
            << QByteArray("CONNECT") << QByteArray("[::1:80") << "unterminated IPv6";
        QTest::newRow("bad ipv6") << QByteArray("CONNECT") << QByteArray("[::g]:80") << "invalid IPv6";
        QTest::newRow("junk after ipv6") << QByteArray("CONNECT") << QByteArray("[::1]x:80") << "after IPv6";
        QTest::newRow("unsupported scheme")
            << QByteArray("GET") << QByteArray("ftp://a/") << "unsupported scheme";
        QTest::newRow("userinfo") << QByteArray("GET") << QByteArray("http://u:p@a/") << "userinfo";
        QTest::newRow("empty host") << QByteArray("GET") << QByteArray("ws:///x") << "invalid host";
        QTest::newRow("bad host char") << QByteArray("GET") << QByteArray("ws://a$b/") << "invalid host";
        QTest::newRow("relative") << QByteArray("GET") << QByteArray("chat") << "neither origin form";
        QTest::newRow("asterisk for GET") << QByteArray("GET") << QByteArray("*") << "only valid for OPTIONS";
    }

    void invalid()
    {
        QFETCH(QByteArray, method);
        QFETCH(QByteArray, target);
        QFETCH(QString, messagePart);
        QString error;
        QVERIFY(!RequestTarget::parse(method, target, &error));
        QVERIFY2(error.contains(messagePart), qPrintable(error));
    }

    void authorityForHostHeader()
    {
        const auto t = RequestTarget::parseAbsolute("ws://[::1]/x");
        QVERIFY(t);
        QCOMPARE(t->authority(), QByteArray("[::1]"));
        QCOMPARE(t->authority(true), QByteArray("[::1]:80"));
        QVERIFY(!t->isSecure());
        QVERIFY(RequestTarget::parseAbsolute("wss://a")->isSecure());
    }
};

QTEST_GUILESS_MAIN(TestRequestTarget)
#include "tst_requesttarget.moc"
