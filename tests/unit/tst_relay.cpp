// WebSocketRelay as a transcript (no sockets): bytes in from a side, then what the sink was told to do,
// in order: forward bytes, capture messages, fail the connection.
#include "core/intercept/Interceptor.h"
#include "core/proxy/WebSocketRelay.h"
#include "core/ws/ClosePayload.h"
#include "core/ws/Deflater.h"
#include "core/ws/FrameWriter.h"
#include "core/ws/Inflater.h"

#include <QTest>

using namespace socktap;
using capture::Direction;

namespace {

// Records the sink calls as lines of a transcript.
struct Transcript final : proxy::WebSocketRelay::Sink
{
    QStringList lines;
    QByteArray forwardedToServer;
    QByteArray forwardedToClient;
    std::vector<intercept::HeldMessage> heldNow;
    std::vector<std::pair<quint64, int>> delays;
    std::vector<capture::MessageFacts> facts; // views valid only during the call: payloads copied below
    QList<QByteArray> capturedPayloads;
    QList<QByteArray> capturedOriginals;
    QList<quint16> capturedFlags;

    void forward(Direction from, QByteArrayView bytes) override
    {
        (from == Direction::ClientToServer ? forwardedToServer : forwardedToClient) += bytes.toByteArray();
        lines.append(QStringLiteral("forward %1 %2")
                         .arg(QLatin1String(capture::directionName(from)))
                         .arg(bytes.size()));
    }
    void captured(Direction from, const capture::MessageFacts &m) override
    {
        QString flags;
        const std::pair<quint16, const char *> names[] = {
            {capture::MessageFlag::Held, " held"},         {capture::MessageFlag::Delayed, " delayed"},
            {capture::MessageFlag::Edited, " edited"},     {capture::MessageFlag::Dropped, " dropped"},
            {capture::MessageFlag::Injected, " injected"}, {capture::MessageFlag::Reencoded, " reencoded"},
            {capture::MessageFlag::Resent, " resent"}};
        for (const auto &[flag, name] : names) {
            if (m.flags & flag)
                flags += QLatin1String(name);
        }
        const QByteArray shown =
            m.opcode == 8 ? ws::ClosePayload::parse(m.payload).reason : m.payload.toByteArray();
        lines.append(QStringLiteral("captured %1 %2 \"%3\"%4%5")
                         .arg(QLatin1String(capture::directionName(from)),
                              QLatin1String(ws::opcodeName(m.opcode)), QString::fromUtf8(shown),
                              m.violations ? QStringLiteral(" !") : QString(), flags));
        capturedPayloads.append(m.payload.toByteArray());
        capturedOriginals.append(m.original.toByteArray());
        capturedFlags.append(m.flags);
    }
    void fail(Direction from, quint16 code, const QString &) override
    {
        lines.append(QStringLiteral("fail %1 %2").arg(QLatin1String(capture::directionName(from))).arg(code));
    }
    void held(const intercept::HeldMessage &h) override
    {
        heldNow.push_back(h);
        lines.append(QStringLiteral("held %1 %2 \"%3\"")
                         .arg(QLatin1String(capture::directionName(h.from)))
                         .arg(h.id)
                         .arg(QString::fromUtf8(h.payload)));
    }
    void unheld(Direction from, quint64 id) override
    {
        std::erase_if(heldNow, [&](const auto &h) { return h.from == from && h.id == id; });
        lines.append(QStringLiteral("unheld %1 %2").arg(QLatin1String(capture::directionName(from))).arg(id));
    }
    void delay(Direction from, quint64 id, int ms) override
    {
        delays.emplace_back(id, ms);
        lines.append(QStringLiteral("delay %1 %2 %3 ms")
                         .arg(QLatin1String(capture::directionName(from)))
                         .arg(id)
                         .arg(ms));
    }
};

QByteArray clientText(const QByteArray &text, bool fin = true)
{
    return ws::FrameWriter::frame(ws::Opcode::Text, text, true, fin);
}

QByteArray serverText(const QByteArray &text, bool fin = true)
{
    return ws::FrameWriter::frame(ws::Opcode::Text, text, false, fin);
}

// A receiving peer: decodes what Socktap forwarded, inflating with the negotiated parameters.
struct Receiver
{
    ws::FrameParser parser;
    ws::MessageAssembler assembler;
    QList<QByteArray> texts;
    ws::Violations violations;

