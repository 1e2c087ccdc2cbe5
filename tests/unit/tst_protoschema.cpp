// Protobuf with a schema (core/decode/ProtoSchema): .proto files from tests/data/proto compiled at run time,
// the bytes of every sample made by protoc itself (`protoc --encode` from text format, so they are a real
// implementation's and not written by hand), decoded into the proto3 JSON mapping and back; compile errors
// placed where protoc places them; a message of another type told by its unknown fields; and the "protobuf"
// format falling back to the wire format, with the reason, when the chosen type does not fit.
#include "core/decode/ProtoSchema.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTest>

using namespace socktap::decode;

namespace {

const QString ProtoDir = QStringLiteral(SOCKTAP_SOURCE_DIR "/tests/data/proto");

QString proto(const QString &name)
{
    return ProtoDir + QLatin1Char('/') + name;
}

QByteArray json(const QJsonObject &o)
{
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

QByteArray hex(const char *text)
{
    return QByteArray::fromHex(QByteArray(text).replace(' ', ""));
}

// protoc run on tests/data/proto with `args`, `input` on its standard input: its standard output, or a
// test failure with what it said on standard error.
QByteArray protoc(const QStringList &args, const QByteArray &input)
{
    QProcess p;
    p.start(QStringLiteral("protoc"), QStringList {QStringLiteral("--proto_path=") + ProtoDir} + args);
    if (!p.waitForStarted(10000)) {
        QTest::qFail("protoc did not start (Debian's protobuf-compiler)", __FILE__, __LINE__);
        return {};
    }
    p.write(input);
    p.closeWriteChannel();
    if (!p.waitForFinished(30000) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) {
        QTest::qFail(
            qPrintable(QStringLiteral("protoc %1: %2")
                           .arg(args.join(QLatin1Char(' ')), QString::fromUtf8(p.readAllStandardError()))),
            __FILE__, __LINE__);
        return {};
    }
    return p.readAllStandardOutput();
}

// A text-format message as protoc's wire format (https://protobuf.dev/reference/protobuf/textformat-spec/).
QByteArray encoded(const QString &type, const QByteArray &text,
                   const QString &file = QStringLiteral("market.proto"))
{
    return protoc({QStringLiteral("--encode=") + type, file}, text);
}

// Wire-format bytes as protoc reads them back, in text format.
QByteArray decodedByProtoc(const QString &type, const QByteArray &bytes)
{
    return protoc({QStringLiteral("--decode=") + type, QStringLiteral("market.proto")}, bytes);
}

const QByteArray QuoteText = R"(symbol: "BTC-USD" bid: 64250.5 seq: 123456789012 venues: "X" venues: "Y"
book { bids { price: 64250.5 size: 3 } bids { price: 64250 size: 10 } } flags: 7)";

const QByteArray QuoteJson =
    R"({"bid":64250.5,"book":{"bids":[{"price":64250.5,"size":"3"},{"price":64250,"size":"10"}]},"flags":7,)"
    R"("seq":"123456789012","symbol":"BTC-USD","venues":["X","Y"]})";

std::shared_ptr<const ProtoSchema> market()
{
    QString error;
    auto schema = ProtoSchema::load({proto(QStringLiteral("market.proto"))}, {}, &error);
    if (!schema)
        qWarning("market.proto: %s", qPrintable(error));
    return schema;
}

} // namespace

class TestProtoSchema : public QObject
{
    Q_OBJECT

private slots:
    void messageTypes();
    void importDirectories();
    void decodesProtocsBytes();
    void decodesNestedEnumsMapsAndWellKnownTypes();
    void proto2RequiredAndClosedEnums();
    void wrongTypeNamesItsUnknownFields();
    void unparsableBytes();
    void syntaxErrorAtItsLine();
    void undefinedTypeAtItsLine();
    void missingImport();
    void missingFile();
    void everyErrorOfEveryFile();
    void encodeOfDecodeIsTheBytes();
    void encodeReadByProtoc();
    void decoderByDirection();
    void decoderFallsBackWithTheReason();
    void decoderReencodes();
};

void TestProtoSchema::messageTypes()
{
    const auto schema = market();
    QVERIFY(schema);
    QCOMPARE(schema->messageTypes(),
             QStringList({"socktap.test.Ack", "socktap.test.Book", "socktap.test.Level", "socktap.test.Order",
                          "socktap.test.Quote"}));
}

