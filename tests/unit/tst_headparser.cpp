// HeadParser: requests and responses in every chunking, what it keeps, and every rejection branch.
#include "core/http/BodyFramer.h"
#include "core/http/HeadParser.h"
#include "core/http/HeadWriter.h"
#include "support/Chunking.h"

#include <QTest>

using namespace socktap::http;
using socktap::test::chunkings;

class TestHeadParser final : public QObject
{
    Q_OBJECT

private:
    struct Fed
    {
        HeadParser::Status status = HeadParser::Status::NeedMore;
        QByteArray rest; // bytes after the head, as the caller would keep them
    };

    static Fed feedAll(HeadParser &parser, const QList<QByteArrayView> &pieces)
    {
        Fed fed;
        for (QByteArrayView piece : pieces) {
            if (fed.status == HeadParser::Status::Complete) {
                fed.rest += piece.toByteArray();
                continue;
            }
            if (fed.status == HeadParser::Status::Error)
                break;
            // A parser may take part of a piece; feed the remainder again, as a proxy does.
            while (!piece.isEmpty()) {
                const auto r = parser.feed(piece);
                fed.status = r.status;
                if (r.status == HeadParser::Status::Complete) {
                    fed.rest += piece.sliced(r.consumed).toByteArray();
                    break;
                }
                if (r.status == HeadParser::Status::Error)
                    break;
                piece = piece.sliced(r.consumed);
            }
        }
        return fed;
    }

private slots:
    void request_data()
    {
        QTest::addColumn<QByteArray>("wire");
        QTest::addColumn<QByteArray>("method");
        QTest::addColumn<QByteArray>("target");
        QTest::addColumn<int>("fieldCount");
        QTest::addColumn<QByteArray>("rest");

        QTest::newRow("websocket upgrade")
            << QByteArray("GET /chat?x=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n\r\n")
            << QByteArray("GET") << QByteArray("/chat?x=1") << 5 << QByteArray();
        QTest::newRow("absolute form with frame after head")
            << QByteArray("GET ws://h:9000/p HTTP/1.1\r\nHost: h:9000\r\n\r\n\x81\x05Hello")
            << QByteArray("GET") << QByteArray("ws://h:9000/p") << 1 << QByteArray("\x81\x05Hello");
        QTest::newRow("connect authority")
            << QByteArray("CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n") << QByteArray("CONNECT")
            << QByteArray("[::1]:8443") << 1 << QByteArray();
        QTest::newRow("leading empty lines ignored (RFC 9112 2.2)")
            << QByteArray("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") << QByteArray("GET") << QByteArray("/")
            << 1 << QByteArray();
        QTest::newRow("bare LF accepted by default")
            << QByteArray("GET / HTTP/1.1\nHost: a\nX: y\n\nrest") << QByteArray("GET") << QByteArray("/")
            << 2 << QByteArray("rest");
        QTest::newRow("no fields") << QByteArray("OPTIONS * HTTP/1.0\r\n\r\n") << QByteArray("OPTIONS")
                                   << QByteArray("*") << 0 << QByteArray();
        QTest::newRow("empty value and obs-text")
            << QByteArray("GET / HTTP/1.1\r\nX-Empty:\r\nX-Latin: caf\xe9\r\n\r\n") << QByteArray("GET")
            << QByteArray("/") << 2 << QByteArray();
        QTest::newRow("pipelined second request stays")
            << QByteArray("GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\n\r\n") << QByteArray("GET")
            << QByteArray("/a") << 1 << QByteArray("GET /b HTTP/1.1\r\n\r\n");
    }

