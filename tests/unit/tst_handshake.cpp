// Handshake: RFC 6455 4.2.2 accept vector, every request and response check, extension and subprotocol
// header parsing.
#include "core/http/HeadParser.h"
#include "core/ws/Handshake.h"

#include <QSet>
#include <QTest>

using namespace socktap;
using namespace socktap::ws;

namespace {

http::RequestHead request(const QByteArray &wire)
{
    http::HeadParser p(http::HeadParser::Kind::Request);
    if (p.feed(wire).status != http::HeadParser::Status::Complete)
        qFatal("bad test request: %s", qPrintable(p.error().message));
    return p.takeRequest();
}

http::ResponseHead response(const QByteArray &wire)
{
    http::HeadParser p(http::HeadParser::Kind::Response);
    if (p.feed(wire).status != http::HeadParser::Status::Complete)
        qFatal("bad test response: %s", qPrintable(p.error().message));
    return p.takeResponse();
}

const QByteArray GoodRequest =
    "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
    "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, permessage-deflate\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n";

QByteArray replaced(QByteArray wire, const QByteArray &from, const QByteArray &to)
{
    return wire.replace(from, to);
}

} // namespace

class TestHandshake final : public QObject
{
    Q_OBJECT

private slots:
    void acceptKey()
    {
        // RFC 6455 4.2.2 and 1.3.
        QCOMPARE(Handshake::acceptFor("dGhlIHNhbXBsZSBub25jZQ=="),
                 QByteArray("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    }

    void generatedKeys()
    {
        QSet<QByteArray> keys;
        for (int i = 0; i < 32; ++i) {
            const QByteArray key = Handshake::generateKey();
            QCOMPARE(key.size(), 24);
            QCOMPARE(QByteArray::fromBase64(key).size(), 16);
            keys.insert(key);
        }
        QCOMPARE(keys.size(), 32);
    }

    void goodRequest()
    {
        QString error;
        const auto r = Handshake::checkRequest(request(GoodRequest), &error);
        QVERIFY2(r, qPrintable(error));
        QCOMPARE(r->key, QByteArray("dGhlIHNhbXBsZSBub25jZQ=="));
        QCOMPARE(r->protocols, (QList<QByteArray> {"chat", "superchat"}));
        QCOMPARE(r->extensions.size(), 2);
        QCOMPARE(r->deflateOffers.size(), 2);
        QVERIFY(r->deflateOffers[0].clientMaxWindowBits);
        QCOMPARE(r->origin, QByteArray("http://example.com"));
        QVERIFY(Handshake::isUpgradeRequest(request(GoodRequest)));
    }

    void badRequest_data()
    {
        QTest::addColumn<QByteArray>("wire");
        QTest::addColumn<QString>("messagePart");
        QTest::newRow("POST") << replaced(GoodRequest, "GET /chat", "POST /chat") << "not GET";
        QTest::newRow("HTTP/1.0") << replaced(GoodRequest, "HTTP/1.1", "HTTP/1.0") << "HTTP/1.0";
        QTest::newRow("no Host") << replaced(GoodRequest, "Host: server.example.com\r\n", "") << "no Host";
        QTest::newRow("Upgrade h2c") << replaced(GoodRequest, "Upgrade: websocket", "Upgrade: h2c")
                                     << "Upgrade header";
        QTest::newRow("no Connection upgrade")
            << replaced(GoodRequest, "keep-alive, Upgrade", "keep-alive") << "Connection header";
        QTest::newRow("no key") << replaced(GoodRequest, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                                            "")
                                << "missing";
        QTest::newRow("two keys") << replaced(
            GoodRequest, "Origin:", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin:")
                                  << "more than once";
        QTest::newRow("short key") << replaced(GoodRequest, "dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=")
                                   << "16 bytes";
        QTest::newRow("not base64") << replaced(GoodRequest,
                                                "dGhlIHNhbXBsZSBub25jZQ==", "!!!!!!!!!!!!!!!!!!!!!!==")
                                    << "16 bytes";
        QTest::newRow("version 8") << replaced(GoodRequest, "Version: 13", "Version: 8") << "not 13";
        QTest::newRow("bad protocol")
            << replaced(GoodRequest, "chat, superchat", "chat, super chat") << "invalid subprotocol";
        QTest::newRow("bad extension")
            << replaced(GoodRequest, "permessage-deflate; client_max_window_bits,", "x=y;,")
            << "Sec-WebSocket-Extensions";
    }

    void badRequest()
    {
        QFETCH(QByteArray, wire);
        QFETCH(QString, messagePart);
        QString error;
        QVERIFY(!Handshake::checkRequest(request(wire), &error));
        QVERIFY2(error.contains(messagePart), qPrintable(error));
    }

    void goodResponse()
    {
        const auto req = Handshake::checkRequest(request(GoodRequest));
        QVERIFY(req);
        QString error;
        const auto res = Handshake::checkResponse(
            response("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                     "Sec-WebSocket-Protocol: chat\r\n"
                     "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n\r\n"),
            *req, &error);
        QVERIFY2(res, qPrintable(error));
        QCOMPARE(res->protocol, QByteArray("chat"));
        QVERIFY(res->deflate);
        QCOMPARE(res->deflate->clientMaxWindowBits, 10);
        QCOMPARE(res->deflate->serverMaxWindowBits, 15);
    }

    void badResponse_data()
    {
        QTest::addColumn<QByteArray>("wire");
        QTest::addColumn<QString>("messagePart");
        const QByteArray ok =
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
        QTest::newRow("403") << QByteArray("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                             << "403 Forbidden instead of 101";
        QTest::newRow("no upgrade") << replaced(ok, "Upgrade: websocket\r\n", "") + "\r\n"
                                    << "Upgrade header";
        QTest::newRow("no connection") << replaced(ok, "Connection: Upgrade\r\n", "") + "\r\n"
                                       << "Connection header";
        QTest::newRow("no accept") << replaced(ok, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n",
                                               "")
                + "\r\n"
                                   << "missing";
        QTest::newRow("wrong accept")
            << replaced(ok, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=") + "\r\n"
            << "expected 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='";
        QTest::newRow("extension not offered")
            << ok + "Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n\r\n"
            << "did not offer";
        QTest::newRow("deflate param not offered")
            << ok + "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16\r\n\r\n"
            << "8-15";
        QTest::newRow("deflate twice")
            << ok + "Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate\r\n\r\n"
            << "twice";
        QTest::newRow("protocol not offered") << ok + "Sec-WebSocket-Protocol: other\r\n\r\n"
                                              << "did not offer";
        QTest::newRow("two protocols") << ok + "Sec-WebSocket-Protocol: chat, superchat\r\n\r\n"
                                       << "more than one";
    }

    void badResponse()
    {
        QFETCH(QByteArray, wire);
        QFETCH(QString, messagePart);
        const auto req = Handshake::checkRequest(request(GoodRequest));
        QString error;
        QVERIFY(!Handshake::checkResponse(response(wire), *req, &error));
        QVERIFY2(error.contains(messagePart), qPrintable(error));
    }

    void protocolWithoutOffer()
    {
        auto plain = Handshake::checkRequest(
            request(replaced(GoodRequest, "Sec-WebSocket-Protocol: chat, superchat\r\n", "")));
        QVERIFY(plain);
        QString error;
        QVERIFY(!Handshake::checkResponse(
            response(
                "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
                "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n"),
            *plain, &error));
        QVERIFY2(error.contains("did not offer"), qPrintable(error));
    }

    void claimedResponseIgnoresTheRules()
    {
        // No key check, no offer check: what the server says it chose.
        const auto claimed = Handshake::claimedResponse(
            response("HTTP/1.1 101 OK\r\nSec-WebSocket-Protocol: chat\r\n"
                     "Sec-WebSocket-Extensions: permessage-deflate; "
                     "server_max_window_bits=10; client_no_context_takeover\r\n\r\n"));
        QCOMPARE(claimed.protocol, QByteArray("chat"));
        QCOMPARE(claimed.extensions.size(), 1);
        QVERIFY(claimed.deflate);
        QCOMPARE(claimed.deflate->serverMaxWindowBits, 10);
        QVERIFY(claimed.deflate->clientNoContextTakeover);
        // Unparseable deflate parameters still mean "compressed": decode with the defaults.
        const auto odd = Handshake::claimedResponse(
            response("HTTP/1.1 101 OK\r\nSec-WebSocket-Extensions: permessage-deflate; "
                     "mystery=1\r\n\r\n"));
        QCOMPARE(odd.deflate.value(), DeflateParams {});
        QVERIFY(!Handshake::claimedResponse(response("HTTP/1.1 101 OK\r\n\r\n")).deflate);
    }

    void extensionHeader()
    {
        QString error;
        const auto list = parseExtensions(
            R"(permessage-deflate; client_max_window_bits; server_max_window_bits="10", foo)", &error);
        QVERIFY2(list, qPrintable(error));
        QCOMPARE(list->size(), 2);
        QCOMPARE(list->at(0).params.size(), 2);
        QVERIFY(!list->at(0).params[0].value);
        QCOMPARE(list->at(0).params[1].value.value(), QByteArray("10"));
        QCOMPARE(list->at(1).name, QByteArray("foo"));
        QCOMPARE(serializeExtensions(*list),
                 QByteArray("permessage-deflate; client_max_window_bits; server_max_window_bits=10, foo"));
        QVERIFY(parseExtensions("", &error)->isEmpty());
        QVERIFY(!parseExtensions("a; b=\"c d\"", &error)); // RFC 6455 9.1: quoted value must be a token
        QVERIFY(!parseExtensions("a b", &error));
        QVERIFY(!parseExtensions("a; =1", &error));
        QVERIFY(!parseExtensions("a; b=\"unterminated", &error));
        QCOMPARE(parseProtocols(" chat ,superchat")->size(), 2);
        QVERIFY(!parseProtocols("chat, a/b"));
    }
};

QTEST_GUILESS_MAIN(TestHandshake)
#include "tst_handshake.moc"
