// The formats through the socktap executable, with each protocol's real implementation as both peers
// (npm packages pinned in tests/peers/package-lock.json, installed by scripts/test.sh): Socket.IO 4 and
// graphql-ws clients talk to their servers through Socktap in reverse mode, with their own heartbeats, and
// the --json output must carry the meaning (decoded objects, pairs, chatter) while the peers keep working.
// Protobuf's peer is Debian's python3-protobuf (tests/support/protobuf_peer.py).
#include "core/intercept/SessionCommand.h"
#include "support/PythonPeer.h"
#include "support/SocktapProcess.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

using namespace socktap::test;

namespace {

// The message lines of a --json run.
QList<QJsonObject> messages(const QByteArray &out)
{
    QList<QJsonObject> list;
    for (const QByteArray &line : out.split('\n')) {
        const QJsonObject o = QJsonDocument::fromJson(line).object();
        if (o.value("type").toString() == QLatin1String("message"))
            list << o;
    }
    return list;
}

// The first message whose decoded summary starts with `summary`; an empty object when there is none.
QJsonObject find(const QList<QJsonObject> &list, const QString &summary, const char *from = nullptr)
{
    for (const QJsonObject &m : list)
        if (m["decoded"].toObject()["summary"].toString().startsWith(summary)
            && (!from || m["from"].toString() == QLatin1String(from)))
            return m;
    return {};
}

QString decodedSummaries(const QList<QJsonObject> &list)
{
    QStringList out;
    for (const QJsonObject &m : list)
        out << m["from"].toString() + QLatin1Char(' ') + m["decoded"].toObject()["summary"].toString();
    return out.join(QLatin1Char('\n'));
}

// Runs a Node.js client to completion: its stdout, or a failed check with what it printed.
QByteArray runClient(const QString &script, const QStringList &args)
{
    QProcess client;
    client.start(QStringLiteral("node"),
                 QStringList {QStringLiteral(SOCKTAP_SOURCE_DIR "/tests/peers/") + script} + args);
    if (!client.waitForFinished(30000))
        client.kill();
    const QByteArray out = client.readAllStandardOutput() + client.readAllStandardError();
    if (client.exitCode() != 0)
        qWarning("%s failed: %s", qPrintable(script), out.constData());
    return client.exitCode() == 0 ? out : QByteArray();
}

} // namespace

