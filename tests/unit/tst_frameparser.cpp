// FrameParser: RFC 6455 5.7 examples, length boundaries, every rejection branch; each vector whole, one
// byte at a time and in random chunks.
#include "core/ws/CloseCode.h"
#include "core/ws/FrameParser.h"
#include "core/ws/FrameWriter.h"
#include "support/Chunking.h"
#include "support/WsRun.h"

#include <QTest>

using namespace socktap::ws;
using socktap::test::chunkings;
using socktap::test::drive;
using socktap::test::from;
using Sender = FrameParser::Sender;

Q_DECLARE_METATYPE(socktap::ws::Violations)

class TestFrameParser final : public QObject
{
    Q_OBJECT

private slots:
    void rfcExamples_data()
    {
        QTest::addColumn<QByteArray>("wire");
        QTest::addColumn<int>("sender");
        QTest::addColumn<QList<int>>("opcodes");
        QTest::addColumn<QList<QByteArray>>("payloads");
        QTest::addColumn<QList<bool>>("fins");
        const int client = int(Sender::Client), server = int(Sender::Server);
        // RFC 6455 5.7.
        QTest::newRow("unmasked text Hello")
            << QByteArray::fromHex("810548656c6c6f") << server << QList<int> {1}
            << QList<QByteArray> {"Hello"} << QList<bool> {true};
        QTest::newRow("masked text Hello")
            << QByteArray::fromHex("818537fa213d7f9f4d5158") << client << QList<int> {1}
            << QList<QByteArray> {"Hello"} << QList<bool> {true};
        QTest::newRow("fragmented unmasked text")
            << QByteArray::fromHex("010348656c80026c6f") << server << QList<int> {1, 0}
            << QList<QByteArray> {"Hel", "lo"} << QList<bool> {false, true};
        QTest::newRow("unmasked ping") << QByteArray::fromHex("890548656c6c6f") << server << QList<int> {9}
                                       << QList<QByteArray> {"Hello"} << QList<bool> {true};
        QTest::newRow("masked pong") << QByteArray::fromHex("8a8537fa213d7f9f4d5158") << client
                                     << QList<int> {10} << QList<QByteArray> {"Hello"} << QList<bool> {true};
        QByteArray b256(256, 0);
        for (int i = 0; i < 256; ++i)
            b256[i] = char(i);
        QTest::newRow("256 bytes binary") << QByteArray::fromHex("827e0100") + b256 << server
                                          << QList<int> {2} << QList<QByteArray> {b256} << QList<bool> {true};
        const QByteArray b64k(65536, 'x');
        QTest::newRow("64KiB binary") << QByteArray::fromHex("827f0000000000010000") + b64k << server
                                      << QList<int> {2} << QList<QByteArray> {b64k} << QList<bool> {true};
        QTest::newRow("ping between fragments")
            << QByteArray::fromHex("010348656c8900"
                                   "80026c6f")
            << server << QList<int> {1, 9, 0} << QList<QByteArray> {"Hel", "", "lo"}
            << QList<bool> {false, true, true};
    }

    void rfcExamples()
    {
        QFETCH(QByteArray, wire);
        QFETCH(int, sender);
        QFETCH(QList<int>, opcodes);
        QFETCH(QList<QByteArray>, payloads);
        QFETCH(QList<bool>, fins);
        for (const auto &c : chunkings(wire)) {
            FrameParser parser(from(Sender(sender)));
            const auto run = drive(c.pieces, parser);
            QVERIFY2(!run.error, qPrintable(c.name));
            QCOMPARE(run.consumed, wire.size());
            QCOMPARE(run.frames.size(), opcodes.size());
            for (qsizetype i = 0; i < run.frames.size(); ++i) {
                QCOMPARE(int(run.frames[i].header.opcode), opcodes[i]);
                QCOMPARE(run.frames[i].payload, payloads[i]);
                QCOMPARE(run.frames[i].header.fin, fins[i]);
                QVERIFY2(!run.frames[i].violations,
                         qPrintable(describe(run.frames[i].violations).join("; ")));
            }
            QVERIFY(!parser.inFragmentedMessage());
        }
    }

    void lengthBoundaries_data()
    {
        QTest::addColumn<int>("length");
        QTest::addColumn<QByteArray>("headerHex");
        QTest::newRow("0") << 0 << QByteArray("8200");
        QTest::newRow("125") << 125 << QByteArray("827d");
        QTest::newRow("126") << 126 << QByteArray("827e007e");
        QTest::newRow("65535") << 65535 << QByteArray("827effff");
        QTest::newRow("65536") << 65536 << QByteArray("827f0000000000010000");
    }