    Receiver(ws::FrameParser::Sender sender, std::optional<std::pair<int, bool>> deflate = std::nullopt)
        : parser([&] {
            ws::FrameParser::Options o;
            o.sender = sender;
            o.perMessageDeflate = deflate.has_value();
            return o;
        }())
    {
        if (deflate)
            assembler.enableDeflate(deflate->first, deflate->second);
    }
    void feed(QByteArrayView bytes)
    {
        for (;;) {
            const auto ev = parser.next(bytes);
            bytes = bytes.sliced(ev.consumed);
            if (ev.kind == ws::FrameParser::Event::Kind::NeedMore
                || ev.kind == ws::FrameParser::Event::Kind::Error)
                return;
            if (const auto *m = assembler.handle(ev, 0)) {
                violations |= m->violations;
                texts.append(m->payload.toByteArray());
            }
        }
    }
};

intercept::Rule messageRule(intercept::Action action,
                            intercept::SenderMatch sender = intercept::SenderMatch::Both)
{
    intercept::Rule r;
    r.action = action;
    r.match.sender = sender;
    return r;
}

std::shared_ptr<const intercept::RuleSet> ruleSet(std::vector<intercept::Rule> rules)
{
    auto set = std::make_shared<intercept::RuleSet>();
    set->rules = std::move(rules);
    return set;
}

// Prints both transcripts up to the first difference, as mitmproxy's playbook does.
bool sameTranscript(const QStringList &actual, const QStringList &expected)
{
    for (qsizetype i = 0; i < std::max(actual.size(), expected.size()); ++i) {
        const QString a = actual.value(i, QStringLiteral("<nothing>"));
        const QString e = expected.value(i, QStringLiteral("<nothing>"));
        if (a != e) {
            qWarning("transcript differs at line %lld:\n  actual:   %s\n  expected: %s", i, qPrintable(a),
                     qPrintable(e));
            return false;
        }
    }
    return true;
}

} // namespace

class TestRelay final : public QObject
{
    Q_OBJECT

private slots:
    void forwardsWholeChunksAndCapturesInOrder()
    {
        Transcript t;
        proxy::WebSocketRelay relay({}, t);
        const QByteArray chunk = clientText("hi") + ws::FrameWriter::frame(ws::Opcode::Ping, "p", true);
        relay.received(Direction::ClientToServer, chunk, 1);
        relay.received(Direction::ServerToClient, ws::FrameWriter::frame(ws::Opcode::Text, "hi", false), 2);
        QVERIFY(sameTranscript(t.lines,
                               {"captured client text \"hi\"", "captured client ping \"p\"",
                                QStringLiteral("forward client %1").arg(chunk.size()),
                                "captured server text \"hi\"", "forward server 4"}));
        QCOMPARE(t.forwardedToServer, chunk);
    }

    void partialFramesAreForwardedAtOnce()
    {
        // Forwarding never waits for a frame to complete: a big frame streams through.
        Transcript t;
        proxy::WebSocketRelay relay({}, t);
        const QByteArray frame = clientText(QByteArray(1000, 'x'));
        relay.received(Direction::ClientToServer, frame.first(300), 1);
        relay.received(Direction::ClientToServer, frame.sliced(300), 2);
        QVERIFY(sameTranscript(t.lines,
                               {"forward client 300",
                                QStringLiteral("captured client text \"%1\"").arg(QString(1000, 'x')),
                                QStringLiteral("forward client %1").arg(frame.size() - 300)}));
        QCOMPARE(t.forwardedToServer, frame);
    }

    void closingHandshake()
    {
        Transcript t;
        proxy::WebSocketRelay relay({}, t);
        relay.received(Direction::ServerToClient,
                       ws::FrameWriter::frame(ws::Opcode::Close, ws::ClosePayload::build(1001, "bye"), false),
                       10);
        QVERIFY(!relay.close().handshakeCompleted());
        QCOMPARE(relay.close().firstCloser, Direction::ServerToClient);
        QCOMPARE(relay.close().firstCloseTime, 10);
        relay.received(Direction::ClientToServer,
                       ws::FrameWriter::frame(ws::Opcode::Close, ws::ClosePayload::build(1000), true), 11);
        QVERIFY(relay.close().handshakeCompleted());
        QCOMPARE(relay.close().code[1].value(), quint16(1001));
        QCOMPARE(relay.close().code[0].value(), quint16(1000));
        QCOMPARE(relay.close().effectiveCode(), quint16(1001));
    }

    void transparentForwardsViolations()
    {
        Transcript t;
        proxy::WebSocketRelay relay({}, t);
        const QByteArray unmasked = ws::FrameWriter::frame(ws::Opcode::Text, "bare", false);
        relay.received(Direction::ClientToServer, unmasked, 1);
        QVERIFY(sameTranscript(t.lines, {"captured client text \"bare\" !", "forward client 6"}));
        QVERIFY(relay.violations().testFlag(ws::Violation::UnmaskedClientFrame));
        QVERIFY(relay.firstViolation().startsWith("client: client frame not masked"));
        QVERIFY(!relay.failed());
    }

