#include "CaptureCommands.h"

#include "ConsoleSink.h"

#include "core/capture/ConversationText.h"
#include "core/capture/Har.h"
#include "core/capture/NativeFile.h"

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

} // namespace

int runCaptureCommand(const AppOptions &o)
{
    capture::CaptureStore store(capture::CaptureStore::Limits {o.maxCaptureMemory, o.maxCaptureDisk});
    QString error;
    const auto opened = capture::openCapture(o.captureFile, store, &error, capture::OpenOptions {true, {}});
    if (!opened)
        return failWith(error);
    for (const QString &warning : opened->warnings)
        std::fprintf(stderr, "socktap: warning: %s\n", qPrintable(warning));
    if (o.command == AppOptions::Command::Open) {
        ConsoleSink sink(store, o.json ? ConsoleSink::Format::Json : ConsoleSink::Format::Text);
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

} // namespace socktap::app
