#include "CaptureCommands.h"

#include "ConsoleSink.h"

#include "core/capture/ConversationText.h"
#include "core/capture/Har.h"
#include "core/capture/NativeFile.h"
#include "core/capture/Recovery.h"
#include "core/capture/TextFormat.h"

#include <QLocale>

#include <QSaveFile>

#include <cstdio>

namespace socktap::app {

namespace {

constexpr int CaptureFileExit = 5;

int failWith(const QString &message)
{
    std::fprintf(stderr, "socktap: %s\n", qPrintable(message));
    return CaptureFileExit;
}

// Reads path into store with its own ids, saying its warnings; nothing (after saying why) on failure.
std::optional<capture::OpenResult> openForCommand(const QString &path, capture::CaptureStore &store)
{
    QString error;
    auto opened = capture::openCapture(path, store, &error, capture::OpenOptions {true, {}, {}});
    if (!opened) {
        failWith(error);
        return std::nullopt;
    }
    for (const QString &warning : opened->warnings)
        std::fprintf(stderr, "socktap: warning: %s\n", qPrintable(warning));
    return opened;
}

} // namespace

int runCaptureCommand(const AppOptions &o)
{
    capture::CaptureStore store(capture::CaptureStore::Limits {o.maxCaptureMemory, o.maxCaptureDisk});
    QString error;
    const auto opened = openForCommand(o.captureFile, store);
    if (!opened)
        return CaptureFileExit;
    if (o.command == AppOptions::Command::Open) {
        ConsoleSink sink(store, o.json ? ConsoleSink::Format::Json : ConsoleSink::Format::Text, o.decode);
        sink.printStore();
        return 0;
    }
    if (!o.exportHar.isEmpty()) {
        if (!capture::writeWholeFile(o.exportHar, &error, [&](QIODevice &out, QString *why) {
                return capture::writeHar(store, {}, out, why);
            }))
            return failWith(error);
        std::fprintf(stderr, "socktap: wrote %llu sessions to %s\n",
                     static_cast<unsigned long long>(opened->sessions), qPrintable(o.exportHar));
        return 0;
    }
    const capture::SessionId session =
        o.exportSession ? o.exportSession : capture::firstWebSocketSession(store);
    if (!session || !store.session(session))
        return failWith(o.exportSession
                            ? QStringLiteral("%1 has no session %2").arg(o.captureFile).arg(o.exportSession)
                            : QStringLiteral("%1 has no WebSocket session; name one with --session N")
                                  .arg(o.captureFile));
    if (!capture::writeWholeFile(o.exportText, &error, [&](QIODevice &out, QString *why) {
            return capture::writeConversationText(store, session, out, why);
        }))
        return failWith(error);
    return 0;
}

int runRecoverCommand(const AppOptions &o)
{
    const auto captures = capture::listCaptureDirectories(capture::capturesRoot(), true);
    if (o.recoverIndex == 0) {
        if (captures.empty()) {
            std::printf("no captures kept from earlier runs (in %s)\n", qPrintable(capture::capturesRoot()));
            return 0;
        }
        int n = 0;
        for (const capture::CaptureDirectory &c : captures) {
            std::printf("%d  %s  %s, %s, %s  %s%s\n  %s\n", ++n,
                        qPrintable(QLocale::c().toString(c.started, QStringLiteral("yyyy-MM-dd HH:mm:ss"))),
                        qPrintable(capture::counted(c.summary.sessions, "session")),
                        qPrintable(capture::counted(c.summary.messages, "message")),
                        qPrintable(capture::byteSize(c.summary.bytes)), qPrintable(c.howItEnded()),
                        c.summary.cutOff ? " (last moment cut off)" : "", qPrintable(c.journal));
        }
        std::printf("'socktap recover N' prints one, 'socktap recover N --save OUT.socktap' saves it, "
                    "'socktap FILE' opens it in the window\n");
        return 0;
    }
    if (o.recoverIndex > int(captures.size()))
        return failWith(QStringLiteral("there is no capture %1 (%2 kept; 'socktap recover' lists them)")
                            .arg(o.recoverIndex)
                            .arg(captures.size()));
    const capture::CaptureDirectory &c = captures[size_t(o.recoverIndex - 1)];
    if (o.recoverSave.isEmpty()) {
        AppOptions open = o;
        open.command = AppOptions::Command::Open;
        open.captureFile = c.journal;
        return runCaptureCommand(open);
    }
    capture::CaptureStore store(capture::CaptureStore::Limits {o.maxCaptureMemory, o.maxCaptureDisk});
    const auto opened = openForCommand(c.journal, store);
    if (!opened)
        return CaptureFileExit;
    QString error;
    capture::SaveReport report;
    if (!capture::saveNative(store, {}, o.recoverSave, &error, {}, &report))
        return failWith(error);
    std::fprintf(stderr, "socktap: wrote %s, %s to %s\n",
                 qPrintable(capture::counted(opened->sessions, "session")),
                 qPrintable(capture::counted(opened->messages, "message")), qPrintable(o.recoverSave));
    return 0;
}

} // namespace socktap::app
