// Breakpoint latency: how long from a Forward (a Release command, as the window's F8 sends it) to the
// held message's bytes arriving at the server, through the real engine over loopback; and the same for an
// injected message. Prints p50 / p99 / max in microseconds. Not a test.
//   bench_intercept [ROUNDS]
#include "core/capture/CaptureStore.h"
#include "core/http/HeadParser.h"
#include "core/intercept/InterceptHub.h"
#include "core/proxy/ProxyServer.h"
#include "core/ws/FrameWriter.h"
#include "core/ws/Handshake.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QTcpServer>
#include <QTcpSocket>

#include <algorithm>
#include <cstdio>

using namespace socktap;

namespace {

bool waitFor(const std::function<bool()> &done, int ms = 10000)
{
    QElapsedTimer t;
    t.start();
    while (!done()) {
        if (t.elapsed() > ms)
            return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents, 1);
    }
    return true;
}

void print(const char *what, std::vector<qint64> &nanos)
{
    std::sort(nanos.begin(), nanos.end());
    const auto at = [&](double q) { return double(nanos[size_t(q * double(nanos.size() - 1))]) / 1000.0; };
    std::printf("%-40s p50 %7.1f us   p99 %7.1f us   max %7.1f us   (%zu rounds)\n", what, at(0.5), at(0.99),
                double(nanos.back()) / 1000.0, nanos.size());
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const int rounds = argc > 1 ? std::max(10, std::atoi(argv[1])) : 500;

    // A WebSocket server that answers the handshake and then counts the bytes it receives.
    QTcpServer upstream;
    upstream.listen(QHostAddress::LocalHost, 0);
    QTcpSocket *server = nullptr;
    qint64 received = 0;
    QObject::connect(&upstream, &QTcpServer::newConnection, [&] {
        server = upstream.nextPendingConnection();
        server->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        auto parser = std::make_shared<http::HeadParser>(http::HeadParser::Kind::Request);
        QObject::connect(server, &QTcpSocket::readyRead, server, [&, parser] {
            const QByteArray data = server->readAll();
            if (parser->status() == http::HeadParser::Status::Complete) {
                received += data.size();
                return;
            }
            const auto r = parser->feed(data);
            if (r.status != http::HeadParser::Status::Complete)
                return;
            received += data.size() - r.consumed;
            server->write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: "
                          + ws::Handshake::acceptFor(parser->request().headers.value("Sec-WebSocket-Key"))
                          + "\r\n\r\n");
        });
    });

    auto hub = std::make_shared<intercept::InterceptHub>();
    proxy::ProxyConfig config;
    config.listenPort = 0;
    config.workers = 1;
    config.intercept = hub;
    capture::CaptureStore store;
    proxy::ProxyServer proxy(config, store);
    QString error;
    if (!proxy.start(&error)) {
        std::fprintf(stderr, "bench_intercept: %s\n", qPrintable(error));
        return 1;
    }
    QTcpSocket client;
    client.setSocketOption(QAbstractSocket::LowDelayOption, 1);
    client.connectToHost(QHostAddress::LocalHost, proxy.port());
    client.waitForConnected();
    const QByteArray host = "127.0.0.1:" + QByteArray::number(upstream.serverPort());
    client.write("GET ws://" + host + "/bench HTTP/1.1\r\nHost: " + host
                 + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
                 + ws::Handshake::generateKey() + "\r\nSec-WebSocket-Version: 13\r\n\r\n");
    QByteArray head;
    if (!waitFor([&] {
            head += client.readAll();
            return head.contains("\r\n\r\n");
        })) {
        std::fprintf(stderr, "bench_intercept: no 101\n");
        return 1;
    }
    capture::SessionId id = 0;
    waitFor([&] {
        for (auto s : store.sessionIds())
            id = s;
        return id && proxy.isLive(id);
    });

    const auto command = [&](const intercept::SessionCommand &c) {
        bool answered = false;
        proxy.command(id, c, &app, [&](const intercept::CommandResult &) { answered = true; });
        waitFor([&] { return answered; });
    };
    intercept::SessionCommand pause;
    pause.kind = intercept::SessionCommand::Kind::SetPause;
    pause.on = true;
    command(pause);

    const QByteArray frame = ws::FrameWriter::frame(ws::Opcode::Text, QByteArray(64, 'x'), true);
    std::vector<qint64> forward, inject;
    QElapsedTimer clock;
    for (int i = 0; i < rounds; ++i) {
        client.write(frame);
        client.flush();
        if (!waitFor([&] { return !hub->held().empty(); }))
            return 1;
        const qint64 before = received;
        intercept::SessionCommand release;
        release.kind = intercept::SessionCommand::Kind::Release;
        release.id = hub->held().front().id;
        clock.start();
        proxy.command(id, release, &app, nullptr);
        if (!waitFor([&] { return received >= before + frame.size(); }))
            return 1;
        forward.push_back(clock.nsecsElapsed());
        waitFor([&] { return hub->held().empty(); });
    }
    for (int i = 0; i < rounds; ++i) {
        const qint64 before = received;
        intercept::SessionCommand send;
        send.kind = intercept::SessionCommand::Kind::Send;
        send.message = intercept::OutgoingMessage {1, QByteArray(64, 'y'), 1};
        clock.start();
        proxy.command(id, send, &app, nullptr);
        if (!waitFor([&] { return received >= before + 70; }))
            return 1;
        inject.push_back(clock.nsecsElapsed());
    }
    std::printf("socktap breakpoint latency over loopback, 64 B text, one worker\n");
    print("Forward (release a held message)", forward);
    print("Inject (send a message of one's own)", inject);
    proxy.stop();
    waitFor([&] { return !proxy.isListening(); }, 2000);
    return 0;
}