void TestProtoSchema::importDirectories()
{
    // imports/session.proto imports "market.proto": found only with tests/data/proto on the import path.
    QString error;
    QVERIFY(!ProtoSchema::load({proto("imports/session.proto")}, {}, &error));
    QCOMPARE(error.split(QLatin1Char('\n')),
             QStringList({"market.proto: File not found.",
                          "session.proto:8:1: Import \"market.proto\" was not found or had errors.",
                          "session.proto:25:3: \"socktap.test.Quote\" is not defined."}));

    // With it, the file is named by its path below it, as protoc names it, so that imports/desk.proto's
    // `import "imports/session.proto"` is the same file and not a second definition of its types. Nested
    // types are listed, a map's entry type is not, what a file imports (market.proto, the well-known
    // Timestamp) is.
    error.clear();
    const auto schema =
        ProtoSchema::load({proto("imports/session.proto"), proto("imports/desk.proto")}, {ProtoDir}, &error);
    QVERIFY2(schema, qPrintable(error));
    QCOMPARE(schema->messageTypes(),
             QStringList({"google.protobuf.Timestamp", "socktap.test.Ack", "socktap.test.Book",
                          "socktap.test.Level", "socktap.test.Order", "socktap.test.Quote",
                          "socktap.test.desk.Desk", "socktap.test.session.Session",
                          "socktap.test.session.Session.Peer"}));
}

void TestProtoSchema::decodesProtocsBytes()
{
    const auto schema = market();
    QVERIFY(schema);
    QString error;
    const QByteArray quote = encoded("socktap.test.Quote", QuoteText);
    QVERIFY(!quote.isEmpty());
    const auto value = schema->decode("socktap.test.Quote", quote, &error);
    QVERIFY2(value, qPrintable(error));
    // The proto3 JSON mapping: int64 as strings, fixed32 and double as numbers, a repeated field an array.
    QCOMPARE(json(*value), QuoteJson);

    // sint32's zigzag, bytes as base64, and the .proto's own snake_case names (not orderId).
    const auto order = schema->decode(
        "socktap.test.Order",
        encoded("socktap.test.Order", R"(id: 7 symbol: "BTC-USD" qty: -3 token: "\000\377secret")"), &error);
    QVERIFY2(order, qPrintable(error));
    QCOMPARE(json(*order), QByteArray(R"({"id":7,"qty":-3,"symbol":"BTC-USD","token":"AP9zZWNyZXQ="})"));
    const auto ack =
        schema->decode("socktap.test.Ack",
                       encoded("socktap.test.Ack", R"(order_id: 7 accepted: true note: "filled")"), &error);
    QVERIFY2(ack, qPrintable(error));
    QCOMPARE(json(*ack), QByteArray(R"({"accepted":true,"note":"filled","order_id":7})"));

    // Fields at their default are not on the wire, and not in the JSON; an empty message is {}.
    const auto empty = schema->decode("socktap.test.Ack", QByteArray(), &error);
    QVERIFY2(empty, qPrintable(error));
    QCOMPARE(json(*empty), QByteArray("{}"));
}

void TestProtoSchema::decodesNestedEnumsMapsAndWellKnownTypes()
{
    QString error;
    const auto schema = ProtoSchema::load({proto("imports/session.proto")}, {ProtoDir}, &error);
    QVERIFY2(schema, qPrintable(error));
    const QByteArray bytes =
        protoc({"--encode=socktap.test.session.Session", "imports/session.proto"},
               R"(id: "s1" state: CLOSED peer { host: "example.org" port: 443 } last { symbol: "ACME" }
                  opened { seconds: 1714564800 nanos: 500000000 } counts { key: "quotes" value: 12 })");
    QVERIFY(!bytes.isEmpty());
    const auto value = schema->decode("socktap.test.session.Session", bytes, &error);
    QVERIFY2(value, qPrintable(error));
    // An enum by its name, a Timestamp as RFC 3339, a map as an object (protobuf.dev's JSON mapping table).
    QCOMPARE(
        json(*value),
        QByteArray(
            R"({"counts":{"quotes":"12"},"id":"s1","last":{"symbol":"ACME"},)"
            R"("opened":"2024-05-01T12:00:00.500Z","peer":{"host":"example.org","port":443},"state":"CLOSED"})"));
    QCOMPARE(
        schema->summary("socktap.test.session.Session", *value),
        QStringLiteral("Session id=\"s1\" state=CLOSED opened=2024-05-01T12:00:00.500Z peer={2} last={1} …"));
    // The nested type alone.
    const auto peer = schema->decode("socktap.test.session.Session.Peer", hex("0a 01 68 10 50"), &error);
    QVERIFY2(peer, qPrintable(error));
    QCOMPARE(json(*peer), QByteArray(R"({"host":"h","port":80})"));
}

