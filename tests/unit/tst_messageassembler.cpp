// MessageAssembler: fragments with interleaved control frames, UTF-8 across fragment boundaries, Close
// payloads, caps, broken sequences, and permessage-deflate with the RFC 7692 7.2.3 vectors.
#include "core/ws/CloseCode.h"
#include "core/ws/Deflater.h"
#include "core/ws/FrameWriter.h"
#include "core/ws/MessageAssembler.h"
#include "support/Chunking.h"
#include "support/WsRun.h"

#include <QTest>

using namespace socktap::ws;
using socktap::test::chunkings;
using socktap::test::drive;
using socktap::test::from;
using socktap::test::WsRun;
using Sender = FrameParser::Sender;

Q_DECLARE_METATYPE(socktap::ws::Violations)

namespace {

// Runs wire through a fresh parser and assembler for every chunking and checks all runs agree.
WsRun assembleAll(const QByteArray &wire, Sender sender, bool deflate = false, int windowBits = 15,
                  bool noContextTakeover = false, MessageAssembler::Options options = {}, bool flush = false)
{
    WsRun first;
    bool haveFirst = false;
    for (const auto &c : chunkings(wire, wire.size() > 100000 ? 1 : 4)) {
        FrameParser parser(from(sender, deflate));
        MessageAssembler assembler(options);
        if (deflate)
            assembler.enableDeflate(windowBits, noContextTakeover);
        WsRun run = drive(c.pieces, parser, &assembler, flush);
        if (!haveFirst) {
            first = run;
            haveFirst = true;
            continue;
        }
        if (run.messages.size() != first.messages.size())
            qFatal("chunking %s gave %lld messages, whole gave %lld", qPrintable(c.name), run.messages.size(),
                   first.messages.size());
        for (qsizetype i = 0; i < run.messages.size(); ++i) {
            if (run.messages[i].payload != first.messages[i].payload
                || run.messages[i].violations != first.messages[i].violations)
                qFatal("chunking %s differs at message %lld", qPrintable(c.name), i);
        }
    }
    return first;
}

QByteArray hex(const char *h)
{
    return QByteArray::fromHex(h);
}

} // namespace

class TestMessageAssembler final : public QObject
{
    Q_OBJECT

private slots:
    void singleAndFragmented()
    {
        auto run = assembleAll(hex("818537fa213d7f9f4d5158"), Sender::Client);
        QCOMPARE(run.messages.size(), 1);
        QCOMPARE(run.messages[0].opcode, quint8(Opcode::Text));
        QCOMPARE(run.messages[0].payload, QByteArray("Hello"));
        QCOMPARE(run.messages[0].frameCount, 1u);
        QCOMPARE(run.messages[0].wireSize, 11u);
        QCOMPARE(run.messages[0].frames[0].maskKey, 0x37fa213du);
        QVERIFY(run.messages[0].frames[0].masked());
        QVERIFY(!run.messages[0].violations);

        run = assembleAll(hex("010348656c80026c6f"), Sender::Server);
        QCOMPARE(run.messages.size(), 1);
        QCOMPARE(run.messages[0].payload, QByteArray("Hello"));
        QCOMPARE(run.messages[0].frameCount, 2u);
        QCOMPARE(run.messages[0].frames.size(), 2);
        QVERIFY(!run.messages[0].frames[0].fin());
        QVERIFY(run.messages[0].frames[1].fin());
    }

    void controlFramesBetweenFragments()
    {
        // RFC 6455 5.4: Hel, ping "p", pong, lo: the control frames come out first, in order.
        const QByteArray wire = hex("010348656c") + hex("890170") + hex("8a00") + hex("80026c6f");
        const auto run = assembleAll(wire, Sender::Server);
        QCOMPARE(run.messages.size(), 3);
        QCOMPARE(run.messages[0].opcode, quint8(Opcode::Ping));
        QCOMPARE(run.messages[0].payload, QByteArray("p"));
        QCOMPARE(run.messages[1].opcode, quint8(Opcode::Pong));
        QCOMPARE(run.messages[2].opcode, quint8(Opcode::Text));
        QCOMPARE(run.messages[2].payload, QByteArray("Hello"));
        QCOMPARE(run.messages[2].frameCount, 2u);
    }

