#include "AttachCommand.h"

#include "ConsoleSink.h"
#include "SignalWatcher.h"

#include "certs/CertificateAuthority.h"
#include "core/capture/CaptureFile.h"
#include "core/capture/CaptureStore.h"
#include "core/intercept/ScriptLog.h"
#include "core/proxy/RemoteEngine.h"

#include <QCoreApplication>

#include <cstdio>

namespace socktap::app {

int runAttach(const AppOptions &o)
{
    // The remote's scripts' console comes over the link too.
    intercept::ScriptLog::instance().setListener([](const intercept::ScriptLogLine &line) {
        std::fprintf(stderr, "socktap: script %s\n", qPrintable(line.display()));
    });
    // The remote's CA: the file given (socktap ca export on that machine) or its fingerprint, else this
    // user's own.
    QByteArray ownCa;
    if (o.attachCa.isEmpty())
        if (auto ca = certs::CertificateAuthority::load(
                o.caDir.isEmpty() ? certs::CertificateAuthority::defaultDirectory() : o.caDir))
            ownCa = ca->certificatePem();
    QString why;
    auto trust = proxy::RemoteEngine::Trust::read(o.attachCa, ownCa, &why);
    if (!trust) {
        std::fprintf(stderr, "socktap: attach: --ca: %s\n", qPrintable(why));
        return 3;
    }

    capture::CaptureStore mirror;
    if (!o.recordFile.isEmpty()) {
        // A local copy as --record keeps one: every record applied from the link, as native records.
        QString error;
        auto file = capture::CaptureFile::create(o.recordFile, false, &error);
        if (!file) {
            std::fprintf(stderr, "socktap: attach: --record: %s\n", qPrintable(error));
            return 1;
        }
        mirror.attachJournal(std::move(file));
    }
    ConsoleSink sink(mirror, o.json ? ConsoleSink::Format::Json : ConsoleSink::Format::Text, o.decode);
    proxy::RemoteEngine remote(o.attachTarget, o.attachToken, std::move(*trust), mirror);
    int exitCode = -1;
    const auto finish = [&](int code) {
        exitCode = code;
        sink.drain();
        if (const auto journal = mirror.journal())
            journal->flush();
        QCoreApplication::exit(code);
    };
    QObject::connect(&remote, &proxy::RemoteEngine::stateChanged, [&] {
        switch (remote.state()) {
        case proxy::RemoteEngine::State::Attached:
            std::fprintf(stderr, "socktap: attached to %s (from byte %llu of its journal)\n",
                         qPrintable(o.attachTarget), static_cast<unsigned long long>(remote.bytesReceived()));
            break;
        case proxy::RemoteEngine::State::Waiting:
            std::fprintf(stderr, "socktap: attach: %s: %s\n", qPrintable(o.attachTarget),
                         qPrintable(remote.stateText()));
            break;
        case proxy::RemoteEngine::State::Refused:
            std::fprintf(stderr, "socktap: attach: %s %s\n", qPrintable(o.attachTarget),
                         qPrintable(remote.stateText()));
            finish(2);
            break;
        case proxy::RemoteEngine::State::Untrusted:
            std::fprintf(stderr, "socktap: attach: %s %s\n", qPrintable(o.attachTarget),
                         qPrintable(remote.stateText()));
            finish(3);
            break;
        case proxy::RemoteEngine::State::Failed:
            std::fprintf(stderr, "socktap: attach: %s\n", qPrintable(remote.stateText()));
            finish(5);
            break;
        default:
            break;
        }
    });
    QObject::connect(&remote, &proxy::RemoteEngine::remoteRestarted, [&] {
        std::fprintf(stderr,
                     "socktap: attach: %s restarted (another capture): its sessions from here on are numbered "
                     "anew\n",
                     qPrintable(o.attachTarget));
    });
    SignalWatcher signals_;
    QObject::connect(&signals_, &SignalWatcher::terminationRequested, [&](int signal) {
        if (signal >= 0 && exitCode < 0)
            finish(0);
    });
    remote.open();
    const int code = QCoreApplication::exec();
    sink.drain();
    if (const auto journal = mirror.journal()) {
        journal->flush();
        if (const QString why = mirror.stats().journalError; !why.isEmpty())
            std::fprintf(stderr, "socktap: attach: --record: %s\n", qPrintable(why));
        else
            std::fprintf(stderr, "socktap: attach: the copy is in %s\n", qPrintable(o.recordFile));
    }
    return code;
}

} // namespace socktap::app