    void strictWithholdsTheBadFrame()
    {
        Transcript t;
        proxy::WebSocketRelay::Options options;
        options.strict = true;
        proxy::WebSocketRelay relay(options, t);
        const QByteArray good = clientText("ok");
        const QByteArray bad = ws::FrameWriter::frame(ws::Opcode::Text, "bare", false);
        relay.received(Direction::ClientToServer, good + bad + good, 1);
        QVERIFY(sameTranscript(t.lines,
                               {"captured client text \"ok\"",
                                QStringLiteral("forward client %1").arg(good.size()), "fail client 1002"}));
        QCOMPARE(t.forwardedToServer, good);
        relay.received(Direction::ClientToServer, good, 2); // after failing, nothing crosses
        QCOMPARE(t.lines.size(), 3);
    }

    void strictFailsInvalidUtf8With1007()
    {
        Transcript t;
        proxy::WebSocketRelay::Options options;
        options.strict = true;
        proxy::WebSocketRelay relay(options, t);
        // The first fragment passes (it is valid so far); the final one completes an invalid message.
        const QByteArray first = clientText(QByteArray::fromHex("e282"), false);
        const QByteArray last =
            ws::FrameWriter::frame(ws::Opcode::Continuation, QByteArray::fromHex("41"), true);
        relay.received(Direction::ClientToServer, first, 1);
        relay.received(Direction::ClientToServer, last, 2);
        QCOMPARE(t.lines.last(), QStringLiteral("fail client 1007"));
        QCOMPARE(t.forwardedToServer, first);
    }

    void fatalParseErrorKeepsRelaying()
    {
        // A 64-bit length with its top bit set cannot be parsed past; the bytes still pass in transparent
        // mode.
        Transcript t;
        proxy::WebSocketRelay relay({}, t);
        const QByteArray broken = QByteArray::fromHex("827f8000000000000000") + "junk";
        relay.received(Direction::ServerToClient, broken, 1);
        relay.received(Direction::ServerToClient, "more", 2);
        QCOMPARE(t.forwardedToClient, broken + "more");
        QVERIFY(!relay.decoding(Direction::ServerToClient));
        QVERIFY(relay.decoding(Direction::ClientToServer));
        QVERIFY(relay.violations().testFlag(ws::Violation::LengthHighBitSet));
    }

    void holdKeepsOrderWhileTheOtherDirectionFlows_data()
    {
        QTest::addColumn<bool>("holdPingPong");
        QTest::newRow("pings pass a pause (default)") << false;
        QTest::newRow("pause holds pings too") << true;
    }

    void holdKeepsOrderWhileTheOtherDirectionFlows()
    {
        QFETCH(bool, holdPingPong);
        Transcript t;
        proxy::WebSocketRelay relay({}, t);
        intercept::Interceptor interceptor;
        interceptor.setPaused(Direction::ClientToServer, true, holdPingPong);
        relay.setInterceptor(&interceptor);
        const QByteArray a = clientText("a"), ping = ws::FrameWriter::frame(ws::Opcode::Ping, "p", true),
                         b = clientText("b");
        relay.received(Direction::ClientToServer, a + ping + b, 1);
        relay.received(Direction::ServerToClient, serverText("s"), 2);
        if (!holdPingPong) {
            // "a" and "b" are held; the ping passes them (a keepalive must not starve while the user
            // looks), byte for byte; the server's message is not held up.
            QVERIFY(sameTranscript(t.lines, {"held client 1 \"a\"", "captured client ping \"p\"",
                                             "held client 2 \"b\"",
                                             QStringLiteral("forward client %1").arg(ping.size()),
                                             "captured server text \"s\"", "forward server 3"}));
            QCOMPARE(t.forwardedToServer, ping);
            QCOMPARE(relay.heldCount(Direction::ClientToServer), 2);
            relay.releaseAll(Direction::ClientToServer, 5);
            QCOMPARE(t.forwardedToServer, ping + a + b);
            QCOMPARE(relay.backlog(Direction::ClientToServer), 0);
            return;
        }
        // Asked to: the ping is held too, in its place.
        QVERIFY(sameTranscript(t.lines, {"held client 1 \"a\"", "held client 2 \"p\"", "held client 3 \"b\"",
                                         "captured server text \"s\"", "forward server 3"}));
        QVERIFY(t.forwardedToServer.isEmpty());
        QCOMPARE(relay.heldCount(Direction::ClientToServer), 3);
        QVERIFY(relay.backlog(Direction::ClientToServer) > 0);
        t.lines.clear();
        QVERIFY(relay.release(Direction::ClientToServer, 1, nullptr, 3).ok);
        QCOMPARE(t.forwardedToServer, a); // byte for byte, masks included
        QVERIFY(!relay.release(Direction::ClientToServer, 1, nullptr, 4).ok); // already gone
        relay.releaseAll(Direction::ClientToServer, 5);
        QCOMPARE(t.forwardedToServer, a + ping + b);
        QCOMPARE(relay.backlog(Direction::ClientToServer), 0);
    }

