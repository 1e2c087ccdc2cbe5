// Capture files at scale: records 1,000,000 messages as --record does (the native format, live), then
// opens that file as the window and `socktap open` do, timing when the first rows are in the store and
// when the whole file is, with the process's peak memory against the memory budget; then saves it back
// and exports it as HAR. Prints numbers; not a test.
//   bench_capturefile [--messages N] [--memory SIZE_MIB] [--dir DIR]
#include "core/capture/CaptureWriter.h"
#include "core/capture/Har.h"
#include "core/capture/NativeFile.h"
#include "core/ws/FrameWriter.h"
#include "core/ws/MessageAssembler.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <sys/resource.h>

using namespace socktap;
using namespace socktap::capture;

namespace {

double seconds(const QElapsedTimer &t)
{
    return double(t.nsecsElapsed()) / 1e9;
}

long peakRssMiB()
{
    rusage u {};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024;
}

// What a chat or market-data feed sends: JSON text both ways, some binary, a ping now and then.
QByteArray wireFor(int i, Direction dir)
{
    const bool masked = dir == Direction::ClientToServer;
    if (i % 50 == 0)
        return ws::FrameWriter::frame(ws::Opcode::Ping, QByteArray::number(i), masked);
    if (i % 10 == 0)
        return ws::FrameWriter::frame(ws::Opcode::Binary, QByteArray(64 + i % 200, char(i)), masked);
    return ws::FrameWriter::frame(ws::Opcode::Text,
                                  R"({"type":"tick","seq":)" + QByteArray::number(i)
                                      + R"(,"symbol":"ACME","price":)"
                                      + QByteArray::number(100 + (i % 977) / 7.0, 'f', 2)
                                      + R"(,"note":"message number )" + QByteArray::number(i) + "\"}",
                                  masked);
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    int messages = 1'000'000;
    quint64 memoryMiB = 256;
    QString dirPath;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--messages"))
            messages = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--memory"))
            memoryMiB = quint64(std::atoll(argv[i + 1]));
        else if (!std::strcmp(argv[i], "--dir"))
            dirPath = QString::fromLocal8Bit(argv[i + 1]);
    }
    QTemporaryDir temp;
    if (dirPath.isEmpty())
        dirPath = temp.path();
    const QString file = dirPath + QStringLiteral("/bench.socktap");
    const int sessions = 100;

    // 1. Record, as --record does: through the store's journal.
    QElapsedTimer t;
    t.start();
    {
        CaptureStore store(CaptureStore::Limits {memoryMiB << 20});
        QString error;
        auto journal = CaptureFile::create(file, false, &error);
        if (!journal) {
            std::fprintf(stderr, "%s\n", qPrintable(error));
            return 1;
        }
        store.attachJournal(journal);
        CaptureWriter writer(store);
        std::vector<SessionId> ids;
        for (int s = 0; s < sessions; ++s) {
            SessionInfo info;
            info.id = store.newSessionId();
            info.state = SessionState::Open;
            info.scheme = "wss";
            info.host = "feed.example";
            info.port = 443;
            info.path = "/stream/" + QByteArray::number(s);
            ids.push_back(info.id);
            writer.session(info);
        }
        for (int i = 0; i < messages; ++i) {
            const Direction dir = i % 3 == 0 ? Direction::ClientToServer : Direction::ServerToClient;
            const auto sender = dir == Direction::ClientToServer ? ws::FrameParser::Sender::Client
                                                                 : ws::FrameParser::Sender::Server;
            ws::decodeMessages(wireFor(i, dir), sender, 1'700'000'000'000'000 + i * 100,
                               [&](const ws::MessageAssembler::Message &m) {
                                   writer.message(ids[size_t(i % sessions)], dir, m);
                               });
            if (writer.wantsFlush())
                writer.flush();
        }
        writer.flush();
        journal->flush();
    }
    const double recordSeconds = seconds(t);
    const qint64 fileBytes = QFileInfo(file).size();
    std::printf("record  %d messages in %d sessions as native JSON Lines: %.2f s (%.0f messages/s), "
                "%.1f MiB file\n",
                messages, sessions, recordSeconds, messages / recordSeconds, double(fileBytes) / (1 << 20));

    // 2. Open, as the window does: rows appear as batches reach the store.
    const long rssBefore = peakRssMiB();
    CaptureStore opened(CaptureStore::Limits {memoryMiB << 20});
    std::atomic<qint64> firstRowsNs {0};
    std::shared_ptr<CaptureStore::Subscription> subscription;
    subscription = opened.subscribe([&] {
        qint64 expected = 0;
        firstRowsNs.compare_exchange_strong(expected, t.nsecsElapsed());
        subscription->take(); // as the window does: it reads each batch and lets it go
    });
    t.restart();
    QString error;
    const auto result = openNative(file, opened, &error);
    const double openSeconds = seconds(t);
    if (!result) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return 1;
    }
    const auto stats = opened.stats();
    std::printf("open    first rows after %.3f s; all %llu messages after %.2f s (%.0f messages/s)\n",
                double(firstRowsNs.load()) / 1e9, static_cast<unsigned long long>(result->messages),
                openSeconds, double(result->messages) / openSeconds);
    std::printf("memory  store %.1f MiB of a %llu MiB budget (%llu payloads read back from the file on "
                "demand); peak RSS %ld MiB (%ld MiB before opening)\n",
                double(stats.memoryUsed) / (1 << 20), static_cast<unsigned long long>(memoryMiB),
                static_cast<unsigned long long>(stats.payloadsOnDisk), peakRssMiB(), rssBefore);
    opened.unsubscribe(subscription);

    // A payload from the start of the file, long evicted from memory.
    t.restart();
    const auto early = opened.message(1, 0);
    std::printf("read    an evicted payload back from the file: %.3f ms (%lld bytes)\n", seconds(t) * 1e3,
                static_cast<long long>(early ? early->payload.size() : -1));

    // 3. Save (copies lines) and export as HAR.
    t.restart();
    const QString saved = dirPath + QStringLiteral("/saved.socktap");
    if (!saveNative(opened, {}, saved, &error)) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return 1;
    }
    std::printf("save    %.2f s, %s\n", seconds(t),
                QFileInfo(saved).size() == fileBytes ? "byte-identical size" : "SIZE DIFFERS");
    t.restart();
    QFile har(dirPath + QStringLiteral("/bench.har"));
    if (!har.open(QIODevice::WriteOnly) || !writeHar(opened, {}, har, &error)) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return 1;
    }
    std::printf("har     export %.2f s, %.1f MiB\n", seconds(t), double(har.size()) / (1 << 20));
    return 0;
}
