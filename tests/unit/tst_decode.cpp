// The message formats (core/decode): for each, the bytes its real implementation sends (taken from the
// libraries' protocol documents and captures of them) decoded into the summary, the value, pairing and
// chatter; detection by subprotocol, URL and content; bad input of every kind decoded into a reason, never a
// crash (every prefix and a byte flipped at every position of every sample).
#include "core/decode/DecodedQuery.h"
#include "core/decode/FormatRegistry.h"
#include "core/decode/JsonValue.h"
#include "core/decode/MsgPack.h"
#include "core/decode/SessionDecoder.h"

#include <QCborMap>
#include <QCborValue>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace socktap::decode;

namespace {

constexpr bool Client = false;
constexpr bool Server = true;

struct Step
{
    bool fromServer;
    QByteArray payload;
    bool binary = false;
};

// Decodes a session's messages in order, as the console and the window do.
// Message i is at time 1000 * i µs.
std::vector<Decoded> run(SessionDecoder &session, const std::vector<Step> &steps)
{
    std::vector<Decoded> out;
    quint64 index = 0;
    for (const Step &s : steps) {
        out.push_back(session.decode(index, {s.payload, s.binary, s.fromServer}, qint64(index) * 1000));
        ++index;
    }
    return out;
}

QByteArray json(const QJsonValue &v)
{
    return v.isObject() ? QJsonDocument(v.toObject()).toJson(QJsonDocument::Compact)
                        : QJsonDocument(v.toArray()).toJson(QJsonDocument::Compact);
}

// A literal with its NULs (STOMP frames end in one).
template<size_t N>
QByteArray raw(const char (&text)[N])
{
    return QByteArray(text, N - 1);
}

// Bytes from hex with spaces between them.
QByteArray hex(const char *text)
{
    return QByteArray::fromHex(QByteArray(text).replace(' ', ""));
}

// The index of the message paired with message `index`, -1 for none.
qint64 paired(const SessionDecoder &session, quint64 index)
{
    const auto pair = session.pairOf(index);
    return pair ? qint64(pair->index) : -1;
}

const FormatRegistry &registry()
{
    return FormatRegistry::builtin();
}

} // namespace

class TestDecode : public QObject
{
    Q_OBJECT

private slots:
    void socketIoSession();
    void socketIoBinaryAttachments();
    void socketIoEngineIo3();
    void graphqlTransportWs();
    void graphqlLegacy();
    void jsonRpc();
    void stompBareAndSockJs();
    void signalRJson();
    void signalRMessagePack();
    void phoenixAndActionCable();
    void mqttStream();
    void wamp();
    void protobufWithoutSchema();
    void msgpackTypes();
    void cbor();
    void detection_data();
    void detection();
    void notTheSessionsFormat();
    void decodedJson();
    void queries();
    void encodeRoundTrips_data();
    void encodeRoundTrips();
    void editAFieldAndReencode();
    void mqttPublishReencodes();
    void composeNewMessages();
    void badInputNeverCrashes();
};

void TestDecode::socketIoSession()
{
    // socket.io 4 (Engine.IO 4): open, connect, an emit with an ack id and its ack, a server event,
    // heartbeats from the server with the client's pong, a namespace.
    SessionDecoder s(registry(), {{}, "/socket.io/?EIO=4&transport=websocket"});
    QVERIFY(s.format());
    QCOMPARE(s.format()->name(), QStringLiteral("socket.io"));
    const auto d = run(
        s,
        {
            {Server,
             R"(0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000})"},
            {Client, "40"},
            {Server, R"(40{"sid":"wZX3oN0bSVIhsaknAAAI"})"},
            {Client, R"(421["chat",{"msg":"hi"},2])"},
            {Server, R"(431["ok"])"},
            {Server, R"(42["news",{"hello":"world"}])"},
            {Server, "2"},
            {Client, "3"},
            {Client, R"(40/admin,{"token":"abc"})"},
            {Client, R"(42/admin,7["kick","bob"])"},
            {Server, R"(43/admin,7[])"},
            {Server, R"(44/admin,{"message":"Not authorized"})"},
        });
    QCOMPARE(d[0].format, QStringLiteral("engine.io"));
    QCOMPARE(d[0].summary, QStringLiteral("open sid=lv_VI97HAXpY6yYWAAAC"));
    QCOMPARE(d[0].value.toObject()["data"].toObject()["pingInterval"].toInt(), 25000);
    QCOMPARE(d[1].summary, QStringLiteral("connect"));
    QCOMPARE(d[3].format, QStringLiteral("socket.io"));
    QCOMPARE(d[3].summary, QStringLiteral("emit \"chat\" [2 args] #1"));
    QCOMPARE(d[3].value.toObject()["event"].toString(), QStringLiteral("chat"));
    QCOMPARE(json(d[3].value.toObject()["args"]), QByteArray(R"([{"msg":"hi"},2])"));
    QCOMPARE(d[4].summary, QStringLiteral("ack 1 [1 arg]"));
    QCOMPARE(paired(s, 3), 4);
    QCOMPARE(paired(s, 4), 3);
    QCOMPARE(s.pairOf(4)->micros, 1000); // the ack came one message (1 ms) after the emit
    QCOMPARE(d[5].summary, QStringLiteral("emit \"news\" [1 arg]"));
    QCOMPARE(paired(s, 5), -1);
    QVERIFY(d[6].chatter && d[7].chatter);
    QCOMPARE(d[6].summary, QStringLiteral("ping"));
    QVERIFY(!d[3].chatter && !d[1].chatter);
    QCOMPARE(d[8].summary, QStringLiteral("connect /admin"));
    QCOMPARE(d[9].summary, QStringLiteral("emit \"kick\" [1 arg] /admin #7"));
    QCOMPARE(d[9].value.toObject()["nsp"].toString(), QStringLiteral("/admin"));
    QCOMPARE(paired(s, 10), 9);
    QCOMPARE(d[11].summary, QStringLiteral("connect_error /admin \"Not authorized\""));
}

void TestDecode::socketIoBinaryAttachments()
{
    // socket.emit("upload", "a.bin", <Buffer>, <Buffer>): a binary event with two placeholders, then the
    // two buffers as binary messages; a text event after them is an ordinary packet again.
    SessionDecoder s(registry(), {{}, "/socket.io/?EIO=4&transport=websocket"});
    const auto d = run(
        s,
        {
            {Client, R"(452-["upload","a.bin",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])"},
            {Client, raw("\x01\x02\x03"), true},
            {Client, raw("\x04\x05"), true},
            {Client, R"(42["done"])"},
            {Server, raw("\xff"), true},
        });
    QCOMPARE(d[0].summary, QStringLiteral("emit \"upload\" [3 args] +2 attachments"));
    QCOMPARE(d[0].attachments, 2);
    QCOMPARE(d[1].attachment, 1);
    QCOMPARE(d[2].attachment, 2);
    QCOMPARE(d[2].value.toObject()["base64"].toString(), QStringLiteral("BAU="));
    QCOMPARE(paired(s, 1), 0);
    QCOMPARE(paired(s, 2), 0);
    QCOMPARE(d[3].summary, QStringLiteral("emit \"done\" [0 args]"));
    // Binary data with no packet waiting for it: Engine.IO 4's plain binary message.
    QCOMPARE(d[4].format, QStringLiteral("engine.io"));
    QCOMPARE(d[4].summary, QStringLiteral("binary message (1 B)"));
}