    void aCloseBehindHeldMessagesIsHeldToo()
    {
        // The client's Close would cut off the messages held ahead of it: it is held and shown as well,
        // and leaves only when the user says so, after them.
        Transcript t;
        proxy::WebSocketRelay relay({}, t);
        intercept::Interceptor interceptor;
        interceptor.setPaused(Direction::ClientToServer, true);
        relay.setInterceptor(&interceptor);
        const QByteArray a = clientText("a");
        const QByteArray close = ws::FrameWriter::frame(ws::Opcode::Close, QByteArray("\x03\xe8", 2), true);
        relay.received(Direction::ClientToServer, a + close, 1);
        QCOMPARE(relay.heldCount(Direction::ClientToServer), 2);
        QVERIFY(t.forwardedToServer.isEmpty());
        QCOMPARE(t.lines.size(), 2);
        QVERIFY2(t.lines[1].startsWith(QStringLiteral("held client 2 ")), qPrintable(t.lines.join('\n')));
        relay.releaseAll(Direction::ClientToServer, 2);
        QCOMPARE(t.forwardedToServer, a + close);
        // Without anything held ahead, a Close in a paused direction is not held.
        Transcript u;
        proxy::WebSocketRelay plain({}, u);
        plain.setInterceptor(&interceptor);
        plain.received(Direction::ClientToServer, close, 1);
        QCOMPARE(u.forwardedToServer, close);
    }

    void aCloseThatCannotReachItsReceiverDidNotCross()
    {
        // The server has gone: the client's Close reaches Socktap and no further. Recorded as received
        // (code, reason) and not delivered; the closing handshake is not complete.
        Transcript t;
        proxy::WebSocketRelay relay({}, t);
        relay.setUndeliverable(Direction::ClientToServer);
        relay.received(Direction::ClientToServer,
                       ws::FrameWriter::frame(ws::Opcode::Close, QByteArray("\x03\xe8" "bye", 5), true), 1);
        relay.received(Direction::ServerToClient, ws::FrameWriter::frame(ws::Opcode::Close, "", false), 2);
        const capture::CloseInfo &c = relay.close();
        QVERIFY(!c.closeSent[0]);
        QVERIFY(c.closeUndelivered[0]);
        QCOMPARE(c.code[0], std::optional<quint16>(1000));
        QCOMPARE(c.reason[0], QByteArray("bye"));
        QVERIFY(c.closeSent[1]);
        QVERIFY(!c.handshakeCompleted());
        QCOMPARE(c.firstCloser, std::optional(Direction::ClientToServer));
    }

    void releaseEditedSendsTheNewPayloadAndKeepsTheOriginal()
    {
        Transcript t;
        proxy::WebSocketRelay relay({}, t);
        intercept::Interceptor interceptor;
        interceptor.setPaused(Direction::ServerToClient, true);
        relay.setInterceptor(&interceptor);
        relay.received(Direction::ServerToClient, serverText("{\"n\":1}"), 1);
        intercept::OutgoingMessage edit {quint8(ws::Opcode::Binary), QByteArray("\xff\x00 new", 6), 3};
        QVERIFY(relay.release(Direction::ServerToClient, 1, &edit, 2).ok);
        Receiver client(ws::FrameParser::Sender::Server);
        client.feed(t.forwardedToClient);
        QCOMPARE(client.texts, QList<QByteArray>({QByteArray("\xff\x00 new", 6)}));
        QVERIFY(!client.violations); // three unmasked frames: Binary, Continuation, Continuation (fin)
        QCOMPARE(t.capturedOriginals.last(), QByteArray("{\"n\":1}"));
        QVERIFY(t.capturedFlags.last() & capture::MessageFlag::Edited);
        QVERIFY(t.capturedFlags.last() & capture::MessageFlag::Held);
        // Resuming: later messages pass untouched again.
        interceptor.setPaused(Direction::ServerToClient, false);
        relay.refreshGates();
        const QByteArray next = serverText("after");
        const QByteArray before = t.forwardedToClient;
        relay.received(Direction::ServerToClient, next, 3);
        QCOMPARE(t.forwardedToClient, before + next);
        QVERIFY(!relay.gated(Direction::ServerToClient));
    }

