// FrameWriter: header encodings, masking with CSPRNG keys, fragmentation, and parse round trips.
#include "core/ws/FrameParser.h"
#include "core/ws/FrameWriter.h"
#include "support/WsRun.h"

#include <QSet>
#include <QTest>

using namespace socktap::ws;
using socktap::test::drive;
using socktap::test::from;

class TestFrameWriter final : public QObject
{
    Q_OBJECT

private slots:
    void rfcExamples()
    {
        FrameHeader h;
        h.opcode = quint8(Opcode::Text);
        QCOMPARE(FrameWriter::frame(h, "Hello").toHex(), QByteArray("810548656c6c6f"));
        h.masked = true;
        h.maskKey = {0x37, 0xfa, 0x21, 0x3d};
        QCOMPARE(FrameWriter::frame(h, "Hello").toHex(), QByteArray("818537fa213d7f9f4d5158"));
    }

    void forcedEncodings()
    {
        FrameHeader h;
        h.opcode = quint8(Opcode::Binary);
        h.length = 5;
        QCOMPARE(FrameWriter::header(h, FrameWriter::LengthEncoding::Force16).toHex(),
                 QByteArray("827e0005"));
        QCOMPARE(FrameWriter::header(h, FrameWriter::LengthEncoding::Force64).toHex(),
                 QByteArray("827f0000000000000005"));
        h.length = 70000;
        h.fin = false;
        h.rsv1 = true;
        QCOMPARE(FrameWriter::header(h).toHex(), QByteArray("427f0000000000011170"));
    }

    void randomMaskKeys()
    {
        QSet<quint32> keys;
        for (int i = 0; i < 64; ++i) {
            const auto k = FrameWriter::randomMaskKey();
            keys.insert(quint32(k[0]) << 24 | quint32(k[1]) << 16 | quint32(k[2]) << 8 | k[3]);
        }
        QVERIFY(keys.size() > 60); // 64 draws from 2^32 collide with probability ~5e-7
    }

    void fragmentedMessageRoundTrips()
    {
        QByteArray payload(1000, 0);
        for (int i = 0; i < payload.size(); ++i)
            payload[i] = char(i);
        const QByteArray wire = FrameWriter::message(Opcode::Binary, payload, true, 300, true);
        FrameParser parser(from(FrameParser::Sender::Client, true));
        const auto run = drive({wire}, parser);
        QCOMPARE(run.frames.size(), 4);
        QByteArray joined;
        for (qsizetype i = 0; i < run.frames.size(); ++i) {
            const auto &f = run.frames[i];
            QVERIFY(f.header.masked);
            QCOMPARE(f.header.rsv1, i == 0); // RFC 7692 6.1: RSV1 on the first frame only
            QCOMPARE(f.header.opcode, quint8(i == 0 ? Opcode::Binary : Opcode::Continuation));
            QCOMPARE(f.header.fin, i == 3);
            QVERIFY(!f.violations);
            joined += f.payload;
        }
        QCOMPARE(joined, payload);
        QCOMPARE(FrameWriter::message(Opcode::Text, "", false).toHex(), QByteArray("8100"));
    }
};

QTEST_GUILESS_MAIN(TestFrameWriter)
#include "tst_framewriter.moc"