void TestDecode::socketIoEngineIo3()
{
    // Engine.IO 3 (socket.io 2): the client pings, and binary messages begin with the type byte 4.
    SessionDecoder s(registry(), {{}, "/socket.io/?EIO=3&transport=websocket"});
    const auto d = run(s,
                       {
                           {Client, "2"},
                           {Server, "3"},
                           {Server, R"(451-["file",{"_placeholder":true,"num":0}])"},
                           {Server, raw("\x04hello"), true},
                       });
    QVERIFY(d[0].chatter && d[1].chatter);
    QCOMPARE(d[3].attachment, 1);
    QCOMPARE(QByteArray::fromBase64(d[3].value.toObject()["base64"].toString().toLatin1()),
             QByteArray("hello"));
}

void TestDecode::graphqlTransportWs()
{
    SessionDecoder s(registry(), {"graphql-transport-ws", "/graphql"});
    const auto d = run(
        s,
        {
            {Client, R"({"type":"connection_init","payload":{}})"},
            {Server, R"({"type":"connection_ack"})"},
            {Client,
             R"({"id":"1","type":"subscribe","payload":{"query":"subscription OnPrice { price(symbol: \"X\") }"}})"},
            {Server, R"({"id":"1","type":"next","payload":{"data":{"price":1}}})"},
            {Server, R"({"id":"1","type":"next","payload":{"data":{"price":2}}})"},
            {Client, R"({"type":"ping"})"},
            {Server, R"({"type":"pong"})"},
            {Server, R"({"id":"1","type":"complete"})"},
            {Client, R"({"id":"2","type":"subscribe","payload":{"query":"{ a }","operationName":"Named"}})"},
            {Server, R"({"id":"2","type":"error","payload":[{"message":"Cannot query field"}]})"},
        });
    QCOMPARE(d[2].summary, QStringLiteral("graphql subscribe #1 OnPrice"));
    QCOMPARE(d[3].summary, QStringLiteral("graphql next #1 OnPrice"));
    QCOMPARE(paired(s, 3), 2);
    QCOMPARE(paired(s, 4), 2);
    QCOMPARE(paired(s, 7), 2);
    QCOMPARE(paired(s, 2), 3); // the subscribe points at its first next
    QVERIFY(d[5].chatter && d[6].chatter && !d[3].chatter);
    QCOMPARE(d[9].summary, QStringLiteral("graphql error #2 Named \"Cannot query field\""));
    QCOMPARE(paired(s, 9), 8);
}

void TestDecode::graphqlLegacy()
{
    SessionDecoder s(registry(), {"graphql-ws", "/graphql"});
    QCOMPARE(s.format()->name(), QStringLiteral("graphql-ws"));
    const auto d = run(s,
                       {
                           {Client, R"({"type":"start","id":"7","payload":{"query":"query Q { a }"}})"},
                           {Server, R"({"type":"ka"})"},
                           {Server, R"({"type":"data","id":"7","payload":{"data":{"a":1}}})"},
                           {Client, R"({"type":"stop","id":"7"})"},
                       });
    QCOMPARE(d[0].summary, QStringLiteral("graphql start #7 Q"));
    QVERIFY(d[1].chatter);
    QCOMPARE(paired(s, 2), 0);
    QCOMPARE(paired(s, 3), 0); // the client's stop ends its own operation
}

void TestDecode::jsonRpc()
{
    SessionDecoder s(registry(), {"jsonrpc", "/rpc"});
    const auto d = run(
        s,
        {
            {Client, R"({"jsonrpc":"2.0","method":"getUser","params":{"id":3},"id":12})"},
            {Client, R"({"jsonrpc":"2.0","method":"log","params":["x"]})"},
            {Server, R"({"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":"a"})"},
            {Server, R"({"jsonrpc":"2.0","result":{"name":"Ann"},"id":12})"},
            {Client, R"([{"jsonrpc":"2.0","method":"a","id":"b1"},{"jsonrpc":"2.0","method":"n"}])"},
            {Server, R"([{"jsonrpc":"2.0","result":1,"id":"b1"}])"},
        });
    QCOMPARE(d[0].summary, QStringLiteral("call getUser #12"));
    QCOMPARE(d[1].summary, QStringLiteral("notify log"));
    QCOMPARE(d[2].summary, QStringLiteral("error #a -32601 Method not found"));
    QCOMPARE(paired(s, 2), -1); // no request "a"
    QCOMPARE(d[3].summary, QStringLiteral("result #12 {1}"));
    QCOMPARE(paired(s, 3), 0);
    QCOMPARE(d[4].summary, QStringLiteral("batch [2]: call a #b1; notify n"));
    QCOMPARE(paired(s, 5), 4);
}

void TestDecode::stompBareAndSockJs()
{
    SessionDecoder bare(registry(), {"v12.stomp", "/ws"});
    const auto d =
        run(bare,
            {
                {Client, raw("CONNECT\naccept-version:1.2\nhost:localhost\nheart-beat:10000,10000\n\n\0")},
                {Server, raw("CONNECTED\nversion:1.2\nheart-beat:10000,10000\n\n\0")},
                {Client, raw("SUBSCRIBE\nid:sub-0\ndestination:/topic/prices\nreceipt:77\n\n\0")},
                {Server, raw("RECEIPT\nreceipt-id:77\n\n\0")},
                {Server,
                 raw("MESSAGE\ndestination:/topic/"
                     "prices\nmessage-id:m\\c1\nsubscription:sub-0\ncontent-type:application/"
                     "json\n\n{\"p\":1}\0")},
                {Server, "\n"},
                {Client, raw("SEND\ndestination:/app/a\n\nx\0SEND\ndestination:/app/b\n\ny\0")},
            });
    QCOMPARE(d[0].summary, QStringLiteral("CONNECT"));
    QCOMPARE(paired(bare, 1), 0);
    QCOMPARE(d[2].summary, QStringLiteral("SUBSCRIBE /topic/prices receipt=77"));
    QCOMPARE(d[3].summary, QStringLiteral("RECEIPT 77"));
    QCOMPARE(paired(bare, 3), 2);
    QCOMPARE(d[4].summary, QStringLiteral("MESSAGE /topic/prices"));
    const QJsonObject message = d[4].value.toObject();
    QCOMPARE(message["headers"].toObject()["message-id"].toString(), QStringLiteral("m:1")); // 1.2 escaping
    QCOMPARE(message["body"].toObject()["p"].toInt(), 1);
    QVERIFY(d[5].chatter);
    QCOMPARE(d[5].summary, QStringLiteral("heart-beat"));
    QCOMPARE(d[6].summary, QStringLiteral("SEND /app/a; SEND /app/b"));
    QCOMPARE(d[6].value.toArray().size(), 2);

    // The same inside SockJS, as Spring's SockJS endpoint and sockjs-client speak it.
    SessionDecoder sock(registry(), {{}, "/stomp/123/abcdefgh/websocket"});
    QCOMPARE(sock.format()->name(), QStringLiteral("sockjs"));
    const auto j = run(
        sock,
        {
            {Server, "o"},
            {Client, R"(["CONNECT\naccept-version:1.2\n\n\u0000"])"},
            {Server, R"(a["CONNECTED\nversion:1.2\n\n\u0000"])"},
            {Server, "h"},
            {Server,
             R"(a["MESSAGE\ndestination:/topic/x\n\nhi\u0000","MESSAGE\ndestination:/topic/y\n\nho\u0000"])"},
            {Server, R"(c[3000,"Go away!"])"},
        });
    QCOMPARE(j[0].summary, QStringLiteral("sockjs open"));
    QCOMPARE(j[1].format, QStringLiteral("stomp"));
    QCOMPARE(j[1].summary, QStringLiteral("CONNECT"));
    QCOMPARE(paired(sock, 2), 1);
    QVERIFY(j[3].chatter);
    QCOMPARE(j[4].summary, QStringLiteral("MESSAGE /topic/x; MESSAGE /topic/y"));
    QCOMPARE(j[5].summary, QStringLiteral("sockjs close 3000 Go away!"));
}