void TestProtoSchema::proto2RequiredAndClosedEnums()
{
    QString error;
    const auto schema = ProtoSchema::load({proto("legacy.proto")}, {}, &error);
    QVERIFY2(schema, qPrintable(error));
    const QByteArray fill = protoc({"--encode=socktap.test.legacy.Fill", "legacy.proto"}, "id: 9 side: SELL");
    QVERIFY(!fill.isEmpty());
    const auto value = schema->decode("socktap.test.legacy.Fill", fill, &error);
    QVERIFY2(value, qPrintable(error));
    QCOMPARE(json(*value), QByteArray(R"({"id":9,"side":"SELL"})"));
    // Without its required id (side = SELL alone), and with side = 9, which the closed enum lacks.
    QVERIFY(!schema->decode("socktap.test.legacy.Fill", hex("10 02"), &error));
    QCOMPARE(error, QStringLiteral("not a socktap.test.legacy.Fill: id missing"));
    QVERIFY(!schema->decode("socktap.test.legacy.Fill", hex("08 01 10 09"), &error));
    QCOMPARE(error,
             QStringLiteral(
                 "not a socktap.test.legacy.Fill: field 2 (side) has 9, which enum Side does not define"));
}

void TestProtoSchema::wrongTypeNamesItsUnknownFields()
{
    const auto schema = market();
    QVERIFY(schema);
    QString error;
    const QByteArray quote = encoded("socktap.test.Quote", QuoteText);
    QVERIFY(!quote.isEmpty());
    // A Quote read as an Ack: libprotobuf parses it (keeping what Ack lacks aside), the unknown fields tell.
    QVERIFY(!schema->decode("socktap.test.Ack", quote, &error));
    QCOMPARE(
        error,
        QStringLiteral("not a socktap.test.Ack: fields 4, 5, 6 are not in it; field 1 (order_id) is not a "
                       "uint32; field 2 (accepted) is not a bool; field 3 (note) is not a string"));
    // A field whose wire type happens to fit is taken (Ack's accepted = true as Level's size = 1): only what
    // does not fit shows.
    const QByteArray ack = encoded("socktap.test.Ack", R"(order_id: 7 accepted: true note: "x")");
    QVERIFY(!schema->decode("socktap.test.Level", ack, &error));
    QCOMPARE(
        error,
        QStringLiteral("not a socktap.test.Level: field 3 is not in it; field 1 (price) is not a double"));
    const QByteArray order = encoded("socktap.test.Order", R"(id: 1 token: "t")");
    QVERIFY(!schema->decode("socktap.test.Ack", order, &error));
    QCOMPARE(error, QStringLiteral("not a socktap.test.Ack: field 4 is not in it"));
    // Inside a nested message: a Book whose first Level is that Ack.
    const QByteArray book = QByteArray("\x0a", 1) + char(ack.size()) + ack;
    QVERIFY(!schema->decode("socktap.test.Book", book, &error));
    QCOMPARE(
        error,
        QStringLiteral("not a socktap.test.Book: field bids[0].3 is not in it; field bids[0].1 (price) is "
                       "not a double"));
    // A type the schema does not have.
    QVERIFY(!schema->decode("socktap.test.Trade", quote, &error));
    QCOMPARE(error, QStringLiteral("no message type socktap.test.Trade in the schema"));
}

