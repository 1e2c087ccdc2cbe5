// The GUI's models over the capture store, each wrapped in QAbstractItemModelTester and fed synthetic
// store batches: rows appear in one insert per refresh, filters keep the right rows, previews are right.
#include "core/capture/CaptureWriter.h"
#include "core/capture/Clock.h"
#include "core/capture/JsonTree.h"
#include "core/ws/ClosePayload.h"
#include "core/ws/FrameParser.h"
#include "core/ws/FrameWriter.h"
#include "ui/CaptureFeed.h"
#include "ui/HeldMessageModel.h"
#include "ui/MessageTableModel.h"
#include "ui/MessagesPanel.h"
#include "ui/SessionFilterModel.h"
#include "ui/SessionTableModel.h"

#include "support/CaptureFill.h"
#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QJsonArray>
#include <QJsonObject>
#include <QScrollBar>
#include <QSignalSpy>
#include <QTableView>

#include <QTest>

using namespace socktap;
using namespace socktap::capture;
using ui::MessageTableModel;

namespace {

SessionInfo session(SessionId id, SessionKind kind, const QByteArray &host,
                    SessionState state = SessionState::Open)
{
    SessionInfo s;
    s.id = id;
    s.kind = kind;
    s.state = state;
    s.scheme = kind == SessionKind::Http ? "http" : "ws";
    s.host = host;
    s.port = 9000;
    s.path = "/chat";
    s.acceptedAt = 1'000'000;
    return s;
}

} // namespace

class TestModels final : public QObject
{
    Q_OBJECT

private slots:
    void jsonTreeKeepsWhatArrived()
    {
        using capture::JsonNode;
        // Key order and number text as on the wire (QJsonObject sorts keys; a double rounds 2^64-ish ids).
        const auto tree = capture::parseJsonTree(
            R"( {"z":1,"a":[true,false,null],"id":18446744073709551615,"f":-0.5e+3,"s":"\u00e9\ud83d\ude00\n"} )");
        QVERIFY(tree);
        QCOMPARE(tree->type, JsonNode::Type::Object);
        QStringList keys;
        for (const auto &c : tree->children)
            keys << c.key;
        QCOMPARE(keys, QStringList({"z", "a", "id", "f", "s"}));
        QCOMPARE(tree->children[2].value, QStringLiteral("18446744073709551615"));
        QCOMPARE(tree->children[3].value, QStringLiteral("-0.5e+3"));
        QCOMPARE(tree->children[4].value, QString::fromUtf8("é\xf0\x9f\x98\x80\n"));
        QCOMPARE(tree->children[1].children.size(), size_t(3));
        QCOMPARE(capture::prettyJson(*tree),
                 QString::fromUtf8(
                     "{\n  \"z\": 1,\n  \"a\": [\n    true,\n    false,\n    null\n  ],\n  \"id\": "
                     "18446744073709551615,\n  \"f\": -0.5e+3,\n  \"s\": \"é\xf0\x9f\x98\x80\\n\"\n}"));
        QCOMPARE(capture::prettyJson(*capture::parseJsonTree("[{},[]]")),
                 QStringLiteral("[\n  {},\n  []\n]"));
        // RFC 8259's grammar, strictly: each of these is not JSON.
        for (const char *bad : {"", "{", "{\"a\":1,}", "[1,]", "01", "1.", "-", "+1", "\"tab\there\"",
                                "\"\\x\"", "{\"a\" 1}", "[1] 2", "tru", "\"\xff\"", "{'a':1}", "[\"\\u12\"]"})
            QVERIFY2(!capture::parseJsonTree(bad), bad);
        // Hostile nesting is refused, not a stack overflow.
        QVERIFY(!capture::parseJsonTree(QByteArray(100000, '[') + QByteArray(100000, ']')));
        QVERIFY(capture::parseJsonTree(QByteArray(500, '[') + QByteArray(500, ']')));
    }

