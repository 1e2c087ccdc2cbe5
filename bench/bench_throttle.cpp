// How closely a throttle rule holds its rate: a client sends binary messages as fast as it can through
// Socktap's proxy to a local server, the client's direction throttled to each rate in turn, and the
// server counts the wire bytes it gets (frame headers included, as the throttle counts them) over a
// window that starts after the first second (the bucket's initial burst). Prints achieved rate and error.
//   bench_throttle [--seconds S]   (S: the measured window for rates of 1 MB/s and up; slower rates get more)
#include "core/capture/CaptureStore.h"
#include "core/intercept/InterceptHub.h"
#include "core/intercept/Rule.h"
#include "core/proxy/ProxyServer.h"
#include "core/ws/FrameWriter.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QTcpSocket>
#include <QThread>
#include <QTimer>
#include <QWebSocket>
#include <QWebSocketServer>

#include <atomic>
#include <cmath>
#include <cstdio>

using namespace socktap;

namespace {

// A client frame's bytes on the wire: header, 4-byte mask key, payload (RFC 6455 5.2).
qint64 wireBytes(qint64 payload)
{
    return 2 + (payload >= 126 ? 2 : 0) + (payload >= 65536 ? 6 : 0) + 4 + payload;
}

struct Result
{
    double bytesPerSecond = 0;
    qint64 bytes = 0;
};

// The receiving server on a thread of its own: on the client's thread it would share that thread's time
// with the sending, and measure the benchmark rather than the throttle.
class Sink : public QObject
{
public:
    std::atomic<qint64> counted {0};
    std::atomic<bool> counting {false};
    quint16 port = 0;