void TestProtoSchema::unparsableBytes()
{
    const auto schema = market();
    QVERIFY(schema);
    QString error;
    // A truncated varint, a length past the end, wire type 7: the wire format's own reason.
    QVERIFY(!schema->decode("socktap.test.Quote", hex("18 96"), &error));
    QCOMPARE(error, QStringLiteral("not a socktap.test.Quote: protobuf: a truncated varint at byte 2"));
    QVERIFY(!schema->decode("socktap.test.Quote", hex("0a 09 41"), &error));
    QCOMPARE(error, QStringLiteral("not a socktap.test.Quote: protobuf: a length past the end at byte 2"));
    QVERIFY(!schema->decode("socktap.test.Quote", hex("0f"), &error));
    QCOMPARE(error, QStringLiteral("not a socktap.test.Quote: protobuf: wire type 7 at byte 0"));
    // Well-formed bytes whose proto3 string is not UTF-8
    // (https://protobuf.dev/programming-guides/proto3/#scalar): libprotobuf's reason, taken from its log.
    QVERIFY(!schema->decode("socktap.test.Quote", hex("0a 02 ff fe"), &error));
    QVERIFY2(
        error.startsWith(QStringLiteral("not a socktap.test.Quote: String field 'socktap.test.Quote.symbol' "
                                        "contains invalid UTF-8")),
        qPrintable(error));
}

void TestProtoSchema::syntaxErrorAtItsLine()
{
    // broken.proto's line 9 is `  int32 count = ;`: protoc says broken.proto:9:17 (the ";").
    QString error;
    QVERIFY(!ProtoSchema::load({proto("broken.proto")}, {}, &error));
    QVERIFY2(error.startsWith(QStringLiteral("broken.proto:9:")), qPrintable(error));
    QCOMPARE(error.split(QLatin1Char('\n')).front(),
             QStringLiteral("broken.proto:9:17: Expected field number."));
}

void TestProtoSchema::undefinedTypeAtItsLine()
{
    QString error;
    QVERIFY(!ProtoSchema::load({proto("undefined_type.proto")}, {}, &error));
    QCOMPARE(error, QStringLiteral("undefined_type.proto:8:3: \"Price\" is not defined."));
}

void TestProtoSchema::missingImport()
{
    QString error;
    QVERIFY(!ProtoSchema::load({proto("missing_import.proto")}, {ProtoDir}, &error));
    QCOMPARE(
        error,
        QStringLiteral("nowhere.proto: File not found.\n"
                       "missing_import.proto:6:1: Import \"nowhere.proto\" was not found or had errors."));
}

void TestProtoSchema::missingFile()
{
    QString error;
    QVERIFY(!ProtoSchema::load({proto("absent.proto")}, {}, &error));
    QCOMPARE(error, proto("absent.proto") + QStringLiteral(": no such file"));
    QVERIFY(!ProtoSchema::load({QStringLiteral("market.proto")}, {},
                               &error)); // relative to the working directory
    QCOMPARE(error, QStringLiteral("market.proto: no such file"));
}

void TestProtoSchema::everyErrorOfEveryFile()
{
    // One bad file fails the load, and every file's errors are there, one a line; the good file loads
    // nothing on its own.
    QString error;
    QVERIFY(!ProtoSchema::load({proto("market.proto"), proto("undefined_type.proto"), proto("absent.proto")},
                               {}, &error));
    QCOMPARE(error.split(QLatin1Char('\n')),
             QStringList({proto("absent.proto") + ": no such file",
                          "undefined_type.proto:8:3: \"Price\" is not defined."}));
}

void TestProtoSchema::encodeOfDecodeIsTheBytes()
{
    QString error;
    const auto schema = ProtoSchema::load({proto("imports/session.proto")}, {ProtoDir}, &error);
    QVERIFY2(schema, qPrintable(error));
    const QList<std::pair<QString, QByteArray>> samples {
        {"socktap.test.Quote", encoded("socktap.test.Quote", QuoteText)},
        {"socktap.test.Order",
         encoded("socktap.test.Order", R"(id: 4294967295 symbol: "é" qty: -2147483648 token: "\001")")},
        {"socktap.test.Level", encoded("socktap.test.Level", "price: 0.1 size: -9223372036854775808")},
        {"socktap.test.session.Session",
         protoc({"--encode=socktap.test.session.Session", "imports/session.proto"},
                R"(id: "s" state: OPEN opened { seconds: 1 } counts { key: "a" value: -1 })")},
    };
    for (const auto &[type, bytes] : samples) {
        QVERIFY(!bytes.isEmpty());
        const auto value = schema->decode(type, bytes, &error);
        QVERIFY2(value, qPrintable(error));
        const auto again = schema->encode(type, *value, &error);
        QVERIFY2(again, qPrintable(error));
        QCOMPARE(again->toHex(' '), bytes.toHex(' '));
    }
}

