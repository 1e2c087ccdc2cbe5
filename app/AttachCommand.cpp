#include "AttachCommand.h"

#include "ConsoleSink.h"
#include "SignalWatcher.h"

#include "certs/CertificateAuthority.h"
#include "core/capture/BatchJournal.h"
#include "core/capture/CaptureStore.h"

#include <QCoreApplication>
#include <QFile>
#include <QSslConfiguration>
#include <QTimer>
#include <QUrlQuery>
#include <QWebSocket>

#include <cstdio>

namespace socktap::app {

int runAttach(const AppOptions &o)
{
    // The remote's CA: the file given (socktap ca export on that machine), else this user's own.
    QByteArray caPem;
    if (!o.attachCa.isEmpty()) {
        QFile f(o.attachCa);
        if (!f.open(QIODevice::ReadOnly)) {
            std::fprintf(stderr, "socktap: attach: --ca %s: %s\n", qPrintable(o.attachCa),
                         qPrintable(f.errorString()));
            return 3;
        }
        caPem = f.readAll();
    } else if (auto ca = certs::CertificateAuthority::load(
                   o.caDir.isEmpty() ? certs::CertificateAuthority::defaultDirectory() : o.caDir)) {
        caPem = ca->certificatePem();
    }
    const QList<QSslCertificate> trusted = QSslCertificate::fromData(caPem, QSsl::Pem);
    if (trusted.isEmpty()) {
        std::fprintf(stderr,
                     "socktap: attach: no CA certificate to verify the remote with (--ca FILE, as "
                     "'socktap ca export' writes it on the remote)\n");
        return 3;
    }
    QSslConfiguration ssl = QSslConfiguration::defaultConfiguration();
    ssl.setCaCertificates(trusted);
    ssl.setPeerVerifyMode(QSslSocket::VerifyPeer);

    capture::CaptureStore mirror;
    capture::JournalStream stream(mirror, capture::OpenOptions {true, {}});
    ConsoleSink sink(mirror, o.json ? ConsoleSink::Format::Json : ConsoleSink::Format::Text, o.decode);
    QWebSocket socket;
    socket.setSslConfiguration(ssl);
    int exitCode = -1;
    int failures = 0;
    const auto open = [&] {
        QUrl url(QStringLiteral("wss://%1/capture").arg(o.attachTarget));
        QUrlQuery query;
        query.addQueryItem(QStringLiteral("token"), o.attachToken);
        query.addQueryItem(QStringLiteral("from"), QString::number(stream.received()));
        url.setQuery(query);
        socket.open(url);
    };
    QObject::connect(&socket, &QWebSocket::connected, [&] {
        failures = 0;
        std::fprintf(stderr, "socktap: attached to %s (from byte %llu of its journal)\n",
                     qPrintable(o.attachTarget), static_cast<unsigned long long>(stream.received()));
    });
    QObject::connect(&socket, &QWebSocket::binaryMessageReceived, [&](const QByteArray &bytes) {
        QString why;
        if (!stream.feed(bytes, &why)) {
            std::fprintf(stderr, "socktap: attach: %s\n", qPrintable(why));
            exitCode = 5;
            QCoreApplication::exit(5);
        }
    });
    QObject::connect(&socket, &QWebSocket::disconnected, [&] {
        if (exitCode >= 0)
            return;
        if (socket.closeCode() == QWebSocketProtocol::CloseCodePolicyViolated) {
            std::fprintf(stderr, "socktap: attach: refused by %s: %s\n", qPrintable(o.attachTarget),
                         qPrintable(socket.closeReason()));
            exitCode = 2;
            QCoreApplication::exit(2);
            return;
        }
        // The remote goes on capturing: come back for what it wrote meanwhile, from the last byte here.
        const int delay = std::min(5000, 250 << std::min(failures++, 4));
        std::fprintf(stderr, "socktap: attach: link to %s lost (%s); again in %d ms from byte %llu\n",
                     qPrintable(o.attachTarget), qPrintable(socket.errorString()), delay,
                     static_cast<unsigned long long>(stream.received()));
        QTimer::singleShot(delay, open);
    });
    QObject::connect(&socket, &QWebSocket::sslErrors, [&](const QList<QSslError> &errors) {
        for (const QSslError &e : errors)
            std::fprintf(stderr, "socktap: attach: %s: %s\n", qPrintable(o.attachTarget),
                         qPrintable(e.errorString()));
    });
    SignalWatcher signals_;
    QObject::connect(&signals_, &SignalWatcher::terminationRequested, [&](int signal) {
        if (signal < 0)
            return;
        exitCode = 0;
        sink.drain();
        QCoreApplication::exit(0);
    });
    open();
    const int code = QCoreApplication::exec();
    sink.drain();
    return code;
}

} // namespace socktap::app