    void editedTextMayBeInvalidUtf8AndIsFlagged()
    {
        Transcript t;
        proxy::WebSocketRelay relay({}, t);
        intercept::Interceptor interceptor;
        interceptor.setPaused(Direction::ClientToServer, true);
        relay.setInterceptor(&interceptor);
        relay.received(Direction::ClientToServer, clientText("ok"), 1);
        intercept::OutgoingMessage edit {quint8(ws::Opcode::Text), QByteArray::fromHex("c328"), 1};
        QVERIFY(relay.release(Direction::ClientToServer, 1, &edit, 2).ok);
        QCOMPARE(t.lines.at(t.lines.size() - 2),
                 QStringLiteral("captured client text \"\xfffd(\" ! held edited"));
        Receiver server(ws::FrameParser::Sender::Client);
        server.feed(t.forwardedToServer);
        QCOMPARE(server.texts.value(0), QByteArray::fromHex("c328")); // sent as asked
        QVERIFY(server.violations.testFlag(ws::Violation::InvalidUtf8));
    }

    void rulesDropDelayAndRewrite()
    {
        Transcript t;
        proxy::WebSocketRelay relay({}, t);
        auto dropPings = messageRule(intercept::Action::Drop, intercept::SenderMatch::Server);
        dropPings.match.type = intercept::TypeMatch::Any;
        dropPings.match.payload = "heartbeat";
        auto delay = messageRule(intercept::Action::Delay, intercept::SenderMatch::Client);
        delay.match.payload = "slow";
        delay.delayMs = 500;
        auto rewrite = messageRule(intercept::Action::RegexReplace, intercept::SenderMatch::Client);
        rewrite.patternText = QStringLiteral("token=(\\w+)");
        rewrite.pattern = QRegularExpression(rewrite.patternText);
        rewrite.with = QStringLiteral("token=<$1>");
        intercept::Interceptor interceptor(ruleSet({dropPings, delay, rewrite}), "example.test", "/ws");
        QVERIFY(interceptor.gates(Direction::ClientToServer));
        QVERIFY(interceptor.gates(Direction::ServerToClient));
        relay.setInterceptor(&interceptor);
        relay.received(Direction::ServerToClient, serverText("heartbeat"), 1);
        relay.received(Direction::ClientToServer, clientText("slow one") + clientText("token=abc"), 2);
        QVERIFY(
            sameTranscript(t.lines, {"captured server text \"heartbeat\" dropped", "delay client 1 500 ms"}));
        QVERIFY(t.forwardedToClient.isEmpty());
        QVERIFY(t.forwardedToServer.isEmpty()); // the rewrite waits behind the delayed message
        t.lines.clear();
        QVERIFY(relay.release(Direction::ClientToServer, 1, nullptr, 3).ok);
        Receiver server(ws::FrameParser::Sender::Client);
        server.feed(t.forwardedToServer);
        QCOMPARE(server.texts, QList<QByteArray>({"slow one", "token=<abc>"}));
        QCOMPARE(t.capturedOriginals.last(), QByteArray("token=abc"));
        QVERIFY(t.lines.contains("captured client text \"slow one\" delayed"));
        QVERIFY(t.lines.contains("captured client text \"token=<abc>\" edited"));
    }

    void regexReplaceThatFindsNothingLeavesTheMessageAlone()
    {
        Transcript t;
        proxy::WebSocketRelay relay({}, t);
        auto rewrite = messageRule(intercept::Action::RegexReplace, intercept::SenderMatch::Client);
        rewrite.patternText = QStringLiteral("token=(\\w+)");
        rewrite.pattern = QRegularExpression(rewrite.patternText);
        rewrite.with = QStringLiteral("token=<$1>");
        intercept::Interceptor interceptor(ruleSet({rewrite}), "h", "/");
        relay.setInterceptor(&interceptor);
        const QByteArray plain = clientText("{\"type\":\"cancel\"}");
        relay.received(Direction::ClientToServer, plain, 1);
        QCOMPARE(t.forwardedToServer, plain);
        QCOMPARE(t.capturedFlags.last(), quint16(0));
        QVERIFY(
            sameTranscript(t.lines, {"captured client text \"{\"type\":\"cancel\"}\"", "forward client 23"}));
    }