    void request()
    {
        QFETCH(QByteArray, wire);
        QFETCH(QByteArray, method);
        QFETCH(QByteArray, target);
        QFETCH(int, fieldCount);
        QFETCH(QByteArray, rest);
        for (const auto &c : chunkings(wire)) {
            HeadParser parser(HeadParser::Kind::Request);
            const Fed fed = feedAll(parser, c.pieces);
            QVERIFY2(fed.status == HeadParser::Status::Complete,
                     qPrintable(c.name + ": " + parser.error().message));
            QCOMPARE(parser.request().method, method);
            QCOMPARE(parser.request().target, target);
            QCOMPARE(parser.request().headers.size(), fieldCount);
            QCOMPARE(fed.rest, rest);
            QVERIFY(parser.request().raw.size() + rest.size() <= wire.size());
            QVERIFY(wire.endsWith(rest));
        }
    }

    void keepsOrderCaseAndDuplicates()
    {
        const QByteArray wire =
            "GET / HTTP/1.1\r\nHost: a\r\nX-Dup: 1\r\nx-dup: 2\r\nConnection: keep-alive, Upgrade\r\n"
            "Upgrade: WebSocket\r\n\r\n";
        HeadParser parser(HeadParser::Kind::Request);
        QCOMPARE(parser.feed(wire).status, HeadParser::Status::Complete);
        const RequestHead &head = parser.request();
        QCOMPARE(head.raw, wire);
        QCOMPARE(head.headers.fields()[1].name, QByteArray("X-Dup"));
        QCOMPARE(head.headers.fields()[2].name, QByteArray("x-dup"));
        QCOMPARE(head.headers.values("X-DUP"), (QList<QByteArray> {"1", "2"}));
        QCOMPARE(head.headers.combined("x-dup"), QByteArray("1, 2"));
        QVERIFY(head.headers.hasToken("connection", "upgrade"));
        QVERIFY(head.headers.hasToken("Upgrade", "websocket"));
        QVERIFY(!head.headers.hasToken("Connection", "close"));
        QCOMPARE(head.version, (Version {1, 1}));
    }