    void utf8AcrossFragments_data()
    {
        QTest::addColumn<QByteArray>("wire");
        QTest::addColumn<bool>("valid");
        // U+20AC EURO SIGN = e2 82 ac, split over three frames.
        QTest::newRow("euro split over 3 frames") << hex("0101e2"
                                                         "000182"
                                                         "8001ac")
                                                  << true;
        QTest::newRow("truncated sequence at end") << hex("0101e2"
                                                          "800182")
                                                   << false;
        QTest::newRow("overlong in second fragment") << hex("010141"
                                                            "8002c080")
                                                     << false;
        QTest::newRow("surrogate") << hex("8103eda080") << false;
        QTest::newRow("binary is not checked") << hex("8202c080") << true;
        QTest::newRow("4-byte split 1+3") << hex("0101f0"
                                                 "80039f9880")
                                          << true;
    }

    void utf8AcrossFragments()
    {
        QFETCH(QByteArray, wire);
        QFETCH(bool, valid);
        const auto run = assembleAll(wire, Sender::Server);
        QCOMPARE(run.messages.size(), 1);
        QCOMPARE(!run.messages[0].violations.testFlag(Violation::InvalidUtf8), valid);
        if (!valid)
            QCOMPARE(closeCodeFor(run.messages[0].violations), CloseCode::InvalidPayload);
    }

    void closePayloads_data()
    {
        QTest::addColumn<QByteArray>("wire");
        QTest::addColumn<int>("code"); // -1: none
        QTest::addColumn<QByteArray>("reason");
        QTest::addColumn<Violations>("violations");
        QTest::newRow("empty") << hex("8800") << -1 << QByteArray() << Violations();
        QTest::newRow("1000 bye") << hex("880503e8627965") << 1000 << QByteArray("bye") << Violations();
        QTest::newRow("4000 private") << hex("88020fa0") << 4000 << QByteArray() << Violations();
        QTest::newRow("one byte") << hex("880103") << -1 << QByteArray()
                                  << Violations(Violation::ClosePayloadTooShort);
        QTest::newRow("1005 on the wire")
            << hex("880203ed") << 1005 << QByteArray() << Violations(Violation::InvalidCloseCode);
        QTest::newRow("1006 on the wire")
            << hex("880203ee") << 1006 << QByteArray() << Violations(Violation::InvalidCloseCode);
        QTest::newRow("999") << hex("880203e7") << 999 << QByteArray()
                             << Violations(Violation::InvalidCloseCode);
        QTest::newRow("reason not utf-8")
            << hex("880403e8c080") << 1000 << hex("c080") << Violations(Violation::InvalidCloseReason);
    }

    void closePayloads()
    {
        QFETCH(QByteArray, wire);
        QFETCH(int, code);
        QFETCH(QByteArray, reason);
        QFETCH(Violations, violations);
        const auto run = assembleAll(wire, Sender::Server);
        QCOMPARE(run.messages.size(), 1);
        QCOMPARE(run.messages[0].opcode, quint8(Opcode::Close));
        QCOMPARE(run.messages[0].closeCode.has_value(), code >= 0);
        if (code >= 0)
            QCOMPARE(int(*run.messages[0].closeCode), code);
        QCOMPARE(run.messages[0].closeReason, reason);
        QCOMPARE(run.messages[0].violations, violations);
    }

    void capTruncatesButCounts()
    {
        MessageAssembler::Options options;
        options.maxPayload = 10;
        const QByteArray wire = FrameWriter::message(Opcode::Text, QByteArray(100, 'a'), true, 30);
        const auto run = assembleAll(wire, Sender::Client, false, 15, false, options);
        QCOMPARE(run.messages.size(), 1);
        QCOMPARE(run.messages[0].payload, QByteArray(10, 'a'));
        QCOMPARE(run.messages[0].payloadSize, 100u);
        QVERIFY(run.messages[0].truncated);
        QCOMPARE(run.messages[0].frameCount, 4u);
        QVERIFY(!run.messages[0].violations);
        // Invalid UTF-8 beyond the cap is still found.
        const QByteArray bad = FrameWriter::message(Opcode::Text, QByteArray(50, 'a') + hex("ff"), true);
        QVERIFY(assembleAll(bad, Sender::Client, false, 15, false, options)
                    .messages[0]
                    .violations.testFlag(Violation::InvalidUtf8));
    }

    void frameInfosAreBounded()
    {
        MessageAssembler::Options options;
        options.maxFrameInfos = 3;
        const QByteArray wire = FrameWriter::message(Opcode::Binary, QByteArray(10, 'b'), false, 1);
        const auto run = assembleAll(wire, Sender::Server, false, 15, false, options);
        QCOMPARE(run.messages[0].frameCount, 10u);
        QCOMPARE(run.messages[0].frames.size(), 3);
        QCOMPARE(run.messages[0].payload, QByteArray(10, 'b'));
    }