void TestProtoSchema::encodeReadByProtoc()
{
    const auto schema = market();
    QVERIFY(schema);
    QString error;
    // A rule's edit: the decoded Quote with another symbol and seq, and camelCase accepted as the mapping
    // says.
    auto value = schema->decode("socktap.test.Quote", encoded("socktap.test.Quote", QuoteText), &error);
    QVERIFY2(value, qPrintable(error));
    value->insert("symbol", "ETH-USD");
    value->insert("seq", 5);
    const auto bytes = schema->encode("socktap.test.Quote", *value, &error);
    QVERIFY2(bytes, qPrintable(error));
    const QByteArray text = decodedByProtoc("socktap.test.Quote", *bytes);
    QVERIFY2(text.contains("symbol: \"ETH-USD\"\n"), text.constData());
    QVERIFY2(text.contains("seq: 5\n"), text.constData());
    QVERIFY2(text.contains("flags: 7\n"), text.constData());
    const auto ack = schema->encode("socktap.test.Ack", {{"orderId", 3}, {"note", "ok"}}, &error);
    QVERIFY2(ack, qPrintable(error));
    QCOMPARE(ack->toHex(' '), QByteArray("08 03 1a 02 6f 6b"));
    // A name the type lacks, a value of the wrong kind, a type the schema lacks: errors, nothing sent.
    QVERIFY(!schema->encode("socktap.test.Ack", {{"nope", 1}}, &error));
    QVERIFY2(error.startsWith("not a socktap.test.Ack: ") && error.contains("nope"), qPrintable(error));
    QVERIFY(!schema->encode("socktap.test.Ack", {{"order_id", "seven"}}, &error));
    QVERIFY2(error.startsWith("not a socktap.test.Ack: "), qPrintable(error));
    QVERIFY(!schema->encode("socktap.test.Nack", {}, &error));
    QCOMPARE(error, QStringLiteral("no message type socktap.test.Nack in the schema"));
}

void TestProtoSchema::decoderByDirection()
{
    const auto schema = market();
    QVERIFY(schema);
    const ProtobufSchemaDecoder decoder(schema, "socktap.test.Order", "socktap.test.Quote");
    QCOMPARE(decoder.name(), QStringLiteral("protobuf"));
    const QByteArray quote = encoded("socktap.test.Quote", QuoteText);
    const QByteArray order =
        encoded("socktap.test.Order", R"(id: 7 symbol: "BTC-USD" qty: -3 token: "\000\377secret")");
    QVERIFY(!quote.isEmpty() && !order.isEmpty());

    const Decoded q = decoder.decode({quote, true, true}, nullptr);
    QVERIFY2(q.error.isEmpty(), qPrintable(q.error));
    QCOMPARE(q.format, QStringLiteral("protobuf"));
    QCOMPARE(json(q.value.toObject()), QuoteJson);
    QCOMPARE(
        q.summary,
        QStringLiteral("Quote symbol=\"BTC-USD\" bid=64250.5 seq=123456789012 flags=7 venues=[2] book={1}"));
    const Decoded o = decoder.decode({order, true, false}, nullptr);
    QVERIFY2(o.error.isEmpty(), qPrintable(o.error));
    QCOMPARE(o.summary, QStringLiteral("Order id=7 symbol=\"BTC-USD\" qty=-3 token=\"AP9zZWNyZXQ=\""));
    // Long values elided at 24 characters, the line before 80 with "…" for what did not fit.
    const Decoded longQuote = decoder.decode(
        {encoded(
             "socktap.test.Quote",
             R"(symbol: "ABCDEFGHIJKLMNOPQRSTUVWXYZ" bid: 0.123456789 seq: -9223372036854775808 flags: 4294967295)"),
         true, true},
        nullptr);
    QVERIFY2(longQuote.error.isEmpty(), qPrintable(longQuote.error));
    QCOMPARE(
        longQuote.summary,
        QStringLiteral("Quote symbol=\"ABCDEFGHIJKLMNOPQRSTUV… bid=0.123456789 seq=-9223372036854775808 …"));
    QVERIFY(longQuote.summary.size() <= 80);

    // A direction without a type: the wire format, as the schema-less decoder shows it, and no error.
    const ProtobufSchemaDecoder serverOnly(schema, QString(), "socktap.test.Quote");
    const Decoded raw = serverOnly.decode({order, true, false}, nullptr);
    QVERIFY2(raw.error.isEmpty(), qPrintable(raw.error));
    QCOMPARE(raw.format, QStringLiteral("protobuf"));
    QCOMPARE(json(raw.value.toObject()),
             QByteArray(R"({"1":7,"2":"BTC-USD","3":5,"4":{"bytes":"AP9zZWNyZXQ="}})"));
    QCOMPARE(raw.summary, QStringLiteral("1=7 2=\"BTC-USD\" 3=5 4={1}"));
}