    void response_data()
    {
        QTest::addColumn<QByteArray>("wire");
        QTest::addColumn<int>("status");
        QTest::addColumn<QByteArray>("reason");
        QTest::newRow("101") << QByteArray(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
                             << 101 << QByteArray("Switching Protocols");
        QTest::newRow("403 with body after head")
            << QByteArray("HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno") << 403
            << QByteArray("Forbidden");
        QTest::newRow("empty reason") << QByteArray("HTTP/1.1 204 \r\n\r\n") << 204 << QByteArray();
        QTest::newRow("no space after code") << QByteArray("HTTP/1.0 200\r\n\r\n") << 200 << QByteArray();
    }

    void response()
    {
        QFETCH(QByteArray, wire);
        QFETCH(int, status);
        QFETCH(QByteArray, reason);
        for (const auto &c : chunkings(wire)) {
            HeadParser parser(HeadParser::Kind::Response);
            const Fed fed = feedAll(parser, c.pieces);
            QVERIFY2(fed.status == HeadParser::Status::Complete,
                     qPrintable(c.name + ": " + parser.error().message));
            QCOMPARE(parser.response().status, status);
            QCOMPARE(parser.response().reason, reason);
            QCOMPARE(parser.response().raw + fed.rest, wire);
        }
    }

    void errors_data()
    {
        QTest::addColumn<QByteArray>("wire");
        QTest::addColumn<int>("kind");
        QTest::addColumn<int>("code");
        QTest::addColumn<int>("httpStatus");
        QTest::addColumn<QString>("messagePart");
        const int req = int(HeadParser::Kind::Request);
        const int res = int(HeadParser::Kind::Response);
        QTest::newRow("head too large")
            << QByteArray("GET / HTTP/1.1\r\nX: " + QByteArray(70000, 'a') + "\r\n\r\n") << req
            << int(HeadErrorCode::HeadTooLarge) << 431 << "exceeds the limit of 65536";
        QByteArray many = "GET / HTTP/1.1\r\n";
        for (int i = 0; i < 101; ++i)
            many += "X-" + QByteArray::number(i) + ": v\r\n";
        QTest::newRow("too many headers")
            << many + "\r\n"
            << req << int(HeadErrorCode::TooManyHeaders) << 431 << "more than 100";
        QTest::newRow("start line too long")
            << QByteArray("GET /" + QByteArray(9000, 'a') + " HTTP/1.1\r\n\r\n") << req
            << int(HeadErrorCode::StartLineTooLong) << 414 << "start line";
        QTest::newRow("two tokens") << QByteArray("GET /\r\n\r\n") << req
                                    << int(HeadErrorCode::MalformedStartLine) << 400
                                    << "METHOD SP TARGET SP VERSION";
        QTest::newRow("double space")
            << QByteArray("GET  / HTTP/1.1\r\n\r\n") << req << int(HeadErrorCode::MalformedStartLine) << 400
            << "malformed request line";
        QTest::newRow("invalid method") << QByteArray("G(T / HTTP/1.1\r\n\r\n") << req
                                        << int(HeadErrorCode::InvalidMethod) << 400 << "invalid method";
        QTest::newRow("control char in target")
            << QByteArray("GET /\x01 HTTP/1.1\r\n\r\n") << req << int(HeadErrorCode::InvalidTarget) << 400
            << "invalid request target";
        QTest::newRow("bad version") << QByteArray("GET / HTTP/1\r\n\r\n") << req
                                     << int(HeadErrorCode::MalformedStartLine) << 400
                                     << "malformed HTTP version";
        QTest::newRow("http/2 version") << QByteArray("GET / HTTP/2.0\r\n\r\n") << req
                                        << int(HeadErrorCode::UnsupportedVersion) << 505 << "not supported";
        QTest::newRow("no colon") << QByteArray("GET / HTTP/1.1\r\nHost a\r\n\r\n") << req
                                  << int(HeadErrorCode::InvalidHeaderName) << 400 << "has no colon";
        QTest::newRow("bad header name")
            << QByteArray("GET / HTTP/1.1\r\nHo(st: a\r\n\r\n") << req
            << int(HeadErrorCode::InvalidHeaderName) << 400 << "invalid header name";
        QTest::newRow("empty header name")
            << QByteArray("GET / HTTP/1.1\r\n: a\r\n\r\n") << req << int(HeadErrorCode::InvalidHeaderName)
            << 400 << "invalid header name";
        QTest::newRow("space before colon")
            << QByteArray("GET / HTTP/1.1\r\nHost : a\r\n\r\n") << req
            << int(HeadErrorCode::WhitespaceBeforeColon) << 400 << "RFC 9112 5.1";
        QTest::newRow("control char in value")
            << QByteArray("GET / HTTP/1.1\r\nX: a\x00"
                          "b\r\n\r\n",
                          26)
            << req << int(HeadErrorCode::InvalidHeaderValue) << 400 << "control character 0x00";
        QTest::newRow("DEL in value") << QByteArray("GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n") << req
                                      << int(HeadErrorCode::InvalidHeaderValue) << 400 << "0x7f";
        QTest::newRow("obs-fold") << QByteArray("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n") << req
                                  << int(HeadErrorCode::ObsoleteLineFolding) << 400
                                  << "obsolete line folding";
        QTest::newRow("bare CR") << QByteArray("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n") << req
                                 << int(HeadErrorCode::BareCr) << 400 << "bare CR";
        QTest::newRow("bad status") << QByteArray("HTTP/1.1 2x0 OK\r\n\r\n") << res
                                    << int(HeadErrorCode::InvalidStatus) << 502 << "invalid status code";
        QTest::newRow("status 600") << QByteArray("HTTP/1.1 600 Odd\r\n\r\n") << res
                                    << int(HeadErrorCode::InvalidStatus) << 502 << "invalid status code";
        QTest::newRow("response without space")
            << QByteArray("HTTP/1.1\r\n\r\n") << res << int(HeadErrorCode::MalformedStartLine) << 502
            << "malformed status line";
        QTest::newRow("control char in reason")
            << QByteArray("HTTP/1.1 200 O\x01K\r\n\r\n") << res << int(HeadErrorCode::MalformedStartLine)
            << 502 << "reason phrase";
        QTest::newRow("bad response header is 502")
            << QByteArray("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n") << res
            << int(HeadErrorCode::InvalidHeaderName) << 502 << "invalid header name";
    }

    void errors()
    {
        QFETCH(QByteArray, wire);
        QFETCH(int, kind);
        QFETCH(int, code);
        QFETCH(int, httpStatus);
        QFETCH(QString, messagePart);
        for (const auto &c : chunkings(wire, wire.size() > 5000 ? 1 : 4)) {
            HeadParser parser {HeadParser::Kind(kind)};
            const Fed fed = feedAll(parser, c.pieces);
            QCOMPARE(fed.status, HeadParser::Status::Error);
            QCOMPARE(int(parser.error().code), code);
            QCOMPARE(parser.error().httpStatus, httpStatus);
            QVERIFY2(parser.error().message.contains(messagePart), qPrintable(parser.error().message));
            // Once failed, the parser stays failed.
            QCOMPARE(parser.feed("more").status, HeadParser::Status::Error);
        }
    }

    void bareLfRejectedByPolicy()
    {
        HeadLimits limits;
        limits.bareLf = BareLfPolicy::Reject;
        HeadParser parser(HeadParser::Kind::Request, limits);
        QCOMPARE(parser.feed("GET / HTTP/1.1\r\nHost: a\n\r\n").status, HeadParser::Status::Error);
        QCOMPARE(parser.error().code, HeadErrorCode::BareLf);
        QCOMPARE(parser.error().httpStatus, 400);
    }

    void limitsAreConfigurable()
    {
        HeadLimits limits;
        limits.maxHeadSize = 32;
        HeadParser parser(HeadParser::Kind::Request, limits);
        QCOMPARE(parser.feed("GET / HTTP/1.1\r\nHost: abcdefghijkl\r\n\r\n").status,
                 HeadParser::Status::Error);
        QCOMPARE(parser.error().code, HeadErrorCode::HeadTooLarge);
        // A huge chunk is never buffered whole: the error comes from the first limit's worth.
        HeadParser big(HeadParser::Kind::Request, limits);
        QCOMPARE(big.feed(QByteArray(10 * 1024 * 1024, 'a')).status, HeadParser::Status::Error);
    }

    void needMoreUntilEmptyLine()
    {
        HeadParser parser(HeadParser::Kind::Request);
        QCOMPARE(parser.feed("GET / HTTP/1.1\r\nHost: a\r\n").status, HeadParser::Status::NeedMore);
        QCOMPARE(parser.feed("\r").status, HeadParser::Status::NeedMore);
        const auto r = parser.feed("\nXYZ");
        QCOMPARE(r.status, HeadParser::Status::Complete);
        QCOMPARE(r.consumed, 1);
        parser.reset();
        QCOMPARE(parser.status(), HeadParser::Status::NeedMore);
        QCOMPARE(parser.feed("GET /again HTTP/1.1\r\n\r\n").status, HeadParser::Status::Complete);
        QCOMPARE(parser.request().target, QByteArray("/again"));
    }

    void writerRoundTrips()
    {
        const QByteArray wire =
            "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
        HeadParser parser(HeadParser::Kind::Request);
        QCOMPARE(parser.feed(wire).status, HeadParser::Status::Complete);
        QCOMPARE(serialize(parser.request()), wire);
    }

    void persistence_data()
    {
        QTest::addColumn<QByteArray>("connection");
        QTest::addColumn<int>("minor");
        QTest::addColumn<bool>("persists");
        QTest::newRow("1.1 default") << QByteArray() << 1 << true;
        QTest::newRow("1.1 close") << QByteArray("close") << 1 << false;
        QTest::newRow("1.1 close among tokens") << QByteArray("Upgrade, Close") << 1 << false;
        QTest::newRow("1.0 default") << QByteArray() << 0 << false;
        QTest::newRow("1.0 keep-alive") << QByteArray("keep-alive") << 0 << true;
    }

    void persistence()
    {
        QFETCH(QByteArray, connection);
        QFETCH(int, minor);
        QFETCH(bool, persists);
        Headers h;
        if (!connection.isEmpty())
            h.append("Connection", connection);
        QCOMPARE(socktap::http::persists(h, Version {1, minor}), persists);
    }

    void hopByHopRemoval()
    {
        Headers h;
        h.append("Host", "a");
        h.append("Connection", "Upgrade, X-Private");
        h.append("Upgrade", "websocket");
        h.append("Proxy-Connection", "keep-alive");
        h.append("Proxy-Authorization", "Basic Zm9vOmJhcg==");
        h.append("X-Private", "1");
        h.append("Keep-Alive", "timeout=5");
        const auto removed = removeHopByHop(h, true);
        QVERIFY(removed.contains("X-Private"));
        QVERIFY(removed.contains("Proxy-Authorization"));
        QVERIFY(h.contains("Connection"));
        QVERIFY(h.contains("Upgrade"));
        QVERIFY(!h.contains("Proxy-Connection"));
        QVERIFY(!h.contains("keep-alive"));
        QCOMPARE(h.size(), 3);
        removeHopByHop(h, false);
        QVERIFY(!h.contains("Connection"));
        QVERIFY(!h.contains("Upgrade"));
    }

    void errorResponseIsComplete()
    {
        const ErrorAnswer answer = errorAnswer(502, QStringLiteral("upstream refused: connection refused"));
        const QByteArray wire = answer.wire();
        HeadParser parser(HeadParser::Kind::Response);
        const auto r = parser.feed(wire);
        QCOMPARE(r.status, HeadParser::Status::Complete);
        QCOMPARE(parser.response().status, 502);
        QCOMPARE(parser.response().reason, QByteArray("Bad Gateway"));
        const QByteArray body = wire.sliced(r.consumed);
        QCOMPARE(parser.response().headers.value("Content-Length").toInt(), body.size());
        QVERIFY(body.contains("connection refused"));
        QCOMPARE(body, answer.body);
        QCOMPARE(wire.first(r.consumed), answer.head.raw); // what is recorded is what is sent
    }

    void splitListHonoursQuotes()
    {
        const auto items = splitList(R"(a, "b,c" , ,d)");
        QCOMPARE(items.size(), 3);
        QCOMPARE(items[1], QByteArrayView(R"("b,c")"));
    }

    void transferEncodingOverSeveralFields()
    {
        // RFC 9110 5.3: two Transfer-Encoding fields are one list; chunked last decides the framing. (Under
        // the sanitizer stage this also guards the list's views, which point into the combined value.)
        HeadParser request(HeadParser::Kind::Request);
        QCOMPARE(request
                     .feed("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n")
                     .status,
                 HeadParser::Status::Complete);
        const auto framer = BodyFramer::forRequest(request.request());
        QVERIFY(framer);
        QCOMPARE(framer->kind(), BodyFramer::Kind::Chunked);
        HeadParser response(HeadParser::Kind::Response);
        QCOMPARE(response
                     .feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                           "Transfer-Encoding: gzip\r\n\r\n")
                     .status,
                 HeadParser::Status::Complete);
        const auto untilClose = BodyFramer::forResponse(response.response(), "GET");
        QVERIFY(untilClose);
        QCOMPARE(untilClose->kind(), BodyFramer::Kind::UntilClose); // chunked not last: read until close
    }
};

QTEST_GUILESS_MAIN(TestHeadParser)
#include "tst_headparser.moc"