class TestFormats final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase()
    {
        // The peers are real npm packages; without them this suite cannot test anything, and says how to
        // get them rather than passing.
        QVERIFY2(QDir(QStringLiteral(SOCKTAP_SOURCE_DIR "/tests/peers/node_modules/socket.io")).exists(),
                 "npm packages missing: run 'npm ci' in tests/peers (scripts/test.sh does)");
    }

    void socketIoThroughSocktap()
    {
        PythonPeer server;
        QVERIFY2(server.startNode(QStringLiteral("socketio-server.mjs"), {}), server.banner.constData());
        Socktap socktap;
        QVERIFY(socktap.start({"--headless", "--json", "--listen", "127.0.0.1:0", "--reverse",
                               QStringLiteral("ws://127.0.0.1:%1").arg(server.port)}));
        // 700 ms on a connection whose server pings every 200 ms: heartbeats cross Socktap.
        const QByteArray client =
            runClient(QStringLiteral("socketio-client.mjs"),
                      {QStringLiteral("http://127.0.0.1:%1").arg(socktap.port), QStringLiteral("700")});
        QVERIFY(client.contains(R"(ack {"ok":true,"echo":{"msg":"hi","price":10}})"));
        QVERIFY(client.contains(R"(upload {"name":"a.bin","bytes":3,"first":7})"));
        QVERIFY(client.contains("admin kicked bob"));
        QVERIFY(client.contains("\ndone"));
        QVERIFY(socktap.stop());
        const QList<QJsonObject> list = messages(socktap.out);
        const QString all = decodedSummaries(list);

        const QJsonObject chat = find(list, QStringLiteral("emit \"chat\" [1 arg] #"), "client");
        QVERIFY2(!chat.isEmpty(), qPrintable(all));
        QCOMPARE(chat["decoded"]["format"].toString(), QStringLiteral("socket.io"));
        QCOMPARE(chat["decoded"]["value"]["event"].toString(), QStringLiteral("chat"));
        QCOMPARE(chat["decoded"]["value"]["args"][0]["msg"].toString(), QStringLiteral("hi"));
        const QJsonObject ack = find(list, QStringLiteral("ack "), "server");
        QVERIFY2(!ack.isEmpty(), qPrintable(all));
        QCOMPARE(ack["decoded"]["pair"].toInteger(), chat["index"].toInteger());
        // The ack's time after its emit: a round trip through Socktap and node, never nothing.
        QVERIFY2(ack["decoded"]["pairMicros"].toInteger() > 0, qPrintable(QJsonDocument(ack).toJson()));
        QCOMPARE(ack["decoded"]["value"]["args"][0]["echo"]["price"].toInt(), 10);

        // The binary event and its attachment, joined.
        const QJsonObject upload = find(list, QStringLiteral("emit \"upload\" [2 args] #"), "client");
        QVERIFY2(!upload.isEmpty(), qPrintable(all));
        QVERIFY(upload["decoded"]["summary"].toString().endsWith(QLatin1String("+1 attachment")));
        const QJsonObject attachment = find(list, QStringLiteral("attachment 1"), "client");
        QVERIFY2(!attachment.isEmpty(), qPrintable(all));
        QCOMPARE(attachment["opcode"].toString(), QStringLiteral("binary"));
        QCOMPARE(attachment["decoded"]["pair"].toInteger(), upload["index"].toInteger());
        QCOMPARE(QByteArray::fromBase64(attachment["decoded"]["value"]["base64"].toString().toLatin1()),
                 QByteArray("\x07\x08\x09"));

        QVERIFY2(!find(list, QStringLiteral("emit \"kick\" [1 arg] /admin #"), "client").isEmpty(),
                 qPrintable(all));
        QVERIFY2(!find(list, QStringLiteral("ack 0 [1 arg] /admin"), "server").isEmpty(), qPrintable(all));

        // Engine.IO's heartbeats, from the server's own timer, are chatter: counted, marked, not lost.
        int pings = 0;
        int pongs = 0;
        for (const QJsonObject &m : list) {
            const QJsonObject d = m["decoded"].toObject();
            if (d["summary"].toString() == QLatin1String("ping") && d["chatter"].toBool())
                pings += m["from"].toString() == QLatin1String("server");
            if (d["summary"].toString() == QLatin1String("pong") && d["chatter"].toBool())
                pongs += m["from"].toString() == QLatin1String("client");
        }
        QVERIFY2(pings >= 2 && pongs >= 2, qPrintable(all));
        const QJsonObject open = find(list, QStringLiteral("open sid="), "server");
        QCOMPARE(open["decoded"]["format"].toString(), QStringLiteral("engine.io"));
    }

    void refusedUpgradesDriveSocketIoReconnects()
    {
        // Issue 20: a refuse rule answers the next two upgrades to /socket.io/ with 503 and Retry-After;
        // npm socket.io-client's own reconnect logic retries, and the third attempt reaches the server.
        // The capture shows each refused attempt (status, the rule, end "fault") and the session that got
        // through.
        PythonPeer server;
        QVERIFY2(server.startNode(QStringLiteral("socketio-server.mjs"), {}), server.banner.constData());
        QTemporaryDir dir;
        QFile rulesFile(dir.filePath(QStringLiteral("rules.json")));
        QVERIFY(rulesFile.open(QIODevice::WriteOnly));
        // (A plain literal: moc misreads a raw string's braces across lines.)
        rulesFile.write("{\"rules\": [{\"name\": \"flaky\", \"match\": {\"path\": \"/socket.io/*\"},"
                        " \"action\": \"refuse\", \"status\": 503, \"retryAfter\": 1, \"times\": 2}]}");
        rulesFile.close();
        Socktap socktap;
        QVERIFY(socktap.start({"--headless", "--json", "--listen", "127.0.0.1:0", "--reverse",
                               QStringLiteral("ws://127.0.0.1:%1").arg(server.port), "--rules",
                               rulesFile.fileName()}));
        const QByteArray client = runClient(QStringLiteral("socketio-reconnect.mjs"),
                                            {QStringLiteral("http://127.0.0.1:%1").arg(socktap.port)});
        QVERIFY2(client.contains("connected after 2 failures"), client.constData());
        QVERIFY2(client.contains(R"(ack {"ok":true,"echo":{"msg":"back"}})"), client.constData());
        QVERIFY(socktap.stop());
        QList<QJsonObject> refused;
        QJsonObject through;
        for (const QByteArray &line : socktap.out.split('\n')) {
            const QJsonObject o = QJsonDocument::fromJson(line).object();
            if (o["type"].toString() != QLatin1String("session")
                || o["kind"].toString() != QLatin1String("websocket"))
                continue;
            if (o["state"].toString() == QLatin1String("failed"))
                refused << o;
            else if (o["upgradedAt"].isString())
                through = o;
        }
        QCOMPARE(refused.size(), 2);
        for (int i = 0; i < 2; ++i) {
            const QJsonObject &o = refused[i];
            QCOMPARE(o["end"].toString(), QStringLiteral("fault"));
            QCOMPARE(o["response"].toObject()["status"].toInt(), 503);
            QVERIFY2(o["response"].toObject()["headers"].toArray().contains(
                         QJsonObject {{"name", "Retry-After"}, {"value", "1"}}),
                     qPrintable(QJsonDocument(o).toJson()));
            QVERIFY2(o["handshakeRules"].toArray().first().toString()
                         == QStringLiteral("rule 1 'flaky': refused (attempt %1 of 2)").arg(i + 1),
                     qPrintable(QJsonDocument(o).toJson()));
        }
        QVERIFY2(!through.isEmpty(), socktap.out.constData());
        QVERIFY(!through.contains("handshakeRules"));
    }

    void aStallFiresTheClientsHeartbeatTimeout()
    {
        // Issue 20's half-open path (socket.io-client #1431 blocked ports with iptables for this): Socktap
        // stops reading the server while TCP stays up. npm socket.io-client's own heartbeat timer (the
        // server pings every 200 ms, 400 ms allowed) fires, it reconnects by itself, and the new session
        // works; the stalled session records the fault.
        PythonPeer server;
        QVERIFY2(server.startNode(QStringLiteral("socketio-server.mjs"), {QStringLiteral("400")}),
                 server.banner.constData());
        socktap::proxy::ProxyConfig config;
        QString why;
        config.reverse = socktap::http::RequestTarget::parseAbsolute(
            QStringLiteral("ws://127.0.0.1:%1").arg(server.port).toLatin1(), &why);
        QVERIFY2(config.reverse, qPrintable(why));
        ProxyHarness proxy(config);
        QProcess client;
        client.setProcessChannelMode(QProcess::MergedChannels);
        client.start(QStringLiteral("node"),
                     {QStringLiteral(SOCKTAP_SOURCE_DIR "/tests/peers/socketio-stall.mjs"),
                      QStringLiteral("http://127.0.0.1:%1").arg(proxy.port())});
        QByteArray said;
        const auto saw = [&](const char *text) {
            return QTest::qWaitFor(
                [&] {
                    said += client.readAll();
                    return said.contains(text);
                },
                WaitMs);
        };
        QVERIFY2(saw("connected 1"), said.constData());
        const auto first = proxy.waitSession([](const socktap::capture::SessionInfo &s) {
            return s.kind == socktap::capture::SessionKind::WebSocket
                && s.state == socktap::capture::SessionState::Open;
        });
        QVERIFY(first);
        QVERIFY(proxy.waitMessages(first->id, 4)); // heartbeats cross while nothing is stalled
        std::optional<socktap::intercept::CommandResult> answer;
        QObject context;
        socktap::intercept::SessionCommand stall;
        stall.kind = socktap::intercept::SessionCommand::Kind::Stall;
        stall.from = socktap::capture::Direction::ServerToClient;
        stall.on = true;
        proxy.server->command(first->id, stall, &context,
                              [&](const socktap::intercept::CommandResult &r) { answer = r; });
        QVERIFY(QTest::qWaitFor([&] { return answer.has_value(); }, WaitMs));
        QVERIFY2(answer->ok, qPrintable(answer->error));
        QVERIFY2(saw("disconnect ping timeout"), said.constData());
        QVERIFY2(saw("connected 2"), said.constData());
        QVERIFY2(saw(R"(ack {"ok":true,"echo":{"msg":"again"}})"), said.constData());
        // (It may have exited already: waitForFinished is false for a process that has finished.)
        QVERIFY(client.state() == QProcess::NotRunning || client.waitForFinished(WaitMs));
        QCOMPARE(client.exitCode(), 0);
        const auto stalled = proxy.store.session(first->id);
        QVERIFY(stalled && !stalled->faults.isEmpty());
        QVERIFY2(stalled->faults.first().contains(QStringLiteral("stalled server → client (the user)")),
                 qPrintable(stalled->faults.join('|')));
        // The server gave up on the stalled connection too (no pong came back): the stalled side's hang-up
        // is noticed although it is not read, and the session ends.
        QVERIFY(QTest::qWaitFor(
            [&] {
                const auto s = proxy.store.session(first->id);
                return s && s->state != socktap::capture::SessionState::Open
                    && s->state != socktap::capture::SessionState::Closing;
            },
            WaitMs));
        QVERIFY2(proxy.store.session(first->id)->faults.join('|').contains(
                     QStringLiteral("ended its connection while stalled")),
                 qPrintable(proxy.store.session(first->id)->faults.join('|')));
        QCOMPARE(proxy.store.sessionIds().size(), size_t(2));
    }

    void aRuleEditsAnEventArgument()
    {
        // A set-field rule on what the message means: the server receives the edited argument (its ack
        // echoes it), the session goes on (namespace, binary upload, heartbeats), and the capture keeps both.
        QTemporaryDir dir;
        const QString rules = dir.filePath(QStringLiteral("rules.json"));
        QFile file(rules);
        QVERIFY(file.open(QIODevice::WriteOnly));
        // The second rule matches a binary event, which is not re-encoded: forwarded as it came, and said.
        file.write(R"({"rules": [{"name": "reprice", "match": {"direction": "client", "format": "socket.io",
                      "event": "chat"}, "action": "set-field", "path": "$.args[0].price", "value": 99},
                      {"name": "rename", "match": {"event": "upload"}, "action": "set-field",
                      "path": "$.args[0]", "value": "b.bin"}]})");
        file.close();
        PythonPeer server;
        QVERIFY2(server.startNode(QStringLiteral("socketio-server.mjs"), {}), server.banner.constData());
        Socktap socktap;
        QVERIFY(socktap.start({"--headless", "--json", "--rules", rules, "--listen", "127.0.0.1:0",
                               "--reverse", QStringLiteral("ws://127.0.0.1:%1").arg(server.port)}));
        const QByteArray client =
            runClient(QStringLiteral("socketio-client.mjs"),
                      {QStringLiteral("http://127.0.0.1:%1").arg(socktap.port), QStringLiteral("500")});
        QVERIFY2(client.contains(R"(ack {"ok":true,"echo":{"msg":"hi","price":99}})"), client.constData());
        QVERIFY(client.contains("admin kicked bob"));
        QVERIFY(client.contains("\ndone"));
        QVERIFY(socktap.stop());
        const QList<QJsonObject> list = messages(socktap.out);
        const QJsonObject chat = find(list, QStringLiteral("emit \"chat\""), "client");
        QVERIFY2(!chat.isEmpty(), qPrintable(decodedSummaries(list)));
        QCOMPARE(chat["changes"].toArray(), (QJsonArray {"edited"}));
        QCOMPARE(chat["note"].toString(), QStringLiteral("rule 1 'reprice': set-field"));
        QCOMPARE(chat["decoded"]["value"]["args"][0]["price"].toInt(), 99); // what was sent on
        QVERIFY(
            chat["originalText"].toString().contains(QLatin1String("\"price\":10"))); // what the client sent
        QVERIFY(client.contains(R"(upload {"name":"a.bin","bytes":3,"first":7})")); // untouched
        const QJsonObject upload = find(list, QStringLiteral("emit \"upload\""), "client");
        QVERIFY2(!upload.isEmpty() && !upload.contains("changes"),
                 qPrintable(QJsonDocument(upload).toJson()));
        QCOMPARE(
            upload["note"].toString(),
            QStringLiteral("rule 2 'rename': set-field not applied: socket.io: only text events and acks are "
                           "re-encoded (not binary event)"));
    }

    void aRuleEditsAnMqttPayload()
    {
        // mqtt.js sends a PUBLISH's header, topic and payload as separate WebSocket messages; a set-field
        // rule on the payload edits the message that holds it when the edit keeps the packet's length, and
        // says why not when it does not. aedes delivers what it received back to the subscribing client.
        QTemporaryDir dir;
        const QString rules = dir.filePath(QStringLiteral("rules.json"));
        QFile file(rules);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(R"({"rules": [{"name": "recalibrate", "match": {"direction": "client", "format": "mqtt",
                      "topic": "sensors/1"}, "action": "set-field", "path": "$.payload.temp", "value": 99.5},
                      {"name": "relabel", "match": {"direction": "server", "topic": "sensors/1"},
                      "action": "set-field", "path": "$.payload.unit", "value": "kelvin"}]})");
        file.close();
        PythonPeer broker;
        QVERIFY2(broker.startNode(QStringLiteral("mqtt-broker.mjs"), {}), broker.banner.constData());
        Socktap socktap;
        QVERIFY(socktap.start({"--headless", "--json", "--rules", rules, "--listen", "127.0.0.1:0",
                               "--reverse", QStringLiteral("ws://127.0.0.1:%1").arg(broker.port)}));
        const QByteArray client = runClient(QStringLiteral("mqtt-client.mjs"),
                                            {QStringLiteral("ws://127.0.0.1:%1").arg(socktap.port), "4"});
        // The broker got 99.5 and sent it back; the longer unit could not be put in the delivery.
        QVERIFY2(client.contains(R"(message sensors/1 {"temp":99.5,"unit":"C"})"), client.constData());
        QVERIFY(client.contains("message sensors/big 100000 bytes"));
        QVERIFY(socktap.stop());
        const QList<QJsonObject> list = messages(socktap.out);
        const QJsonObject sent = find(list, QStringLiteral("PUBLISH sensors/1"), "client");
        QVERIFY2(!sent.isEmpty(), qPrintable(decodedSummaries(list)));
        QCOMPARE(sent["changes"].toArray(), (QJsonArray {"edited"}));
        QCOMPARE(sent["note"].toString(), QStringLiteral("rule 1 'recalibrate': set-field"));
        const QJsonObject delivered = find(list, QStringLiteral("PUBLISH sensors/1"), "server");
        QVERIFY2(!delivered.contains("changes"), qPrintable(QJsonDocument(delivered).toJson()));
        QVERIFY2(delivered["note"].toString().contains(
                     QLatin1String("set-field not applied: mqtt: the edit changes")),
                 qPrintable(delivered["note"].toString()));
    }

    void graphqlThroughSocktap()
    {
        PythonPeer server;
        QVERIFY2(server.startNode(QStringLiteral("graphql-server.mjs"), {}), server.banner.constData());
        Socktap socktap;
        QVERIFY(socktap.start({"--headless", "--json", "--listen", "127.0.0.1:0", "--reverse",
                               QStringLiteral("ws://127.0.0.1:%1").arg(server.port)}));
        const QByteArray client = runClient(QStringLiteral("graphql-client.mjs"),
                                            {QStringLiteral("ws://127.0.0.1:%1/graphql").arg(socktap.port)});
        QVERIFY(client.contains(R"(tick {"tick":3})"));
        QVERIFY(client.contains(R"(hello {"hello":"world"})"));
        QVERIFY(socktap.stop());
        const QList<QJsonObject> list = messages(socktap.out);
        const QString all = decodedSummaries(list);

        const QJsonObject subscribe = find(list, QStringLiteral("graphql subscribe #"), "client");
        QVERIFY2(!subscribe.isEmpty(), qPrintable(all));
        QCOMPARE(subscribe["decoded"]["format"].toString(), QStringLiteral("graphql-transport-ws"));
        QVERIFY2(subscribe["decoded"]["summary"].toString().endsWith(QLatin1String(" OnTick")),
                 qPrintable(all));
        int nexts = 0;
        for (const QJsonObject &m : list) {
            const QString summary = m["decoded"]["summary"].toString();
            if (summary.startsWith(QLatin1String("graphql next #"))
                && summary.endsWith(QLatin1String(" OnTick"))) {
                ++nexts;
                QCOMPARE(m["decoded"]["pair"].toInteger(), subscribe["index"].toInteger());
                QCOMPARE(m["decoded"]["value"]["payload"]["data"]["tick"].toInt(), nexts);
            }
        }
        QCOMPARE(nexts, 3);
        const QJsonObject complete = find(list, QStringLiteral("graphql complete #"), "server");
        QCOMPARE(complete["decoded"]["pair"].toInteger(), subscribe["index"].toInteger());
        QVERIFY2(!find(list, QStringLiteral("graphql next #"), "server").isEmpty(), qPrintable(all));
        QVERIFY2(all.contains(QLatin1String("graphql subscribe #")) && all.contains(QLatin1String(" Hello")),
                 qPrintable(all));
    }

    void mqttThroughSocktap()
    {
        // mqtt.js writes a packet's header and its body as separate WebSocket messages, so the stream is
        // reassembled across messages; aedes answers QoS 1 and 2 and the client's 1 s keepalive pings.
        PythonPeer broker;
        QVERIFY2(broker.startNode(QStringLiteral("mqtt-broker.mjs"), {}), broker.banner.constData());
        Socktap socktap;
        QVERIFY(socktap.start({"--headless", "--json", "--listen", "127.0.0.1:0", "--reverse",
                               QStringLiteral("ws://127.0.0.1:%1").arg(broker.port)}));
        const QByteArray client = runClient(QStringLiteral("mqtt-client.mjs"),
                                            {QStringLiteral("ws://127.0.0.1:%1").arg(socktap.port), "4"});
        QVERIFY(client.contains(R"(message sensors/1 {"temp":21.5,"unit":"C"})"));
        QVERIFY(client.contains("message sensors/big 100000 bytes"));
        QVERIFY(client.contains("\ndone"));
        QVERIFY(socktap.stop());
        const QList<QJsonObject> list = messages(socktap.out);
        const QString all = decodedSummaries(list);

        const QJsonObject connect =
            find(list, QStringLiteral("CONNECT sensor-7 v3.1.1 keepalive=1"), "client");
        QVERIFY2(!connect.isEmpty(), qPrintable(all));
        QCOMPARE(connect["decoded"]["format"].toString(), QStringLiteral("mqtt"));
        QVERIFY2(!find(list, QStringLiteral("(1 B of the next packet)"), "client").isEmpty(),
                 qPrintable(all));
        QCOMPARE(find(list, QStringLiteral("CONNACK 0"), "server")["decoded"].toObject()["pair"].toInteger(),
                 connect["index"].toInteger());
        const QJsonObject publish = find(list, QStringLiteral("PUBLISH sensors/1 qos1 #"), "client");
        QVERIFY2(!publish.isEmpty(), qPrintable(all));
        QCOMPARE(publish["decoded"]["value"]["payload"]["temp"].toDouble(), 21.5);
        const QString id = QString::number(publish["decoded"]["value"]["packetId"].toInt());
        QCOMPARE(
            find(list, QStringLiteral("PUBACK #") + id, "server")["decoded"].toObject()["pair"].toInteger(),
            publish["index"].toInteger());
        const QJsonObject big = find(list, QStringLiteral("PUBLISH sensors/big qos2 #"), "client");
        QVERIFY2(big["decoded"]["summary"].toString().endsWith(QLatin1String("(100000 B)")), qPrintable(all));
        const QString bigId = QString::number(big["decoded"]["value"]["packetId"].toInt());
        QCOMPARE(find(list, QStringLiteral("PUBCOMP #") + bigId, "server")["decoded"]
                     .toObject()["pair"]
                     .toInteger(),
                 big["index"].toInteger());
        const QJsonObject ping = find(list, QStringLiteral("PINGREQ"), "client");
        QVERIFY2(ping["decoded"]["chatter"].toBool(), qPrintable(all));
        QVERIFY2(find(list, QStringLiteral("PINGRESP"), "server")["decoded"].toObject()["chatter"].toBool(),
                 qPrintable(all));
    }

    void protobufThroughSocktap()
    {
        // Debian's python3-protobuf on both sides (market.proto compiled by protoc), subprotocol
        // "protobuf": Socktap decodes the wire format without the .proto.
        PythonPeer server;
        QVERIFY2(server.start(QStringLiteral("protobuf_peer.py"), {QStringLiteral("server")}),
                 server.banner.constData());
        Socktap socktap;
        QVERIFY(socktap.start({"--headless", "--json", "--listen", "127.0.0.1:0", "--reverse",
                               QStringLiteral("ws://127.0.0.1:%1").arg(server.port)}));
        QProcess client;
        client.start(QStringLiteral("/usr/bin/python3"),
                     {QStringLiteral(SOCKTAP_SOURCE_DIR "/tests/support/protobuf_peer.py"),
                      QStringLiteral("client"), QStringLiteral("ws://127.0.0.1:%1/").arg(socktap.port)});
        QVERIFY(client.waitForFinished(30000));
        const QByteArray said = client.readAllStandardOutput() + client.readAllStandardError();
        QVERIFY2(said.contains("quote BTC-USD 64250.5 123456789012")
                     && said.contains("ack 7 True filled -3 BTC-USD"),
                 said.constData());
        QVERIFY(socktap.stop());
        const QList<QJsonObject> list = messages(socktap.out);
        const QString all = decodedSummaries(list);
        QJsonObject quote;
        QJsonObject ack;
        for (const QJsonObject &m : list) {
            const QJsonObject v = m["decoded"]["value"].toObject();
            if (m["from"].toString() == QLatin1String("server")
                && v["1"].toString() == QLatin1String("BTC-USD"))
                quote = m;
            if (m["from"].toString() == QLatin1String("server")
                && v["3"].toString().startsWith(QLatin1String("filled")))
                ack = m;
        }
        QVERIFY2(!quote.isEmpty() && !ack.isEmpty(), qPrintable(all));
        const QJsonObject decodedQuote = quote["decoded"].toObject();
        const QJsonObject q = decodedQuote["value"].toObject();
        QCOMPARE(decodedQuote["format"].toString(), QStringLiteral("protobuf"));
        QCOMPARE(q["2"]["double"].toDouble(), 64250.5); // bid: a double, wire type I64
        QCOMPARE(q["3"].toInteger(), 123456789012); // seq: a varint
        QCOMPARE(q["4"].toArray(), (QJsonArray {"X", "Y"})); // venues: a repeated string
        QCOMPARE(q["5"]["1"].toArray().size(), 2); // book.bids: repeated nested messages, guessed as such
        QCOMPARE(q["5"]["1"].toArray()[1].toObject()["2"].toInt(), 10);
        QCOMPARE(q["6"]["fixed32"].toInt(), 7);
        const QJsonObject ackValue = ack["decoded"].toObject()["value"].toObject();
        QCOMPARE(ackValue["2"].toInt(), 1); // accepted: a bool is a varint
    }

    void stompThroughSocktap()
    {
        // npm @stomp/stompjs against a STOMP 1.2 responder (tests/peers/stomp-server.mjs), heart-beats
        // every 200 ms both ways: frames by command, the SEND's receipt paired, heart-beats chatter.
        PythonPeer server;
        QVERIFY2(server.startNode(QStringLiteral("stomp-server.mjs"), {}), server.banner.constData());
        Socktap socktap;
        QVERIFY(socktap.start({"--headless", "--json", "--listen", "127.0.0.1:0", "--reverse",
                               QStringLiteral("ws://127.0.0.1:%1").arg(server.port)}));
        const QByteArray client =
            runClient(QStringLiteral("stomp-client.mjs"),
                      {QStringLiteral("ws://127.0.0.1:%1").arg(socktap.port), QStringLiteral("700")});
        QVERIFY2(client.contains(R"(message /topic/prices {"symbol":"ACME","price":10})"),
                 client.constData());
        QVERIFY(client.contains("receipt send-1"));
        QVERIFY(socktap.stop());
        const QList<QJsonObject> list = messages(socktap.out);
        const QString all = decodedSummaries(list);
        const QJsonObject subscribe = find(list, QStringLiteral("SUBSCRIBE /topic/prices"), "client");
        QVERIFY2(!subscribe.isEmpty(), qPrintable(all));
        QCOMPARE(subscribe["decoded"]["format"].toString(), QStringLiteral("stomp"));
        const QJsonObject send = find(list, QStringLiteral("SEND /topic/prices"), "client");
        QVERIFY2(!send.isEmpty(), qPrintable(all));
        const QJsonObject receipt = find(list, QStringLiteral("RECEIPT send-1"), "server");
        QVERIFY2(!receipt.isEmpty(), qPrintable(all));
        QCOMPARE(receipt["decoded"]["pair"].toInteger(), send["index"].toInteger());
        const QJsonObject message = find(list, QStringLiteral("MESSAGE /topic/prices"), "server");
        QVERIFY2(!message.isEmpty(), qPrintable(all));
        QCOMPARE(message["decoded"]["value"]["headers"]["subscription"].toString(), QStringLiteral("sub-0"));
        int beats = 0;
        for (const QJsonObject &m : list)
            beats += m["decoded"]["chatter"].toBool()
                && m["decoded"]["format"].toString() == QLatin1String("stomp");
        QVERIFY2(beats >= 4, qPrintable(all)); // both sides' own 200 ms timers
    }

    void signalRThroughSocktap_data()
    {
        QTest::addColumn<QString>("protocol");
        QTest::newRow("json") << QStringLiteral("json");
        QTest::newRow("messagepack") << QStringLiteral("msgpack");
    }

    void signalRThroughSocktap()
    {
        // npm @microsoft/signalr (and its MessagePack hub protocol) against a responder that follows the
        // hub protocol specification: negotiate over plain HTTP through Socktap, then the WebSocket.
        QFETCH(QString, protocol);
        PythonPeer server;
        QVERIFY2(server.startNode(QStringLiteral("signalr-server.mjs"), {}), server.banner.constData());
        Socktap socktap;
        QVERIFY(socktap.start({"--headless", "--json", "--listen", "127.0.0.1:0", "--reverse",
                               QStringLiteral("ws://127.0.0.1:%1").arg(server.port)}));
        const QByteArray client = runClient(
            QStringLiteral("signalr-client.mjs"),
            {QStringLiteral("http://127.0.0.1:%1").arg(socktap.port), protocol, QStringLiteral("700")});
        QVERIFY2(client.contains("receive bob hi") && client.contains("result echo: hi"), client.constData());
        QVERIFY(socktap.stop());
        const QList<QJsonObject> list = messages(socktap.out);
        const QString all = decodedSummaries(list);
        const QJsonObject invoke = find(list, QStringLiteral("invoke SendMessage"), "client");
        QVERIFY2(!invoke.isEmpty(), qPrintable(all));
        QCOMPARE(invoke["decoded"]["format"].toString(), QStringLiteral("signalr"));
        QCOMPARE(invoke["decoded"]["value"]["arguments"][1].toString(), QStringLiteral("hi"));
        const QJsonObject completion = find(list, QStringLiteral("completion"), "server");
        QVERIFY2(!completion.isEmpty(), qPrintable(all));
        QCOMPARE(completion["decoded"]["pair"].toInteger(), invoke["index"].toInteger());
        QCOMPARE(completion["decoded"]["value"]["result"].toString(), QStringLiteral("echo: hi"));
        QVERIFY2(!find(list, QStringLiteral("invoke ReceiveMessage"), "server").isEmpty(), qPrintable(all));
        int pings = 0;
        for (const QJsonObject &m : list)
            pings += m["decoded"]["chatter"].toBool()
                && m["decoded"]["format"].toString() == QLatin1String("signalr");
        QVERIFY2(pings >= 4, qPrintable(all));
    }

    void aRuleEditsASignalRArgument_data() { signalRThroughSocktap_data(); }

    void aRuleEditsASignalRArgument()
    {
        // set-field on a hub method's argument, in the JSON and the MessagePack hub protocol: the responder's
        // completion echoes what it received, and the real client reads it.
        QFETCH(QString, protocol);
        QTemporaryDir dir;
        const QString rules = dir.filePath(QStringLiteral("rules.json"));
        QFile file(rules);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(R"({"rules": [{"name": "reword", "match": {"direction": "client", "format": "signalr",
                      "method": "SendMessage"}, "action": "set-field", "path": "$.arguments[1]",
                      "value": "edited by socktap"}]})");
        file.close();
        PythonPeer server;
        QVERIFY2(server.startNode(QStringLiteral("signalr-server.mjs"), {}), server.banner.constData());
        Socktap socktap;
        QVERIFY(socktap.start({"--headless", "--json", "--rules", rules, "--listen", "127.0.0.1:0",
                               "--reverse", QStringLiteral("ws://127.0.0.1:%1").arg(server.port)}));
        const QByteArray client = runClient(
            QStringLiteral("signalr-client.mjs"),
            {QStringLiteral("http://127.0.0.1:%1").arg(socktap.port), protocol, QStringLiteral("300")});
        QVERIFY2(client.contains("result echo: edited by socktap"), client.constData());
        QVERIFY(socktap.stop());
        const QList<QJsonObject> list = messages(socktap.out);
        const QJsonObject invoke = find(list, QStringLiteral("invoke SendMessage"), "client");
        QVERIFY2(!invoke.isEmpty(), qPrintable(decodedSummaries(list)));
        QCOMPARE(invoke["changes"].toArray(), (QJsonArray {"edited"}));
    }

    void msgpackAndCborThroughSocktap_data()
    {
        QTest::addColumn<QString>("format");
        QTest::newRow("msgpack") << QStringLiteral("msgpack");
        QTest::newRow("cbor") << QStringLiteral("cbor");
    }

    void msgpackAndCborThroughSocktap()
    {
        // Debian's python3-msgpack and python3-cbor2 on both sides: a map with a float, an array, bytes and
        // a timestamp (MessagePack's ext -1, CBOR's tag 0), decoded as what each library wrote.
        QFETCH(QString, format);
        PythonPeer server;
        QVERIFY2(server.start(QStringLiteral("binary_peer.py"), {QStringLiteral("server"), format}),
                 server.banner.constData());
        Socktap socktap;
        QVERIFY(socktap.start({"--headless", "--json", "--listen", "127.0.0.1:0", "--reverse",
                               QStringLiteral("ws://127.0.0.1:%1").arg(server.port)}));
        QProcess client;
        client.start(QStringLiteral("/usr/bin/python3"),
                     {QStringLiteral(SOCKTAP_SOURCE_DIR "/tests/support/binary_peer.py"),
                      QStringLiteral("client"), QStringLiteral("ws://127.0.0.1:%1/").arg(socktap.port),
                      format});
        QVERIFY(client.waitForFinished(30000));
        const QByteArray said = client.readAllStandardOutput() + client.readAllStandardError();
        QVERIFY2(said.contains(R"("symbol":"ACME","price":10.5)") && said.contains("done"), said.constData());
        QVERIFY(socktap.stop());
        const QList<QJsonObject> list = messages(socktap.out);
        const QString all = decodedSummaries(list);
        QJsonObject sent;
        QJsonObject echo;
        for (const QJsonObject &m : list) {
            if (m["decoded"]["format"].toString() != format)
                continue;
            (m["from"].toString() == QLatin1String("client") ? sent : echo) = m;
        }
        QVERIFY2(!sent.isEmpty() && !echo.isEmpty(), qPrintable(all));
        const QJsonObject v = sent["decoded"].toObject()["value"].toObject();
        QCOMPARE(v["symbol"].toString(), QStringLiteral("ACME"));
        QCOMPARE(v["price"].toDouble(), 10.5);
        QCOMPARE(v["tags"].toArray(), (QJsonArray {"a", "b"}));
        QVERIFY2(QJsonDocument(v).toJson(QJsonDocument::Compact).contains("2024-05-01T12:30:00.25"),
                 QJsonDocument(v).toJson().constData());
        const QJsonObject e = echo["decoded"].toObject()["value"].toObject();
        QCOMPARE(e["echo"].toObject()["symbol"].toString(), QStringLiteral("ACME"));
        QCOMPARE(e["n"].toInt(), 1);
    }

    void protobufWithSchemaThroughSocktap()
    {
        // The same python3-protobuf peers, now with market.proto given to socktap (--proto): each direction
        // decoded as its type under the .proto's field names; the server's Ack is not the Quote type chosen
        // for that direction, and says so while still showing its fields.
        PythonPeer server;
        QVERIFY2(server.start(QStringLiteral("protobuf_peer.py"), {QStringLiteral("server")}),
                 server.banner.constData());
        Socktap socktap;
        QVERIFY(socktap.start({"--headless", "--json", "--listen", "127.0.0.1:0", "--reverse",
                               QStringLiteral("ws://127.0.0.1:%1").arg(server.port), "--proto",
                               QStringLiteral(SOCKTAP_SOURCE_DIR "/tests/data/proto/market.proto"),
                               "--proto-type", "client=socktap.test.Order,server=socktap.test.Quote"}));
        QProcess client;
        client.start(QStringLiteral("/usr/bin/python3"),
                     {QStringLiteral(SOCKTAP_SOURCE_DIR "/tests/support/protobuf_peer.py"),
                      QStringLiteral("client"), QStringLiteral("ws://127.0.0.1:%1/").arg(socktap.port)});
        QVERIFY(client.waitForFinished(30000));
        const QByteArray said = client.readAllStandardOutput() + client.readAllStandardError();
        QVERIFY2(said.contains("ack 7 True filled -3 BTC-USD"), said.constData());
        QVERIFY(socktap.stop());
        const QList<QJsonObject> list = messages(socktap.out);
        const QString all = decodedSummaries(list);
        const QJsonObject order = find(list, QStringLiteral("Order "), "client");
        QVERIFY2(!order.isEmpty(), qPrintable(all));
        const QJsonObject o = order["decoded"].toObject()["value"].toObject();
        QCOMPARE(o["id"].toInt(), 7);
        QCOMPARE(o["qty"].toInt(), -3); // sint32: zigzag, which the schema-less view cannot know
        QCOMPARE(QByteArray::fromBase64(o["token"].toString().toLatin1()), QByteArray("\x00\xffsecret", 8));
        const QJsonObject quote = find(list, QStringLiteral("Quote "), "server");
        QVERIFY2(!quote.isEmpty(), qPrintable(all));
        const QJsonObject q = quote["decoded"].toObject()["value"].toObject();
        QCOMPARE(q["symbol"].toString(), QStringLiteral("BTC-USD"));
        QCOMPARE(q["bid"].toDouble(), 64250.5);
        QCOMPARE(q["seq"].toString(), QStringLiteral("123456789012")); // int64 is a string in proto3 JSON
        QVERIFY(quote["decoded"].toObject()["error"].toString().isEmpty());
        QJsonObject ack;
        for (const QJsonObject &m : list)
            if (m["from"].toString() == QLatin1String("server")
                && m["decoded"].toObject()["value"].toObject()["3"].toString().startsWith(
                    QLatin1String("filled")))
                ack = m;
        QVERIFY2(!ack.isEmpty(), qPrintable(all));
        QVERIFY2(ack["decoded"].toObject()["error"].toString().contains(QLatin1String("socktap.test.Quote")),
                 qPrintable(QJsonDocument(ack).toJson()));
    }

    void protobufSchemaErrors()
    {
        // A .proto that does not compile: protoc's own message, with file and line; exit 1, no proxy started.
        QProcess bad;
        bad.start(QStringLiteral(SOCKTAP_BINARY),
                  {QStringLiteral("--headless"), QStringLiteral("--proto"),
                   QStringLiteral(SOCKTAP_SOURCE_DIR "/tests/data/proto/broken.proto"),
                   QStringLiteral("--proto-type"), QStringLiteral("x.Y")});
        QVERIFY(bad.waitForFinished(10000));
        const QByteArray said = bad.readAllStandardError();
        QCOMPARE(bad.exitCode(), 1);
        QVERIFY2(said.contains("broken.proto:9:17: Expected field number."), said.constData());
        // A type the schema does not have: the ones it has.
        QProcess wrong;
        wrong.start(QStringLiteral(SOCKTAP_BINARY),
                    {QStringLiteral("--headless"), QStringLiteral("--proto"),
                     QStringLiteral(SOCKTAP_SOURCE_DIR "/tests/data/proto/market.proto"),
                     QStringLiteral("--proto-type"), QStringLiteral("server=socktap.test.Trade")});
        QVERIFY(wrong.waitForFinished(10000));
        const QByteArray why = wrong.readAllStandardError();
        QCOMPARE(wrong.exitCode(), 1);
        QVERIFY2(why.contains("socktap.test.Trade: no such message type")
                     && why.contains("socktap.test.Quote"),
                 why.constData());
    }

    void decodeOffKeepsRawPreviews()
    {
        // --decode off: no "decoded" object, the text line shows the payload as before.
        PythonPeer server;
        QVERIFY2(server.startNode(QStringLiteral("graphql-server.mjs"), {}), server.banner.constData());
        Socktap socktap;
        QVERIFY(socktap.start({"--headless", "--decode", "off", "--listen", "127.0.0.1:0", "--reverse",
                               QStringLiteral("ws://127.0.0.1:%1").arg(server.port)}));
        QVERIFY(!runClient(QStringLiteral("graphql-client.mjs"),
                           {QStringLiteral("ws://127.0.0.1:%1/graphql").arg(socktap.port)})
                     .isEmpty());
        QVERIFY(socktap.stop());
        const QByteArray rawPreview = "\"{\\\"type\\\":\\\"connection_init\\\"}\""; // "{\"type\":...}"
        QVERIFY2(socktap.out.contains(rawPreview), socktap.out.constData());
        QVERIFY(!socktap.out.contains("graphql subscribe"));

        // And auto, in text: the summary replaces the preview, with the time an answer took.
        Socktap decoded;
        QVERIFY(decoded.start({"--headless", "--listen", "127.0.0.1:0", "--reverse",
                               QStringLiteral("ws://127.0.0.1:%1").arg(server.port)}));
        QVERIFY(!runClient(QStringLiteral("graphql-client.mjs"),
                           {QStringLiteral("ws://127.0.0.1:%1/graphql").arg(decoded.port)})
                     .isEmpty());
        QVERIFY(decoded.stop());
        QVERIFY2(decoded.out.contains("graphql-transport-ws: graphql subscribe #"), decoded.out.constData());
        QVERIFY2(QRegularExpression(
                     QStringLiteral(R"(graphql next #\S+ OnTick \([0-9.]+ (µs|ms) after its request\))"))
                     .match(QString::fromUtf8(decoded.out))
                     .hasMatch(),
                 decoded.out.constData());
        // A format that does not exist is refused with the list of those that do.
        QProcess bad;
        bad.start(QStringLiteral(SOCKTAP_BINARY), {QStringLiteral("--decode"), QStringLiteral("socketio")});
        QVERIFY(bad.waitForFinished(WaitMs));
        QCOMPARE(bad.exitCode(), 1);
        QVERIFY(
            bad.readAllStandardError().contains("--decode socketio: expected auto, off or one of socket.io"));
    }
};

QTEST_MAIN(TestFormats)
#include "tst_formats.moc"