void TestProtoSchema::decoderFallsBackWithTheReason()
{
    const auto schema = market();
    QVERIFY(schema);
    const ProtobufSchemaDecoder decoder(schema, "socktap.test.Order", "socktap.test.Quote");
    // An Ack where a Quote was expected: its fields by number, and why it is no Quote.
    const QByteArray ack = encoded("socktap.test.Ack", R"(order_id: 7 accepted: true note: "filled")");
    QVERIFY(!ack.isEmpty());
    const Decoded wrong = decoder.decode({ack, true, true}, nullptr);
    QCOMPARE(wrong.format, QStringLiteral("protobuf"));
    QCOMPARE(json(wrong.value.toObject()), QByteArray(R"({"1":7,"2":1,"3":"filled"})"));
    QCOMPARE(wrong.summary, QStringLiteral("1=7 2=1 3=\"filled\""));
    QCOMPARE(wrong.error,
             QStringLiteral("not a socktap.test.Quote: field 1 (symbol) is not a string; field 2 (bid) "
                            "is not a double; field 3 (seq) is not a int64"));
    // Garbage: no format at all (the caller shows the bytes), the reason.
    const Decoded garbage = decoder.decode({hex("ff ff ff"), true, false}, nullptr);
    QVERIFY(!garbage.decoded());
    QCOMPARE(garbage.error,
             QStringLiteral("not a socktap.test.Order: protobuf: a truncated field key at byte 0"));
    // A text message is never protobuf.
    const Decoded text = decoder.decode({QByteArray(R"({"symbol":"ACME"})"), false, true}, nullptr);
    QVERIFY(!text.decoded());
    QCOMPARE(text.error, QStringLiteral("protobuf is binary; this message is text"));
}

void TestProtoSchema::decoderReencodes()
{
    const auto schema = market();
    QVERIFY(schema);
    const ProtobufSchemaDecoder decoder(schema, QString(), "socktap.test.Quote");
    const QByteArray quote = encoded("socktap.test.Quote", QuoteText);
    const Message original {quote, true, true};
    const Decoded d = decoder.decode(original, nullptr);
    QVERIFY2(d.decoded() && d.error.isEmpty(), qPrintable(d.error));
    QString error;
    const auto same = decoder.encode(original, d.value, &error);
    QVERIFY2(same, qPrintable(error));
    QCOMPARE(same->toHex(' '), quote.toHex(' '));
    QJsonObject edited = d.value.toObject();
    edited["bid"] = 1.25;
    const auto changed = decoder.encode(original, edited, &error);
    QVERIFY2(changed, qPrintable(error));
    QVERIFY(decodedByProtoc("socktap.test.Quote", *changed).contains("bid: 1.25\n"));
    // The direction without a type, and a value that is no object: errors.
    QVERIFY(!decoder.encode({quote, true, false}, d.value, &error));
    QCOMPARE(error,
             QStringLiteral("protobuf without a message type for this direction cannot be re-encoded"));
    QVERIFY(!decoder.encode(original, QJsonArray {1}, &error));
    QCOMPARE(error, QStringLiteral("a socktap.test.Quote is a JSON object"));
}

QTEST_APPLESS_MAIN(TestProtoSchema)
#include "tst_protoschema.moc"