    void ungatingKeepsAHeaderSplitAcrossChunks()
    {
        // The gate turns off while the start of a frame header waits in it: those bytes must still go.
        Transcript t;
        proxy::WebSocketRelay relay({}, t);
        intercept::Interceptor interceptor;
        interceptor.setPaused(Direction::ClientToServer, true);
        relay.setInterceptor(&interceptor);
        const QByteArray frame = clientText("whole");
        relay.received(Direction::ClientToServer, frame.first(1), 1);
        interceptor.setPaused(Direction::ClientToServer, false);
        relay.refreshGates();
        relay.received(Direction::ClientToServer, frame.sliced(1), 2);
        QCOMPARE(t.forwardedToServer, frame);
    }

    void strictFailureAfterAWaitingInjectionForwardsNothingItShouldNot()
    {
        // An injection waits inside a fragmented message; then an unparseable header arrives (strict).
        Transcript t;
        proxy::WebSocketRelay::Options options;
        options.strict = true;
        proxy::WebSocketRelay relay(options, t);
        const QByteArray first = clientText("a", false);
        relay.received(Direction::ClientToServer, first, 1);
        relay.send(Direction::ClientToServer, {quint8(ws::Opcode::Text), "mine", 1},
                   capture::MessageFlag::Injected, 2);
        const QByteArray second = ws::FrameWriter::frame(ws::Opcode::Continuation, "b", true, false);
        relay.received(Direction::ClientToServer, second + QByteArray::fromHex("817f8000000000000000"), 3);
        QCOMPARE(t.forwardedToServer, first + second);
        QCOMPARE(t.lines.last(), QStringLiteral("fail client 1002"));
        for (const QString &line : t.lines)
            QVERIFY2(!line.startsWith(QLatin1String("forward client -")),
                     qPrintable(line)); // no negative slices
    }

    void injectWaitsForABoundary()
    {
        Transcript t;
        proxy::WebSocketRelay relay({}, t);
        const QByteArray first = clientText("par", false);
        relay.received(Direction::ClientToServer, first, 1);
        // A data message cannot go between another message's fragments (RFC 6455 5.4); a ping can.
        relay.send(Direction::ClientToServer, {quint8(ws::Opcode::Text), "mine", 1},
                   capture::MessageFlag::Injected, 2);
        relay.send(Direction::ClientToServer, {quint8(ws::Opcode::Ping), "pp", 1},
                   capture::MessageFlag::Injected, 2);
        QCOMPARE(t.lines.last(), QStringLiteral("forward client %1").arg(first.size()));
        const QByteArray last = ws::FrameWriter::frame(ws::Opcode::Continuation, "t", true, true);
        relay.received(Direction::ClientToServer, last, 3);
        Receiver server(ws::FrameParser::Sender::Client);
        server.feed(t.forwardedToServer);
        QCOMPARE(server.texts, QList<QByteArray>({"part", "mine", "pp"}));
        QVERIFY(!server.violations); // masked with fresh keys, no fragment interleaving broken
        QVERIFY(t.lines.contains("captured client text \"mine\" injected"));
        // Towards the client Socktap does not mask (RFC 6455 5.3).
        relay.send(Direction::ServerToClient,
                   {quint8(ws::Opcode::Close), QByteArray::fromHex("1388") + "x", 1},
                   capture::MessageFlag::Injected, 4);
        QCOMPARE(t.forwardedToClient, QByteArray::fromHex("88031388") + "x");
        QCOMPARE(relay.close().code[1], quint16(5000)); // sent as asked, recorded as invalid
        QVERIFY(t.lines.contains("captured server close \"x\" ! injected"));
    }

    void deflateReceiverKeepsDecodingAfterChanges_data()
    {
        QTest::addColumn<int>("windowBits");
        QTest::addColumn<bool>("noContextTakeover");
        QTest::addColumn<QString>("change");
        for (int bits = 9; bits <= 15; ++bits) {
            for (const bool noTakeover : {false, true}) {
                for (const QString change : {"drop", "edit", "replace"}) {
                    QTest::addRow("%d bits%s %s", bits, noTakeover ? " no takeover" : "", qPrintable(change))
                        << bits << noTakeover << change;
                }
            }
        }
    }