    void lengthBoundaries()
    {
        QFETCH(int, length);
        QFETCH(QByteArray, headerHex);
        QByteArray payload(length, 0);
        for (int i = 0; i < length; ++i)
            payload[i] = char(i * 7);
        FrameHeader h;
        h.opcode = quint8(Opcode::Binary);
        const QByteArray wire = FrameWriter::frame(h, payload);
        QCOMPARE(wire.first(headerHex.size() / 2).toHex(), headerHex);
        for (const bool masked : {false, true}) {
            FrameHeader mh = h;
            mh.masked = masked;
            mh.maskKey = {0x12, 0x34, 0x56, 0x78};
            const QByteArray data = FrameWriter::frame(mh, payload);
            for (const auto &c : chunkings(data)) {
                FrameParser parser(from(masked ? Sender::Client : Sender::Server));
                const auto run = drive(c.pieces, parser);
                QCOMPARE(run.frames.size(), 1);
                QCOMPARE(run.frames[0].header.length, quint64(length));
                QCOMPARE(run.frames[0].header.headerSize, quint8(headerHex.size() / 2 + (masked ? 4 : 0)));
                QCOMPARE(run.frames[0].payload, payload);
                QVERIFY(!run.frames[0].violations);
            }
        }
    }

    void violations_data()
    {
        QTest::addColumn<QByteArray>("wire");
        QTest::addColumn<int>("sender");
        QTest::addColumn<bool>("deflate");
        QTest::addColumn<Violations>("expected"); // of the last frame
        QTest::addColumn<int>("closeCode");
        const int client = int(Sender::Client), server = int(Sender::Server);
        const QByteArray p126(126, 'p');
        QTest::newRow("reserved data opcode 0x3") << QByteArray::fromHex("8300") << server << false
                                                  << Violations(Violation::ReservedOpcode) << 1002;
        QTest::newRow("reserved control opcode 0xB") << QByteArray::fromHex("8b00") << server << false
                                                     << Violations(Violation::ReservedOpcode) << 1002;
        QTest::newRow("RSV1 without extension") << QByteArray::fromHex("c100") << server << false
                                                << Violations(Violation::ReservedBitsSet) << 1002;
        QTest::newRow("RSV2") << QByteArray::fromHex("a100") << server << true
                              << Violations(Violation::ReservedBitsSet) << 1002;
        QTest::newRow("RSV3") << QByteArray::fromHex("9100") << server << false
                              << Violations(Violation::ReservedBitsSet) << 1002;
        QTest::newRow("fragmented ping") << QByteArray::fromHex("0900") << server << false
                                         << Violations(Violation::FragmentedControlFrame) << 1002;
        QTest::newRow("ping over 125 bytes") << QByteArray::fromHex("897e007e") + p126 << server << false
                                             << Violations(Violation::ControlFrameTooLong) << 1002;
        QTest::newRow("16-bit length for 5 bytes")
            << QByteArray::fromHex("827e0005") + "abcde" << server << false
            << Violations(Violation::NonMinimalLength) << 1002;
        QTest::newRow("64-bit length for 5 bytes")
            << QByteArray::fromHex("827f0000000000000005") + "abcde" << server << false
            << Violations(Violation::NonMinimalLength) << 1002;
        QTest::newRow("64-bit length for 65535 bytes")
            << QByteArray::fromHex("827f000000000000ffff") + QByteArray(65535, 'a') << server << false
            << Violations(Violation::NonMinimalLength) << 1002;
        QTest::newRow("unmasked client frame") << QByteArray::fromHex("8100") << client << false
                                               << Violations(Violation::UnmaskedClientFrame) << 1002;
        QTest::newRow("masked server frame") << QByteArray::fromHex("818001020304") << server << false
                                             << Violations(Violation::MaskedServerFrame) << 1002;
        QTest::newRow("continuation without start") << QByteArray::fromHex("800141") << server << false
                                                    << Violations(Violation::UnexpectedContinuation) << 1002;
        QTest::newRow("text inside fragmented message")
            << QByteArray::fromHex("010141"
                                   "810142")
            << server << false << Violations(Violation::ExpectedContinuation) << 1002;
        QTest::newRow("binary inside fragmented message")
            << QByteArray::fromHex("020141"
                                   "020142")
            << server << false << Violations(Violation::ExpectedContinuation) << 1002;
        QTest::newRow("compressed ping") << QByteArray::fromHex("c900") << server << true
                                         << Violations(Violation::CompressedControlFrame) << 1002;
        QTest::newRow("compressed continuation")
            << QByteArray::fromHex("410100"
                                   "c00100")
            << server << true << Violations(Violation::CompressedContinuation) << 1002;
        QTest::newRow("frame after close") << QByteArray::fromHex("88008100") << server << false
                                           << Violations(Violation::FrameAfterClose) << 1002;
        QTest::newRow("several at once") << QByteArray::fromHex("e37e0005") + "abcde" << client << false
                                         << (Violation::ReservedOpcode | Violation::ReservedBitsSet
                                             | Violation::NonMinimalLength | Violation::UnmaskedClientFrame)
                                         << 1002;
    }

