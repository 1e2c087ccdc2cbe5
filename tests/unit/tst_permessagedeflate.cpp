// permessage-deflate (RFC 7692): offer and response negotiation, Inflater and Deflater for every window
// size, context takeover, and the bound on inflated size.
#include "core/ws/Deflater.h"
#include "core/ws/Inflater.h"
#include "core/ws/PerMessageDeflate.h"
#include "support/Chunking.h"

#include <QRandomGenerator>
#include <QTest>

using namespace socktap::ws;

namespace {

Extension ext(const QByteArray &text)
{
    return parseExtensions(text)->front();
}

QByteArray sample(int size)
{
    // Compressible but not trivial: words with a little noise.
    QByteArray out;
    QRandomGenerator rng(42);
    static const char *words[] = {"socket ",  "frame ",    "deflate ", "window ",
                                  "{\"id\":", "\"text\" ", "42, "};
    while (out.size() < size)
        out += words[rng.bounded(7)];
    out.truncate(size);
    return out;
}

} // namespace

class TestPerMessageDeflate final : public QObject
{
    Q_OBJECT

private slots:
    void offers_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<bool>("valid");
        QTest::newRow("bare") << QByteArray("permessage-deflate") << true;
        QTest::newRow("chrome's offer") << QByteArray("permessage-deflate; client_max_window_bits") << true;
        QTest::newRow("all") << QByteArray(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=10; client_max_window_bits=8")
                             << true;
        QTest::newRow("window 16") << QByteArray("permessage-deflate; server_max_window_bits=16") << false;
        QTest::newRow("window 7") << QByteArray("permessage-deflate; client_max_window_bits=7") << false;
        QTest::newRow("window 010") << QByteArray("permessage-deflate; server_max_window_bits=010") << false;
        QTest::newRow("server bits without value")
            << QByteArray("permessage-deflate; server_max_window_bits") << false;
        QTest::newRow("value on takeover")
            << QByteArray("permessage-deflate; server_no_context_takeover=1") << false;
        QTest::newRow("duplicate") << QByteArray(
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover")
                                   << false;
        QTest::newRow("unknown") << QByteArray("permessage-deflate; mystery") << false;
    }

    void offers()
    {
        QFETCH(QByteArray, text);
        QFETCH(bool, valid);
        QString error;
        QCOMPARE(PerMessageDeflate::parseOffer(ext(text), &error).has_value(), valid);
        if (!valid)
            QVERIFY2(error.contains("RFC 7692"), qPrintable(error));
    }

    void responses_data()
    {
        QTest::addColumn<QByteArray>("offer");
        QTest::addColumn<QByteArray>("response");
        QTest::addColumn<bool>("accepted");
        QTest::addColumn<int>("serverBits");
        QTest::addColumn<int>("clientBits");
        QTest::addColumn<bool>("serverNoTakeover");
        QTest::addColumn<bool>("clientNoTakeover");
        const QByteArray pmd = "permessage-deflate";
        QTest::newRow("plain") << pmd << pmd << true << 15 << 15 << false << false;
        QTest::newRow("server limits itself unasked")
            << pmd << pmd + "; server_max_window_bits=12" << true << 12 << 15 << false << false;
        QTest::newRow("server adds client_no_context_takeover")
            << pmd << pmd + "; client_no_context_takeover" << true << 15 << 15 << false << true;
        QTest::newRow("client bits offered without value")
            << pmd + "; client_max_window_bits" << pmd + "; client_max_window_bits=9" << true << 15 << 9
            << false << false;
        QTest::newRow("client bits from offer")
            << pmd + "; client_max_window_bits=11" << pmd << true << 15 << 11 << false << false;
        QTest::newRow("client bits not offered")
            << pmd << pmd + "; client_max_window_bits=9" << false << 0 << 0 << false << false;
        QTest::newRow("client bits above offer")
            << pmd + "; client_max_window_bits=10" << pmd + "; client_max_window_bits=12" << false << 0 << 0
            << false << false;
        QTest::newRow("server bits offered, response lacks")
            << pmd + "; server_max_window_bits=10" << pmd << false << 0 << 0 << false << false;
        QTest::newRow("server bits above offer")
            << pmd + "; server_max_window_bits=10" << pmd + "; server_max_window_bits=11" << false << 0 << 0
            << false << false;
        QTest::newRow("server_no_context_takeover offered, lacking")
            << pmd + "; server_no_context_takeover" << pmd << false << 0 << 0 << false << false;
        QTest::newRow("server_no_context_takeover honoured")
            << pmd + "; server_no_context_takeover" << pmd + "; server_no_context_takeover" << true << 15
            << 15 << true << false;
        QTest::newRow("response without client bits value")
            << pmd + "; client_max_window_bits" << pmd + "; client_max_window_bits" << false << 0 << 0
            << false << false;
    }

    void responses()
    {
        QFETCH(QByteArray, offer);
        QFETCH(QByteArray, response);
        QFETCH(bool, accepted);
        QFETCH(int, serverBits);
        QFETCH(int, clientBits);
        QFETCH(bool, serverNoTakeover);
        QFETCH(bool, clientNoTakeover);
        QString error;
        const auto parsedOffer = PerMessageDeflate::parseOffer(ext(offer), &error);
        QVERIFY2(parsedOffer, qPrintable(error));
        const auto params = PerMessageDeflate::acceptResponse({*parsedOffer}, ext(response), &error);
        QCOMPARE(params.has_value(), accepted);
        if (!accepted) {
            QVERIFY2(error.contains("RFC 7692"), qPrintable(error));
            return;
        }
        QCOMPARE(params->serverMaxWindowBits, serverBits);
        QCOMPARE(params->clientMaxWindowBits, clientBits);
        QCOMPARE(params->serverNoContextTakeover, serverNoTakeover);
        QCOMPARE(params->clientNoContextTakeover, clientNoTakeover);
        // What we write back parses to the same agreement.
        QCOMPARE(PerMessageDeflate::acceptResponse({*parsedOffer}, PerMessageDeflate::toExtension(*params))
                     .value(),
                 *params);
    }

    void secondOfferMatches()
    {
        // Chrome-style: several offers, the response answers the second one.
        const auto strict =
            PerMessageDeflate::parseOffer(ext("permessage-deflate; server_max_window_bits=9"));
        const auto loose = PerMessageDeflate::parseOffer(ext("permessage-deflate"));
        const auto params = PerMessageDeflate::acceptResponse({*strict, *loose}, ext("permessage-deflate"));
        QVERIFY(params);
        QVERIFY(!PerMessageDeflate::acceptResponse({}, ext("permessage-deflate")));
        QCOMPARE(PerMessageDeflate::toExtension(*strict),
                 ext("permessage-deflate; server_max_window_bits=9"));
    }

    void rfcHello()
    {
        // RFC 7692 7.2.3.1 and 7.2.3.2: "Hello", then "Hello" again referring back with context takeover.
        Deflater takeover;
        QCOMPARE(takeover.compress("Hello").toHex(), QByteArray("f248cdc9c90700"));
        QCOMPARE(takeover.compress("Hello").toHex(), QByteArray("f200110000"));
        Deflater fresh(15, true);
        QCOMPARE(fresh.compress("Hello").toHex(), QByteArray("f248cdc9c90700"));
        QCOMPARE(fresh.compress("Hello").toHex(), QByteArray("f248cdc9c90700"));
        QCOMPARE(Inflater::inflate(QByteArray::fromHex("f248cdc9c90700")).value(), QByteArray("Hello"));
    }

    void roundTripEveryWindow_data()
    {
        QTest::addColumn<int>("bits");
        QTest::addColumn<bool>("noContextTakeover");
        for (int bits = 8; bits <= 15; ++bits) {
            QTest::addRow("bits %d takeover", bits) << bits << false;
            QTest::addRow("bits %d no takeover", bits) << bits << true;
        }
    }

    void roundTripEveryWindow()
    {
        QFETCH(int, bits);
        QFETCH(bool, noContextTakeover);
        Deflater deflater(bits, noContextTakeover);
        Inflater inflater(bits, noContextTakeover);
        for (int i = 0; i < 5; ++i) {
            const QByteArray message = sample(3000 + i * 1000);
            const QByteArray compressed = deflater.compress(message);
            QVERIFY(compressed.size() < message.size());
            // Fed in random chunks, as frames arrive.
            QByteArray out;
            const auto pieces = socktap::test::chunkings(compressed, 2).last().pieces;
            for (QByteArrayView piece : pieces)
                QVERIFY(inflater.feed(piece, out));
            QVERIFY(inflater.finishMessage(out));
            QCOMPARE(out, message);
            QCOMPARE(inflater.messageSize(), message.size());
        }
    }

    void takeoverNeedsTheSharedWindow()
    {
        Deflater deflater; // context takeover
        deflater.compress(sample(5000));
        const QByteArray second = deflater.compress(sample(5000));
        // A fresh inflater lacks the first message's window and cannot decode the second.
        QString error;
        QVERIFY(!Inflater::inflate(second, 15, 1 << 20, &error));
        QVERIFY2(error.contains("inflate failed"), qPrintable(error));
    }

    void outputBound()
    {
        Deflater deflater;
        const QByteArray bomb = deflater.compress(QByteArray(8 * 1024 * 1024, 'a'));
        QString error;
        QVERIFY(!Inflater::inflate(bomb, 15, 1024 * 1024, &error));
        QVERIFY2(error.contains("exceeds"), qPrintable(error));
        // Past the kept 1 KiB, the rest is inflated and counted (the window stays right)...
        Inflater counting(15, false, 1024);
        QByteArray kept;
        QVERIFY(counting.feed(bomb, kept) && counting.finishMessage(kept));
        QCOMPARE(kept.size(), 1024);
        QCOMPARE(counting.messageSize(), 8 * 1024 * 1024);
        QVERIFY(counting.overLimit() && !counting.stopped() && !counting.windowLost());
        // ...up to the stop limit: there inflating stops (a bomb).
        Inflater inflater(15, false, 1024, 1024);
        QByteArray out;
        QVERIFY(inflater.feed(bomb, out));
        QVERIFY(inflater.finishMessage(out));
        QCOMPARE(out.size(), 1024);
        QVERIFY(inflater.overLimit() && inflater.stopped());
        // Inflating stopped just past the limit (one scratch area's worth), not after all 8 MiB.
        QVERIFY(inflater.messageSize() > 1024 && inflater.messageSize() <= 1024 + 16 * 1024);
        QCOMPARE(inflater.totalInflated(), quint64(inflater.messageSize()));
        // Under context takeover the window is unknown from here on: later messages are refused, with why.
        QVERIFY(inflater.windowLost());
        QVERIFY(!inflater.feed(deflater.compress("next"), out));
        QVERIFY2(inflater.error().contains("shared window"), qPrintable(inflater.error()));
    }

    void outputBoundIsExact_data()
    {
        QTest::addColumn<int>("size");
        QTest::addColumn<bool>("over");
        QTest::addRow("one below the cap") << 4095 << false;
        QTest::addRow("exactly at the cap") << 4096 << false;
        QTest::addRow("one past the cap") << 4097 << true;
    }

    void outputBoundIsExact()
    {
        // The cap is the largest message kept whole: a message of exactly that size is not over it.
        QFETCH(int, size);
        QFETCH(bool, over);
        Deflater deflater;
        const QByteArray compressed = deflater.compress(sample(size));
        Inflater inflater(15, false, 4096);
        QByteArray out;
        QVERIFY(inflater.feed(compressed, out));
        QVERIFY(inflater.finishMessage(out));
        QCOMPARE(inflater.messageSize(), size);
        QCOMPARE(inflater.overLimit(), over);
        QCOMPARE(out.size(), std::min(size, 4096));
        QCOMPARE(out, sample(size).first(out.size()));
    }

    void noContextTakeoverResetsTheWindow()
    {
        // A peer that promised no context takeover but refers back to its previous message anyway: an
        // inflater that honours the promise (RFC 7692 7.1.1) starts every message with an empty window, so
        // the second message cannot be decoded, while one that keeps the window would decode it.
        Deflater liar(15, false); // keeps its context although the promise was made
        const QByteArray first = liar.compress(sample(3000));
        const QByteArray second = liar.compress(sample(3000));
        Inflater honest(15, true);
        QByteArray out;
        QVERIFY(honest.feed(first, out) && honest.finishMessage(out));
        QCOMPARE(out, sample(3000));
        out.clear();
        const bool decoded = honest.feed(second, out) && honest.finishMessage(out);
        QVERIFY(!decoded || out != sample(3000));
        Inflater keeping(15, false);
        out.clear();
        QVERIFY(keeping.feed(first, out) && keeping.finishMessage(out));
        out.clear();
        QVERIFY(keeping.feed(second, out) && keeping.finishMessage(out));
        QCOMPARE(out, sample(3000));
    }

    void corruptInputFails()
    {
        Inflater takeover(15, false);
        QByteArray out;
        QVERIFY(!takeover.feed(QByteArray::fromHex("ffffff"), out));
        QVERIFY(!takeover.finishMessage(out));
        QVERIFY(takeover.failed()); // with takeover the window is lost for good
        QVERIFY(!takeover.feed(QByteArray::fromHex("f248cdc9c90700"), out));
        Inflater fresh(15, true);
        out.clear();
        QVERIFY(!fresh.feed(QByteArray::fromHex("ffffff"), out));
        QVERIFY(!fresh.finishMessage(out));
        QVERIFY(!fresh.failed()); // without takeover the next message starts clean
        out.clear();
        QVERIFY(fresh.feed(QByteArray::fromHex("f248cdc9c90700"), out));
        QVERIFY(fresh.finishMessage(out));
        QCOMPARE(out, QByteArray("Hello"));
    }
};

QTEST_GUILESS_MAIN(TestPerMessageDeflate)
#include "tst_permessagedeflate.moc"