    void deflateReceiverKeepsDecodingAfterChanges()
    {
        // A browser-like client compresses with context takeover: its later messages refer back to the
        // earlier ones. Socktap drops or changes the first; the server must still decode the rest.
        QFETCH(int, windowBits);
        QFETCH(bool, noContextTakeover);
        QFETCH(QString, change);
        ws::DeflateParams params;
        params.clientMaxWindowBits = windowBits;
        params.clientNoContextTakeover = noContextTakeover;
        proxy::WebSocketRelay::Options options;
        options.deflate = params;
        Transcript t;
        proxy::WebSocketRelay relay(options, t);
        const QByteArray m1 =
            "{\"type\":\"subscribe\",\"channel\":\"prices\",\"symbols\":[\"AAA\",\"BBB\",\"CCC\"]}";
        const QByteArray m2 = "{\"type\":\"subscribe\",\"channel\":\"prices\",\"symbols\":[\"AAA\",\"DDD\"]}";
        const QByteArray m3 = "{\"type\":\"unsubscribe\",\"channel\":\"prices\",\"symbols\":[\"BBB\"]}";
        ws::Deflater sender(windowBits, noContextTakeover);
        const auto frame = [&](const QByteArray &text) {
            return ws::FrameWriter::frame(ws::Opcode::Text, sender.compress(text), true, true, true);
        };
        intercept::Rule rule =
            messageRule(change == "drop" ? intercept::Action::Drop : intercept::Action::Replace,
                        intercept::SenderMatch::Client);
        rule.match.payload = "CCC";
        rule.payload = "{\"type\":\"ping\"}";
        intercept::Interceptor interceptor(ruleSet({rule}), "h", "/");
        if (change == "edit")
            interceptor = intercept::Interceptor();
        interceptor.setPaused(Direction::ClientToServer, change == "edit");
        relay.setInterceptor(&interceptor);
        relay.received(Direction::ClientToServer, frame(m1), 1);
        if (change == "edit") {
            intercept::OutgoingMessage edit {quint8(ws::Opcode::Text), "{\"type\":\"AAA BBB edited\"}", 2};
            QVERIFY(relay.release(Direction::ClientToServer, 1, &edit, 2).ok);
            interceptor.setPaused(Direction::ClientToServer, false);
            relay.refreshGates();
        }
        const QByteArray f2 = frame(m2); // in order: each refers back to the ones before
        const QByteArray f3 = frame(m3);
        relay.received(Direction::ClientToServer, f2 + f3, 3);
        relay.send(Direction::ClientToServer, {quint8(ws::Opcode::Text), "injected", 1},
                   capture::MessageFlag::Injected, 4);
        relay.received(Direction::ClientToServer, frame(m2), 5);

        // The server inflates with the negotiated window and keeps its context (it may, RFC 7692 7.2.2).
        Receiver server(ws::FrameParser::Sender::Client, std::pair {windowBits, false});
        server.feed(t.forwardedToServer);
        QVERIFY2(!server.violations, qPrintable(ws::describe(server.violations).join("; ")));
        QList<QByteArray> expected = {m2, m3, "injected", m2};
        if (change == "edit")
            expected.prepend("{\"type\":\"AAA BBB edited\"}");
        if (change == "replace")
            expected.prepend("{\"type\":\"ping\"}");
        QCOMPARE(server.texts, expected);
        // Re-compressing is needed exactly when the receiver's window would otherwise go wrong.
        QCOMPARE(relay.reencoding(Direction::ClientToServer), !noContextTakeover);
        QCOMPARE(bool(t.capturedFlags.last() & capture::MessageFlag::Reencoded), !noContextTakeover);
    }

    void gatedRelayIsByteExactInAnyChunking()
    {
        // Gated, every message is kept until complete and then forwarded: cut anywhere, even inside a
        // frame header, what leaves must still be exactly what came in.
        QByteArray wire;
        for (int i = 0; i < 40; ++i) {
            const QByteArray text(i * 37 % 300, char('a' + i % 26));
            const QByteArray ping =
                i % 5 == 0 ? ws::FrameWriter::frame(ws::Opcode::Ping, "p", true) : QByteArray();
            if (i % 3 == 1) // fragmented, a ping between the fragments now and then (RFC 6455 5.4)
                wire += clientText(text.first(text.size() / 2), false) + ping
                    + ws::FrameWriter::frame(ws::Opcode::Continuation, text.sliced(text.size() / 2), true);
            else
                wire += clientText(text) + ping;
        }
        Receiver direct(ws::FrameParser::Sender::Client);
        direct.feed(wire);
        QVERIFY(!direct.violations);
        QList<QByteArray> expected = direct.texts;
        std::sort(expected.begin(), expected.end());
        for (const int chunk : {1, 2, 3, 7, 13, 64, 1000}) {
            Transcript t;
            proxy::WebSocketRelay relay({}, t);
            auto rule = messageRule(intercept::Action::Drop);
            rule.match.payload = "never";
            intercept::Interceptor interceptor(ruleSet({rule}), "h", "/");
            relay.setInterceptor(&interceptor);
            QVERIFY(relay.gated(Direction::ClientToServer));
            for (qsizetype pos = 0; pos < wire.size(); pos += chunk)
                relay.received(
                    Direction::ClientToServer,
                    QByteArrayView(wire).sliced(pos, std::min<qsizetype>(chunk, wire.size() - pos)), 1);
            Receiver server(ws::FrameParser::Sender::Client);
            server.feed(t.forwardedToServer);
            QVERIFY2(!server.violations, qPrintable(QString::number(chunk)));
            // Same frames; a ping that arrived between fragments leaves before them (see WebSocketRelay.h).
            QCOMPARE(t.forwardedToServer.size(), wire.size());
            QList<QByteArray> got = server.texts;
            std::sort(got.begin(), got.end());
            QCOMPARE(got, expected);
        }
    }