    void sessionModelUpdatesInBatches()
    {
        CaptureStore store;
        CaptureWriter writer(store);
        ui::SessionTableModel model(store);
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        ui::SessionFilterModel filter;
        filter.setSourceModel(&model);
        QAbstractItemModelTester filterTester(&filter,
                                              QAbstractItemModelTester::FailureReportingMode::QtTest);
        ui::CaptureFeed feed(store);
        connect(&feed, &ui::CaptureFeed::sessionsChanged, &model, &ui::SessionTableModel::update);
        QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);

        const SessionId a = store.newSessionId(), b = store.newSessionId(), c = store.newSessionId();
        writer.session(session(a, SessionKind::WebSocket, "chat.example"));
        writer.session(session(b, SessionKind::Http, "static.example", SessionState::Closed));
        writer.session(session(c, SessionKind::WebSocket, "feed.example"));
        test::writeWire(writer, a, Direction::ClientToServer,
                        ws::FrameWriter::frame(ws::Opcode::Text, "hi", true));
        writer.flush();
        feed.refresh();
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(inserts.size(), 1); // one insert for the whole batch
        QCOMPARE(model.index(0, ui::SessionTableModel::MessagesUp).data().toString(), QStringLiteral("1"));
        QCOMPARE(model.index(0, ui::SessionTableModel::Host).data().toString(),
                 QStringLiteral("chat.example:9000"));
        QCOMPARE(model.index(0, ui::SessionTableModel::State).data().toString(), QStringLiteral("open"));
        QVERIFY(
            !model.index(0, ui::SessionTableModel::State).data(Qt::DecorationRole).value<QIcon>().isNull());

        // HTTP entries hidden unless shown; free text filters on host and state.
        QCOMPARE(filter.rowCount(), 2);
        filter.setShowHttp(true);
        QCOMPARE(filter.rowCount(), 3);
        filter.setText(QStringLiteral("feed"));
        QCOMPARE(filter.rowCount(), 1);
        QCOMPARE(filter.index(0, ui::SessionTableModel::Id).data().toString(), QString::number(c));
        filter.setText(QString());

