// The mock's player, sans I/O: when each recorded answer is due under each timing, answers never
// overtaking one another, order and content matching, fresh ids echoed (an ignored JSON key, a Socket.IO
// ack id), the unmatched policies, the Close either side starts, and the report's missing and extra.
#include "core/replay/MockPlan.h"
#include "core/ws/Frame.h"

#include <QTest>

using namespace socktap::replay;
using Out = MockPlayer::Out;

namespace {

constexpr quint8 Text = 1;
constexpr quint8 Close = 8;

ComparedMessage client(const QByteArray &payload)
{
    return ComparedMessage {Text, payload, quint64(payload.size()), false, {}};
}

MockAnswer answer(const QByteArray &payload, qint64 offsetMs)
{
    return MockAnswer {Text, payload, std::nullopt, offsetMs * 1000, false};
}

// "a" and "b" from the client; "hello" 10 ms after the upgrade, "re:a" 50 ms after "a" and "more:a" 30 ms
// after that, and after "b" the server's Close 4001 "done" 5 ms later.
std::shared_ptr<MockPlan> chatPlan()
{
    auto plan = std::make_shared<MockPlan>();
    plan->clientMessages = {client("a"), client("b")};
    plan->answers = {{answer("hello", 10)},
                     {answer("re:a", 50), answer("more:a", 80)},
                     {MockAnswer {Close, "done", quint16(4001), 5'000, false}}};
    return plan;
}

QList<QByteArray> payloads(const std::vector<Out> &outs)
{
    QList<QByteArray> list;
    for (const Out &o : outs)
        list.append(o.kind == Out::Kind::Close
                        ? "close " + QByteArray::number(o.closeCode.value_or(0)) + ' ' + o.payload
                        : o.payload);
    return list;
}

} // namespace

class TestMockPlayer final : public QObject
{
    Q_OBJECT

private slots:
    void originalTimingKeepsTheServersDelays()
    {
        MockPlayer p(chatPlan(), MockOptions {});
        p.start(0);
        QCOMPARE(p.nextDue(), std::optional<qint64>(10'000));
        QVERIFY(p.takeDue(9'999).empty());
        QCOMPARE(payloads(p.takeDue(10'000)), QList<QByteArray> {"hello"});
        QVERIFY(!p.nextDue());
        QVERIFY(p.onClientMessage(Text, "a", 100'000).isEmpty());
        QCOMPARE(p.nextDue(), std::optional<qint64>(150'000));
        QCOMPARE(payloads(p.takeDue(150'000)), QList<QByteArray> {"re:a"});
        QCOMPARE(payloads(p.takeDue(180'000)), QList<QByteArray> {"more:a"});
        p.onClientMessage(Text, "b", 200'000);
        QCOMPARE(payloads(p.takeDue(205'000)), QList<QByteArray> {"close 4001 done"});
        QVERIFY(p.closed());
        const MockReport r = p.report(true);
        QCOMPARE(r.received, 2);
        QCOMPARE(r.sent, 3);
        QVERIFY(r.matched());
    }

    void conversationAndFastTiming()
    {
        MockOptions conversation;
        conversation.timing = Timing::Conversation;
        MockPlayer c(chatPlan(), conversation);
        c.start(0);
        QCOMPARE(c.nextDue(), std::optional<qint64>(0)); // the thinking time dropped
        c.takeDue(0);
        c.onClientMessage(Text, "a", 100'000);
        QCOMPARE(payloads(c.takeDue(100'000)), QList<QByteArray> {"re:a"});
        QCOMPARE(c.nextDue(), std::optional<qint64>(130'000)); // the pace between answers kept
        MockOptions fast;
        fast.timing = Timing::Fast;
        MockPlayer f(chatPlan(), fast);
        f.start(0);
        f.onClientMessage(Text, "a", 0);
        QCOMPARE(payloads(f.takeDue(0)), (QList<QByteArray> {"hello", "re:a", "more:a"}));
        // Twice the speed halves the delays.
        MockOptions twice;
        twice.speed = 2;
        MockPlayer t(chatPlan(), twice);
        t.start(0);
        QCOMPARE(t.nextDue(), std::optional<qint64>(5'000));
    }

    void answersNeverOvertake()
    {
        // The client answers before the greeting is due: its answer (due at once) waits for the greeting.
        auto plan = chatPlan();
        plan->answers[1] = {answer("re:a", 0)};
        MockPlayer p(plan, MockOptions {});
        p.start(0);
        p.onClientMessage(Text, "a", 1'000);
        QCOMPARE(p.nextDue(), std::optional<qint64>(10'000));
        QCOMPARE(payloads(p.takeDue(10'000)), (QList<QByteArray> {"hello", "re:a"}));
    }

    void orderMatchingComparesAndCountsExtra()
    {
        MockOptions o;
        o.timing = Timing::Fast;
        o.keepReceived = true;
        MockPlayer p(chatPlan(), o);
        p.start(0);
        QVERIFY(p.onClientMessage(Text, "x", 0).isEmpty()); // in order: answered, but different
        QCOMPARE(payloads(p.takeDue(0)), (QList<QByteArray> {"hello", "re:a", "more:a"}));
        MockReport r = p.report(true);
        QCOMPARE(r.client.different, 1);
        QCOMPARE(r.client.missing, 1); // "b" never came
        QVERIFY(!r.matched());
        QCOMPARE(r.client.pairs.front().differences.join(' '),
                 QStringLiteral("text differs at byte 0: \"a\" -> \"x\""));
    }

    void contentMatchingEchoesFreshIds()
    {
        auto plan = std::make_shared<MockPlan>();
        plan->clientMessages = {client(R"({"id":1,"op":"x"})"), client(R"({"id":2,"op":"y"})"),
                                client(R"(421["get",{"k":1}])"), client(R"(42/admin,5["who"])")};
        plan->answers = {{},
                         {answer(R"({"id": 1, "r":"X", "n":1})", 0)},
                         {answer(R"({"r":"Y","id":2})", 0)},
                         {answer(R"(431[{"v":1}])", 0)},
                         {answer(R"(43/admin,5["me"])", 0)}};
        MockOptions o;
        o.match = MockMatch::Content;
        o.timing = Timing::Fast;
        o.ignoreJsonKeys = {QStringLiteral("id")};
        MockPlayer p(plan, o);
        p.start(0);
        p.onClientMessage(Text, R"({"id":9,"op":"y"})", 0);
        p.onClientMessage(Text, R"({"id":"ten","op":"x"})", 0);
        p.onClientMessage(Text, R"(4217["get",{"k":1}])", 0);
        p.onClientMessage(Text, R"(42/admin,33["who"])", 0);
        QCOMPARE(payloads(p.takeDue(0)),
                 (QList<QByteArray> {R"({"r":"Y","id":9})", R"({"id": "ten", "r":"X", "n":1})",
                                     R"(4317[{"v":1}])", R"(43/admin,33["me"])"}));
        MockReport r = p.report(true);
        QCOMPARE(r.answered, 4);
        QVERIFY(r.matched());
        // What has no recorded equal is unanswered: shown, counted, and the run no longer matches.
        const QString line = p.onClientMessage(Text, R"({"id":3,"op":"z"})", 0);
        QVERIFY2(line.contains(QStringLiteral("client message 5 has no answer")), qPrintable(line));
        QVERIFY(p.takeDue(0).empty());
        r = p.report(true);
        QCOMPARE(r.unanswered, 1);
        QCOMPARE(r.client.extra, 1);
        QVERIFY(!r.matched());
    }

    void echoedValuesAreTakenLiterally()
    {
        // A fresh value holding a backslash and a digit is spliced in as it is, not read as a group.
        auto plan = std::make_shared<MockPlan>();
        plan->clientMessages = {client("{\"id\":1,\"op\":\"x\"}")};
        plan->answers = {{}, {answer("{\"id\":1,\"r\":2}", 0)}};
        MockOptions o;
        o.match = MockMatch::Content;
        o.timing = Timing::Fast;
        o.ignoreJsonKeys = {QStringLiteral("id")};
        MockPlayer p(plan, o);
        p.start(0);
        p.onClientMessage(Text, "{\"id\":\"C:\\\\1\",\"op\":\"x\"}", 0);
        QCOMPARE(payloads(p.takeDue(0)), QList<QByteArray> {"{\"id\":\"C:\\\\1\",\"r\":2}"});
    }

    void socketIoAckIdsAreFound()
    {
        QCOMPARE(socketIoAckId("4212[\"a\"]"), (std::optional<std::pair<qsizetype, qsizetype>>({2, 2})));
        QCOMPARE(socketIoAckId("451-/nsp,7[\"a\",{}]"),
                 (std::optional<std::pair<qsizetype, qsizetype>>({9, 1})));
        QVERIFY(!socketIoAckId("42[\"no id\"]"));
        QVERIFY(!socketIoAckId("40{\"sid\":\"x\"}"));
        QVERIFY(!socketIoAckId("2"));
    }

    void unmatchedPolicies()
    {
        MockOptions close;
        QVERIFY(setUnmatchedPolicy(QStringLiteral("close:4000"), close));
        QCOMPARE(close.unmatchedCode, quint16(4000));
        QVERIFY(!setUnmatchedPolicy(QStringLiteral("close:1006"), close)); // never on the wire
        QVERIFY(!setUnmatchedPolicy(QStringLiteral("close:x"), close));
        QVERIFY(!setUnmatchedPolicy(QStringLiteral("maybe"), close));
        close.timing = Timing::Fast;
        MockPlayer p(chatPlan(), close);
        p.start(0);
        p.onClientMessage(Text, "a", 0);
        p.onClientMessage(Text, "b", 0);
        p.onClientMessage(Text, "c", 0); // past the capture: unanswered, and the rest is not sent
        const auto outs = p.takeDue(0);
        QCOMPARE(payloads(outs),
                 (QList<QByteArray> {"close 4000 socktap mock: no answer for client message 3"}));
        QVERIFY(p.closed());
        QVERIFY(!p.report(true).failed);
        MockOptions failing;
        QVERIFY(setUnmatchedPolicy(QStringLiteral("fail"), failing));
        MockPlayer f(chatPlan(), failing);
        f.start(0);
        f.onClientMessage(Text, "a", 0);
        f.onClientMessage(Text, "b", 0);
        f.onClientMessage(Text, "c", 0);
        QCOMPARE(f.takeDue(0).back().closeCode, std::optional<quint16>(1008));
        QVERIFY(f.report(true).failed);
    }

    void clientClosesFirst()
    {
        // The recorded answer to the client's Close, else the client's own code echoed (RFC 6455 5.5.1).
        auto plan = chatPlan();
        plan->closeAnswer = MockAnswer {Close, "bye", quint16(1000), 2'000, false};
        MockPlayer p(plan, MockOptions {});
        p.start(0);
        p.onClientClose(quint16(1001), 50'000);
        QVERIFY(!p.nextDue() || *p.nextDue() == 52'000); // the greeting not yet sent is dropped
        QCOMPARE(payloads(p.takeDue(52'000)), QList<QByteArray> {"close 1000 bye"});
        MockPlayer q(chatPlan(), MockOptions {});
        q.start(0);
        q.onClientClose(quint16(4005), 0);
        QCOMPARE(payloads(q.takeDue(0)), QList<QByteArray> {"close 4005 "});
    }
};

QTEST_MAIN(TestMockPlayer)
#include "tst_mockplayer.moc"