void TestDecode::signalRJson()
{
    SessionDecoder s(registry(), {{}, "/chathub?id=abc"});
    const auto d = run(s,
                       {
                           {Client, "{\"protocol\":\"json\",\"version\":1}\x1e"},
                           {Server, "{}\x1e"},
                           {Client,
                            "{\"type\":1,\"invocationId\":\"0\",\"target\":\"SendMessage\",\"arguments\":["
                            "\"ann\",\"hi\"]}\x1e"},
                           {Server,
                            "{\"type\":1,\"target\":\"ReceiveMessage\",\"arguments\":[\"ann\",\"hi\"]}\x1e{"
                            "\"type\":3,\"invocationId\":\"0\",\"result\":42}\x1e"},
                           {Server, "{\"type\":6}\x1e"},
                           {Server, "{\"type\":7,\"error\":\"bye\"}\x1e"},
                       });
    QCOMPARE(s.format()->name(), QStringLiteral("signalr")); // recognised by its handshake
    QCOMPARE(d[0].summary, QStringLiteral("handshake json v1"));
    QCOMPARE(d[1].summary, QStringLiteral("handshake ok"));
    QCOMPARE(d[2].summary, QStringLiteral("invoke SendMessage [2 args] #0"));
    QCOMPARE(d[3].summary, QStringLiteral("invoke ReceiveMessage [2 args]; completion 42 #0"));
    QCOMPARE(paired(s, 3), 2);
    QCOMPARE(paired(s, 1), 0);
    QVERIFY(d[4].chatter);
    QCOMPARE(d[5].summary, QStringLiteral("close bye"));
}

void TestDecode::signalRMessagePack()
{
    // HubProtocol.md's MessagePack examples: an invocation [1, {}, "xyz", "method", [42, "foo"], []] and its
    // completion with a result [3, {}, "xyz", 3, 42], each with its VarInt length, both in one message.
    const QByteArray invocation = hex("96 01 80 a3 78 79 7a a6 6d 65 74 68 6f 64 92 2a a3 66 6f 6f 90");
    const QByteArray completion = hex("95 03 80 a3 78 79 7a 03 2a");
    SessionDecoder s(registry(), {{}, "/hub"}, QStringLiteral("signalr"));
    const auto d = run(s,
                       {
                           {Client, "{\"protocol\":\"messagepack\",\"version\":1}\x1e"},
                           {Server, "{}\x1e"},
                           {Client, char(invocation.size()) + invocation, true},
                           {Server, char(completion.size()) + completion + char(2) + hex("91 06"), true},
                       });
    QCOMPARE(d[0].summary, QStringLiteral("handshake messagepack v1"));
    QCOMPARE(d[2].summary, QStringLiteral("invoke method [2 args] #xyz"));
    QCOMPARE(json(d[2].value.toObject()["arguments"]), QByteArray(R"([42,"foo"])"));
    QVERIFY2(d[3].decoded(), qPrintable(d[3].error));
    QCOMPARE(d[3].summary, QStringLiteral("completion 42 #xyz; ping"));
    QCOMPARE(paired(s, 3), 2);
    // Re-encoded: both messages give their own bytes back (the records in one message too), and an edit of
    // an argument changes that argument and the length before it.
    const Decoder *signalR = registry().find("signalr");
    const QByteArray invocationMessage = char(invocation.size()) + invocation;
    const QByteArray serverMessage = char(completion.size()) + completion + char(2) + hex("91 06");
    QString error;
    QCOMPARE(signalR->encode({invocationMessage, true, false}, d[2].value, &error)->toHex(' '),
             invocationMessage.toHex(' '));
    QCOMPARE(signalR->encode({serverMessage, true, true}, d[3].value, &error)->toHex(' '),
             serverMessage.toHex(' '));
    const auto edited = withValueAt(d[2].value, *parseJsonPath(QStringLiteral("$.arguments[1]")),
                                    QStringLiteral("a longer text"));
    const auto bytes = signalR->encodeEdit({invocationMessage, true, false}, d[2].value, *edited, &error);
    QVERIFY2(bytes, qPrintable(error));
    const Decoded again = signalR->decode({*bytes, true, false}, nullptr);
    QCOMPARE(json(again.value.toObject()["arguments"]), QByteArray(R"([42,"a longer text"])"));
    QCOMPARE(quint8(bytes->at(0)), quint8(bytes->size() - 1));
    // A message whose MessagePack is not the smallest encoding (42 as uint32) is not edited: re-encoding
    // would change more than the field.
    const QByteArray wide = hex("96 01 80 a3 78 79 7a a6 6d 65 74 68 6f 64 91 ce 00 00 00 2a 90");
    const QByteArray wideMessage = char(wide.size()) + wide;
    const Decoded w = signalR->decode({wideMessage, true, false}, nullptr);
    QVERIFY2(w.decoded(), qPrintable(w.error));
    QVERIFY(!signalR->encodeEdit({wideMessage, true, false}, w.value, w.value, &error));
    QVERIFY2(error.contains("does not encode back to its own bytes"), qPrintable(error));
    // A length prefix that promises more than there is.
    const Decoded cut = s.decode(4, {raw("\x20\x91\x06"), true, true});
    QVERIFY(!cut.decoded());
    QVERIFY2(cut.error.contains("record of 32 bytes"), qPrintable(cut.error));
}

void TestDecode::phoenixAndActionCable()
{
    SessionDecoder p(registry(), {{}, "/socket/websocket?token=x&vsn=2.0.0"});
    QCOMPARE(p.format()->name(), QStringLiteral("phoenix"));
    const auto d =
        run(p,
            {
                {Client, R"(["3","3","room:lobby","phx_join",{}])"},
                {Server, R"(["3","3","room:lobby","phx_reply",{"response":{},"status":"ok"}])"},
                {Client, R"([null,"4","phoenix","heartbeat",{}])"},
                {Server, R"([null,"4","phoenix","phx_reply",{"response":{},"status":"ok"}])"},
                {Server, R"([null,null,"room:lobby","new_msg",{"body":"hi"}])"},
                {Client, R"({"topic":"room:lobby","event":"new_msg","payload":{"body":"v1"},"ref":"5"})"},
            });
    QCOMPARE(d[0].summary, QStringLiteral("phx_join room:lobby #3"));
    QCOMPARE(d[1].summary, QStringLiteral("reply ok room:lobby #3"));
    QCOMPARE(paired(p, 1), 0);
    QVERIFY(d[2].chatter && d[3].chatter && !d[4].chatter);
    QCOMPARE(paired(p, 3), 2);
    QCOMPARE(d[4].summary, QStringLiteral("new_msg room:lobby"));
    QCOMPARE(d[5].summary, QStringLiteral("new_msg room:lobby #5"));

    SessionDecoder a(registry(), {"actioncable-v1-json", "/cable"});
    const auto c = run(
        a,
        {
            {Server, R"({"type":"welcome"})"},
            {Client,
             R"({"command":"subscribe","identifier":"{\"channel\":\"ChatChannel\",\"room\":\"1\"}"})"},
            {Server,
             R"({"identifier":"{\"channel\":\"ChatChannel\",\"room\":\"1\"}","type":"confirm_subscription"})"},
            {Server, R"({"type":"ping","message":1700000000})"},
            {Client,
             R"({"command":"message","identifier":"{\"channel\":\"ChatChannel\",\"room\":\"1\"}","data":"{\"text\":\"hi\",\"action\":\"speak\"}"})"},
            {Server,
             R"({"identifier":"{\"channel\":\"ChatChannel\",\"room\":\"1\"}","message":{"text":"hi"}})"},
        });
    QCOMPARE(c[1].summary, QStringLiteral("subscribe ChatChannel"));
    QCOMPARE(paired(a, 2), 1);
    QVERIFY(c[3].chatter);
    QCOMPARE(c[4].summary, QStringLiteral("message ChatChannel speak"));
    QCOMPARE(c[4].value.toObject()["data"].toObject()["text"].toString(), QStringLiteral("hi"));
    QCOMPARE(c[5].summary, QStringLiteral("message ChatChannel {1}"));
}

