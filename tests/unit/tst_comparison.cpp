// The replay comparison, sans I/O: JSON diffs with ignored keys at any depth, text and binary differences,
// alignment (missing, extra), payloads the capture truncated or evicted, and whose Close counts.
#include "core/replay/Comparison.h"

#include <QTest>

using namespace socktap::replay;

namespace {

ComparedMessage text(const QByteArray &payload)
{
    return ComparedMessage {1, payload, quint64(payload.size()), false, {}};
}

} // namespace

class TestComparison final : public QObject
{
    Q_OBJECT

private slots:
    void decodedComparisonIgnoresHeartbeats()
    {
        // A Socket.IO session replayed: a different number of Engine.IO pings (timing), a new sid, the same
        // events written with other spacing: equal once decoded, with the sid ignored; an ack whose value
        // changed is told by its decoded path.
        const std::vector<ComparedMessage> original[2] = {
            {text("40"), text("3"), text(R"(420["chat",{"msg":"hi"}])")},
            {text(R"(0{"sid":"AAA","pingInterval":25000})"), text("2"), text(R"(40{"sid":"s1"})"),
             text(R"(430[{"ok":true}])")}};
        const std::vector<ComparedMessage> again[2] = {
            {text("40"), text("3"), text("3"), text(R"(420[ "chat", { "msg": "hi" } ])")},
            {text(R"(0{"sid":"BBB","pingInterval":25000})"), text("2"), text("2"), text(R"(40{"sid":"s2"})"),
             text(R"(430[{"ok":true}])")}};
        const CloseSide none[2];
        CompareOptions options {{"sid"}, socktap::decode::SessionHints {{}, "/socket.io/?EIO=4"}};
        const Comparison same = compare(original, again, none, none, options);
        QVERIFY2(same.serverMatched(), qPrintable(comparisonText(same)));
        QCOMPARE(same.server.chatterIgnored, 3);
        QCOMPARE(same.client.chatterIgnored, 3);
        QVERIFY2(same.verdict().endsWith("(6 heartbeats ignored)"), qPrintable(same.verdict()));
        // Byte for byte (no format), the pings misalign everything after them.
        options.decodeAs.reset();
        QVERIFY(!compare(original, again, none, none, options).serverMatched());

        std::vector<ComparedMessage> changed[2] = {again[0], again[1]};
        changed[1].back() = text(R"(430[{"ok":false}])");
        const Comparison different =
            compare(original, changed, none, none,
                    {{"sid"}, socktap::decode::SessionHints {{}, "/socket.io/?EIO=4"}});
        QCOMPARE(different.server.different, 1);
        QCOMPARE(different.server.pairs.back().differences, QStringList {"$.args[0].ok: true -> false"});
    }

    void jsonDifferencesByPath()
    {
        const QByteArray a =
            R"({"user": {"id": 7, "name": "ann", "seen": 1}, "items": [1, 2, 3], "ok": true})";
        const QByteArray b =
            R"({"user": {"id": 8, "name": "ann", "seen": 2}, "items": [1, 5], "ok": true, "new": null})";
        QCOMPARE(payloadDifferences(1, a, b),
                 (QStringList {"$.items[1]: 2 -> 5", "$.items: 3 elements -> 2", "$.user.id: 7 -> 8",
                               "$.user.seen: 1 -> 2", "$.new: only in the replay (null)"}));
        // (the original's keys in sorted order, then those only in the replay)
        // Ignored keys at any depth; key order and whitespace never matter.
        QCOMPARE(payloadDifferences(1, a, b, CompareOptions {{"seen", "id", "items", "new"}, {}}),
                 QStringList {});
        QCOMPARE(payloadDifferences(1, R"({"a":1,"b":2})", R"({ "b": 2, "a": 1 })"), QStringList {});
    }

    void textAndBinaryDifferences()
    {
        QCOMPARE(payloadDifferences(1, "price 10.5 EUR", "price 10.7 EUR"),
                 QStringList {R"(text differs at byte 9: "price 10.5 EUR" -> "price 10.7 EUR")"});
        QCOMPARE(payloadDifferences(2, QByteArray::fromHex("0102030405"), QByteArray::fromHex("010203")),
                 QStringList {"bytes differ from offset 3 (5 -> 3 bytes)"});
        QVERIFY(payloadDifferences(2, "same", "same").isEmpty());
        // Quotes and backslashes in the text are escaped: the excerpt's own quotes stay its bounds.
        QCOMPARE(
            payloadDifferences(1, "say \"hi\" a\\b", "say \"ho\" a\\b"),
            QStringList {"text differs at byte 6: \"say \\\"hi\\\" a\\\\b\" -> \"say \\\"ho\\\" a\\\\b\""});
    }