        // A state change updates the row in place.
        SessionInfo closed = session(a, SessionKind::WebSocket, "chat.example", SessionState::Closed);
        closed.close.firstCloser = Direction::ClientToServer;
        closed.close.closeSent[0] = closed.close.closeSent[1] = true;
        closed.close.code[0] = 4001;
        closed.close.end = EndReason::Closed;
        writer.session(closed);
        writer.flush();
        feed.refresh();
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(model.index(0, ui::SessionTableModel::Close).data().toString(),
                 QStringLiteral("4001 Private Use"));
        // Sorting by a numeric column uses the numbers, not the text.
        filter.sort(ui::SessionTableModel::MessagesUp, Qt::DescendingOrder);
        QCOMPARE(filter.index(0, ui::SessionTableModel::Id).data().toString(), QString::number(a));
    }

    void webSocketsOnlyByDefault()
    {
        // A browser's background tunnels (opaque or failed) and plain HTTP are a click away, not in the way.
        CaptureStore store;
        CaptureWriter writer(store);
        ui::SessionTableModel model(store);
        ui::SessionFilterModel filter;
        filter.setSourceModel(&model);
        const SessionId ws = store.newSessionId(), tunnel = store.newSessionId(), http = store.newSessionId();
        writer.session(session(ws, SessionKind::WebSocket, "chat.example"));
        writer.session(session(tunnel, SessionKind::Tunnel, "background.example", SessionState::Failed));
        writer.session(session(http, SessionKind::Http, "static.example", SessionState::Closed));
        writer.flush();
        model.update({ws, tunnel, http});
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(filter.rowCount(), 1);
        QCOMPARE(filter.index(0, ui::SessionTableModel::Id).data().toString(), QString::number(ws));
        filter.setShowHttp(true);
        QCOMPARE(filter.rowCount(), 3);
    }

    void abnormalEndsStandOut()
    {
        CaptureStore store;
        CaptureWriter writer(store);
        ui::SessionTableModel model(store);
        const SessionId clean = store.newSessionId(), reset = store.newSessionId(),
                        failed = store.newSessionId();
        SessionInfo a = session(clean, SessionKind::WebSocket, "clean.example", SessionState::Closed);
        a.close.closeSent[0] = a.close.closeSent[1] = true;
        a.close.code[0] = a.close.code[1] = 1000;
        a.close.firstCloser = Direction::ClientToServer;
        a.close.end = capture::EndReason::Closed;
        SessionInfo b = session(reset, SessionKind::WebSocket, "reset.example", SessionState::Closed);
        b.close.end = capture::EndReason::ServerReset;
        SessionInfo c = session(failed, SessionKind::WebSocket, "down.example", SessionState::Failed);
        c.error = QStringLiteral("502 Bad Gateway: connection refused");
        for (const SessionInfo &s : {a, b, c})
            writer.session(s);
        writer.flush();
        model.update({clean, reset, failed});
        const auto foreground = [&](int row) {
            return model.index(row, ui::SessionTableModel::State).data(Qt::ForegroundRole);
        };
        QVERIFY(!foreground(model.rowOf(clean)).isValid());
        QVERIFY(foreground(model.rowOf(reset)).isValid());
        QVERIFY(foreground(model.rowOf(failed)).isValid());
        QVERIFY(
            model.index(model.rowOf(reset), ui::SessionTableModel::Close).data(Qt::ForegroundRole).isValid());
        QVERIFY(model.index(model.rowOf(reset), 0).data(Qt::ToolTipRole).toString().contains("server reset"));
    }

    void messageModelAppendsAndFilters()
    {
        CaptureStore store;
        CaptureWriter writer(store);
        const SessionId id = store.newSessionId();
        writer.session(session(id, SessionKind::WebSocket, "chat.example"));
        test::writeWire(writer, id, Direction::ClientToServer,
                        ws::FrameWriter::frame(ws::Opcode::Text, R"({"type":"join","room":42})", true));
        test::writeWire(writer, id, Direction::ServerToClient,
                        ws::FrameWriter::frame(ws::Opcode::Text, "welcome to room 42", false));
        test::writeWire(writer, id, Direction::ClientToServer,
                        ws::FrameWriter::frame(ws::Opcode::Binary, QByteArray::fromHex("deadbeef"), true));
        test::writeWire(writer, id, Direction::ClientToServer,
                        ws::FrameWriter::frame(ws::Opcode::Ping, "p", true));
        writer.flush();

        MessageTableModel model(store);
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setSession(id, 1'000'000);
        QCOMPARE(model.rowCount(), 4);
        QCOMPARE(model.index(0, MessageTableModel::Direction).data().toString(), QStringLiteral("→"));
        QCOMPARE(model.index(1, MessageTableModel::Direction).data().toString(), QStringLiteral("←"));
        QCOMPARE(model.index(0, MessageTableModel::Type).data().toString(), QStringLiteral("text"));
        QCOMPARE(model.index(0, MessageTableModel::Preview).data().toString(),
                 QStringLiteral(R"({"type":"join","room":42})"));
        QCOMPARE(model.index(2, MessageTableModel::Preview).data().toString(), QStringLiteral("de ad be ef"));
        QCOMPARE(model.index(0, MessageTableModel::Size).data().toString(), QStringLiteral("25 B"));

        // Filters: direction, type, search (text and regex).
        model.setDirectionFilter(MessageTableModel::DirectionFilter::FromServer);
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(model.messageIndex(0), 1u); // the server's one, not just any one row
        model.setDirectionFilter(MessageTableModel::DirectionFilter::FromClient);
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(model.messageIndex(0), 0u);
        QCOMPARE(model.messageIndex(1), 2u);
        QCOMPARE(model.messageIndex(2), 3u);
        model.setDirectionFilter(MessageTableModel::DirectionFilter::Both);
        model.setTypeFilter(MessageTableModel::TypeFilter::Control);
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(model.messageIndex(0), 3u);
        model.setTypeFilter(MessageTableModel::TypeFilter::All);
        model.setSearch(QStringLiteral("ROOM"), false);
        QCOMPARE(model.rowCount(), 2);
        model.setSearch(QStringLiteral(R"("room":\d+)"), true);
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(model.rowOfMessage(0), 0);
        QCOMPARE(model.rowOfMessage(1), -1);
        model.setSearch(QStringLiteral("(unclosed"), true); // an invalid regex matches nothing, no crash
        QCOMPARE(model.rowCount(), 0);
        model.setSearch(QString(), false);
        QCOMPARE(model.rowCount(), 4);

        // New messages arrive in one insert; with a filter, only matching ones appear.
        QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
        for (int i = 0; i < 100; ++i)
            test::writeWire(writer, id, Direction::ServerToClient,
                            ws::FrameWriter::frame(ws::Opcode::Text, "tick " + QByteArray::number(i), false));
        test::writeWire(
            writer, id, Direction::ServerToClient,
            ws::FrameWriter::frame(ws::Opcode::Close, ws::ClosePayload::build(1001, "bye"), false));
        writer.flush();
        model.appendNew();
        QCOMPARE(inserts.size(), 1);
        QCOMPARE(model.rowCount(), 105);
        QCOMPARE(model.index(104, MessageTableModel::Preview).data().toString(),
                 QStringLiteral("1001 Going Away \"bye\""));
        model.setTypeFilter(MessageTableModel::TypeFilter::Close);
        QCOMPARE(model.rowCount(), 1);
        test::writeWire(writer, id, Direction::ServerToClient,
                        ws::FrameWriter::frame(ws::Opcode::Text, "after", false));
        writer.flush();
        model.appendNew();
        QCOMPARE(model.rowCount(), 1);
    }

    void messageModelDecodesSummariesChatterAndPairs()
    {
        // A Socket.IO session (by its URL): the Summary column, heartbeats hidden and counted (also those
        // that arrive later), an emit paired with its ack both ways.
        CaptureStore store;
        CaptureWriter writer(store);
        const SessionId id = store.newSessionId();
        SessionInfo info = session(id, SessionKind::WebSocket, "chat.example");
        info.path = "/socket.io/?EIO=4&transport=websocket";
        writer.session(info);
        const auto send = [&](Direction d, const QByteArray &text, qint64 at) {
            test::writeWire(writer, id, d,
                            ws::FrameWriter::frame(ws::Opcode::Text, text, d == Direction::ClientToServer),
                            at);
        };
        send(Direction::ServerToClient, R"(0{"sid":"abc","pingInterval":25000})", 1'000'000);
        send(Direction::ClientToServer, "40", 1'001'000);
        send(Direction::ServerToClient, "2", 1'002'000);
        send(Direction::ClientToServer, "3", 1'003'000);
        send(Direction::ClientToServer, R"(425["chat",{"msg":"hi"}])", 1'004'000);
        send(Direction::ServerToClient, R"(435[true])", 1'007'500);
        writer.flush();

        MessageTableModel model(store);
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setSession(id, 1'000'000);
        QCOMPARE(model.index(4, MessageTableModel::Summary).data().toString(),
                 QStringLiteral("emit \"chat\" [1 arg] #5"));
        QCOMPARE(model.formatName(), QStringLiteral("socket.io"));
        QCOMPARE(model.index(0, MessageTableModel::Summary).data().toString(),
                 QStringLiteral("open sid=abc"));
        const auto pair = model.pairOf(5);
        QVERIFY(pair);
        QCOMPARE(pair->index, 4u);
        QCOMPARE(pair->micros, 3500);
        QCOMPARE(model.pairOf(4)->index, 5u);
        const auto decoded = model.decodedMessage(4);
        QVERIFY(decoded && decoded->decoded());
        QCOMPARE(decoded->value.toObject()["args"].toArray()[0].toObject()["msg"].toString(),
                 QStringLiteral("hi"));

        model.setHideChatter(true);
        QCOMPARE(model.rowCount(), 4);
        QCOMPARE(model.hiddenChatter(), 2u);
        QCOMPARE(model.messageIndex(2), 4u);
        send(Direction::ServerToClient, "2", 1'010'000);
        send(Direction::ClientToServer, R"(42["typing"])", 1'011'000);
        writer.flush();
        model.appendNew();
        QCOMPARE(model.rowCount(), 5);
        QCOMPARE(model.hiddenChatter(), 3u);
        model.setHideChatter(false);
        QCOMPARE(model.rowCount(), 8);
        // Searching what messages mean: "event:typing" finds the emit, not the text "typing" anywhere.
        model.setSearch(QStringLiteral("event:typing"), false);
        QVERIFY(model.searchesMeaning());
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(model.messageIndex(0), 7u);
        model.setSearch(QStringLiteral("$.args[0].msg=hi"), false);
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(model.messageIndex(0), 4u);
        send(Direction::ClientToServer, R"(42["chat",{"msg":"hi again"}])", 1'012'000);
        send(Direction::ClientToServer, R"(42["chat",{"msg":"hi"}])", 1'013'000);
        writer.flush();
        model.appendNew(); // new messages are matched as they arrive
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(model.messageIndex(1), 9u);
        model.setSearch(QStringLiteral("event:typing"), true); // as a regex it is text again: nothing has it
        QVERIFY(!model.searchesMeaning());
        QCOMPARE(model.rowCount(), 0);
        model.setSearch(QString(), false);
        QCOMPARE(model.index(7, MessageTableModel::Summary).data().toString(),
                 QStringLiteral("emit \"typing\" [0 args]"));
    }

    void messagesPanelKeepsFollowing()
    {
        // The list follows new messages through a filter changed and back and a list made shorter (the
        // Intercept pane opening), and stops only when the user scrolls away; back at the end, it follows.
        CaptureStore store;
        CaptureWriter writer(store);
        const SessionId id = store.newSessionId();
        writer.session(session(id, SessionKind::WebSocket, "chat.example"));
        const auto add = [&](int n) {
            for (int i = 0; i < n; ++i)
                test::writeWire(
                    writer, id, Direction::ServerToClient,
                    ws::FrameWriter::frame(ws::Opcode::Text, "tick " + QByteArray::number(i), false));
            writer.flush();
        };
        add(5);
        ui::MessagesPanel panel(store);
        panel.resize(700, 400);
        panel.show();
        panel.setSession(id, 1'000'000);
        QScrollBar *bar = panel.view()->verticalScrollBar();
        const auto atEnd = [&] {
            QCoreApplication::processEvents();
            return bar->maximum() > 0 && bar->value() == bar->maximum();
        };
        add(100);
        panel.appendNew();
        QVERIFY(atEnd());
        auto *type = panel.findChildren<QComboBox *>().at(1); // direction, then type
        type->setCurrentIndex(2); // binary: none
        QCoreApplication::processEvents();
        QCOMPARE(panel.model()->rowCount(), 0);
        type->setCurrentIndex(0); // all again
        QCoreApplication::processEvents();
        add(70);
        panel.appendNew();
        QVERIFY2(atEnd(), qPrintable(QStringLiteral("at %1 of %2").arg(bar->value()).arg(bar->maximum())));
        panel.view()->setFixedHeight(150); // a pane takes room from the list
        QCoreApplication::processEvents();
        add(10);
        panel.appendNew();
        QVERIFY(atEnd());
        // The user scrolls up: no more following.
        bar->triggerAction(QAbstractSlider::SliderToMinimum);
        QCoreApplication::processEvents();
        add(10);
        panel.appendNew();
        QCoreApplication::processEvents();
        QCOMPARE(bar->value(), 0);
        // Back at the end, it follows again.
        bar->triggerAction(QAbstractSlider::SliderToMaximum);
        QCoreApplication::processEvents();
        add(10);
        panel.appendNew();
        QVERIFY(atEnd());
    }

    void evictedPayloadsSayso()
    {
        CaptureStore store(CaptureStore::Limits {2 << 20});
        CaptureWriter writer(store);
        const SessionId id = store.newSessionId();
        writer.session(session(id, SessionKind::WebSocket, "big.example"));
        for (int i = 0; i < 40; ++i) {
            test::writeWire(writer, id, Direction::ServerToClient,
                            ws::FrameWriter::frame(ws::Opcode::Binary, QByteArray(200 * 1024, 'x'), false));
            writer.flush();
        }
        MessageTableModel model(store);
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setSession(id, 0);
        QCOMPARE(model.rowCount(), 40);
        QVERIFY(model.index(0, MessageTableModel::Preview).data().toString().contains("evicted"));
        QVERIFY(!model.index(39, MessageTableModel::Preview).data().toString().contains("evicted"));
    }

    // The Intercept pane's model: the hub's list applied as removals and appends (the selection survives),
    // the "held for" column ticking on its own.
    void heldModelAppliesChanges()
    {
        ui::HeldMessageModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        const auto held = [](SessionId session, Direction from, quint64 id, const QByteArray &payload) {
            intercept::HeldMessage h;
            h.session = session;
            h.from = from;
            h.id = id;
            h.opcode = 1;
            h.payload = payload;
            h.heldSince = nowMicros() - 2'500'000;
            h.note = QStringLiteral("paused");
            h.url = "ws://example.test/chat";
            return h;
        };
        const auto a = held(1, Direction::ClientToServer, 1, "first");
        const auto b = held(1, Direction::ServerToClient, 1, "second"); // same id, other direction
        const auto c = held(2, Direction::ClientToServer, 1, "third");
        model.setHeld({a, b, c});
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(model.index(1, ui::HeldMessageModel::From).data().toString(), QStringLiteral("←"));
        QCOMPARE(model.index(2, ui::HeldMessageModel::Session).data().toString(), QStringLiteral("#2"));
        QCOMPARE(model.index(0, ui::HeldMessageModel::Preview).data().toString(), QStringLiteral("first"));
        QCOMPARE(model.index(0, ui::HeldMessageModel::HeldFor).data().toString(), QStringLiteral("2.5 s"));

        QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
        QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
        QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
        const auto d = held(2, Direction::ClientToServer, 2, "fourth");
        model.setHeld({a, c, d});
        QCOMPARE(removed.size(), 1);
        QCOMPARE(removed[0][1].toInt(), 1); // just b's row
        QCOMPARE(inserted.size(), 1);
        QCOMPARE(reset.size(), 0);
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(model.message(1).payload, QByteArray("third"));
        QCOMPARE(model.message(2).payload, QByteArray("fourth"));

        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
        model.tick();
        QCOMPARE(changed.size(), 1);
        QCOMPARE(changed[0][0].toModelIndex().column(), int(ui::HeldMessageModel::HeldFor));
        QCOMPARE(changed[0][1].toModelIndex().row(), 2);
        model.setHeld({});
        QCOMPARE(model.rowCount(), 0);

        QCOMPARE(ui::heldForText(850'000), QStringLiteral("850 ms"));
        QCOMPARE(ui::heldForText(12'400'000), QStringLiteral("12.4 s"));
        QCOMPARE(ui::heldForText(187'000'000), QStringLiteral("3:07"));
    }
};

QTEST_MAIN(TestModels)
#include "tst_models.moc"