    void brokenSequences()
    {
        // A continuation of nothing stays visible as an orphan message.
        auto run = assembleAll(hex("800141"), Sender::Server);
        QCOMPARE(run.messages.size(), 1);
        QCOMPARE(run.messages[0].opcode, quint8(Opcode::Continuation));
        QVERIFY(run.messages[0].violations.testFlag(Violation::UnexpectedContinuation));
        // A new message inside a fragmented one: the first comes out incomplete, the second whole.
        run = assembleAll(hex("010141"
                              "810142"),
                          Sender::Server);
        QCOMPARE(run.messages.size(), 2);
        QVERIFY(run.messages[0].incomplete);
        QCOMPARE(run.messages[0].payload, QByteArray("A"));
        QCOMPARE(run.messages[1].payload, QByteArray("B"));
        QVERIFY(run.messages[1].violations.testFlag(Violation::ExpectedContinuation));
        QVERIFY(!run.messages[1].incomplete);
        // Reserved opcodes stand alone.
        run = assembleAll(hex("830178"), Sender::Server);
        QCOMPARE(run.messages.size(), 1);
        QCOMPARE(run.messages[0].opcode, quint8(3));
        QCOMPARE(run.messages[0].payload, QByteArray("x"));
    }

    void flushIncompleteAtConnectionEnd()
    {
        // The peer vanished after "Hel" of a fragmented message and mid-way through a second frame.
        const auto run = assembleAll(hex("010348656c"
                                         "0005")
                                         + "lo",
                                     Sender::Server, false, 15, false, {}, true);
        QCOMPARE(run.messages.size(), 1);
        QVERIFY(run.messages[0].incomplete);
        QCOMPARE(run.messages[0].payload, QByteArray("Hello"));
        QVERIFY(!run.messages[0].violations.testFlag(Violation::InvalidUtf8));
    }

    void deflateRfcVectors_data()
    {
        QTest::addColumn<QByteArray>("wire");
        QTest::addColumn<bool>("noContextTakeover");
        QTest::addColumn<QList<QByteArray>>("payloads");
        // RFC 7692 7.2.3.1: "Hello" compressed, whole and fragmented.
        QTest::newRow("7.2.3.1 Hello") << hex("c107f248cdc9c90700") << false << QList<QByteArray> {"Hello"};
        QTest::newRow("7.2.3.1 fragmented") << hex("4103f248cd"
                                                   "8004c9c90700")
                                            << false << QList<QByteArray> {"Hello"};
        // 7.2.3.2: with context takeover the second "Hello" refers back to the first.
        QTest::newRow("7.2.3.2 context takeover") << hex("c107f248cdc9c90700"
                                                         "c105f200110000")
                                                  << false << QList<QByteArray> {"Hello", "Hello"};
        QTest::newRow("7.2.3.2 no context takeover") << hex("c107f248cdc9c90700"
                                                            "c107f248cdc9c90700")
                                                     << true << QList<QByteArray> {"Hello", "Hello"};
        // 7.2.3.3: a stored (uncompressed) DEFLATE block.
        QTest::newRow("7.2.3.3 stored block")
            << hex("c10b0005 00faff48656c6c6f00") << false << QList<QByteArray> {"Hello"};
        // 7.2.3.4: BFINAL set.
        QTest::newRow("7.2.3.4 bfinal")
            << hex("c108f348cdc9c9070000") << false << QList<QByteArray> {"Hello"};
        // 7.2.3.5: two DEFLATE blocks in one message.
        QTest::newRow("7.2.3.5 two blocks")
            << hex("c10df24805000000ffffcac9c90700") << false << QList<QByteArray> {"Hello"};
        QTest::newRow("uncompressed message in a deflate session")
            << hex("810548656c6c6f") << false << QList<QByteArray> {"Hello"};
    }

    void deflateRfcVectors()
    {
        QFETCH(QByteArray, wire);
        QFETCH(bool, noContextTakeover);
        QFETCH(QList<QByteArray>, payloads);
        const auto run = assembleAll(wire, Sender::Server, true, 15, noContextTakeover);
        QCOMPARE(run.messages.size(), payloads.size());
        for (qsizetype i = 0; i < payloads.size(); ++i) {
            QCOMPARE(run.messages[i].payload, payloads[i]);
            QVERIFY2(!run.messages[i].violations,
                     qPrintable(describe(run.messages[i].violations).join("; ")));
            QCOMPARE(run.messages[i].compressed, wire.startsWith('\xc1') || wire.startsWith('\x41'));
            if (run.messages[i].compressed)
                QVERIFY(!run.messages[i].wirePayload.isEmpty());
        }
    }

