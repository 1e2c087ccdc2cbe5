// Utf8Validator: RFC 3629 boundaries and every invalid form, fed in every chunking.
#include "core/ws/Utf8Validator.h"
#include "support/Chunking.h"

#include <QTest>

using namespace socktap::ws;

class TestUtf8 final : public QObject
{
    Q_OBJECT

private slots:
    void vectors_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<bool>("valid");
        QTest::newRow("empty") << QByteArray() << true;
        QTest::newRow("ascii long") << QByteArray("The quick brown fox jumps over the lazy dog, twice over.")
                                    << true;
        QTest::newRow("U+0000") << QByteArray(1, '\0') << true;
        QTest::newRow("U+007F") << QByteArray::fromHex("7f") << true;
        QTest::newRow("U+0080") << QByteArray::fromHex("c280") << true;
        QTest::newRow("U+07FF") << QByteArray::fromHex("dfbf") << true;
        QTest::newRow("U+0800") << QByteArray::fromHex("e0a080") << true;
        QTest::newRow("U+D7FF") << QByteArray::fromHex("ed9fbf") << true;
        QTest::newRow("U+E000") << QByteArray::fromHex("ee8080") << true;
        QTest::newRow("U+FFFF") << QByteArray::fromHex("efbfbf") << true;
        QTest::newRow("U+10000") << QByteArray::fromHex("f0908080") << true;
        QTest::newRow("U+10FFFF") << QByteArray::fromHex("f48fbfbf") << true;
        QTest::newRow("mixed") << QString::fromUtf8("κόσμε €😀 ascii").toUtf8() << true;
        QTest::newRow("lone continuation") << QByteArray::fromHex("80") << false;
        QTest::newRow("overlong 2-byte c0 80") << QByteArray::fromHex("c080") << false;
        QTest::newRow("overlong 2-byte c1 bf") << QByteArray::fromHex("c1bf") << false;
        QTest::newRow("overlong 3-byte") << QByteArray::fromHex("e09fbf") << false;
        QTest::newRow("overlong 4-byte") << QByteArray::fromHex("f08fbfbf") << false;
        QTest::newRow("surrogate D800") << QByteArray::fromHex("eda080") << false;
        QTest::newRow("surrogate DFFF") << QByteArray::fromHex("edbfbf") << false;
        QTest::newRow("above U+10FFFF") << QByteArray::fromHex("f4908080") << false;
        QTest::newRow("f5 lead") << QByteArray::fromHex("f5808080") << false;
        QTest::newRow("ff") << QByteArray::fromHex("ff") << false;
        QTest::newRow("truncated 3-byte") << QByteArray::fromHex("e282") << false;
        QTest::newRow("ascii in continuation slot") << QByteArray::fromHex("e24182") << false;
        QTest::newRow("invalid after 8 ascii") << QByteArray("abcdefgh") + QByteArray::fromHex("ff") << false;
    }

    void vectors()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(bool, valid);
        QCOMPARE(Utf8Validator::isValid(bytes), valid);
        for (const auto &c : socktap::test::chunkings(bytes)) {
            Utf8Validator v;
            for (QByteArrayView piece : c.pieces)
                v.feed(piece);
            QCOMPARE(v.isComplete(), valid);
        }
    }

    void failureIsSticky()
    {
        Utf8Validator v;
        QVERIFY(!v.feed(QByteArray::fromHex("ff")));
        QVERIFY(!v.feed("abc"));
        QVERIFY(v.failed());
        v.reset();
        QVERIFY(v.feed("abc"));
        QVERIFY(v.isComplete());
    }
};

QTEST_GUILESS_MAIN(TestUtf8)
#include "tst_utf8.moc"