    void alignmentInOrder()
    {
        const std::vector<ComparedMessage> original[2] = {{text("a")}, {text("1"), text("2"), text("3")}};
        const std::vector<ComparedMessage> replay[2] = {{text("a")}, {text("1"), text("20")}};
        const CloseSide none[2];
        const Comparison c = compare(original, replay, none, none);
        QCOMPARE(c.server.equal, 1);
        QCOMPARE(c.server.different, 1);
        QCOMPARE(c.server.missing, 1);
        QCOMPARE(c.server.pairs[2].verdict, MessagePair::Verdict::Missing);
        QVERIFY(c.client.matched());
        QVERIFY(!c.serverMatched());
        QCOMPARE(c.verdict(), QStringLiteral("DIFFERENT: 1 of 3 server messages differ, 1 missing"));
        const std::vector<ComparedMessage> more[2] = {{text("a")},
                                                      {text("1"), text("2"), text("3"), text("4")}};
        const Comparison extra = compare(original, more, none, none);
        QCOMPARE(extra.server.extra, 1);
        QCOMPARE(extra.server.pairs[3].replayIndex, 3);
        QCOMPARE(extra.server.pairs[3].originalIndex, -1);
    }

    void truncatedAndEvictedPayloads()
    {
        // The capture kept 4 of 10 bytes: the kept part and the whole sizes are compared.
        const ComparedMessage cut {1, "abcd", 10, false, {}};
        const ComparedMessage whole {1, "abcdefghij", 10, false, {}};
        const std::vector<ComparedMessage> a[2] = {{}, {cut}};
        const std::vector<ComparedMessage> b[2] = {{}, {whole}};
        const CloseSide none[2];
        const Comparison c = compare(a, b, none, none);
        QCOMPARE(c.server.equal, 1);
        QVERIFY(c.server.pairs[0].note.contains("first 4 bytes"));
        // A payload the capture no longer holds cannot be compared: never a match (CI must not pass on it).
        const ComparedMessage evicted {1, {}, 10, true, {}};
        const std::vector<ComparedMessage> e[2] = {{}, {evicted}};
        const Comparison notCompared = compare(e, b, none, none);
        QCOMPARE(notCompared.server.uncompared, 1);
        QVERIFY(!notCompared.serverMatched());
        QVERIFY(notCompared.verdict().contains("could not be compared"));
        // Nothing kept of a non-empty payload: likewise.
        const std::vector<ComparedMessage> nothingKept[2] = {{}, {ComparedMessage {1, {}, 10, false, {}}}};
        QVERIFY(!compare(nothingKept, b, none, none).serverMatched());
    }

    void whoseCloseCounts()
    {
        const std::vector<ComparedMessage> nothing[2];
        // The server closed first with 4001; now 4002: different.
        CloseSide original[2] = {{true, false, 4001, {}}, {true, true, 4001, "bye"}};
        CloseSide replay[2] = {{true, false, 4002, {}}, {true, true, 4002, "bye"}};
        QVERIFY(!compare(nothing, nothing, original, replay).closeMatched());
        // The server no longer closes by itself: different.
        CloseSide clientFirst[2] = {{true, true, 1000, {}}, {true, false, 1000, {}}};
        QVERIFY(!compare(nothing, nothing, original, clientFirst).closeMatched());
        // The original client closed first: the server's answer is compared.
        CloseSide answered[2] = {{true, true, 1000, {}}, {true, false, 1011, {}}};
        QVERIFY(!compare(nothing, nothing, clientFirst, answered).closeMatched());
        QVERIFY(compare(nothing, nothing, clientFirst, clientFirst).closeMatched());
        // The original ended without any Close: the replay's own closing is not the server's doing.
        const CloseSide none[2];
        QVERIFY(compare(nothing, nothing, none, clientFirst).closeMatched());
        // Same code and reason, but the server closed first then and answers now: the verdict names it.
        CloseSide serverFirst[2] = {{true, false, 1000, "bye"}, {true, true, 1000, "bye"}};
        CloseSide serverAnswered[2] = {{true, true, 1000, "bye"}, {true, false, 1000, "bye"}};
        const Comparison c = compare(nothing, nothing, serverFirst, serverAnswered);
        QVERIFY(!c.closeMatched());
        QVERIFY2(c.verdict().contains("1000 \"bye\" (the server closed first) -> 1000 \"bye\" (an answer to the "
                                      "client's Close)"),
                 qPrintable(c.verdict()));
    }
};

QTEST_GUILESS_MAIN(TestComparison)
#include "tst_comparison.moc"