    void inflateFailureIsFlagged()
    {
        const auto run = assembleAll(hex("c103ffffff"), Sender::Server, true);
        QCOMPARE(run.messages.size(), 1);
        QVERIFY(run.messages[0].violations.testFlag(Violation::InflateFailed));
        QCOMPARE(closeCodeFor(run.messages[0].violations), CloseCode::InvalidPayload);
    }

    void decompressionBombStopsAtTheCap_data()
    {
        QTest::addColumn<bool>("noContextTakeover");
        QTest::addRow("context takeover") << false;
        QTest::addRow("no context takeover") << true;
    }

    void decompressionBombStopsAtTheCap()
    {
        // 32 MiB of zeros deflate to ~32 KiB; with a 1 MiB capture cap and a 2 MiB inflate limit the
        // assembler keeps 1 MiB, flags the message, and stops inflating just past 2 MiB instead of inflating
        // all 32 MiB (a 2 GiB bomb cost 4.8 s of CPU). With context takeover the next message refers to a
        // window that was never built, so it is not inflated and says why (not the peer's fault: no
        // violation); without, it decodes.
        QFETCH(bool, noContextTakeover);
        Deflater deflater(15, noContextTakeover);
        const QByteArray bomb = deflater.compress(QByteArray(32 * 1024 * 1024, '\0'));
        const QByteArray next = deflater.compress(QByteArray(1000, '\0') + "tail");
        QVERIFY(bomb.size() < 64 * 1024);
        const QByteArray wire = FrameWriter::message(Opcode::Binary, bomb, false, 0, true)
            + FrameWriter::message(Opcode::Binary, next, false, 0, true);
        MessageAssembler::Options options;
        options.maxPayload = 1024 * 1024;
        options.maxInflate = 2 * 1024 * 1024;
        FrameParser parser(from(Sender::Server, true));
        MessageAssembler assembler(options);
        assembler.enableDeflate(15, noContextTakeover);
        const auto run = drive({wire}, parser, &assembler);
        QCOMPARE(run.messages.size(), 2);
        QCOMPARE(run.messages[0].payload.size(), 1024 * 1024);
        QVERIFY(run.messages[0].payloadSize > 2u * 1024 * 1024);
        QVERIFY(run.messages[0].payloadSize <= 2u * 1024 * 1024 + 16 * 1024); // stopped there
        QVERIFY(assembler.inflatedBytes() <= 2u * 1024 * 1024 + 16 * 1024 + 1004);
        QVERIFY(run.messages[0].truncated);
        QVERIFY(run.messages[0].violations.testFlag(Violation::InflatedTooLarge));
        QCOMPARE(closeCodeFor(run.messages[0].violations), CloseCode::MessageTooBig);
        QVERIFY2(run.messages[0].note.contains("inflating stopped"), qPrintable(run.messages[0].note));
        QVERIFY(!run.messages[1].violations);
        if (noContextTakeover) {
            QCOMPARE(run.messages[1].payload, QByteArray(1000, '\0') + "tail");
            QVERIFY(run.messages[1].note.isEmpty());
        } else {
            QVERIFY(run.messages[1].payload.isEmpty());
            QVERIFY2(run.messages[1].note.startsWith("not inflated: an earlier message"),
                     qPrintable(run.messages[1].note));
        }
    }

