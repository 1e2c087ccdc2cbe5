// WebSocketRelay as a transcript (no sockets): bytes in from a side, then what the sink was told to do,
// in order: forward bytes, capture messages, fail the connection.
#include "core/proxy/WebSocketRelay.h"
#include "core/ws/ClosePayload.h"
#include "core/ws/FrameWriter.h"

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

    void forward(Direction from, QByteArrayView bytes) override
    {
        (from == Direction::ClientToServer ? forwardedToServer : forwardedToClient) += bytes.toByteArray();
        lines.append(QStringLiteral("forward %1 %2")
                         .arg(QLatin1String(capture::directionName(from)))
                         .arg(bytes.size()));
    }
    void captured(Direction from, const ws::MessageAssembler::Message &m) override
    {
        lines.append(QStringLiteral("captured %1 %2 \"%3\"%4")
                         .arg(QLatin1String(capture::directionName(from)),
                              QLatin1String(ws::opcodeName(m.opcode)),
                              QString::fromUtf8(m.opcode == 8 ? m.close.reason : m.payload.toByteArray()),
                              m.violations ? QStringLiteral(" !") : QString()));
    }
    void fail(Direction from, quint16 code, const QString &) override
    {
        lines.append(QStringLiteral("fail %1 %2").arg(QLatin1String(capture::directionName(from))).arg(code));
    }
};

QByteArray clientText(const QByteArray &text, bool fin = true)
{
    return ws::FrameWriter::frame(ws::Opcode::Text, text, true, fin);
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