    void violations()
    {
        QFETCH(QByteArray, wire);
        QFETCH(int, sender);
        QFETCH(bool, deflate);
        QFETCH(Violations, expected);
        QFETCH(int, closeCode);
        for (const auto &c : chunkings(wire, wire.size() > 1000 ? 1 : 4)) {
            FrameParser parser(from(Sender(sender), deflate));
            const auto run = drive(c.pieces, parser);
            QVERIFY(!run.error);
            QVERIFY(!run.frames.isEmpty());
            QCOMPARE(run.frames.last().violations, expected);
            for (qsizetype i = 0; i + 1 < run.frames.size(); ++i)
                QVERIFY(!run.frames[i].violations);
            QCOMPARE(int(closeCodeFor(expected)), closeCode);
            // Frames that break rules are still parsed whole, so the relay can stay transparent.
            QCOMPARE(run.consumed, wire.size());
        }
    }

    void lengthHighBitIsFatal()
    {
        const QByteArray wire = QByteArray::fromHex("827f8000000000000000") + "rest";
        for (const auto &c : chunkings(wire)) {
            FrameParser parser(from(Sender::Server));
            const auto run = drive(c.pieces, parser);
            QVERIFY(run.error);
            QVERIFY(run.errorViolations.testFlag(Violation::LengthHighBitSet));
            QCOMPARE(run.consumed, 10);
            QVERIFY(parser.failed());
            QCOMPARE(parser.next("x").kind, FrameParser::Event::Kind::Error);
        }
    }

    void deflateAllowsRsv1OnFirstFrame()
    {
        FrameParser parser(from(Sender::Server, true));
        const auto run = drive({QByteArray::fromHex("c107f248cdc9c90700")}, parser);
        QCOMPARE(run.frames.size(), 1);
        QVERIFY(run.frames[0].header.rsv1);
        QVERIFY(!run.frames[0].violations);
        parser.setPerMessageDeflate(false);
        const auto again = drive({QByteArray::fromHex("c100")}, parser);
        QCOMPARE(again.frames[0].violations, Violations(Violation::ReservedBitsSet));
    }

    void streamsLargeFramesInChunks()
    {
        // A 16 MiB frame is reported as payload chunks of what arrived, never buffered by the parser.
        const QByteArray payload(16 * 1024 * 1024, 'z');
        FrameHeader h;
        h.opcode = quint8(Opcode::Binary);
        h.masked = true;
        h.maskKey = {1, 2, 3, 4};
        const QByteArray wire = FrameWriter::frame(h, payload);
        QList<QByteArrayView> pieces;
        for (qsizetype pos = 0; pos < wire.size(); pos += 65536)
            pieces.append(QByteArrayView(wire).sliced(pos, std::min<qsizetype>(65536, wire.size() - pos)));
        FrameParser parser(from(Sender::Client));
        const auto run = drive(pieces, parser);
        QCOMPARE(run.frames.size(), 1);
        QVERIFY(run.frames[0].payloadEvents >= 256);
        QCOMPARE(run.frames[0].payload, payload);
    }

    void headerViewsPointIntoInput()
    {
        // Payload events are views of the caller's bytes (zero copy), masked as on the wire.
        const QByteArray wire = QByteArray::fromHex("818537fa213d7f9f4d5158");
        FrameParser parser(from(Sender::Client));
        auto ev = parser.next(wire);
        QCOMPARE(ev.kind, FrameParser::Event::Kind::Header);
        QCOMPARE(ev.consumed, 6);
        ev = parser.next(QByteArrayView(wire).sliced(6));
        QCOMPARE(ev.kind, FrameParser::Event::Kind::Payload);
        QCOMPARE(ev.payload.data(), wire.constData() + 6);
        ev = parser.next({});
        QCOMPARE(ev.kind, FrameParser::Event::Kind::FrameEnd);
        QCOMPARE(parser.next({}).kind, FrameParser::Event::Kind::NeedMore);
    }

    void violationDescriptionsNameTheRule()
    {
        for (quint32 bit = 1; bit <= quint32(Violation::FrameAfterClose); bit <<= 1) {
            const QString text = describe(Violation(bit));
            QVERIFY2(text.contains("RFC") || text.contains("limit"), qPrintable(text));
        }
        QCOMPARE(closeCodeFor(Violation::InvalidUtf8 | Violation::ReservedOpcode), CloseCode::InvalidPayload);
        QCOMPARE(closeCodeFor(Violations(Violation::InflatedTooLarge)), CloseCode::MessageTooBig);
        QCOMPARE(describe(Violation::ReservedOpcode | Violation::InvalidUtf8).size(), 2);
    }
};

QTEST_GUILESS_MAIN(TestFrameParser)
#include "tst_frameparser.moc"