    void overTheCaptureCapButUnderTheInflateLimitTheContextSurvives()
    {
        // A large message (32 MiB) over a small capture cap (1 MiB) but under the inflate limit (64 MiB):
        // 1 MiB is kept, all of it is inflated and counted, and the next message (which refers back into it
        // under context takeover) still decodes.
        Deflater deflater;
        const QByteArray big = deflater.compress(QByteArray(32 * 1024 * 1024, '\0'));
        const QByteArray next = deflater.compress(QByteArray(1000, '\0') + "tail");
        const QByteArray wire = FrameWriter::message(Opcode::Binary, big, false, 0, true)
            + FrameWriter::message(Opcode::Binary, next, false, 0, true);
        MessageAssembler::Options options;
        options.maxPayload = 1024 * 1024;
        FrameParser parser(from(Sender::Server, true));
        MessageAssembler assembler(options);
        assembler.enableDeflate(15, false);
        const auto run = drive({wire}, parser, &assembler);
        QCOMPARE(run.messages.size(), 2);
        QCOMPARE(run.messages[0].payload.size(), 1024 * 1024);
        QCOMPARE(run.messages[0].payloadSize, 32u * 1024 * 1024);
        QVERIFY(run.messages[0].truncated);
        QVERIFY(run.messages[0].violations.testFlag(Violation::InflatedTooLarge));
        QVERIFY(run.messages[0].note.isEmpty());
        QCOMPARE(run.messages[1].payload, QByteArray(1000, '\0') + "tail");
        QVERIFY(!run.messages[1].violations);
    }

    void messagesInProgressShareOneBudget()
    {
        // Two connections' assemblers share 1 MiB. The first message takes what it needs; the second is
        // counted whole but kept only as far as the budget allows, and says so. Nothing leaks.
        BufferBudget budget(1 << 20);
        MessageAssembler::Options options;
        options.budget = &budget;
        {
            FrameParser firstParser(from(Sender::Client, false)), secondParser(from(Sender::Client, false));
            MessageAssembler first(options), second(options);
            const QByteArray part(300 * 1024, 'x');
            QByteArray a, b;
            for (int i = 0; i < 3; ++i) {
                a += FrameWriter::frame(i ? Opcode::Continuation : Opcode::Binary, part, true, i == 2);
                b += FrameWriter::frame(i ? Opcode::Continuation : Opcode::Binary, part, true, i == 2);
            }
            const auto runA = drive({a.first(a.size() - 10)}, firstParser, &first);
            QVERIFY(runA.messages.isEmpty());
            QVERIFY(budget.used() >= 900 * 1024 - 10 && budget.used() <= (1 << 20) + 4096);
            const auto runB = drive({b}, secondParser, &second);
            QCOMPARE(runB.messages.size(), 1);
            QCOMPARE(runB.messages[0].payloadSize, 900u * 1024); // counted whole
            QVERIFY(runB.messages[0].payload.size() < 200 * 1024); // kept what was left
            QVERIFY(runB.messages[0].truncated);
            QVERIFY2(runB.messages[0].note.contains("memory for messages in progress was full"),
                     qPrintable(runB.messages[0].note));
            second.release();
            QVERIFY(budget.used() <= (1 << 20) + 4096);
        }
        QCOMPARE(budget.used(), 0);
    }

    void refusedRoomStillInflatesSoTheWindowStaysRight()
    {
        // The budget refuses a compressed message room part-way: its output is discarded from there, but
        // inflating goes on, so the next message (referring back into it) decodes.
        BufferBudget budget(64 * 1024);
        MessageAssembler::Options options;
        options.budget = &budget;
        Deflater deflater;
        QByteArray big;
        for (int i = 0; i < 20000; ++i)
            big += "line " + QByteArray::number(i) + " of a long log\n";
        const QByteArray first = deflater.compress(big); // (in this order: the second refers to the first)
        const QByteArray second = deflater.compress("line 7 of a long log");
        const QByteArray wire = FrameWriter::message(Opcode::Text, first, false, 0, true)
            + FrameWriter::message(Opcode::Text, second, false, 0, true);
        FrameParser parser(from(Sender::Server, true));
        MessageAssembler assembler(options);
        assembler.enableDeflate(15, false);
        const auto run = drive({wire}, parser, &assembler);
        QCOMPARE(run.messages.size(), 2);
        QCOMPARE(run.messages[0].payloadSize, quint64(big.size()));
        QVERIFY(run.messages[0].truncated);
        QVERIFY(big.startsWith(run.messages[0].payload));
        QVERIFY(!run.messages[0].violations); // (its UTF-8 cannot be judged: not a violation)
        QCOMPARE(run.messages[1].payload, QByteArray("line 7 of a long log"));
    }

    void compressedTextIsValidatedAfterInflate()
    {
        Deflater deflater;
        const QByteArray bad =
            FrameWriter::message(Opcode::Text, deflater.compress(hex("41c0")), false, 0, true);
        const auto run = assembleAll(bad, Sender::Server, true);
        QVERIFY(run.messages[0].violations.testFlag(Violation::InvalidUtf8));
    }
};

QTEST_GUILESS_MAIN(TestMessageAssembler)
#include "tst_messageassembler.moc"