namespace {

// An MQTT control packet: the fixed header (type and flags, remaining length as a variable byte integer)
// before `body`.
QByteArray mqttPacket(quint8 first, const QByteArray &body)
{
    QByteArray out(1, char(first));
    quint32 n = quint32(body.size());
    do {
        quint8 b = n & 0x7f;
        n >>= 7;
        out += char(n ? b | 0x80 : b);
    } while (n);
    return out + body;
}

QByteArray mqttString(const QByteArray &s)
{
    return QByteArray(1, char(s.size() >> 8)) + char(s.size() & 0xff) + s;
}

} // namespace

void TestDecode::mqttStream()
{
    // MQTT 5.0: CONNECT with a session-expiry property, CONNACK, SUBSCRIBE/SUBACK, a QoS 1 PUBLISH of JSON
    // split over three WebSocket messages with a PINGREQ after it in the last, PUBACK, then QoS 2.
    const QByteArray connect = mqttPacket(0x10,
                                          mqttString("MQTT") + char(5) + char(0x02) + hex("003c")
                                              + hex("05 11 00000e10") + mqttString("sensor-7"));
    const QByteArray connack = mqttPacket(0x20, hex("00 00 03 22 000a")); // topic alias maximum 10
    const QByteArray subscribe = mqttPacket(0x82, hex("0001") + char(0) + mqttString("sensors/#") + char(1));
    const QByteArray suback = mqttPacket(0x90, hex("0001 00 01"));
    const QByteArray publish =
        mqttPacket(0x32,
                   mqttString("sensors/1") + hex("0002") + hex("07 03") + mqttString("json")
                       + QByteArray(R"({"temp":21.5,"unit":"C"})"));
    const QByteArray ping = mqttPacket(0xc0, {});
    SessionDecoder s(registry(), {"mqtt", "/mqtt"});
    QCOMPARE(s.format()->name(), QStringLiteral("mqtt"));
    const auto d = run(s,
                       {
                           {Client, connect, true},
                           {Server, connack, true},
                           {Client, subscribe, true},
                           {Server, suback, true},
                           {Client, publish.first(3), true},
                           {Client, publish.mid(3, 10), true},
                           {Client, publish.mid(13) + ping, true},
                           {Server, mqttPacket(0x40, hex("0002")), true},
                           {Client, mqttPacket(0x34, mqttString("cmd") + hex("0009") + char(0) + "go"), true},
                           {Server, mqttPacket(0x50, hex("0009")), true},
                           {Client, mqttPacket(0x62, hex("0009")), true},
                           {Server, mqttPacket(0x70, hex("0009")) + mqttPacket(0xd0, {}), true},
                       });
    QCOMPARE(d[0].summary, QStringLiteral("CONNECT sensor-7 v5.0 keepalive=60"));
    QCOMPARE(d[0].value.toObject()["properties"].toObject()["sessionExpiry"].toInt(), 3600);
    QCOMPARE(d[1].summary, QStringLiteral("CONNACK 0"));
    QCOMPARE(d[1].value.toObject()["properties"].toObject()["topicAliasMaximum"].toInt(), 10);
    QCOMPARE(paired(s, 1), 0);
    QCOMPARE(d[2].summary, QStringLiteral("SUBSCRIBE #1 sensors/#"));
    QCOMPARE(paired(s, 3), 2);
    // The PUBLISH is decoded where its last byte arrived; the messages before say what they hold.
    QCOMPARE(d[4].summary, QStringLiteral("(3 B of the next packet)"));
    QCOMPARE(d[5].summary, QStringLiteral("(13 B of the next packet)"));
    QCOMPARE(d[6].summary, QStringLiteral("PUBLISH sensors/1 qos1 #2 (24 B); PINGREQ"));
    const QJsonObject published = d[6].value.toArray()[0].toObject();
    QCOMPARE(published["payload"].toObject()["temp"].toDouble(), 21.5);
    QCOMPARE(published["properties"].toObject()["contentType"].toString(), QStringLiteral("json"));
    QVERIFY(!d[6].chatter); // a PINGREQ beside a PUBLISH is not only chatter
    QCOMPARE(paired(s, 7), 6);
    // QoS 2: PUBLISH, PUBREC, PUBREL, PUBCOMP all on one exchange; the last message ends with a PINGRESP.
    QCOMPARE(d[8].summary, QStringLiteral("PUBLISH cmd qos2 #9 (2 B)"));
    QCOMPARE(paired(s, 9), 8);
    QCOMPARE(paired(s, 10), 8);
    QCOMPARE(d[11].summary, QStringLiteral("PUBCOMP #9; PINGRESP"));
    QCOMPARE(paired(s, 11), 8);
    QVERIFY(run(s, {{Client, ping, true}})[0].chatter);

    // A remaining length of five bytes loses the stream: said once, then every later message says so.
    SessionDecoder broken(registry(), {"mqtt", "/"});
    const auto b = run(broken, {{Client, hex("30 ff ff ff ff 01"), true}, {Client, ping, true}});
    QVERIFY(!b[0].decoded());
    QVERIFY2(b[0].error.contains("4 bytes"), qPrintable(b[0].error));
    QVERIFY2(b[1].error.contains("lost"), qPrintable(b[1].error));
    // Text is not MQTT.
    QVERIFY(run(broken, {{Client, "hello", false}})[0].error.contains("binary"));
}

void TestDecode::wamp()
{
    // wamp-proto.org's examples, JSON; then a CALL in MessagePack ([48, 7, {}, "com.add", [1, 2]]).
    SessionDecoder s(registry(), {"wamp.2.json", "/ws"});
    const auto d = run(s,
                       {
                           {Client, R"([1,"realm1",{"roles":{"caller":{},"subscriber":{}}}])"},
                           {Server, R"([2,9129137332,{"roles":{"broker":{}}}])"},
                           {Client, R"([32,713845233,{},"com.myapp.mytopic1"])"},
                           {Server, R"([33,713845233,5512315355])"},
                           {Server, R"([36,5512315355,4429313566,{},["Hello, world!"]])"},
                           {Client, R"([48,7814135,{},"com.myapp.ping"])"},
                           {Server, R"([50,7814135,{"progress":true},[1]])"},
                           {Server, R"([8,48,7814135,{},"wamp.error.no_such_procedure"])"},
                           {Client, R"([99,1])"},
                       });
    QCOMPARE(d[0].summary, QStringLiteral("HELLO realm1"));
    QCOMPARE(paired(s, 1), 0);
    QCOMPARE(d[2].summary, QStringLiteral("SUBSCRIBE com.myapp.mytopic1 #713845233"));
    QCOMPARE(paired(s, 3), 2);
    QCOMPARE(d[4].summary, QStringLiteral("EVENT"));
    QCOMPARE(d[4].value.toObject()["fields"].toArray()[4].toArray()[0].toString(),
             QStringLiteral("Hello, world!"));
    QCOMPARE(d[6].role, PairRole::Update); // a progressive result does not end the call
    QCOMPARE(paired(s, 6), 5);
    QCOMPARE(d[7].summary, QStringLiteral("ERROR wamp.error.no_such_procedure (for 48) #7814135"));
    QCOMPARE(paired(s, 7), 5);
    QCOMPARE(d[8].format, QStringLiteral("json")); // shown as JSON, with the reason it is not WAMP
    QVERIFY2(d[8].error.contains("known message code"), qPrintable(d[8].error));

    SessionDecoder packed(registry(), {"wamp.2.msgpack", "/ws"});
    const Decoded call = packed.decode(0, {hex("95 30 07 80 a7 636f6d2e616464 92 01 02"), true, false});
    QVERIFY2(call.decoded(), qPrintable(call.error));
    QCOMPARE(call.summary, QStringLiteral("CALL com.add #7"));
}