    void untouchedCompressedTrafficIsNotReencoded()
    {
        ws::DeflateParams params;
        proxy::WebSocketRelay::Options options;
        options.deflate = params;
        Transcript t;
        proxy::WebSocketRelay relay(options, t);
        intercept::Rule rule = messageRule(intercept::Action::Drop, intercept::SenderMatch::Client);
        rule.match.payload = "never present";
        intercept::Interceptor interceptor(ruleSet({rule}), "h", "/");
        relay.setInterceptor(&interceptor);
        QVERIFY(relay.gated(Direction::ClientToServer));
        ws::Deflater sender;
        QByteArray wire;
        for (int i = 0; i < 20; ++i)
            wire += ws::FrameWriter::frame(ws::Opcode::Text,
                                           sender.compress("message number " + QByteArray::number(i)), true,
                                           true, true);
        relay.received(Direction::ClientToServer, wire, 1);
        QCOMPARE(t.forwardedToServer, wire); // gated, decided, and still byte for byte
        QVERIFY(!relay.reencoding(Direction::ClientToServer));
    }

    void inflatingIsSlicedSoOneSessionCannotStallItsWorker_data()
    {
        QTest::addColumn<bool>("gated");
        QTest::addRow("ungated") << false;
        QTest::addRow("gated") << true;
    }

    void inflatingIsSlicedSoOneSessionCannotStallItsWorker()
    {
        // 48 MiB of zeros deflate to ~48 KiB: one read's worth of bytes would cost ~100 ms of inflating.
        // received() stops after about 1 MiB of inflated output and says how much it took; the rest is
        // offered again (the session does so on the next turn of the event loop). What crosses is the same.
        QFETCH(bool, gated);
        proxy::WebSocketRelay::Options options;
        options.deflate = ws::DeflateParams();
        Transcript t;
        proxy::WebSocketRelay relay(options, t);
        intercept::Rule rule = messageRule(intercept::Action::Drop, intercept::SenderMatch::Client);
        rule.match.payload = "never present";
        intercept::Interceptor interceptor(ruleSet({rule}), "h", "/");
        if (gated)
            relay.setInterceptor(&interceptor);
        const qsizetype size = 48 * 1024 * 1024;
        ws::Deflater sender;
        const QByteArray wire =
            ws::FrameWriter::frame(ws::Opcode::Binary, sender.compress(QByteArray(size, '\0')), true, true,
                                   true)
            + clientText("after");
        QVERIFY(wire.size() < 64 * 1024);
        int calls = 0;
        for (QByteArrayView rest = wire; !rest.isEmpty(); ++calls) {
            relay.startSlice(Direction::ClientToServer);
            const qsizetype taken = relay.received(Direction::ClientToServer, rest, 1);
            QVERIFY(taken > 0);
            if (gated)
                QVERIFY(t.forwardedToServer.isEmpty() || taken == rest.size()); // whole messages only
            else
                QCOMPARE(t.forwardedToServer, wire.first(wire.size() - rest.size() + taken)); // taken = sent
            rest = rest.sliced(taken);
            QVERIFY(calls < 1000);
        }
        QVERIFY2(calls >= size / (4 * 1024 * 1024), qPrintable(QString::number(calls))); // sliced
        QCOMPARE(t.forwardedToServer, wire);
        QCOMPARE(t.capturedPayloads.size(), 2);
        QCOMPARE(t.capturedPayloads[0].size(), size);
        QCOMPARE(t.capturedPayloads[1], QByteArray("after"));
    }

    void endFlushesTheMessageInProgress()
    {
        Transcript t;
        proxy::WebSocketRelay relay({}, t);
        relay.received(Direction::ClientToServer, clientText("unfinished", false), 1);
        relay.ended(Direction::ClientToServer, 5);
        QCOMPARE(t.lines.last(), QStringLiteral("captured client text \"unfinished\""));
        QCOMPARE(relay.close().tcpEndTime, 5);
    }
};

QTEST_GUILESS_MAIN(TestRelay)
#include "tst_relay.moc"
