// The native capture format and the store on disk: every record decodes and re-encodes to the same bytes,
// a journal opens with nothing lost and saves back byte-identical, payloads past the memory budget stay
// readable from the file, and bad files get precise errors.
#include "core/capture/BatchJournal.h"
#include "core/capture/CaptureStore.h"
#include "core/capture/CaptureWriter.h"
#include "core/capture/Crc32c.h"
#include "core/capture/NativeFile.h"
#include "core/capture/NativeFormat.h"
#include "core/http/HeadParser.h"
#include "core/ws/FrameWriter.h"

#include "support/CaptureFill.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

#include <zlib.h>

using namespace socktap;
using namespace socktap::capture;

namespace {

http::RequestHead requestHead(QByteArrayView raw)
{
    http::HeadParser p(http::HeadParser::Kind::Request);
    if (p.feed(raw).status != http::HeadParser::Status::Complete)
        qFatal("bad test request: %s", qPrintable(p.error().message));
    return p.takeRequest();
}

http::ResponseHead responseHead(QByteArrayView raw)
{
    http::HeadParser p(http::HeadParser::Kind::Response);
    if (p.feed(raw).status != http::HeadParser::Status::Complete)
        qFatal("bad test response: %s", qPrintable(p.error().message));
    return p.takeResponse();
}

SessionInfo richSession(SessionId id)
{
    SessionInfo s;
    s.id = id;
    s.kind = SessionKind::WebSocket;
    s.mode = ProxyMode::Connect;
    s.state = SessionState::Closed;
    s.clientAddress = QStringLiteral("127.0.0.1");
    s.clientPort = 50123;
    s.scheme = "wss";
    s.host = "echo.test";
    s.port = 443;
    s.path = "/chat?room=\xe9t\xe9"; // bytes beyond ASCII survive as they came
    s.request = requestHead("GET /chat HTTP/1.1\r\nHost: echo.test\r\nUpgrade: websocket\r\nConnection: "
                            "Upgrade\r\nSec-WebSocket-Extensions: permessage-deflate; "
                            "client_max_window_bits\r\nX-Odd: caf\xe9\r\n\r\n");
    s.response = responseHead("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
                              "Upgrade\r\nSec-WebSocket-Protocol: chat.v2\r\n\r\n");
    s.subprotocol = "chat.v2";
    ws::Extension e;
    e.name = "permessage-deflate";
    e.params.append(ws::ExtensionParam {"client_max_window_bits", QByteArray("10")});
    e.params.append(ws::ExtensionParam {"server_no_context_takeover", std::nullopt});
    s.extensions.append(e);
    s.deflate = ws::DeflateParams {true, false, 15, 10};
    s.handshakeProblems << QStringLiteral("request: no Origin");
    s.handshakeNotes << QStringLiteral("rule 1 'ua': header set");
    s.acceptedAt = 1'700'000'000'000'001;
    s.requestAt = 1'700'000'000'000'101;
    s.upgradedAt = 1'700'000'000'000'201;
    s.closedAt = 1'700'000'000'900'000;
    s.violations = ws::Violation::InvalidUtf8 | ws::Violation::NonMinimalLength;
    s.firstViolation = QStringLiteral("text message is not valid UTF-8 (RFC 6455 8.1) in message 3");
    s.close.firstCloser = Direction::ServerToClient;
    s.close.code[1] = 1001;
    s.close.reason[1] = "going \x01 away";
    s.close.closeSent[1] = true;
    s.close.code[0] = 1001;
    s.close.closeSent[0] = true;
    s.close.firstCloseTime = 1'700'000'000'800'000;
    s.close.tcpEndTime = 1'700'000'000'900'000;
    s.close.end = EndReason::Closed;
    s.close.detail = QStringLiteral("clean");
    s.tls.intercepted = true;
    s.tls.sni = "echo.test";
    s.tls.clientProtocol = QStringLiteral("TLSv1.3");
    s.tls.upstreamVerified = true;
    s.tls.upstreamVerification = QStringLiteral("ok");
    return s;
}

SessionInfo httpSession(SessionId id)
{
    SessionInfo s;
    s.id = id;
    s.kind = SessionKind::Http;
    s.state = SessionState::Closed;
    s.scheme = "http";
    s.host = "files.test";
    s.port = 80;
    s.path = "/blob";
    s.request = requestHead("POST /blob HTTP/1.1\r\nHost: files.test\r\nTransfer-Encoding: chunked\r\n\r\n");
    s.response = responseHead("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n");
    s.requestBody = "chunk content";
    s.responseBody = QByteArray("\x00\xff\x10\x80", 4);
    s.requestBodySize = 13;
    s.responseBodySize = 4;
    return s;
}

// Messages of every shape the relay records.
void writeMessages(CaptureWriter &w, SessionId id)
{
    test::writeWire(w, id, Direction::ClientToServer,
                    ws::FrameWriter::frame(ws::Opcode::Text, "hello \"quoted\"\n\ttab \\ caf\xc3\xa9", true),
                    1'700'000'000'100'000);
    test::writeWire(
        w, id, Direction::ServerToClient,
        ws::FrameWriter::message(ws::Opcode::Binary, QByteArray("\x00\x01\xfe\xff-bin", 8), false, 3),
        1'700'000'000'200'000);
    test::writeWire(w, id, Direction::ServerToClient, ws::FrameWriter::frame(ws::Opcode::Ping, "", false),
                    1'700'000'000'300'000);
    // A compressed message with its wire payload, edited by a rule.
    const ws::FrameInfo frame {9, 0x01020304, 1, 0xc8, 6};
    MessageFacts f;
    f.opcode = 1;
    f.payload = "{\"a\":2}";
    f.wirePayload = QByteArrayView("\xaa\xbb\xcc\x00\x01\x02\x03\x04\x05", 9);
    f.original = "{\"a\":1}";
    f.note = QStringLiteral("rule 2 'bump': regex-replace");
    f.payloadSize = 7;
    f.wireSize = 15;
    f.frameCount = 1;
    f.frames = std::span(&frame, 1);
    f.compressed = true;
    f.flags = MessageFlag::Edited | MessageFlag::Reencoded;
    f.firstFrameTime = 1'700'000'000'400'000;
    f.lastFrameTime = 1'700'000'000'400'050;
    w.message(id, Direction::ClientToServer, f);
    // Not valid UTF-8 in a text frame: kept as base64, flagged.
    test::writeWire(w, id, Direction::ServerToClient,
                    ws::FrameWriter::frame(ws::Opcode::Text, QByteArray("bad \xc3\x28", 6), false),
                    1'700'000'000'500'000);
    test::writeWire(w, id, Direction::ServerToClient,
                    ws::FrameWriter::frame(ws::Opcode::Close, QByteArray("\x03\xe9going", 7), false),
                    1'700'000'000'800'000);
    test::writeWire(w, id, Direction::ClientToServer,
                    ws::FrameWriter::frame(ws::Opcode::Close, QByteArray("\x03\xe9", 2), true),
                    1'700'000'000'800'100);
}

QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

void writeFile(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(bytes);
}

// The sessions above, written into store as the relay would (each flush is a batch).
void writeSample(CaptureStore &store)
{
    CaptureWriter w(store);
    const SessionId ws = store.newSessionId();
    SessionInfo opening = richSession(ws);
    opening.state = SessionState::Open;
    w.session(opening);
    w.flush(); // the session's first record, then its messages, then its final state
    writeMessages(w, ws);
    w.flush();
    w.session(richSession(ws));
    w.session(httpSession(store.newSessionId()));
    w.flush();
}

// A journal holding the sessions above, flushed to disk.
QString recordSample(const QString &dir, CaptureStore &store)
{
    QString error;
    const QString path = dir + QStringLiteral("/journal.socktap");
    auto journal = CaptureFile::create(path, false, &error);
    if (!journal)
        return {};
    store.attachJournal(journal);
    writeSample(store);
    journal->flush();
    return path;
}

} // namespace

class TestNativeFormat final : public QObject
{
    Q_OBJECT

private slots:
    void everyLineReencodesIdentically()
    {
        QTemporaryDir dir;
        CaptureStore store;
        const QString path = recordSample(dir.path(), store);
        const QList<QByteArray> lines = readAll(path).split('\n');
        QCOMPARE(lines.size(), 1 + 1 + 7 + 2 + 1); // header, session, 7 messages, 2 sessions, final ""
        QCOMPARE(lines[0] + '\n', native::headerLine());
        for (qsizetype i = 1; i + 1 < lines.size(); ++i) {
            QString error;
            auto record = native::decodeLine(lines[i], &error);
            QVERIFY2(record, qPrintable(QStringLiteral("line %1: %2").arg(i + 1).arg(error)));
            QByteArray again;
            if (auto *s = std::get_if<SessionInfo>(&*record))
                native::appendSession(again, *s);
            else
                native::appendMessage(again, std::get<native::DecodedMessage>(*record).parts());
            QCOMPARE(again, lines[i] + '\n');
        }
    }

    void openKeepsEverythingAndSavesIdentically()
    {
        QTemporaryDir dir;
        CaptureStore original;
        const QString path = recordSample(dir.path(), original);
        CaptureStore opened;
        QString error;
        const auto result = openNative(path, opened, &error, OpenOptions {true, {}, {}});
        QVERIFY2(result, qPrintable(error));
        QCOMPARE(result->sessions, 2u);
        QCOMPARE(result->messages, 7u);
        QVERIFY(result->warnings.isEmpty());
        for (const SessionId id : original.sessionIds()) {
            const auto a = original.session(id);
            const auto b = opened.session(id);
            QVERIFY(b);
            QCOMPARE(b->url(), a->url());
            QCOMPARE(b->request.raw, a->request.raw);
            QCOMPARE(b->request.headers.size(), a->request.headers.size());
            QCOMPARE(b->request.headers.value("X-Odd"), a->request.headers.value("X-Odd"));
            QCOMPARE(b->response.status, a->response.status);
            QCOMPARE(b->requestBody, a->requestBody);
            QCOMPARE(b->responseBody, a->responseBody);
            QCOMPARE(b->extensions.size(), a->extensions.size());
            QCOMPARE(b->deflate.has_value(), a->deflate.has_value());
            QCOMPARE(b->violations, a->violations);
            QCOMPARE(b->close.code[1], a->close.code[1]);
            QCOMPARE(b->close.reason[1], a->close.reason[1]);
            QCOMPARE(b->close.end, a->close.end);
            QCOMPARE(b->tls.sni, a->tls.sni);
            QCOMPARE(b->closedAt, a->closedAt);
            QCOMPARE(opened.messageCount(id), original.messageCount(id));
            for (quint64 i = 0; i < original.messageCount(id); ++i) {
                const auto x = original.message(id, i);
                const auto y = opened.message(id, i);
                QCOMPARE(y->payload, x->payload);
                QCOMPARE(y->wirePayload, x->wirePayload);
                QCOMPARE(y->original, x->original);
                QCOMPARE(y->note, x->note);
                QCOMPARE(y->record.flags, x->record.flags);
                QCOMPARE(y->record.time, x->record.time);
                QCOMPARE(y->record.wireSize, x->record.wireSize);
                QCOMPARE(y->record.closeCode, x->record.closeCode);
                QCOMPARE(y->record.violations, x->record.violations);
                QCOMPARE(y->frames.size(), x->frames.size());
                for (size_t f = 0; f < x->frames.size(); ++f) {
                    QCOMPARE(y->frames[f].bits, x->frames[f].bits);
                    QCOMPARE(y->frames[f].maskKey, x->frames[f].maskKey);
                    QCOMPARE(y->frames[f].length, x->frames[f].length);
                }
            }
        }
        QCOMPARE(opened.session(1)->request.headers.value("X-Odd"), QByteArray("caf\xe9"));
        // The compressed single-frame message shows its one frame (RSV1 set), not "frames not kept".
        const auto compressed = opened.message(1, 3);
        QCOMPARE(compressed->frames.size(), size_t(1));
        QVERIFY(compressed->frames[0].rsv1());

        const QString saved = dir.path() + QStringLiteral("/saved.socktap");
        QVERIFY2(saveNative(opened, {}, saved, &error), qPrintable(error));
        QCOMPARE(readAll(saved), readAll(path));
        // Saving one session writes its lines only.
        const QString one = dir.path() + QStringLiteral("/one.socktap");
        QVERIFY(saveNative(opened, {2}, one, &error));
        QCOMPARE(readAll(one).count('\n'), 2);
    }

    void crashJournalKeepsEverything()
    {
        // The crash journal is the store's own batches: read back, the capture saves byte for byte as the
        // original does (every field of every session, message, frame, wire payload, original and note).
        QTemporaryDir dir;
        CaptureStore original;
        QString error;
        const QString path = dir.filePath(QString::fromLatin1(BatchJournal::FileName));
        auto journal = BatchJournal::create(path, 1ull << 30, &error);
        QVERIFY2(journal, qPrintable(error));
        original.setCrashJournal(journal);
        writeSample(original);
        journal->flush();
        QCOMPARE(sniffCaptureFile(path), CaptureFileKind::Journal);
        const auto summary = summarizeJournal(path, &error);
        QVERIFY2(summary, qPrintable(error));
        QCOMPARE(summary->sessions, 2u);
        QCOMPARE(summary->messages, 7u);
        QVERIFY(!summary->cutOff);

        CaptureStore opened;
        const auto result = openCapture(path, opened, &error, OpenOptions {true, {}, {}});
        QVERIFY2(result, qPrintable(error));
        QCOMPARE(result->sessions, 2u);
        QCOMPARE(result->messages, 7u);
        QVERIFY(result->warnings.isEmpty());
        const QString a = dir.filePath("original.socktap"), b = dir.filePath("recovered.socktap");
        QVERIFY2(saveNative(original, {}, a, &error), qPrintable(error));
        QVERIFY2(saveNative(opened, {}, b, &error), qPrintable(error));
        QCOMPARE(readAll(b), readAll(a));
        QCOMPARE(opened.message(1, 3)->original, QByteArray("{\"a\":1}"));
        QCOMPARE(opened.message(1, 3)->note, QStringLiteral("rule 2 'bump': regex-replace"));
    }

    void journalStreamedInAnySplit()
    {
        // A journal arriving as a stream (issue 22: a remote Socktap's capture) in pieces of any size: each
        // whole chunk is applied as its last byte comes, consumed() is where a broken stream resumes, and
        // the store saves byte for byte as the one that wrote the journal. Garbage stops it with a reason.
        QTemporaryDir dir;
        CaptureStore original;
        QString error;
        const QString path = dir.filePath(QString::fromLatin1(BatchJournal::FileName));
        auto journal = BatchJournal::create(path, 1ull << 30, &error);
        QVERIFY2(journal, qPrintable(error));
        original.setCrashJournal(journal);
        writeSample(original);
        journal->flush();
        // (What was appended: the file on disk may end in the zeros of a block written whole.)
        const QByteArray bytes = readAll(path).left(qsizetype(journal->size()));
        const QString a = dir.filePath("original.socktap");
        QVERIFY2(saveNative(original, {}, a, &error), qPrintable(error));
        for (const qsizetype piece : {qsizetype(1), qsizetype(7), qsizetype(4096), bytes.size()}) {
            CaptureStore mirror;
            JournalStream stream(mirror, OpenOptions {true, {}, {}});
            for (qsizetype at = 0; at < bytes.size(); at += piece) {
                QVERIFY2(
                    stream.feed(QByteArrayView(bytes).sliced(at, std::min(piece, bytes.size() - at)), &error),
                    qPrintable(error));
                QVERIFY(stream.consumed() <= quint64(std::min(at + piece, bytes.size())));
            }
            QCOMPARE(stream.consumed(), quint64(bytes.size()));
            QCOMPARE(stream.result().sessions, 2u);
            QCOMPARE(stream.result().messages, 7u);
            const QString b = dir.filePath(QStringLiteral("mirror-%1.socktap").arg(piece));
            QVERIFY2(saveNative(mirror, {}, b, &error), qPrintable(error));
            QCOMPARE(readAll(b), readAll(a));
        }
        // Resumed where it stopped: the second half alone, into the same stream, completes it.
        CaptureStore resumed;
        JournalStream stream(resumed, OpenOptions {true, {}, {}});
        QVERIFY(stream.feed(QByteArrayView(bytes).first(bytes.size() / 2), &error));
        const quint64 at = stream.consumed();
        QVERIFY(at > 16 && at < quint64(bytes.size()));
        QVERIFY(stream.feed(QByteArrayView(bytes).sliced(bytes.size() / 2), &error));
        QCOMPARE(stream.result().messages, 7u);
        CaptureStore junk;
        JournalStream bad(junk);
        QVERIFY(!bad.feed("GET / HTTP/1.1\r\n\r\n", &error));
        QCOMPARE(error, QStringLiteral("not a Socktap crash journal"));
        QVERIFY(!bad.feed(bytes, &error)); // stopped for good
    }

    void crashJournalCutOffOrDamaged()
    {
        QTemporaryDir dir;
        CaptureStore original;
        QString error;
        const QString path = dir.filePath("j");
        auto journal = BatchJournal::create(path, 1ull << 30, &error);
        QVERIFY(journal);
        original.setCrashJournal(journal);
        writeSample(original);
        journal->flush();
        journal.reset();
        original.setCrashJournal(nullptr);
        const QByteArray whole = readAll(path);

        // The journal is written in whole blocks: a writer that died leaves zeros after its last chunk.
        const QString padded = dir.filePath("padded");
        writeFile(padded, whole + QByteArray(4000, '\0'));
        CaptureStore fromPadded;
        const auto all = openCapture(padded, fromPadded, &error, OpenOptions {true, {}, {}});
        QVERIFY2(all, qPrintable(error));
        QCOMPARE(all->messages, 7u);
        QVERIFY(all->warnings.isEmpty());
        QCOMPARE(fromPadded.session(1)->state, SessionState::Closed);

        // Killed mid-write: the last chunk is cut; everything before it is read, and that is said.
        const QString cut = dir.filePath("cut");
        writeFile(cut, whole.left(whole.size() - 5));
        CaptureStore fromCut;
        const auto partial = openCapture(cut, fromCut, &error, OpenOptions {true, {}, {}});
        QVERIFY2(partial, qPrintable(error));
        QCOMPARE(partial->messages, 7u); // the last batch held the final session states only
        QCOMPARE(partial->warnings.size(), 1);
        QVERIFY2(partial->warnings[0].contains("incomplete"), qPrintable(partial->warnings[0]));
        QVERIFY(summarizeJournal(cut, &error)->cutOff);
        QCOMPARE(fromCut.session(1)->state, SessionState::Open); // its final state was in the lost chunk

        // A damaged head is refused, saying where.
        QByteArray damaged = whole;
        damaged[qsizetype(sizeof BatchJournal::Magic - 1 + 28 + 2)] ^= 0x40;
        const QString bad = dir.filePath("bad");
        writeFile(bad, damaged);
        CaptureStore fromBad;
        const auto fromDamage = openCapture(bad, fromBad, &error, OpenOptions {true, {}, {}});
        QVERIFY2(fromDamage,
                 qPrintable(error)); // what came before the damage (here nothing) is kept, and said
        QCOMPARE(fromDamage->messages, 0u);
        QCOMPARE(fromDamage->warnings.size(), 1);
        QVERIFY2(fromDamage->warnings[0].contains("damaged chunk at byte 16 (checksum)"),
                 qPrintable(fromDamage->warnings[0]));
        QVERIFY(!summarizeJournal(bad, &error)->damage.isEmpty());
        // A crafted chunk (valid CRC) whose payload reference wraps around is refused, never read past its
        // buffer.
        const auto put = [](QByteArray &out, auto value) {
            out.append(reinterpret_cast<const char *>(&value), sizeof value);
        };
        QByteArray head, line;
        native::appendSession(line, richSession(1));
        line.chop(1);
        put(head, quint32(1));
        put(head, quint32(line.size()));
        head += line;
        put(head, quint32(1));
        put(head, quint32(sizeof(BatchMessage)));
        BatchMessage m;
        m.session = 1;
        m.batchOffset = ~quint64(0); // offset: 2^64 - 1
        m.record.opcode = 1;
        m.record.capturedSize = 2; // offset + 2 wraps to 1
        m.record.payloadSize = 2;
        put(head, m);
        put(head, quint32(0));
        QByteArray crafted(BatchJournal::Magic, sizeof BatchJournal::Magic - 1);
        put(crafted, quint32(0x4b4e4843));
        put(crafted, quint32(2));
        put(crafted, quint64(head.size()));
        put(crafted, quint64(4));
        put(crafted, crc32c(0, head));
        crafted += head + "abcd";
        writeFile(bad, crafted);
        CaptureStore fromCrafted;
        const auto refused = openCapture(bad, fromCrafted, &error, OpenOptions {true, {}, {}});
        QVERIFY2(refused, qPrintable(error));
        QCOMPARE(refused->messages, 0u);
        QVERIFY2(refused->warnings.value(0).contains("a payload beyond the chunk's bytes"),
                 qPrintable(refused->warnings.join('\n')));
        // And a file that is not one says so.
        writeFile(bad, "SOCKTAP-JOURNAL?");
        QVERIFY(!openJournal(bad, fromBad, &error));
        QVERIFY2(error.contains("not a Socktap crash journal"), qPrintable(error));
    }

    void crc32cMatchesItsSpecification()
    {
        // RFC 3720 B.4 and the usual check value.
        QCOMPARE(crc32c(0, "123456789"), 0xe3069283u);
        QCOMPARE(crc32c(0, QByteArray(32, '\0')), 0x8a9136aau);
        QCOMPARE(crc32c(0, QByteArray(32, '\xff')), 0x62a8ab43u);
        const QByteArray text = "a chunk head split over three parts, summed in turn";
        QCOMPARE(crc32c(crc32c(crc32c(0, text.first(7)), text.sliced(7, 20)), text.sliced(27)),
                 crc32c(0, text));
        QCOMPARE(crc32c(12345, {}), 12345u); // nothing added: the sum goes on unchanged
    }

    void journaledPayloadsLeaveMemoryAndReadBack()
    {
        // With the crash journal on, payloads it holds leave memory once newer ones fill the hot part
        // (here half of a 4 MiB budget) and are read back from the journal: nothing evicted, nothing
        // spilled a second time, every byte as sent, large batches (adopted as blocks) and small ones
        // (copied into shared blocks) alike.
        QTemporaryDir dir;
        CaptureStore::Limits limits;
        limits.maxMemory = 4 << 20;
        CaptureStore store(limits);
        QString error;
        auto journal = BatchJournal::create(dir.filePath("j"), 1ull << 30, &error);
        QVERIFY2(journal, qPrintable(error));
        store.setCrashJournal(journal);
        CaptureWriter w(store);
        SessionInfo info = richSession(1);
        w.session(info);
        std::vector<QByteArray> sent;
        const auto send = [&](qsizetype size) {
            QByteArray payload(size, Qt::Uninitialized);
            for (qsizetype i = 0; i < size; ++i)
                payload[i] = char((sent.size() * 31 + size_t(i)) & 0xff);
            MessageFacts m;
            m.opcode = 2;
            m.payload = payload;
            m.payloadSize = quint64(size);
            m.wireSize = quint64(size) + 14;
            m.frameCount = 1;
            w.message(1, sent.size() % 2 ? Direction::ServerToClient : Direction::ClientToServer, m);
            sent.push_back(payload);
        };
        for (int batch = 0; batch < 36; ++batch) {
            // In turn: large batches (8 x 64 KiB, each a block of its own), tiny ones (a few hundred
            // bytes) and middling ones (100 x 1000 bytes) whose payloads fill the store's shared 64 KiB
            // blocks, so that a block begins in the middle of one batch and ends in another.
            const int kind = batch % 3;
            for (int i = 0; i < (kind == 0 ? 8 : kind == 1 ? 3 : 100); ++i)
                send(kind == 0 ? 64 * 1024 : kind == 1 ? 100 + i : 1000);
            w.flush();
        }
        const CaptureStore::Stats stats = store.stats();
        QCOMPARE(stats.messages, quint64(sent.size()));
        QVERIFY2(stats.payloadsOnDisk > 0, "older payloads left memory");
        QCOMPARE(stats.evictedPayloads, 0u);
        QCOMPARE(stats.spillBytes, 0u); // the journal stands in: no second copy on disk
        QVERIFY2(stats.memoryUsed < limits.maxMemory, qPrintable(QString::number(stats.memoryUsed)));
        for (size_t i = 0; i < sent.size(); ++i) {
            const auto view = store.message(1, i);
            QVERIFY(view);
            bool evicted = true;
            const QByteArray back = store.payload(view->record, &evicted);
            QVERIFY2(!evicted && back == sent[i], qPrintable(QStringLiteral("message %1").arg(i)));
        }
        // Read in bulk too (search and filters): the same bytes.
        std::vector<MessageRecord> records = store.records(1, 0, sent.size());
        std::vector<const MessageRecord *> pointers;
        for (const MessageRecord &r : records)
            pointers.push_back(&r);
        size_t same = 0;
        store.visitPayloads(pointers, 1 << 30,
                            [&](size_t i, QByteArrayView bytes) { same += bytes == sent[i]; });
        QCOMPARE(same, sent.size());
    }

    void journaledRecordsLeaveMemoryAndReadBack_data()
    {
        QTest::addColumn<quint64>("budget");
        QTest::addColumn<bool>("flushJournal");
        QTest::addColumn<bool>("spill");
        QTest::addColumn<quint64>("journalBytes");
        // Under a roomy budget the older records leave memory early (the hot part is an eighth of it),
        // once the journal has them on disk; under a tight one the budget pushes them out, waiting for
        // the disk when it must, with or without a spill for payloads (the app has one). Either way none
        // is lost. A journal stopped by its disk budget holds nothing more: then the oldest go, counted,
        // and what is kept reads back right.
        QTest::newRow("hot part") << quint64(8 << 20) << true << false << (quint64(1) << 30);
        QTest::newRow("over the budget") << quint64(1 << 20) << false << false << (quint64(1) << 30);
        QTest::newRow("over the budget, spill") << quint64(1 << 20) << false << true << (quint64(1) << 30);
        QTest::newRow("journal stopped") << quint64(1 << 20) << false << true << quint64(256 << 10);
    }

    void journaledRecordsLeaveMemoryAndReadBack()
    {
        QFETCH(quint64, budget);
        QFETCH(bool, flushJournal);
        QFETCH(bool, spill);
        QFETCH(quint64, journalBytes);
        QTemporaryDir dir;
        CaptureStore::Limits limits;
        limits.maxMemory = budget;
        CaptureStore store(limits);
        QString error;
        auto journal = BatchJournal::create(dir.filePath("j"), journalBytes, &error);
        QVERIFY2(journal, qPrintable(error));
        store.setCrashJournal(journal);
        int segments = 0;
        if (spill)
            store.setSpill([&] {
                return CaptureFile::createRaw(dir.filePath(QStringLiteral("spill-%1").arg(++segments)), true,
                                              &error);
            });
        const bool stops = journalBytes < (1ull << 30);
        CaptureWriter w(store);
        const SessionId ids[2] = {store.newSessionId(), store.newSessionId()};
        for (const SessionId id : ids)
            w.session(richSession(id));
        // Two sessions interleaved; every seventh message fragmented in 3-byte frames (a detail), every
        // eleventh edited (the original and a note in a detail), the rest single frames.
        const int count = 60000;
        const auto payloadOf = [](int i) {
            return "message " + QByteArray::number(i) + QByteArray(i % 50, 'x');
        };
        for (int i = 0; i < count; ++i) {
            const SessionId id = ids[i % 2];
            const Direction d = i % 3 ? Direction::ServerToClient : Direction::ClientToServer;
            const QByteArray payload = payloadOf(i);
            if (i % 11 == 0) {
                const QByteArray original = "was " + payload; // (a view's bytes must outlive it)
                MessageFacts m;
                m.opcode = 1;
                m.payload = payload;
                m.original = original;
                m.payloadSize = quint64(payload.size());
                m.wireSize = m.payloadSize + 2;
                m.frameCount = 1;
                m.flags = MessageFlag::Edited;
                m.note = QStringLiteral("edit %1").arg(i);
                w.message(id, d, m);
            } else {
                test::writeWire(w, id, d,
                                i % 7 == 0 ? ws::FrameWriter::message(ws::Opcode::Text, payload, false, 3)
                                           : ws::FrameWriter::frame(ws::Opcode::Text, payload, false));
            }
            if (i % 2000 == 1999) {
                w.flush();
                if (flushJournal)
                    journal->flush();
            }
        }
        w.flush();
        const CaptureStore::Stats stats = store.stats();
        QCOMPARE(stats.messages, quint64(count));
        QVERIFY2(stats.memoryUsed <= limits.maxMemory, qPrintable(QString::number(stats.memoryUsed)));
        if (stops) {
            // Nothing lost silently: what is gone is counted, what is kept reads back as sent.
            QVERIFY(!stats.crashJournalError.isEmpty());
            QVERIFY(stats.evictedRecords > 0);
            for (int k = 0; k < 2; ++k) {
                const quint64 first = store.firstRetainedMessage(ids[k]);
                QCOMPARE(store.messageCount(ids[k]), quint64(count / 2)); // indices never shift
                if (first > 0)
                    QVERIFY(!store.message(ids[k], first - 1)); // gone, not made up
                for (quint64 index = first; index < quint64(count / 2); index += 7) {
                    const auto m = store.message(ids[k], index);
                    QVERIFY(m);
                    QCOMPARE(m->payload, payloadOf(int(index) * 2 + k));
                }
            }
            return;
        }
        QVERIFY2(stats.recordsOnDisk > quint64(count) / 2,
                 qPrintable(QStringLiteral("%1 records on disk, %2 evicted, %3 bytes used")
                                .arg(stats.recordsOnDisk)
                                .arg(stats.evictedRecords)
                                .arg(stats.memoryUsed)));
        QCOMPARE(stats.evictedRecords, 0u);
        QCOMPARE(stats.evictedPayloads, 0u);
        const auto check = [&](const CaptureStore &from, int i, SessionId id, quint64 index) {
            const auto m = from.message(id, index);
            if (!m)
                return QStringLiteral("message %1 is missing").arg(i);
            const QByteArray original = i % 11 == 0 ? "was " + payloadOf(i) : QByteArray();
            const size_t frames = i % 11 == 0 ? 0 : i % 7 == 0 ? size_t(payloadOf(i).size() + 2) / 3 : 1;
            const Direction d = i % 3 ? Direction::ServerToClient : Direction::ClientToServer;
            if (m->payload != payloadOf(i) || m->original != original || m->frames.size() != frames
                || m->record.direction() != d
                || m->note != (i % 11 == 0 ? QStringLiteral("edit %1").arg(i) : QString()))
                return QStringLiteral("message %1 differs: %2 (original %5), %3 frames, note %4")
                    .arg(i)
                    .arg(QString::fromLatin1(m->payload))
                    .arg(m->frames.size())
                    .arg(m->note, QString::fromLatin1(m->original));
            return QString();
        };
        for (int i = 0; i < count; ++i) {
            const QString wrong = check(store, i, ids[i % 2], quint64(i / 2));
            QVERIFY2(wrong.isEmpty(), qPrintable(wrong));
        }
        // In bulk, as the list and search read them: every record in its place, every payload as sent.
        for (int k = 0; k < 2; ++k) {
            QCOMPARE(store.firstRetainedMessage(ids[k]), 0u);
            const std::vector<MessageRecord> records = store.records(ids[k], 0, count / 2);
            QCOMPARE(records.size(), size_t(count / 2));
            std::vector<const MessageRecord *> pointers;
            for (const MessageRecord &r : records)
                pointers.push_back(&r);
            size_t same = 0;
            store.visitPayloads(pointers, 1 << 20, [&](size_t i, QByteArrayView bytes) {
                same += bytes == payloadOf(int(i) * 2 + k);
            });
            QCOMPARE(same, records.size());
            for (size_t i = 0; i < records.size(); ++i) { // the records themselves, read in spans
                const int n = int(i) * 2 + k;
                const MessageRecord &r = records[i];
                QVERIFY2(r.direction() == (n % 3 ? Direction::ServerToClient : Direction::ClientToServer)
                             && r.payloadSize == quint64(payloadOf(n).size())
                             && r.has(MessageFlag::Edited) == (n % 11 == 0),
                         qPrintable(QStringLiteral("record %1").arg(n)));
            }
            for (size_t i = 0; i < records.size(); i += 997)
                QCOMPARE(store.payload(records[i]), payloadOf(int(i) * 2 + k));
        }
        // Saved and opened again: the same messages, in order.
        const QString saved = dir.filePath(QStringLiteral("saved.socktap"));
        QVERIFY2(saveNative(store, {}, saved, &error), qPrintable(error));
        CaptureStore reopened;
        QVERIFY2(openNative(saved, reopened, &error, OpenOptions {true, {}, {}}), qPrintable(error));
        for (int i = 0; i < count; i += 13) {
            const QString wrong = check(reopened, i, ids[i % 2], quint64(i / 2));
            QVERIFY2(wrong.isEmpty(), qPrintable(wrong));
        }
    }

    void journalOfAnotherFormatSaysSo()
    {
        // A chunk in another journal format (an older Socktap's) is named as such, not "damaged".
        QTemporaryDir dir;
        const auto put = [](QByteArray &out, auto value) {
            out.append(reinterpret_cast<const char *>(&value), sizeof value);
        };
        QByteArray old(BatchJournal::Magic, sizeof BatchJournal::Magic - 1);
        put(old, quint32(0x4b4e4843));
        put(old, quint32(1));
        put(old, quint64(4));
        put(old, quint64(0));
        put(old, crc32c(0, "\0\0\0\0"));
        old += QByteArray(4, '\0');
        const QString path = dir.filePath("old");
        writeFile(path, old);
        CaptureStore store;
        QString error;
        const auto opened = openCapture(path, store, &error, OpenOptions {true, {}, {}});
        QVERIFY2(opened, qPrintable(error));
        QVERIFY2(
            opened->warnings.value(0).contains("journal format 1, written by another version of Socktap"),
            qPrintable(opened->warnings.join('\n')));
    }

    void directFileReadsAcrossWrittenAndPending()
    {
        // A direct (O_DIRECT) file reads back through its own descriptor, unaligned, and a range that
        // straddles what is written and what is still pending comes back whole.
        QDir().mkpath(QDir::homePath() + "/.cache"); // (a fresh account has none yet)
        QTemporaryDir dir(QDir::homePath() + "/.cache/socktap-test-XXXXXX"); // (tmpfs refuses O_DIRECT)
        QVERIFY(dir.isValid());
        QString error;
        auto file = CaptureFile::createDirect(dir.filePath("d"), &error);
        QVERIFY2(file, qPrintable(error));
        QByteArray first(10000, 'a'), second(3000, 'b');
        for (qsizetype i = 0; i < first.size(); ++i)
            first[i] = char('a' + i % 26);
        file->append(first);
        file->flush();
        file->append(second); // pending: not flushed
        const QByteArray across = file->read(9990, 20);
        QCOMPARE(across, first.sliced(9990) + second.first(10));
        QCOMPARE(file->read(1, 7), first.sliced(1, 7));
        file->flush();
        QCOMPARE(file->read(9995, 3005), first.sliced(9995) + second);
    }

    void crashJournalStopsAtTheDiskBudget()
    {
        QTemporaryDir dir;
        CaptureStore store;
        QString error;
        auto journal = BatchJournal::create(dir.filePath("j"), 600, &error);
        QVERIFY(journal);
        store.setCrashJournal(journal);
        writeSample(store);
        QVERIFY2(store.stats().crashJournalError.contains("disk budget"),
                 qPrintable(store.stats().crashJournalError));
        QCOMPARE(store.stats().messages, 7u); // the capture goes on in memory
        QVERIFY(journal->size() <= 600);
    }

    void sessionsOpenWhenSavedSaySo()
    {
        // A session saved while open is "open when saved" once read back (its state is the file's, not
        // now's); one that had ended is not.
        QTemporaryDir dir;
        CaptureStore store;
        CaptureWriter w(store);
        SessionInfo open = richSession(store.newSessionId());
        open.state = SessionState::Open;
        open.closedAt = 0;
        open.close = CloseInfo {};
        w.session(open);
        w.session(richSession(store.newSessionId()));
        w.flush();
        QString error;
        const QString path = dir.filePath("open.socktap");
        QVERIFY(saveNative(store, {}, path, &error));
        CaptureStore opened;
        QVERIFY2(openCapture(path, opened, &error, OpenOptions {true, {}, {}}), qPrintable(error));
        QVERIFY(opened.session(1)->openWhenSaved);
        QVERIFY(!opened.session(2)->openWhenSaved);
        QVERIFY(!store.session(1)->openWhenSaved); // live sessions are what they say
        // Saving it again writes the file's state as it was (the flag is not part of the format).
        const QString again = dir.filePath("again.socktap");
        QVERIFY(saveNative(opened, {}, again, &error));
        QCOMPARE(readAll(again), readAll(path));
    }

    void renumberedSessionsSaveWithTheirNewIds()
    {
        QTemporaryDir dir;
        CaptureStore original;
        const QString path = recordSample(dir.path(), original);
        CaptureStore busy;
        busy.newSessionId();
        busy.newSessionId(); // ids 1 and 2 are taken by live traffic
        QString error;
        const auto result = openNative(path, busy, &error);
        QVERIFY(result);
        QCOMPARE(result->sessionIds, (std::vector<SessionId> {3, 4}));
        const QString saved = dir.path() + QStringLiteral("/renumbered.socktap");
        QVERIFY(saveNative(busy, {}, saved, &error));
        CaptureStore again;
        QVERIFY(openNative(saved, again, &error, OpenOptions {true, {}, {}}));
        QCOMPARE(again.sessionIds(), (std::vector<SessionId> {3, 4}));
        QCOMPARE(again.message(3, 0)->payload, original.message(1, 0)->payload);
    }

    void replayLinksFollowRenumbering()
    {
        // Session 2 is a replay of session 1. Opened where ids 1-5 are taken, they become 6 and 7: the
        // link must say 6, not point at the window's own session 1.
        QTemporaryDir dir;
        CaptureStore original;
        {
            CaptureWriter w(original);
            SessionInfo first = richSession(original.newSessionId());
            SessionInfo replay = richSession(original.newSessionId());
            replay.request.headers.set(ReplayOfHeader, QByteArray::number(first.id));
            w.session(first);
            w.session(replay);
            w.flush();
        }
        QString error;
        const QString path = dir.path() + QStringLiteral("/replayed.socktap");
        QVERIFY2(saveNative(original, {}, path, &error), qPrintable(error));
        CaptureStore busy;
        for (int i = 0; i < 5; ++i)
            busy.newSessionId();
        const auto result = openNative(path, busy, &error);
        QVERIFY2(result, qPrintable(error));
        QCOMPARE(result->sessionIds, (std::vector<SessionId> {6, 7}));
        QCOMPARE(busy.session(7)->replayOf(), SessionId(6));
        QCOMPARE(busy.session(6)->replayOf(), SessionId(0));
        // Kept as they were when the ids are kept.
        CaptureStore same;
        QVERIFY(openNative(path, same, &error, OpenOptions {true, {}, {}}));
        QCOMPARE(same.session(2)->replayOf(), SessionId(1));
    }

    void payloadsPastTheBudgetStayReadable_data()
    {
        QTest::addColumn<bool>("journal");
        QTest::newRow("journal (--record)") << true;
        QTest::newRow("spill (default)") << false;
    }

    void payloadsPastTheBudgetStayReadable()
    {
        QFETCH(bool, journal);
        QTemporaryDir dir;
        QString error;
        auto owned = std::make_unique<CaptureStore>(CaptureStore::Limits {1 << 20});
        CaptureStore &store = *owned;
        QString file = dir.filePath(QStringLiteral("big.socktap"));
        if (journal) {
            store.attachJournal(CaptureFile::create(file, true, &error));
        } else {
            file = dir.filePath(QStringLiteral("spill-1"));
            store.setSpill([&] { return CaptureFile::createRaw(file, true, &error); });
        }
        CaptureWriter w(store);
        const SessionId id = store.newSessionId();
        w.session(richSession(id));
        const int count = 400; // 400 x 64 KiB = 25 MiB through a 1 MiB budget
        for (int i = 0; i < count; ++i) {
            const QByteArray payload = QByteArray(65536, char('a' + i % 26)) + QByteArray::number(i);
            test::writeWire(w, id, Direction::ServerToClient,
                            ws::FrameWriter::frame(ws::Opcode::Text, payload, false));
            if (w.wantsFlush() || i % 16 == 0)
                w.flush();
        }
        w.flush();
        const auto stats = store.stats();
        QVERIFY(stats.memoryUsed <= stats.memoryLimit);
        QCOMPARE(stats.evictedPayloads, 0u);
        QCOMPARE(stats.evictedRecords, 0u);
        QVERIFY(stats.payloadsOnDisk > 300);
        QCOMPARE(store.messageCount(id), quint64(count));
        for (int i = 0; i < count; i += 37) {
            const auto m = store.message(id, quint64(i));
            QVERIFY(!m->payloadEvicted);
            QCOMPARE(m->payload, QByteArray(65536, char('a' + i % 26)) + QByteArray::number(i));
            QCOMPARE(store.payload(m->record, nullptr, 5), QByteArray(5, char('a' + i % 26)));
        }
        // Search reads them too.
        std::vector<MessageRecord> records = store.records(id, 0, count);
        std::vector<const MessageRecord *> pointers;
        for (const MessageRecord &r : records)
            pointers.push_back(&r);
        int seen = 0;
        store.visitPayloads(pointers, 4, [&](size_t i, QByteArrayView p) {
            seen += p == QByteArray(4, char('a' + int(i) % 26)) ? 1 : 0;
        });
        QCOMPARE(seen, count);
        // Saved, every payload is in the file.
        const QString saved = dir.filePath(QStringLiteral("saved.socktap"));
        QVERIFY2(saveNative(store, {}, saved, &error), qPrintable(error));
        CaptureStore reopened;
        QVERIFY2(openNative(saved, reopened, &error, OpenOptions {true, {}, {}}), qPrintable(error));
        QCOMPARE(reopened.message(id, 399)->payload, QByteArray(65536, char('a' + 399 % 26)) + "399");
        QVERIFY(QFile::exists(file));
        owned.reset();
        QVERIFY(!QFile::exists(file)); // a temporary file goes with the store
    }

    void diskBudgetDropsTheOldestSpilledPayloads()
    {
        QTemporaryDir dir;
        QString error;
        CaptureStore store(CaptureStore::Limits {1 << 20, 8 << 20}); // spill segments of 1 MiB
        int segment = 0;
        store.setSpill([&] {
            return CaptureFile::createRaw(dir.filePath(QStringLiteral("spill-%1").arg(++segment)), true,
                                          &error);
        });
        CaptureWriter w(store);
        const int sessions = 60; // 60 x 20 x 16 KiB: about 19 MiB through an 8 MiB disk budget
        for (int s = 0; s < sessions; ++s) {
            const SessionId id = store.newSessionId();
            w.session(richSession(id));
            for (int i = 0; i < 20; ++i)
                test::writeWire(
                    w, id, Direction::ServerToClient,
                    ws::FrameWriter::frame(ws::Opcode::Binary, QByteArray(16384, char(s)), false));
            w.flush();
        }
        const auto stats = store.stats();
        QVERIFY2(stats.spillBytes <= (8u << 20), qPrintable(QString::number(stats.spillBytes)));
        QVERIFY(stats.droppedSegments > 0);
        QVERIFY(stats.evictedPayloads > 0); // counted, never silent
        QVERIFY(!QFile::exists(dir.filePath(QStringLiteral("spill-1")))); // the oldest is gone from disk
        // The oldest payloads are gone and say so; the newest read back from disk or memory.
        QVERIFY(store.message(1, 0)->payloadEvicted);
        QCOMPARE(store.message(sessions, 19)->payload, QByteArray(16384, char(sessions - 1)));
        QCOMPARE(store.message(sessions - 20, 0)->payload, QByteArray(16384, char(sessions - 21)));
    }

    void recordsPastTheBudgetStayReadableFromTheirFile()
    {
        // 20,000 records (about 1.4 MiB of them) into a 1 MiB store: they leave memory, not the capture.
        QTemporaryDir dir;
        QString error;
        const QString path = dir.filePath(QStringLiteral("many.socktap"));
        {
            CaptureStore store;
            store.attachJournal(CaptureFile::create(path, false, &error));
            CaptureWriter w(store);
            SessionInfo info = richSession(store.newSessionId());
            w.session(info);
            for (int i = 0; i < 20000; ++i)
                test::writeWire(
                    w, info.id, i % 2 ? Direction::ServerToClient : Direction::ClientToServer,
                    ws::FrameWriter::frame(ws::Opcode::Text, "m" + QByteArray::number(i), i % 2 == 0));
            w.flush();
            store.journal()->flush();
        }
        CaptureStore small(CaptureStore::Limits {1 << 20});
        const auto result = openNative(path, small, &error, OpenOptions {true, {}, {}});
        QVERIFY2(result, qPrintable(error));
        const auto stats = small.stats();
        QVERIFY(stats.memoryUsed <= stats.memoryLimit);
        QVERIFY2(stats.recordsOnDisk >= 4096,
                 qPrintable(QStringLiteral("%1 on disk, %2 evicted, %3 used")
                                .arg(stats.recordsOnDisk)
                                .arg(stats.evictedRecords)
                                .arg(stats.memoryUsed)));
        QCOMPARE(stats.evictedRecords, 0u);
        QCOMPARE(small.firstRetainedMessage(1), 0u);
        QCOMPARE(small.messageCount(1), 20000u);
        const auto first = small.message(1, 0);
        QVERIFY(first);
        QCOMPARE(first->payload, QByteArray("m0"));
        QCOMPARE(first->record.direction(), Direction::ClientToServer);
        QVERIFY(first->frames.front().masked());
        const auto records = small.records(1, 5, 3);
        QCOMPARE(records.size(), size_t(3));
        QCOMPARE(small.payload(records[1]), QByteArray("m6"));
        QCOMPARE(small.message(1, 19999)->payload, QByteArray("m19999"));
        // Live traffic next to it puts a payload block in memory: records read back from disk must not be
        // taken for records in memory (their payload position is "nowhere").
        CaptureWriter live(small);
        SessionInfo other = richSession(small.newSessionId());
        live.session(other);
        test::writeWire(live, other.id, Direction::ServerToClient,
                        ws::FrameWriter::frame(ws::Opcode::Text, "live", false));
        live.flush();
        const auto again = small.records(1, 0, 2);
        QCOMPARE(small.payload(again[0]), QByteArray("m0"));
        std::vector<const MessageRecord *> pointers {&again[0], &again[1]};
        QByteArrayList seen(2);
        small.visitPayloads(pointers, 10,
                            [&](size_t i, QByteArrayView p) { seen[qsizetype(i)] = p.toByteArray(); });
        QCOMPARE(seen, QByteArrayList({"m0", "m1"}));
        const QString saved = dir.filePath(QStringLiteral("again.socktap"));
        QVERIFY2(saveNative(small, {1}, saved, &error), qPrintable(error));
        QCOMPARE(readAll(saved), readAll(path));
    }

    void recordFileIsNeverCutButStopsAtTheBudget()
    {
        QTemporaryDir dir;
        QString error;
        CaptureStore store(CaptureStore::Limits {64 << 20, 2 << 20});
        const QString path = dir.filePath(QStringLiteral("record.socktap"));
        store.attachJournal(CaptureFile::create(path, false, &error));
        CaptureWriter w(store);
        const SessionId id = store.newSessionId();
        w.session(richSession(id));
        for (int i = 0; i < 64; ++i) {
            test::writeWire(w, id, Direction::ServerToClient,
                            ws::FrameWriter::frame(ws::Opcode::Binary, QByteArray(65536, 'r'), false));
            w.flush();
        }
        const auto stats = store.stats();
        QVERIFY2(stats.journalError.contains(QLatin1String("reached the disk budget")),
                 qPrintable(stats.journalError));
        QCOMPARE(store.messageCount(id), 64u); // the capture goes on in memory
        QCOMPARE(store.message(id, 63)->payload, QByteArray(65536, 'r'));
        store.journal()->flush();
        const qint64 size = QFileInfo(path).size();
        QVERIFY(size > (2 << 20) && size < (3 << 20));
        CaptureStore reopened;
        QVERIFY2(openNative(path, reopened, &error), qPrintable(error)); // a valid capture up to there
        // Saved after recording stopped, the session's latest state and later messages are there too.
        SessionInfo closed = richSession(id);
        closed.close.detail = QStringLiteral("after the stop");
        w.session(closed);
        w.flush();
        const QString saved = dir.filePath(QStringLiteral("saved.socktap"));
        QVERIFY2(saveNative(store, {}, saved, &error), qPrintable(error));
        CaptureStore fromSave;
        QVERIFY2(openNative(saved, fromSave, &error, OpenOptions {true, {}, {}}), qPrintable(error));
        QCOMPARE(fromSave.messageCount(id), 64u);
        QCOMPARE(fromSave.session(id)->close.detail, QStringLiteral("after the stop"));
    }

    void byteOrderMarksSurvive()
    {
        // Qt's JSON reader drops a byte-order mark at the start of a string: such text goes as base64.
        MessageRecord r;
        r.opcode = 1;
        r.payloadSize = r.capturedSize = 5;
        r.frameCount = 1;
        r.firstHeaderSize = 2;
        r.firstFrameBits = 0x80;
        r.wireSize = 7;
        const QByteArray bom = "\xEF\xBB\xBFhi";
        QByteArray line;
        native::appendMessage(line, native::MessageParts {1, r, bom, {}, {}, {}, {}});
        QString error;
        const auto back = native::decodeLine(QByteArrayView(line).chopped(1), &error);
        QVERIFY2(back, qPrintable(error));
        QCOMPARE(std::get<native::DecodedMessage>(*back).payload, bom);
        SessionInfo s = httpSession(1);
        s.requestBody = bom;
        QByteArray sessionLine;
        native::appendSession(sessionLine, s);
        const auto session = native::decodeLine(QByteArrayView(sessionLine).chopped(1), &error);
        QCOMPARE(std::get<SessionInfo>(*session).requestBody, bom);
    }

    void savingEvictedPayloadsSaysSo()
    {
        // Memory only, past the budget: the payloads are gone; a save keeps sizes and flags them.
        QTemporaryDir dir;
        QString error;
        CaptureStore store(CaptureStore::Limits {1 << 20});
        CaptureWriter w(store);
        const SessionId id = store.newSessionId();
        w.session(richSession(id));
        for (int i = 0; i < 100; ++i) {
            test::writeWire(w, id, Direction::ServerToClient,
                            ws::FrameWriter::frame(ws::Opcode::Binary, QByteArray(65536, 'x'), false));
            w.flush();
        }
        QVERIFY(store.message(id, 0)->payloadEvicted);
        const QString saved = dir.filePath(QStringLiteral("evicted.socktap"));
        SaveReport report;
        QVERIFY2(saveNative(store, {}, saved, &error, {}, &report), qPrintable(error));
        QVERIFY(report.payloadsMissing > 0);
        CaptureStore reopened;
        QVERIFY2(openNative(saved, reopened, &error, OpenOptions {true, {}, {}}), qPrintable(error));
        const auto first = reopened.message(id, 0);
        QCOMPARE(first->record.payloadSize, 65536u);
        QVERIFY(first->record.has(MessageFlag::Truncated));
        QCOMPARE(reopened.message(id, 99)->payload, QByteArray(65536, 'x'));
    }

    void detailsLeaveMemoryWithTheirRecords()
    {
        // Fragmented messages carry a detail each (their frames): those must leave memory too.
        QTemporaryDir dir;
        QString error;
        const QString path = dir.filePath(QStringLiteral("fragments.socktap"));
        {
            CaptureStore store;
            store.attachJournal(CaptureFile::create(path, false, &error));
            CaptureWriter w(store);
            const SessionId id = store.newSessionId();
            w.session(richSession(id));
            for (int i = 0; i < 20000; ++i)
                test::writeWire(w, id, Direction::ServerToClient,
                                ws::FrameWriter::message(ws::Opcode::Text, "fragmented message", false, 4));
            w.flush();
            store.journal()->flush();
        }
        CaptureStore small(CaptureStore::Limits {1 << 20});
        QVERIFY2(openNative(path, small, &error), qPrintable(error));
        const auto stats = small.stats();
        QVERIFY2(stats.memoryUsed <= stats.memoryLimit, qPrintable(QString::number(stats.memoryUsed)));
        QCOMPARE(stats.evictedRecords, 0u);
        QCOMPARE(small.message(1, 0)->frames.size(), size_t(5));
        QCOMPARE(small.message(1, 19999)->frames.size(), size_t(5));
    }

    void truncatedLastLineIsToleratedAndReported()
    {
        QTemporaryDir dir;
        CaptureStore original;
        const QByteArray full = readAll(recordSample(dir.path(), original));
        const QString cut = dir.path() + QStringLiteral("/cut.socktap");
        writeFile(cut, full.left(full.size() - 40));
        CaptureStore opened;
        QString error;
        const auto result = openNative(cut, opened, &error);
        QVERIFY2(result, qPrintable(error));
        QCOMPARE(result->warnings.size(), 1);
        QVERIFY2(result->warnings[0].contains(QLatin1String("line 11 is incomplete")),
                 qPrintable(result->warnings[0]));
        QCOMPARE(result->sessions, 2u);
        QCOMPARE(result->messages, 7u);
        // The cut line was the WebSocket session's final state: it reads as it was before.
        QCOMPARE(opened.session(1)->state, SessionState::Open);
    }

    void badFilesGetPreciseErrors_data()
    {
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<QString>("expected");
        const QByteArray header = native::headerLine();
        QTest::newRow("empty") << QByteArray() << QStringLiteral("empty file");
        QTest::newRow("not json") << QByteArray("hello\n") << QStringLiteral("line 1: not a Socktap capture");
        QTest::newRow("not json later") << header + "{oops\n" << QStringLiteral("line 2: not JSON");
        QTest::newRow("no header") << QByteArray("{\"type\":\"session\",\"id\":1}\n")
                                   << QStringLiteral("line 1: not a Socktap capture");
        QTest::newRow("other format")
            << QByteArray("{\"format\":\"pcap\",\"version\":1}\n") << QStringLiteral("field 'format'");
        QTest::newRow("wrong version")
            << QByteArray("{\"format\":\"socktap-capture\",\"version\":7}\n")
            << QStringLiteral("line 1: field 'version': version 7 is not supported");
        QTest::newRow("message first") << header
                + R"({"type":"message","session":4,"from":"client","opcode":1,"time":1,"size":0,)"
                  R"("wireSize":2,"frameCount":1,"frames":[]})"
                  "\n" << QStringLiteral("line 2: field 'session': message for session 4 before");
        QTest::newRow("bad opcode") << header
                + R"({"type":"session","id":4,"kind":"websocket","mode":"explicit","state":"open"})"
                  "\n"
                  R"({"type":"message","session":4,"from":"client","opcode":99,"time":1,"size":0,)"
                  R"("wireSize":2,"frameCount":1,"frames":[]})"
                  "\n" << QStringLiteral("line 3: field 'opcode': expected an integer 0-15");
        QTest::newRow("bad state") << header
                + R"({"type":"session","id":4,"kind":"websocket","mode":"explicit","state":"asleep"})"
                  "\n" << QStringLiteral("line 2: field 'state': 'asleep' is not one of");
        QTest::newRow("bad base64") << header
                + R"({"type":"session","id":4,"kind":"websocket","mode":"explicit","state":"open"})"
                  "\n"
                  R"({"type":"message","session":4,"from":"server","opcode":2,"time":1,"size":3,)"
                  R"("wireSize":5,"frameCount":1,"frames":[],"base64":"!!!"})"
                  "\n" << QStringLiteral("line 3: field 'base64': not valid base64");
        QTest::newRow("id past 2^63") << header
                + R"({"type":"session","id":9223372036854775808,"kind":"websocket","mode":"explicit","state":"open"})"
                  "\n" << QStringLiteral("line 2: field 'id': expected an integer");
        QTest::newRow("100 MB line") << header + QByteArray(100 << 20, 'x') + '\n'
                                     << QStringLiteral("line 2: not JSON");
    }

    void badFilesGetPreciseErrors()
    {
        QFETCH(QByteArray, content);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        const QString path = dir.path() + QStringLiteral("/bad.socktap");
        writeFile(path, content);
        CaptureStore store;
        QString error;
        QVERIFY(!openNative(path, store, &error));
        QVERIFY2(error.startsWith(path + QStringLiteral(": ")), qPrintable(error));
        QVERIFY2(error.contains(expected), qPrintable(error));
    }
};

QTEST_GUILESS_MAIN(TestNativeFormat)
#include "tst_nativeformat.moc"