void TestDecode::protobufWithoutSchema()
{
    // protobuf.dev's encoding guide: field 1 = 150 is 08 96 01; field 2 = "testing" is 12 07 74 65 73 74 69
    // 6e 67; field 3 = a message whose field 1 is 150 (1a 03 08 96 01); packed-looking bytes stay bytes
    // when they are no message (22 03 ff ff ff); a repeated field becomes an array.
    const QByteArray bytes = hex("08 9601 12 07 74657374696e67 1a 03 089601 22 03 ffffff 08 01");
    const Decoded d = registry().find("protobuf")->decode({bytes, true, false}, nullptr);
    QVERIFY2(d.decoded(), qPrintable(d.error));
    QCOMPARE(json(d.value), QByteArray(R"({"1":[150,1],"2":"testing","3":{"1":150},"4":{"bytes":"////"}})"));
    QCOMPARE(d.summary, QStringLiteral("1=[2] 2=\"testing\" 3={1} 4={1}"));
    // Wire types 3, 4 (groups), 6 and 7, a truncated varint, a length past the end: named.
    QVERIFY(
        registry().find("protobuf")->decode({hex("0b"), true, false}, nullptr).error.contains("wire type 3"));
    QVERIFY(registry()
                .find("protobuf")
                ->decode({hex("08 96"), true, false}, nullptr)
                .error.contains("truncated varint"));
    QVERIFY(registry()
                .find("protobuf")
                ->decode({hex("12 09 74"), true, false}, nullptr)
                .error.contains("past the end"));
}

void TestDecode::msgpackTypes()
{
    // {"a": [1, -1, 300, -200, 1.5, nil, true, "s", bin "\x00", ext 5 "\x01", timestamp 1 s], 1: 2}
    const QByteArray bytes =
        hex("82 a1 61 9b 01 ff cd 01 2c d1 ff 38 cb 3f f8 00 00 00 00 00 00 c0 c3 a1 73 c4 01 00 d4 05 01"
            " d6 ff 00 00 00 01 01 02");
    const Decoded d = registry().find("msgpack")->decode({bytes, true, false}, nullptr);
    QVERIFY2(d.decoded(), qPrintable(d.error));
    QCOMPARE(
        json(d.value),
        QByteArray(
            R"({"1":2,"a":[1,-1,300,-200,1.5,null,true,"s",{"$bin":"AA=="},{"$ext":5,"base64":"AQ=="},"1970-01-01T00:00:01.000Z"]})"));
    // Trailing bytes and truncation are named.
    QVERIFY(registry()
                .find("msgpack")
                ->decode({bytes + '\x01', true, false}, nullptr)
                .error.contains("1 bytes after"));
    QVERIFY(registry()
                .find("msgpack")
                ->decode({bytes.first(24), true, false}, nullptr)
                .error.contains("string of 1 bytes truncated"));
    // Maps as keys of maps, 100 deep: each level's key is the JSON text of the one inside, which doubled in
    // length per level before keys were capped (a hang found by fuzz_decode).
    const QByteArray nested = QByteArray(100, '\x81') + hex("0101") + QByteArray(99, '\x01');
    const Decoded deep = registry().find("msgpack")->decode({nested, true, false}, nullptr);
    QVERIFY2(deep.decoded(), qPrintable(deep.error));
    QVERIFY(deep.value.toObject().begin().key().size() <= 256);
    // A count that claims more than the message holds is refused before anything is allocated.
    QVERIFY(registry()
                .find("msgpack")
                ->decode({QByteArray::fromHex("dd7fffffff"), true, false}, nullptr)
                .error.contains("longer than the message"));
}

void TestDecode::cbor()
{
    QCborMap map;
    map.insert(QStringLiteral("temp"), 21.5);
    map.insert(QStringLiteral("ok"), true);
    const Decoded d = registry().find("cbor")->decode({QCborValue(map).toCbor(), true, false}, nullptr);
    QVERIFY2(d.decoded(), qPrintable(d.error));
    QCOMPARE(d.value.toObject()["temp"].toDouble(), 21.5);
    QVERIFY(!registry().find("cbor")->decode({raw("\xbf\x61"), true, false}, nullptr).decoded());
}

void TestDecode::detection_data()
{
    QTest::addColumn<QByteArray>("subprotocol");
    QTest::addColumn<QByteArray>("path");
    QTest::addColumn<QByteArray>("firstServer"); // a first message from the server, or empty
    QTest::addColumn<QByteArray>("firstClient");
    QTest::addColumn<QString>("format");
    QTest::newRow("socket.io by URL") << QByteArray() << QByteArray("/socket.io/?EIO=4&transport=websocket")
                                      << QByteArray() << QByteArray() << "socket.io";
    QTest::newRow("socket.io by open packet")
        << QByteArray() << QByteArray("/custom") << QByteArray(R"(0{"sid":"x","upgrades":[]})")
        << QByteArray() << "socket.io";
    QTest::newRow("stomp by subprotocol")
        << QByteArray("v12.stomp") << QByteArray("/ws") << QByteArray() << QByteArray() << "stomp";
    QTest::newRow("stomp by CONNECT") << QByteArray() << QByteArray("/ws") << QByteArray()
                                      << QByteArray("CONNECT\naccept-version:1.2\n\n") << "stomp";
    QTest::newRow("sockjs by URL") << QByteArray() << QByteArray("/gs/012/a1b2c3d4/websocket") << QByteArray()
                                   << QByteArray() << "sockjs";
    QTest::newRow("graphql-transport-ws") << QByteArray("graphql-transport-ws") << QByteArray("/")
                                          << QByteArray() << QByteArray() << "graphql-transport-ws";
    QTest::newRow("graphql by connection_init")
        << QByteArray() << QByteArray("/graphql") << QByteArray()
        << QByteArray(R"({"type":"connection_init"})") << "graphql-transport-ws";
    QTest::newRow("legacy graphql-ws")
        << QByteArray("graphql-ws") << QByteArray("/") << QByteArray() << QByteArray() << "graphql-ws";
    QTest::newRow("phoenix by vsn") << QByteArray() << QByteArray("/socket/websocket?vsn=2.0.0")
                                    << QByteArray() << QByteArray() << "phoenix";
    QTest::newRow("action cable by path")
        << QByteArray() << QByteArray("/cable") << QByteArray() << QByteArray() << "actioncable";
    QTest::newRow("action cable by subprotocol") << QByteArray("actioncable-v1-json") << QByteArray("/x")
                                                 << QByteArray() << QByteArray() << "actioncable";
    QTest::newRow("signalr by handshake")
        << QByteArray() << QByteArray("/hub?id=x") << QByteArray()
        << QByteArray("{\"protocol\":\"json\",\"version\":1}\x1e") << "signalr";
    QTest::newRow("mqtt by subprotocol")
        << QByteArray("mqtt") << QByteArray("/") << QByteArray() << QByteArray() << "mqtt";
    QTest::newRow("wamp by subprotocol")
        << QByteArray("wamp.2.json") << QByteArray("/") << QByteArray() << QByteArray() << "wamp";
    QTest::newRow("json-rpc by content")
        << QByteArray() << QByteArray("/") << QByteArray()
        << QByteArray(R"({"jsonrpc":"2.0","method":"a","id":1})") << "json-rpc";
    QTest::newRow("plain JSON stays undetected")
        << QByteArray() << QByteArray("/") << QByteArray(R"({"type":"tick"})") << QByteArray(R"({"a":1})")
        << "";
    QTest::newRow("a subprotocol nobody registered")
        << QByteArray("chat.v2") << QByteArray("/") << QByteArray() << QByteArray() << "";
}

void TestDecode::detection()
{
    QFETCH(QByteArray, subprotocol);
    QFETCH(QByteArray, path);
    QFETCH(QByteArray, firstServer);
    QFETCH(QByteArray, firstClient);
    QFETCH(QString, format);
    SessionDecoder s(registry(), {subprotocol, path});
    quint64 index = 0;
    if (!firstServer.isEmpty())
        s.decode(index++, {firstServer, false, true});
    if (!firstClient.isEmpty())
        s.decode(index++, {firstClient, false, false});
    QCOMPARE(s.format() ? s.format()->name() : QString(), format);
}

void TestDecode::notTheSessionsFormat()
{
    // A message the session's format does not explain says why, and still shows as JSON when it is JSON;
    // text that is neither stays undecoded (the inspector shows it as text or hex).
    SessionDecoder s(registry(), {"graphql-transport-ws", "/"});
    const Decoded noType = s.decode(0, {R"({"hello":1})", false, true});
    QCOMPARE(noType.format, QStringLiteral("json"));
    QVERIFY2(noType.error.contains("without \"type\""), qPrintable(noType.error));
    const Decoded garbage = s.decode(1, {"{not json", false, true});
    QVERIFY(!garbage.decoded());
    QVERIFY2(garbage.error.startsWith("graphql-transport-ws: JSON:"), qPrintable(garbage.error));
    // A user's choice wins over the handshake.
    SessionDecoder chosen(registry(), {"graphql-transport-ws", "/"}, QStringLiteral("json-rpc"));
    QCOMPARE(chosen.format()->name(), QStringLiteral("json-rpc"));
}

void TestDecode::decodedJson()
{
    SessionDecoder s(registry(), {"jsonrpc", "/"});
    s.decode(0, {R"({"jsonrpc":"2.0","method":"ping","id":1})", false, false});
    const Decoded reply = s.decode(1, {R"({"jsonrpc":"2.0","result":"pong","id":1})", false, true});
    const QJsonObject o = decodedToJson(reply, s.pairOf(1)->index, 2500);
    QCOMPARE(o["format"].toString(), QStringLiteral("json-rpc"));
    QCOMPARE(o["summary"].toString(), QStringLiteral("result #1 \"pong\""));
    QCOMPARE(o["value"].toObject()["result"].toString(), QStringLiteral("pong"));
    QCOMPARE(o["pair"].toInteger(), 0);
    QCOMPARE(o["pairMicros"].toInteger(), 2500);
    QVERIFY(!o.contains("error") && !o.contains("chatter"));
}

void TestDecode::queries()
{
    const auto decodeOne = [](const QByteArray &subprotocol, const QByteArray &path,
                              const QByteArray &payload, bool binary = false) {
        SessionDecoder s(registry(), {subprotocol, path});
        return s.decode(0, {payload, binary, false});
    };
    const Decoded emitted =
        decodeOne({}, "/socket.io/?EIO=4", R"(42["chat",{"msg":"hi","price":10,"tags":["a","b"]}])");
    const Decoded rpc = decodeOne("jsonrpc", "/", R"({"jsonrpc":"2.0","method":"getUser","id":1})");
    SessionDecoder hub(registry(), {{}, "/hub"}, QStringLiteral("signalr"));
    const Decoded signalr =
        hub.decode(0, {"{\"type\":1,\"target\":\"SendMessage\",\"arguments\":[]}\x1e", false, false});
    const Decoded publish = decodeOne("mqtt", "/", hex("30 0f 0009 73656e736f72732f31 7b2261223a317d"), true);
    const Decoded send = decodeOne("v12.stomp", "/", raw("SEND\ndestination:/app/chat\n\nx\0"));
    const auto q = [](const char *text) {
        const auto query = DecodedQuery::parse(QString::fromUtf8(text));
        if (!query)
            qFatal("not a query: %s", text);
        return *query;
    };
    QVERIFY(q("event:chat").matches(emitted));
    QVERIFY(q("event:CH*").matches(emitted)); // values: globs, any case
    QVERIFY(!q("event:news").matches(emitted));
    QVERIFY(q("method:getUser").matches(rpc));
    QVERIFY(q("method:Send*").matches(signalr)); // SignalR's target is its method
    QVERIFY(q("topic:sensors/#").matches(publish));
    QVERIFY(q("topic:sensors/+").matches(publish));
    QVERIFY(!q("topic:other/#").matches(publish));
    QVERIFY(q("topic:/app/*").matches(send)); // STOMP's destination is its topic
    QVERIFY(q("format:socket.io").matches(emitted));
    QVERIFY(q("summary:emit*").matches(emitted));
    QVERIFY(q("$.args[0].price=10").matches(emitted));
    QVERIFY(!q("$.args[0].price=11").matches(emitted));
    QVERIFY(q("$.args[0].tags=b").matches(emitted)); // an array matches when one element does
    QVERIFY(q("$.args[0].msg").matches(emitted)); // the path exists
    QVERIFY(!q("$.args[1]").matches(emitted));
    QVERIFY(q("price:10").matches(emitted)); // any field by its name, at any depth
    // Plain text and URLs are searched as text, not as queries.
    QVERIFY(!DecodedQuery::parse(QStringLiteral("hello world")));
    QVERIFY(!DecodedQuery::parse(QStringLiteral("http://example.com")));
    QVERIFY(!DecodedQuery::parse(QStringLiteral("$.")));
}

void TestDecode::encodeRoundTrips_data()
{
    // encode(decode(x)) == x, for messages whose objects' keys are in sorted order (the order QJsonObject
    // writes them in; a peer reads JSON objects without regard to order).
    QTest::addColumn<QString>("format");
    QTest::addColumn<QByteArray>("payload");
    QTest::newRow("socket.io event") << "socket.io" << QByteArray(R"(421["chat",{"msg":"hi","price":10}])");
    QTest::newRow("socket.io namespace") << "socket.io" << QByteArray(R"(42/admin,7["kick","bob"])");
    QTest::newRow("socket.io ack") << "socket.io" << QByteArray(R"(431[true,null])");
    QTest::newRow("json-rpc") << "json-rpc"
                              << QByteArray(R"({"id":1,"jsonrpc":"2.0","method":"a","params":[1]})");
    QTest::newRow("graphql") << "graphql-transport-ws"
                             << QByteArray(R"({"id":"1","payload":{"data":{"a":1}},"type":"next"})");
    QTest::newRow("phoenix v2") << "phoenix"
                                << QByteArray(R"(["3","4","room:lobby","new_msg",{"body":"hi"}])");
    QTest::newRow("phoenix v1") << "phoenix"
                                << QByteArray(R"({"event":"e","payload":{},"ref":"1","topic":"t"})");
    QTest::newRow("signalr") << "signalr"
                             << QByteArray("{\"arguments\":[1],\"target\":\"S\",\"type\":1}\x1e");
    QTest::newRow("stomp") << "stomp" << raw("SEND\ncontent-length:7\ndestination:/a\\cb\n\n{\"a\":1}\0");
    QTest::newRow("json") << "json" << QByteArray(R"({"a":[1,2,{"b":null}]})");
}

void TestDecode::encodeRoundTrips()
{
    QFETCH(QString, format);
    QFETCH(QByteArray, payload);
    const Decoder *decoder = registry().find(format);
    auto state = decoder->newState({});
    const Message message {payload, false, false};
    const Decoded d = decoder->decode(message, state.get());
    QVERIFY2(d.decoded(), qPrintable(d.error));
    QString error;
    const auto again = decoder->encode(message, d.value, &error);
    QVERIFY2(again, qPrintable(error));
    QCOMPARE(*again, payload);
}

void TestDecode::editAFieldAndReencode()
{
    // What a set-field rule does: the decoded value changed at a path, then encoded in the same framing.
    const Decoder *socketIo = registry().find("socket.io");
    const Message message {R"(42/admin,5["order",{"price":10,"qty":1}])", false, false};
    const Decoded d = socketIo->decode(message, nullptr);
    const auto path = parseJsonPath(QStringLiteral("$.args[0].price"));
    QVERIFY(path);
    QCOMPARE(valueAt(d.value, *path).toInt(), 10);
    const auto changed = withValueAt(d.value, *path, 99);
    QVERIFY(changed);
    QCOMPARE(*socketIo->encode(message, *changed, nullptr),
             QByteArray(R"(42/admin,5["order",{"price":99,"qty":1}])"));
    // A new key is added; a path through something that is not there is refused.
    QVERIFY(withValueAt(d.value, *parseJsonPath(QStringLiteral("$.args[0].note")), QStringLiteral("x")));
    QVERIFY(!withValueAt(d.value, *parseJsonPath(QStringLiteral("$.args[3].price")), 1));
    QVERIFY(!withValueAt(d.value, *parseJsonPath(QStringLiteral("$.nothing.here")), 1));
    // What cannot be re-encoded says so: a binary event, an Engine.IO ping, MessagePack.
    QString error;
    QVERIFY(!socketIo->encode({R"(451-["u",{"_placeholder":true,"num":0}])", false, false}, d.value, &error));
    QVERIFY2(error.contains("only text events and acks"), qPrintable(error));
    QVERIFY(!registry().find("msgpack")->encode({hex("01"), true, false}, 1, &error));
    QVERIFY2(error.contains("cannot be re-encoded"), qPrintable(error));
}

void TestDecode::mqttPublishReencodes()
{
    // MQTT 3.1.1 and 5.0 PUBLISH packets: encode(decode(x)) == x, payloads as JSON, text and bytes.
    const QByteArray connect4 =
        mqttPacket(0x10, mqttString("MQTT") + char(4) + char(0x02) + hex("003c") + mqttString("c"));
    const QByteArray connect5 =
        mqttPacket(0x10, mqttString("MQTT") + char(5) + char(0x02) + hex("003c") + char(0) + mqttString("c"));
    const QByteArray v4[] = {
        mqttPacket(0x32, mqttString("sensors/1") + hex("0002") + QByteArray(R"({"temp":21.5,"unit":"C"})")),
        mqttPacket(0x31, mqttString("a/b") + "plain text"), // retained, QoS 0
        mqttPacket(0x3c, mqttString("bin") + hex("0007") + hex("00 ff 10")), // dup, QoS 2, bytes
    };
    const QByteArray v5[] = {
        mqttPacket(0x32,
                   mqttString("sensors/1") + hex("0002") + hex("10 03") + mqttString("json") + hex("01 01")
                       + hex("26") + mqttString("k") + mqttString("v") + QByteArray(R"({"a":1})")),
        mqttPacket(0x30, mqttString("t") + char(0) + "x"),
    };
    const Decoder *mqtt = registry().find("mqtt");
    for (const auto &[connect, packets] :
         {std::pair {connect4, std::vector<QByteArray>(std::begin(v4), std::end(v4))},
          std::pair {connect5, std::vector<QByteArray>(std::begin(v5), std::end(v5))}}) {
        auto state = mqtt->newState({"mqtt", "/"});
        QVERIFY(mqtt->decode({connect, true, false}, state.get()).decoded());
        for (const QByteArray &packet : packets) {
            const Message message {packet, true, false};
            const Decoded d = mqtt->decode(message, state.get());
            QVERIFY2(d.decoded(), qPrintable(d.error));
            QString error;
            const auto again = mqtt->encode(message, d.value, &error);
            QVERIFY2(again, qPrintable(error));
            QCOMPARE(again->toHex(' '), packet.toHex(' '));
        }
    }
    // An edit: the payload's field changed, the remaining length follows.
    auto state = mqtt->newState({"mqtt", "/"});
    mqtt->decode({connect4, true, false}, state.get());
    const Decoded d = mqtt->decode({v4[0], true, false}, state.get());
    const auto changed = withValueAt(d.value, *parseJsonPath(QStringLiteral("$.payload.temp")), 99.25);
    const auto edited = mqtt->encode({v4[0], true, false}, *changed, nullptr);
    QVERIFY(edited);
    QCOMPARE(
        *edited,
        mqttPacket(0x32, mqttString("sensors/1") + hex("0002") + QByteArray(R"({"temp":99.25,"unit":"C"})")));
    // What cannot be swapped says why: the end of a packet begun in an earlier message, two packets, not a
    // PUBLISH, a QoS 1 PUBLISH without its packet id.
    QString error;
    QVERIFY(!mqtt->encode({v4[0].mid(3), true, false}, d.value, &error));
    QVERIFY2(error.contains("not one whole packet"), qPrintable(error));
    QVERIFY(!mqtt->encode({v4[1] + v4[1], true, false}, d.value, &error));
    QVERIFY(!mqtt->encode({}, QJsonArray {d.value, d.value}, &error));
    QVERIFY2(error.contains("several packets"), qPrintable(error));
    // mqtt.js writes a packet's parts as separate messages: an edit in the message holding the payload
    // goes when the bytes already sent stay as they were, and says why not otherwise.
    const QByteArray payloadOnly = v4[0].right(24);
    const auto tailEdit = mqtt->encodeEdit({payloadOnly, true, false}, d.value, *changed, &error);
    QVERIFY2(!tailEdit, "99.25 is longer than 21.5: the remaining length, already sent, would be wrong");
    QVERIFY2(error.contains("first 15 bytes"), qPrintable(error));
    const auto sameLength = withValueAt(d.value, *parseJsonPath(QStringLiteral("$.payload.temp")), 99.5);
    const auto edit = mqtt->encodeEdit({payloadOnly, true, false}, d.value, *sameLength, &error);
    QVERIFY2(edit, qPrintable(error));
    QCOMPARE(*edit, QByteArray(R"({"temp":99.5,"unit":"C"})"));
    QCOMPARE(*mqtt->encodeEdit({v4[0], true, false}, d.value, *changed, &error), *edited); // whole: any edit
    QVERIFY(!mqtt->encodeEdit({v4[0] + v4[1], true, false}, d.value, *changed, &error));
    QVERIFY(!mqtt->encode({}, QJsonObject {{"type", "SUBSCRIBE"}}, &error));
    // MQTT's two-byte string lengths: a longer topic is refused, never cut.
    QVERIFY(!mqtt->encode({}, QJsonObject {{"type", "PUBLISH"}, {"topic", QString(70000, 'a')}}, &error));
    QVERIFY2(error.contains("65,535"), qPrintable(error));
    // A JSON payload that is null stays the four bytes "null".
    QCOMPARE(*mqtt->encode({},
                           QJsonObject {{"type", "PUBLISH"},
                                        {"topic", "t"},
                                        {"payloadFormat", "json"},
                                        {"payload", QJsonValue()}},
                           &error),
             mqttPacket(0x30, mqttString("t") + "null"));
    QVERIFY(!mqtt->encode({}, QJsonObject {{"type", "PUBLISH"}, {"topic", "a"}, {"qos", 1}}, &error));
    QVERIFY2(error.contains("packetId"), qPrintable(error));
}

void TestDecode::composeNewMessages()
{
    // Compose builds a message from a value alone: Socket.IO's header from the namespace and ack id.
    const Decoder *socketIo = registry().find("socket.io");
    QString error;
    QCOMPARE(*socketIo->compose(
                 {}, QJsonObject {{"type", "event"}, {"event", "chat"}, {"args", QJsonArray {1}}}, &error),
             QByteArray(R"(42["chat",1])"));
    QCOMPARE(*socketIo->compose({},
                                QJsonObject {{"type", "event"},
                                             {"nsp", "/admin"},
                                             {"id", 7},
                                             {"event", "kick"},
                                             {"args", QJsonArray {"bob"}}},
                                &error),
             QByteArray(R"(42/admin,7["kick","bob"])"));
    QCOMPARE(
        *socketIo->compose({}, QJsonObject {{"type", "ack"}, {"id", 3}, {"args", QJsonArray {true}}}, &error),
        QByteArray(R"(433[true])"));
    // What Socket.IO decodes from it is what was composed.
    const auto composed = socketIo->compose(
        {}, QJsonObject {{"type", "event"}, {"nsp", "/x"}, {"event", "e"}, {"args", QJsonArray {}}}, &error);
    const Decoded back = socketIo->decode({*composed, false, false}, nullptr);
    QCOMPARE(back.value.toObject()["nsp"].toString(), QStringLiteral("/x"));
    QCOMPARE(back.value.toObject()["event"].toString(), QStringLiteral("e"));
    QVERIFY(!socketIo->compose({}, QJsonObject {{"type", "connect"}}, &error));
    QVERIFY2(error.contains("\"event\" or \"ack\""), qPrintable(error));
    QVERIFY(!socketIo->compose({}, QJsonObject {{"type", "event"}}, &error));
    QVERIFY(!socketIo->compose({}, QJsonObject {{"type", "ack"}}, &error));
    // MQTT: a QoS 0 PUBLISH of text; STOMP, SignalR JSON and JSON-RPC through their re-encoders.
    QCOMPARE(*registry().find("mqtt")->compose(
                 {}, QJsonObject {{"type", "PUBLISH"}, {"topic", "a/b"}, {"payload", "hi"}}, &error),
             mqttPacket(0x30, mqttString("a/b") + "hi"));
    QVERIFY(registry().find("mqtt")->binaryMessages());
    // Started from a message that held two packets (or part of one): the new PUBLISH stands alone.
    const QByteArray twoPackets = mqttPacket(0x30, mqttString("a") + "1") + mqttPacket(0xc0, {});
    QCOMPARE(*registry().find("mqtt")->compose(
                 {twoPackets, true, false},
                 QJsonObject {{"type", "PUBLISH"}, {"topic", "a/b"}, {"payload", "hi"}}, &error),
             mqttPacket(0x30, mqttString("a/b") + "hi"));
    QCOMPARE(*registry().find("stomp")->compose({},
                                                QJsonObject {{"command", "SEND"},
                                                             {"headers", QJsonObject {{"destination", "/q"}}},
                                                             {"body", "x"}},
                                                &error),
             raw("SEND\ndestination:/q\n\nx\0"));
    QCOMPARE(*registry().find("signalr")->compose(
                 {}, QJsonObject {{"type", 1}, {"target", "Send"}, {"arguments", QJsonArray {1}}}, &error),
             QByteArray("{\"arguments\":[1],\"target\":\"Send\",\"type\":1}\x1e"));
    QVERIFY(!registry().find("signalr")->binaryMessages());
}

void TestDecode::badInputNeverCrashes()
{
    // Every prefix of every sample, and each sample with one byte flipped at every position, through every
    // format with fresh state: each either decodes or says why. (The libFuzzer target does this at depth.)
    const QList<QByteArray> samples = {
        R"(421["chat",{"msg":"hi"},2])",
        R"(452-["u",{"_placeholder":true,"num":0}])",
        "0{\"sid\":\"x\"}",
        raw("SUBSCRIBE\nid:0\ndestination:/a\nreceipt:1\ncontent-length:3\n\nabc\0"),
        R"(a["MESSAGE\ndestination:/x\n\nhi\u0000"])",
        "{\"type\":1,\"invocationId\":\"0\",\"target\":\"S\",\"arguments\":[1]}\x1e",
        hex("1596 01 80 a3 78 79 7a a6 6d 65 74 68 6f 64 92 2a a3 66 6f 6f 90"),
        R"({"jsonrpc":"2.0","method":"a","id":1})",
        R"(["3","3","room:lobby","phx_join",{}])",
        R"({"command":"message","identifier":"{\"channel\":\"C\"}","data":"{\"action\":\"a\"}"})",
        hex("82a1619b01ffcd012cd1ff38cb3ff8000000000000c0c3a173c40100d40501d6ff0000000101 02"),
        mqttPacket(0x10,
                   mqttString("MQTT") + char(5) + char(0xc6) + hex("003c 05 11 00000e10") + mqttString("c")
                       + hex("00") + mqttString("will") + mqttString("x") + mqttString("u") + mqttString("p"))
            + mqttPacket(0x32,
                         mqttString("t") + hex("0001 0a 26") + mqttString("k") + mqttString("v") + "{}"),
    };
    int decoded = 0;
    int refused = 0;
    for (const QString &name : registry().names()) {
        const Decoder *decoder = registry().find(name);
        for (const QByteArray &sample : samples) {
            QList<QByteArray> inputs;
            for (qsizetype n = 0; n <= sample.size(); ++n)
                inputs << sample.first(n);
            for (qsizetype i = 0; i < sample.size(); ++i) {
                QByteArray flipped = sample;
                flipped[i] = char(flipped[i] ^ 0x5a);
                inputs << flipped;
            }
            for (const QByteArray &input : inputs) {
                for (const bool binary : {false, true}) {
                    auto state = decoder->newState({{}, "/socket.io/?EIO=3"});
                    for (const bool fromServer : {false, true}) {
                        const Decoded d = decoder->decode({input, binary, fromServer}, state.get());
                        if (d.decoded()) {
                            ++decoded;
                        } else {
                            ++refused;
                            QVERIFY2(!d.error.isEmpty(), qPrintable(name + ": " + input.toHex()));
                        }
                    }
                }
            }
        }
    }
    QVERIFY(decoded > 1000 && refused > 1000);
}

QTEST_APPLESS_MAIN(TestDecode)
#include "tst_decode.moc"