    void start()
    {
        m_server = new QWebSocketServer(QStringLiteral("sink"), QWebSocketServer::NonSecureMode, this);
        m_server->listen(QHostAddress::LocalHost, 0);
        port = m_server->serverPort();
        QObject::connect(m_server, &QWebSocketServer::newConnection, this, [this] {
            QWebSocket *peer = m_server->nextPendingConnection();
            peer->setParent(this);
            QObject::connect(peer, &QWebSocket::binaryFrameReceived, this,
                             [this](const QByteArray &frame, bool) {
                                 if (counting.load(std::memory_order_relaxed))
                                     counted.fetch_add(wireBytes(frame.size()), std::memory_order_relaxed);
                             });
        });
    }

private:
    QWebSocketServer *m_server = nullptr;
};

// Sends through the proxy for warmup + window ms and measures what the server got within the window.
Result measure(quint16 proxyPort, qint64 messageSize, int warmupMs, int windowMs)
{
    QThread thread;
    thread.start();
    auto *sink = new Sink;
    sink->moveToThread(&thread);
    QMetaObject::invokeMethod(
        sink, [sink] { sink->start(); }, Qt::BlockingQueuedConnection);
    // A raw client with frames built once (masked, as a client's must be): QWebSocket's per-message
    // masking would be the limit at the higher rates, not the throttle.
    QTcpSocket client;
    QByteArray chunk;
    const QByteArray frame = ws::FrameWriter::frame(ws::Opcode::Binary, QByteArray(messageSize, 'x'), true);
    while (chunk.size() < 256 * 1024)
        chunk += frame;
    bool upgraded = false;
    QByteArray head;
    const auto fill = [&] {
        if (!upgraded)
            return;
        while (client.bytesToWrite() < 1024 * 1024)
            client.write(chunk);
    };
    QTimer pump;
    pump.setTimerType(Qt::PreciseTimer);
    pump.setInterval(1);
    QObject::connect(&pump, &QTimer::timeout, fill);
    QEventLoop loop;
    QElapsedTimer clock;
    QObject::connect(&client, &QTcpSocket::connected, [&] {
        const QByteArray host = "127.0.0.1:" + QByteArray::number(sink->port);
        client.write("GET ws://" + host + "/bench HTTP/1.1\r\nHost: " + host
                     + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
                       "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    });
    QObject::connect(&client, &QTcpSocket::readyRead, [&] {
        if (upgraded) {
            client.readAll();
            return;
        }
        head += client.readAll();
        if (!head.contains("\r\n\r\n"))
            return;
        if (!head.startsWith("HTTP/1.1 101")) {
            std::fprintf(stderr, "bench_throttle: no 101: %s\n", head.constData());
            loop.quit();
            return;
        }
        upgraded = true;
        pump.start();
        fill();
        QTimer::singleShot(warmupMs, [&] {
            sink->counting = true;
            clock.start();
        });
        QTimer::singleShot(warmupMs + windowMs, &loop, &QEventLoop::quit);
    });
    QTimer::singleShot(warmupMs + windowMs + 30000, &loop, &QEventLoop::quit); // bounded
    client.connectToHost(QHostAddress::LocalHost, proxyPort);
    loop.exec();
    sink->counting = false;
    const qint64 elapsedMs = std::max<qint64>(1, clock.elapsed());
    const qint64 counted = sink->counted;
    pump.stop();
    client.abort();
    QMetaObject::invokeMethod(
        sink, [sink] { delete sink; }, Qt::BlockingQueuedConnection);
    thread.quit();
    thread.wait();
    return {double(counted) * 1000.0 / double(elapsedMs), counted};
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    std::setvbuf(stdout, nullptr, _IOLBF, 0); // each rate's line as it is measured
    int seconds = 3;
    for (int i = 1; i + 1 < argc; ++i)
        if (QByteArray(argv[i]) == "--seconds")
            seconds = std::max(1, std::atoi(argv[++i]));
    std::printf("throttle precision: client -> server throttled through Socktap, wire bytes counted at the "
                "server after a 1 s warm-up, 2 cores\n");
    const qint64 rates[] = {10'000, 100'000, 1'000'000, 10'000'000, 30'000'000, 100'000'000, 0};
    for (const qint64 rate : rates) {
        auto hub = std::make_shared<intercept::InterceptHub>();
        if (rate) {
            QString error;
            const auto rules = intercept::RuleSet::fromJson(
                QStringLiteral(
                    "{\"rules\": [{\"match\": {\"direction\": \"client\"}, \"action\": \"throttle\", "
                    "\"bytesPerSecond\": %1}]}")
                    .arg(rate)
                    .toUtf8(),
                &error);
            if (!rules) {
                std::fprintf(stderr, "bench_throttle: %s\n", qPrintable(error));
                return 1;
            }
            hub->setRules(*rules);
        }
        proxy::ProxyConfig config;
        config.listenPort = 0;
        config.intercept = hub;
        capture::CaptureStore store;
        proxy::ProxyServer proxy(config, store);
        QString error;
        if (!proxy.start(&error)) {
            std::fprintf(stderr, "bench_throttle: %s\n", qPrintable(error));
            return 1;
        }
        // Messages of about a fiftieth of a second's worth (64 KiB at most, 256 bytes at least); slow
        // rates get a longer window so that a few hundred messages are counted.
        const qint64 size = rate ? std::clamp<qint64>(rate / 50, 256, 64 * 1024) : 64 * 1024;
        const int windowMs = rate && rate < 1'000'000 ? std::max(seconds, 8) * 1000 : seconds * 1000;
        const Result r = measure(proxy.port(), size, 1000, windowMs);
        if (rate)
            std::printf(
                "%12lld bytes/s  achieved %14.0f bytes/s  error %+6.2f%%  (%lld-byte messages, %d s)\n",
                static_cast<long long>(rate), r.bytesPerSecond,
                100.0 * (r.bytesPerSecond - double(rate)) / double(rate), static_cast<long long>(size),
                windowMs / 1000);
        else
            std::printf("   unthrottled  achieved %14.0f bytes/s  (the pipeline's own limit here)\n",
                        r.bytesPerSecond);
    }
    return 0;
}
