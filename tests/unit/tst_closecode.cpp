// Close codes: the IANA registry, what may go on the wire (RFC 6455 7.4), and Close payload building.
#include "core/ws/CloseCode.h"
#include "core/ws/ClosePayload.h"
#include "core/ws/Utf8Validator.h"

#include <QTest>

using namespace socktap::ws;

class TestCloseCode final : public QObject
{
    Q_OBJECT

private slots:
    void registry_data()
    {
        QTest::addColumn<int>("code");
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("onWire");
        QTest::addColumn<int>("range");
        const int unused = int(CloseCodeInfo::Range::Unused), protocol = int(CloseCodeInfo::Range::Protocol),
                  registered = int(CloseCodeInfo::Range::Registered),
                  priv = int(CloseCodeInfo::Range::Private), invalid = int(CloseCodeInfo::Range::Invalid);
        QTest::newRow("0") << 0 << "Invalid" << false << unused;
        QTest::newRow("999") << 999 << "Invalid" << false << unused;
        QTest::newRow("1000") << 1000 << "Normal Closure" << true << protocol;
        QTest::newRow("1001") << 1001 << "Going Away" << true << protocol;
        QTest::newRow("1002") << 1002 << "Protocol Error" << true << protocol;
        QTest::newRow("1003") << 1003 << "Unsupported Data" << true << protocol;
        QTest::newRow("1004") << 1004 << "Reserved" << false << protocol;
        QTest::newRow("1005") << 1005 << "No Status Rcvd" << false << protocol;
        QTest::newRow("1006") << 1006 << "Abnormal Closure" << false << protocol;
        QTest::newRow("1007") << 1007 << "Invalid frame payload data" << true << protocol;
        QTest::newRow("1008") << 1008 << "Policy Violation" << true << protocol;
        QTest::newRow("1009") << 1009 << "Message Too Big" << true << protocol;
        QTest::newRow("1010") << 1010 << "Mandatory Ext." << true << protocol;
        QTest::newRow("1011") << 1011 << "Internal Error" << true << protocol;
        QTest::newRow("1012") << 1012 << "Service Restart" << true << protocol;
        QTest::newRow("1013") << 1013 << "Try Again Later" << true << protocol;
        QTest::newRow("1014") << 1014 << "Bad Gateway" << true << protocol;
        QTest::newRow("1015") << 1015 << "TLS handshake" << false << protocol;
        QTest::newRow("1016") << 1016 << "Unassigned" << false << protocol;
        QTest::newRow("2999") << 2999 << "Unassigned" << false << protocol;
        QTest::newRow("3000") << 3000 << "Unauthorized" << true << registered;
        QTest::newRow("3001") << 3001 << "Unregistered" << true << registered;
        QTest::newRow("3999") << 3999 << "Unregistered" << true << registered;
        QTest::newRow("4000") << 4000 << "Private Use" << true << priv;
        QTest::newRow("4999") << 4999 << "Private Use" << true << priv;
        QTest::newRow("5000") << 5000 << "Invalid" << false << invalid;
        QTest::newRow("65535") << 65535 << "Invalid" << false << invalid;
    }

    void registry()
    {
        QFETCH(int, code);
        QFETCH(QString, name);
        QFETCH(bool, onWire);
        QFETCH(int, range);
        const CloseCodeInfo info = closeCodeInfo(quint16(code));
        QCOMPARE(info.name, name);
        QCOMPARE(info.allowedOnWire, onWire);
        QCOMPARE(isValidOnWire(quint16(code)), onWire);
        QCOMPARE(int(info.range), range);
        QVERIFY(!info.meaning.isEmpty());
    }

    void label()
    {
        QCOMPARE(closeCodeLabel(1001), QStringLiteral("1001 Going Away"));
        QCOMPARE(closeCodeLabel(4321), QStringLiteral("4321 Private Use"));
    }

    void buildAndParse()
    {
        const QByteArray p = ClosePayload::build(CloseCode::GoingAway, "shutting down");
        QCOMPARE(p.first(2).toHex(), QByteArray("03e9"));
        const ClosePayload parsed = ClosePayload::parse(p);
        QCOMPARE(parsed.code.value(), CloseCode::GoingAway);
        QCOMPARE(parsed.reason, QByteArray("shutting down"));
        QVERIFY(!parsed.violations);
        QCOMPARE(ClosePayload::parse({}).effectiveCode(), CloseCode::NoStatusReceived);
    }

    void reasonIsCutAtCodePointBoundary()
    {
        // 62 two-byte characters = 124 bytes: 123 fit, so the last whole character that fits ends at 122.
        const QByteArray reason = QString(62, QChar(0x00e9)).toUtf8();
        const QByteArray p = ClosePayload::build(CloseCode::Normal, reason);
        QVERIFY(p.size() <= 125);
        QCOMPARE(p.size(), 2 + 122);
        QVERIFY(Utf8Validator::isValid(p.sliced(2)));
    }
};

QTEST_GUILESS_MAIN(TestCloseCode)
#include "tst_closecode.moc"
