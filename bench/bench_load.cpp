// Load tool: the same workloads direct, through Socktap (explicit proxy and reverse mode) and, where
// Debian's mitmproxy is installed, through mitmdump, in one run. Socktap runs as its real binary in its own
// process (recording every message), so its memory is measured on its own. The generator is cheap on
// purpose: pre-encoded frames, blocking sockets on threads, a frame counter on the server side.
//
//   bench_load [--socktap PATH] [--rules FILE] [--quick] [--only direct|socktap|mitmdump] [--markdown FILE]
//   [--socktap-arg ARG]... [--small-messages N]
//   (--rules: Socktap runs with that rules file, to measure what loaded rules cost; --socktap-arg: any
//   other option, e.g. --memory-only to measure what recording to disk costs)
#include "core/http/HeadParser.h"
#include "core/ws/FrameParser.h"
#include "core/ws/FrameWriter.h"
#include "core/ws/Handshake.h"
#include "core/ws/Masking.h"

#include <QByteArray>
#include <QList>
#include <QString>

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <poll.h>
#include <spawn.h>
#include <string>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char **environ;

using namespace socktap;
using Clock = std::chrono::steady_clock;

namespace {

bool g_quick = false;
quint64 g_smallCount = 0; // --small-messages N: the 64 B workloads' count (a longer run to watch)

// --- sockets -------------------------------------------------------------------------------------------

int listenLoopback(quint16 &port, int backlog = 4096)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
    ::listen(fd, backlog);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
    port = ntohs(a.sin_port);
    return fd;
}

int connectLoopback(quint16 port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // A proxy that stops reading must not hang the benchmark.
    const timeval timeout {20, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    return fd;
}

bool sendAll(int fd, const char *data, size_t n)
{
    while (n > 0) {
        const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            return false;
        }
        data += w;
        n -= size_t(w);
    }
    return true;
}

// Reads an HTTP head; leftover bytes after it go to rest.
std::optional<http::RequestHead> readRequest(int fd, QByteArray &rest)
{
    http::HeadParser p(http::HeadParser::Kind::Request);
    char buf[4096];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            return std::nullopt;
        const auto r = p.feed(QByteArrayView(buf, n));
        if (r.status == http::HeadParser::Status::Complete) {
            rest = QByteArray(buf + r.consumed, n - r.consumed);
            return p.takeRequest();
        }
        if (r.status == http::HeadParser::Status::Error)
            return std::nullopt;
    }
}

bool readResponseHead(int fd, QByteArray &rest, int wanted = 101)
{
    http::HeadParser p(http::HeadParser::Kind::Response);
    char buf[4096];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            return false;
        const auto r = p.feed(QByteArrayView(buf, n));
        if (r.status == http::HeadParser::Status::Complete) {
            rest = QByteArray(buf + r.consumed, n - r.consumed);
            return p.response().status == wanted;
        }
        if (r.status == http::HeadParser::Status::Error)
            return false;
    }
}

QByteArray switching(const http::RequestHead &r)
{
    return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
           "Upgrade\r\nSec-WebSocket-Accept: "
        + ws::Handshake::acceptFor(r.headers.value("Sec-WebSocket-Key")) + "\r\n\r\n";
}

// --- routes: how a client reaches the server ---------------------------------------------------------

struct Route
{
    std::string name;
    quint16 connectPort = 0; // where the client connects
    bool absoluteForm = false; // explicit proxy: GET http://host:port/path
    bool tunnel = false; // explicit proxy: CONNECT host:port first, then the upgrade inside the tunnel
    pid_t pid = 0; // the proxy process, for memory readings
};

QByteArray upgradeFor(const Route &route, quint16 serverPort, const QByteArray &path = "/bench")
{
    const QByteArray host = "127.0.0.1:" + QByteArray::number(serverPort);
    const QByteArray target = route.absoluteForm ? "http://" + host + path : path;
    return "GET " + target + " HTTP/1.1\r\nHost: " + host
        + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
        + ws::Handshake::generateKey() + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

// Opens a WebSocket over route to the server; returns the fd (or -1) and bytes after the 101.
int openWebSocket(const Route &route, quint16 serverPort, QByteArray &rest)
{
    const int fd = connectLoopback(route.connectPort);
    if (fd < 0)
        return -1;
    if (route.tunnel) {
        const QByteArray host = "127.0.0.1:" + QByteArray::number(serverPort);
        const QByteArray connect = "CONNECT " + host + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
        if (!sendAll(fd, connect.constData(), size_t(connect.size())) || !readResponseHead(fd, rest, 200)) {
            ::close(fd);
            return -1;
        }
    }
    const QByteArray req = upgradeFor(route, serverPort);
    if (!sendAll(fd, req.constData(), size_t(req.size())) || !readResponseHead(fd, rest)) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Every event the parser finds in in, until it needs more.
template<typename OnEvent>
void forEachEvent(ws::FrameParser &parser, QByteArrayView in, OnEvent onEvent)
{
    for (;;) {
        const auto ev = parser.next(in);
        in = in.sliced(ev.consumed);
        if (ev.kind == ws::FrameParser::Event::Kind::NeedMore)
            return;
        onEvent(ev);
    }
}

// --- a server thread: accepts one connection, upgrades it, then counts or echoes frames --------------

struct SinkServer
{
    quint16 port = 0;
    int listener = -1;
    std::thread thread;
    std::atomic<quint64> messages {0};
    std::atomic<quint64> bytes {0};
    bool echo = false;

    explicit SinkServer(bool echoMessages)
        : echo(echoMessages)
    {
        listener = listenLoopback(port, 16);
        thread = std::thread([this] { run(); });
    }
    ~SinkServer()
    {
        ::shutdown(listener, SHUT_RDWR);
        ::close(listener);
        if (thread.joinable())
            thread.join();
    }
    void run()
    {
        // Serve the first connection that asks for an upgrade: a proxy may open others first (mitmdump
        // connects upstream as soon as a client, here the readiness probe, connects).
        int fd = -1;
        QByteArray rest;
        std::optional<http::RequestHead> req;
        while (!req) {
            fd = ::accept(listener, nullptr, nullptr);
            if (fd < 0)
                return;
            const int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            req = readRequest(fd, rest);
            if (!req)
                ::close(fd);
        }
        const QByteArray resp = switching(*req);
        sendAll(fd, resp.constData(), size_t(resp.size()));
        ws::FrameParser parser;
        std::vector<char> buf(256 * 1024);
        QByteArray echoPayload;
        QByteArray echoes; // frames to send back, written once per read (not one send per message)
        auto consume = [&](QByteArrayView in) {
            forEachEvent(parser, in, [&](const ws::FrameParser::Event &ev) {
                if (ev.kind == ws::FrameParser::Event::Kind::Payload && echo)
                    echoPayload += ev.payload;
                if (ev.kind == ws::FrameParser::Event::Kind::FrameEnd && ev.header.fin) {
                    if (echo) {
                        ws::applyMask(echoPayload.data(), echoPayload.constData(), echoPayload.size(),
                                      ev.header.maskKey, 0);
                        echoes += ws::FrameWriter::frame(ws::Opcode::Binary, echoPayload, false);
                        echoPayload.clear();
                    }
                    messages.fetch_add(1, std::memory_order_relaxed);
                }
            });
        };
        auto sendEchoes = [&] {
            if (!echoes.isEmpty())
                sendAll(fd, echoes.constData(), size_t(echoes.size()));
            echoes.clear();
        };
        consume(rest);
        sendEchoes();
        for (;;) {
            const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
            if (n <= 0)
                break;
            bytes.fetch_add(quint64(n), std::memory_order_relaxed);
            consume(QByteArrayView(buf.data(), n));
            sendEchoes();
        }
        ::close(fd);
    }
};

// --- workloads --------------------------------------------------------------------------------------

struct Throughput
{
    double messagesPerSecond = 0;
    double megabytesPerSecond = 0;
    quint64 delivered = 0;
    bool ok = false; // every message arrived
};

constexpr int WorkloadSeconds = 90; // a slow proxy is measured over this long, then stopped

// One connection, `count` messages of `size` bytes pipelined client -> server; time until the server has
// counted the last one. With an echoing server, until the client has read back every echo (the proxy then
// relays 2 x count messages).
Throughput pipelined(const Route &route, SinkServer &server, qsizetype size, quint64 count)
{
    QByteArray rest;
    const int fd = openWebSocket(route, server.port, rest);
    if (fd < 0)
        return {};
    // Pre-encode a batch of frames with one mask key: encoding is not what is measured.
    ws::FrameHeader h;
    h.opcode = quint8(ws::Opcode::Binary);
    h.masked = true;
    h.maskKey = {0x12, 0x34, 0x56, 0x78};
    const QByteArray one = ws::FrameWriter::frame(h, QByteArray(size, 'b'));
    const quint64 perBatch = std::max<quint64>(1, (1 << 20) / quint64(one.size()));
    QByteArray batch;
    batch.reserve(one.size() * qsizetype(perBatch));
    for (quint64 i = 0; i < perBatch; ++i)
        batch += one;
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::seconds(WorkloadSeconds);
    // Echoes are read on their own thread, so that neither side's socket buffer fills and stalls the other.
    std::atomic<quint64> echoed {0};
    std::thread reader;
    if (server.echo) {
        reader = std::thread([&, leftover = rest] {
            ws::FrameParser parser;
            std::vector<char> buf(256 * 1024);
            auto countEchoes = [&](QByteArrayView in) {
                forEachEvent(parser, in, [&](const ws::FrameParser::Event &ev) {
                    if (ev.kind == ws::FrameParser::Event::Kind::FrameEnd && ev.header.fin)
                        echoed.fetch_add(1, std::memory_order_relaxed);
                });
            };
            countEchoes(leftover);
            while (echoed.load() < count && Clock::now() < deadline) {
                const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
                if (n <= 0)
                    break;
                countEchoes(QByteArrayView(buf.data(), n));
            }
        });
    }
    quint64 sent = 0;
    while (sent < count && Clock::now() < deadline) {
        const quint64 n = std::min(perBatch, count - sent);
        if (!sendAll(fd, batch.constData(), size_t(n * quint64(one.size()))))
            break;
        sent += n;
    }
    const auto done = [&] { return server.echo ? echoed.load() : server.messages.load(); };
    while (done() < sent && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    ::shutdown(fd, SHUT_RDWR);
    if (reader.joinable())
        reader.join();
    ::close(fd);
    Throughput t;
    t.delivered = done();
    t.ok = t.delivered == count;
    t.messagesPerSecond = double(t.delivered) / seconds;
    t.megabytesPerSecond = double(t.delivered) * double(size) / seconds / 1e6;
    return t;
}

// Idle CPUs take tens of microseconds to wake (a halted vCPU, a deep C-state), which swamps a loopback
// round trip: a bare TCP ping-pong here is p50 90 us idle, 10 us awake. During the latency workload the
// benchmark asks for zero wake-up latency through PM QoS (/dev/cpu_dma_latency, what tuned's
// latency-performance profile does), so it measures software rather than halt states. Without the
// permission it says so and measures anyway.
struct WakeLatencyRequest
{
    int fd = -1;
    WakeLatencyRequest()
    {
        fd = ::open("/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC);
        const qint32 zero = 0;
        if (fd >= 0 && ::write(fd, &zero, sizeof zero) != sizeof zero) {
            ::close(fd);
            fd = -1;
        }
    }
    ~WakeLatencyRequest()
    {
        if (fd >= 0)
            ::close(fd); // the request lasts while the descriptor is open
    }
    bool active() const { return fd >= 0; }
};

struct Latency
{
    double p50 = 0;
    double p99 = 0;
    bool ok = false;
};

// Ping-pong: a 64-byte message and its echo, one at a time.
Latency pingPong(const Route &route, const SinkServer &server, int rounds)
{
    QByteArray rest;
    const int fd = openWebSocket(route, server.port, rest);
    if (fd < 0)
        return {};
    const QByteArray frame = ws::FrameWriter::frame(ws::Opcode::Binary, QByteArray(64, 'p'), true);
    const qsizetype echoSize = 2 + 64;
    std::vector<double> micros;
    micros.reserve(size_t(rounds));
    char buf[4096];
    for (int i = 0; i < rounds; ++i) {
        const auto t0 = Clock::now();
        if (!sendAll(fd, frame.constData(), size_t(frame.size())))
            break;
        qsizetype got = 0;
        while (got < echoSize) {
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0)
                break;
            got += n;
        }
        if (got < echoSize)
            break;
        micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    ::close(fd);
    Latency l;
    if (micros.size() != size_t(rounds))
        return l;
    std::sort(micros.begin(), micros.end());
    l.p50 = micros[micros.size() / 2];
    l.p99 = micros[micros.size() * 99 / 100];
    l.ok = true;
    return l;
}

// A server for many connections: an epoll thread that upgrades each one and echoes small frames.
struct EchoPool
{
    quint16 port = 0;
    int listener = -1;
    std::atomic<bool> stop {false};
    std::thread thread;
    bool sink = false; // only count what arrives after the upgrade (sunk), echo nothing
    std::atomic<quint64> sunk {0};

    explicit EchoPool(bool sinkOnly = false)
        : sink(sinkOnly)
    {
        listener = listenLoopback(port);
        ::fcntl(listener, F_SETFL, ::fcntl(listener, F_GETFL) | O_NONBLOCK); // accept until EAGAIN
        thread = std::thread([this] { run(); });
    }
    ~EchoPool()
    {
        stop = true;
        thread.join();
        ::close(listener);
    }
    void run()
    {
        const int ep = ::epoll_create1(0);
        epoll_event ev {};
        ev.events = EPOLLIN;
        ev.data.fd = listener;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
        std::vector<QByteArray> inbox(65536);
        std::vector<bool> upgraded(65536, false);
        epoll_event events[256];
        while (!stop) {
            const int n = ::epoll_wait(ep, events, 256, 50);
            for (int i = 0; i < n; ++i) {
                const int fd = events[i].data.fd;
                if (fd == listener) {
                    int c;
                    while ((c = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
                        epoll_event e {};
                        e.events = EPOLLIN;
                        e.data.fd = c;
                        ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
                    }
                    continue;
                }
                char buf[4096];
                const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
                if (r <= 0) {
                    ::close(fd);
                    inbox[size_t(fd)].clear();
                    upgraded[size_t(fd)] = false;
                    continue;
                }
                QByteArray &in = inbox[size_t(fd)];
                in.append(buf, r);
                if (!upgraded[size_t(fd)]) {
                    http::HeadParser p(http::HeadParser::Kind::Request);
                    const auto res = p.feed(in);
                    if (res.status != http::HeadParser::Status::Complete)
                        continue;
                    in.remove(0, res.consumed);
                    const QByteArray resp = switching(p.request());
                    sendAll(fd, resp.constData(), size_t(resp.size()));
                    upgraded[size_t(fd)] = true;
                }
                if (sink) {
                    sunk += quint64(in.size());
                    in.clear();
                    continue;
                }
                // Echo each complete small masked client frame (2 + 4 + n bytes), unmasked.
                while (in.size() >= 6 && in.size() >= 6 + (quint8(in[1]) & 0x7f)) {
                    const int len = quint8(in[1]) & 0x7f;
                    QByteArray payload = in.mid(6, len);
                    const std::array<quint8, 4> key {quint8(in[2]), quint8(in[3]), quint8(in[4]),
                                                     quint8(in[5])};
                    ws::applyMask(payload.data(), payload.constData(), len, key, 0);
                    const QByteArray frame = ws::FrameWriter::frame(ws::Opcode::Text, payload, false);
                    sendAll(fd, frame.constData(), size_t(frame.size()));
                    in.remove(0, 6 + len);
                }
            }
        }
        ::close(ep);
    }
};

// Starts `count` non-blocking connections to the port on loopback, each registered with ep for writing
// (connected) and reading. Returns those that got a descriptor.
std::vector<int> connectMany(quint16 port, int count, int ep)
{
    std::vector<int> fds;
    for (int i = 0; i < count; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fd < 0)
            continue;
        sockaddr_in a {};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        ::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
        epoll_event e {};
        e.events = EPOLLOUT | EPOLLIN;
        e.data.fd = fd;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
        fds.push_back(fd);
    }
    return fds;
}

struct Concurrency
{
    int opened = 0;
    int echoed = 0;
    double seconds = 0;
};

// `count` WebSocket connections opened at once; each sends one message and waits for its echo; all stay
// open until the last one is through.
Concurrency concurrent(const Route &route, quint16 serverPort, int count)
{
    Concurrency c;
    const auto start = Clock::now();
    const int ep = ::epoll_create1(0);
    std::vector<int> stage(65536, 0); // 0 connecting, 1 request sent, 2 upgraded, 3 echoed
    std::vector<QByteArray> inbox(65536);
    const std::vector<int> fds = connectMany(route.connectPort, count, ep);
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    epoll_event events[512];
    while (c.echoed < count && Clock::now() < deadline) {
        const int n = ::epoll_wait(ep, events, 512, 100);
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            int &st = stage[size_t(fd)];
            if ((events[i].events & EPOLLOUT) && st == 0) {
                st = 1;
                const QByteArray req = upgradeFor(route, serverPort);
                sendAll(fd, req.constData(), size_t(req.size()));
                epoll_event e {};
                e.events = EPOLLIN;
                e.data.fd = fd;
                ::epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
            }
            if (!(events[i].events & EPOLLIN))
                continue;
            char buf[4096];
            const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
            if (r <= 0)
                continue;
            QByteArray &in = inbox[size_t(fd)];
            in.append(buf, r);
            if (st == 1) {
                const qsizetype end = in.indexOf("\r\n\r\n");
                if (end < 0 || !in.startsWith("HTTP/1.1 101"))
                    continue;
                in.remove(0, end + 4);
                st = 2;
                ++c.opened;
                const QByteArray frame =
                    ws::FrameWriter::frame(ws::Opcode::Text, "hi " + QByteArray::number(fd), true);
                sendAll(fd, frame.constData(), size_t(frame.size()));
            }
            if (st == 2 && in.size() >= 2 && in.size() >= 2 + (quint8(in[1]) & 0x7f)) {
                st = 3;
                ++c.echoed;
            }
        }
    }
    c.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    for (int fd : fds)
        ::close(fd);
    ::close(ep);
    return c;
}

struct Scale
{
    int opened = 0; // upgraded (101)
    int refused = 0; // 503: Socktap at its connection limit
    int failed = 0; // anything else, or no answer
    double openSeconds = 0; // until every connection was answered
    quint64 messages = 0; // echoed while all were open
    double messageSeconds = 0;
};

// `count` WebSocket sessions opened at once and kept open; then `rounds` times every open session sends
// a message and waits for its echo (messages flowing through all of them at the same time).
Scale scale(const Route &route, quint16 serverPort, int count, int rounds,
            const std::function<void()> &allOpen)
{
    Scale s;
    const auto start = Clock::now();
    const int ep = ::epoll_create1(0);
    std::vector<int> stage(65536, 0); // 0 connecting, 1 request sent, 2 open, 3 done (refused/failed)
    std::vector<int> echoed(65536, 0);
    std::vector<QByteArray> inbox(65536);
    int answered = 0; // connections that got their answer (or failed)
    const std::vector<int> fds = connectMany(route.connectPort, count, ep);
    s.failed = answered = count - int(fds.size()); // no descriptor for them
    auto deadline = Clock::now() + std::chrono::seconds(120);
    epoll_event events[512];
    int round = 0; // messages each open session has had echoed, in the flowing phase
    auto sendRound = [&] {
        for (int fd : fds)
            if (stage[size_t(fd)] == 2) {
                const QByteArray frame = ws::FrameWriter::frame(
                    ws::Opcode::Text, "m" + QByteArray::number(round) + " " + QByteArray::number(fd), true);
                sendAll(fd, frame.constData(), size_t(frame.size()));
            }
    };
    bool flowing = false;
    int inRound = 0;
    Clock::time_point flowStart;
    while (Clock::now() < deadline) {
        if (!flowing && answered >= count) {
            s.openSeconds = std::chrono::duration<double>(Clock::now() - start).count();
            allOpen();
            flowing = true;
            flowStart = Clock::now();
            deadline = flowStart + std::chrono::seconds(120);
            if (s.opened == 0 || rounds == 0)
                break;
            sendRound();
        }
        const int n = ::epoll_wait(ep, events, 512, 100);
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            int &st = stage[size_t(fd)];
            if ((events[i].events & EPOLLOUT) && st == 0) {
                st = 1;
                const QByteArray req = upgradeFor(route, serverPort);
                sendAll(fd, req.constData(), size_t(req.size()));
                epoll_event e {};
                e.events = EPOLLIN;
                e.data.fd = fd;
                ::epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
            }
            if (!(events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                continue;
            char buf[4096];
            const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
            if (r <= 0) {
                if (st < 2) {
                    ++s.failed;
                    ++answered;
                    st = 3;
                    ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
                }
                continue;
            }
            QByteArray &in = inbox[size_t(fd)];
            in.append(buf, r);
            if (st == 1) {
                const qsizetype end = in.indexOf("\r\n\r\n");
                if (end < 0)
                    continue;
                ++answered;
                if (in.startsWith("HTTP/1.1 101")) {
                    st = 2;
                    ++s.opened;
                } else {
                    ++(in.startsWith("HTTP/1.1 503") ? s.refused : s.failed);
                    st = 3;
                    ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
                }
                in.remove(0, end + 4);
            }
            while (st == 2 && in.size() >= 2 && in.size() >= 2 + (quint8(in[1]) & 0x7f)) {
                in.remove(0, 2 + (quint8(in[1]) & 0x7f));
                ++echoed[size_t(fd)];
                ++s.messages;
                if (++inRound == s.opened) {
                    inRound = 0;
                    if (++round == rounds)
                        break;
                    sendRound();
                }
            }
        }
        if (flowing && round == rounds)
            break;
    }
    s.messageSeconds = std::chrono::duration<double>(Clock::now() - flowStart).count();
    for (int fd : fds)
        ::close(fd);
    ::close(ep);
    return s;
}

struct Fanout
{
    int opened = 0;
    double seconds = 0;
    bool ok = false;
};

// `count` WebSocket sessions each send `messages` messages of `size` bytes at the same time, to a sink.
Fanout fanout(const Route &route, EchoPool &sink, int count, int messages, qsizetype size)
{
    Fanout f;
    const auto start = Clock::now();
    const QByteArray frame = ws::FrameWriter::frame(ws::Opcode::Binary, QByteArray(size, 'f'), true);
    const quint64 perConnection = quint64(frame.size()) * quint64(messages);
    const int ep = ::epoll_create1(0);
    std::vector<int> stage(65536, 0); // 0 connecting, 1 request sent, 2 sending, 3 sent
    std::vector<quint64> offset(65536, 0);
    std::vector<QByteArray> inbox(65536);
    const std::vector<int> fds = connectMany(route.connectPort, count, ep);
    int sent = 0;
    const auto deadline = Clock::now() + std::chrono::seconds(WorkloadSeconds);
    epoll_event events[512];
    while (sent < count && Clock::now() < deadline) {
        const int n = ::epoll_wait(ep, events, 512, 100);
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            int &st = stage[size_t(fd)];
            if ((events[i].events & EPOLLOUT) && st == 0) {
                st = 1;
                const QByteArray req = upgradeFor(route, sink.port);
                sendAll(fd, req.constData(), size_t(req.size()));
                epoll_event e {};
                e.events = EPOLLIN;
                e.data.fd = fd;
                ::epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
                continue;
            }
            if (st == 1 && (events[i].events & EPOLLIN)) {
                char buf[4096];
                const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
                if (r > 0)
                    inbox[size_t(fd)].append(buf, r);
                if (!inbox[size_t(fd)].contains("\r\n\r\n"))
                    continue;
                st = 2;
                ++f.opened;
                epoll_event e {};
                e.events = EPOLLOUT;
                e.data.fd = fd;
                ::epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
                continue;
            }
            if (st == 2 && (events[i].events & EPOLLOUT)) {
                quint64 &done = offset[size_t(fd)];
                while (done < perConnection) {
                    const qsizetype at = qsizetype(done % quint64(frame.size()));
                    const ssize_t w =
                        ::send(fd, frame.constData() + at, size_t(frame.size() - at), MSG_NOSIGNAL);
                    if (w <= 0)
                        break;
                    done += quint64(w);
                }
                if (done == perConnection) {
                    st = 3;
                    ++sent;
                    ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
                }
            }
        }
    }
    const quint64 total = perConnection * quint64(count);
    while (sink.sunk < total && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    f.ok = sink.sunk == total;
    f.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    for (int fd : fds)
        ::close(fd);
    ::close(ep);
    return f;
}

// --- processes --------------------------------------------------------------------------------------

qint64 statusKb(pid_t pid, const char *field)
{
    FILE *f = std::fopen(("/proc/" + std::to_string(pid) + "/status").c_str(), "r");
    if (!f)
        return 0;
    char line[256];
    qint64 kb = 0;
    while (std::fgets(line, sizeof line, f)) {
        if (std::strncmp(line, field, std::strlen(field)) == 0)
            kb = std::atoll(line + std::strlen(field) + 1);
    }
    std::fclose(f);
    return kb;
}

// CPU seconds (user + system) a process has used so far.
double cpuSeconds(pid_t pid)
{
    FILE *f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
    if (!f)
        return 0;
    char line[1024];
    const bool ok = std::fgets(line, sizeof line, f) != nullptr;
    std::fclose(f);
    if (!ok)
        return 0;
    // After the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const char *p = std::strrchr(line, ')');
    unsigned long long utime = 0, stime = 0;
    if (!p || std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return 0;
    return double(utime + stime) / double(::sysconf(_SC_CLK_TCK));
}

bool waitForPort(quint16 port)
{
    for (int i = 0; i < 200; ++i) {
        const int fd = connectLoopback(port);
        if (fd >= 0) {
            ::close(fd);
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

quint16 freePort()
{
    quint16 port = 0;
    const int fd = listenLoopback(port);
    ::close(fd);
    return port;
}

pid_t spawn(const std::vector<std::string> &args)
{
    std::vector<char *> argv;
    for (const auto &a : args)
        argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    return rc == 0 ? pid : 0;
}

void stopProcess(pid_t pid)
{
    if (pid <= 0)
        return;
    ::kill(pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100 && ::waitpid(pid, &status, WNOHANG) == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, WNOHANG);
}

std::string g_rules; // --rules FILE passed to socktap
std::vector<std::string> g_socktapArgs; // --socktap-arg ARG (repeatable): more options for socktap

// Starts a proxy for one route. reverseTo: the upstream port for reverse mode (0: explicit proxy, with
// CONNECT tunnels when tunnel is set, else absolute-form upgrades).
Route startProxy(const std::string &kind, const std::string &socktap, quint16 reverseTo, bool tunnel)
{
    Route r;
    const quint16 port = freePort();
    r.connectPort = port;
    r.absoluteForm = reverseTo == 0 && !tunnel;
    r.tunnel = reverseTo == 0 && tunnel;
    const std::string mode = reverseTo ? "reverse" : tunnel ? "CONNECT" : "explicit";
    const std::string listen = "127.0.0.1:" + std::to_string(port);
    if (kind == "socktap") {
        std::vector<std::string> args {socktap, "--headless", "--quiet", "--listen", listen};
        if (!g_rules.empty())
            args.insert(args.end(), {"--rules", g_rules});
        args.insert(args.end(), g_socktapArgs.begin(), g_socktapArgs.end());
        if (reverseTo)
            args.insert(args.end(), {"--reverse", "ws://127.0.0.1:" + std::to_string(reverseTo)});
        r.pid = spawn(args);
        r.name = "socktap " + mode;
    } else {
        std::vector<std::string> args {
            "mitmdump", "-q", "--listen-host", "127.0.0.1", "--listen-port", std::to_string(port)};
        if (reverseTo)
            args.insert(args.end(), {"--mode", "reverse:http://127.0.0.1:" + std::to_string(reverseTo)});
        r.pid = spawn(args);
        r.name = "mitmdump " + mode;
    }
    if (!r.pid || !waitForPort(port)) {
        stopProcess(r.pid);
        r.pid = 0;
    }
    return r;
}

bool haveProgram(const char *name)
{
    return std::system((std::string("command -v ") + name + " >/dev/null 2>&1").c_str()) == 0;
}

// --sessions N: N WebSocket sessions at once through Socktap (explicit proxy), then messages through all.
// The echo server runs in a child process: one process cannot hold both ends of 10,000 connections under
// a 20,000-descriptor limit.
int runScale(const std::string &socktap, int count)
{
    int pipeFds[2];
    if (::pipe(pipeFds) != 0)
        return 1;
    const pid_t server = ::fork();
    if (server == 0) {
        ::close(pipeFds[0]);
        EchoPool pool;
        (void)!::write(pipeFds[1], &pool.port, sizeof pool.port);
        ::close(pipeFds[1]);
        for (int i = 0; i < 600 && ::getppid() != 1; ++i) // bounded: ends with its parent, or in 10 min
            std::this_thread::sleep_for(std::chrono::seconds(1));
        std::_Exit(0);
    }
    ::close(pipeFds[1]);
    quint16 serverPort = 0;
    (void)!::read(pipeFds[0], &serverPort, sizeof serverPort);
    ::close(pipeFds[0]);
    const Route route = startProxy("socktap", socktap, 0, false);
    if (!route.pid || !serverPort) {
        std::printf("socktap could not start\n");
        stopProcess(server);
        return 1;
    }
    const qint64 idleKb = statusKb(route.pid, "VmRSS");
    const int rounds = 10;
    qint64 openKb = 0;
    const Scale s = scale(route, serverPort, count, rounds, [&] { openKb = statusKb(route.pid, "VmRSS"); });
    const qint64 peakKb = statusKb(route.pid, "VmHWM");
    std::printf("%d sessions at once through socktap (explicit proxy), then %d messages through each:\n",
                count, rounds);
    std::printf("  opened %d, refused with 503 (connection limit) %d, failed %d; all answered in %.2f s\n",
                s.opened, s.refused, s.failed, s.openSeconds);
    std::printf("  RSS idle %.0f MiB, with all open %.0f MiB: %.1f KiB per open session; peak %.0f MiB\n",
                double(idleKb) / 1024, double(openKb) / 1024,
                s.opened ? double(openKb - idleKb) / s.opened : 0.0, double(peakKb) / 1024);
    std::printf("  %llu messages echoed through all open sessions in %.2f s: %.0f round trips/s\n",
                static_cast<unsigned long long>(s.messages), s.messageSeconds,
                s.messageSeconds > 0 ? double(s.messages) / s.messageSeconds : 0.0);
    stopProcess(route.pid);
    stopProcess(server);
    return s.failed == 0 && s.opened > 0 ? 0 : 1;
}

// --fanout N: N sessions each send two 1 MiB messages at once through Socktap with its default 1 GiB
// capture budget (so the capture must spill): its peak resident memory against the budget.
int runFanout(const std::string &socktap, int count)
{
    EchoPool sink(true);
    const Route route = startProxy("socktap", socktap, 0, false);
    if (!route.pid) {
        std::printf("socktap could not start\n");
        return 1;
    }
    const qint64 idleKb = statusKb(route.pid, "VmRSS");
    const int messages = 2;
    const Fanout f = fanout(route, sink, count, messages, 1 << 20);
    const qint64 peakKb = statusKb(route.pid, "VmHWM");
    std::printf("%d sessions each sending %d x 1 MiB at once through socktap (capture budget 1 GiB%s):\n",
                count, messages, g_socktapArgs.empty() ? "" : ", with extra options");
    std::printf("  %d opened, %s in %.2f s (%.0f MiB through)\n", f.opened,
                f.ok ? "all delivered" : "NOT all delivered", f.seconds, double(count) * messages);
    std::printf("  RSS idle %.0f MiB, peak %.0f MiB: %.0f%% of the 1024 MiB budget\n", double(idleKb) / 1024,
                double(peakKb) / 1024, 100.0 * double(peakKb) / 1024 / 1024);
    stopProcess(route.pid);
    return f.ok ? 0 : 1;
}

struct Row
{
    std::string route;
    std::string workload;
    std::string value;
};

} // namespace

int main(int argc, char **argv)
{
    std::signal(SIGPIPE, SIG_IGN);
    std::string socktap = "build/app/socktap";
    std::string markdown;
    std::string only; // run only routes whose kind is this (direct, socktap, mitmdump)
    int sessions = 0; // --sessions N: only the scale workload, N sessions through Socktap
    int fanoutCount = 0; // --fanout N: only the memory workload, N sessions sending 1 MiB messages at once
    bool bulkOnly =
        false; // --bulk-only: only the throughput workloads (one-way and echo), for CPU comparisons
    std::vector<std::string> routes; // --route explicit|CONNECT|reverse|direct (repeatable): only those
    std::string workload; // --workload LABEL: only that bulk workload (for a profiler attached to the proxy)
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--socktap" && i + 1 < argc)
            socktap = argv[++i];
        else if (a == "--markdown" && i + 1 < argc)
            markdown = argv[++i];
        else if (a == "--quick")
            g_quick = true;
        else if (a == "--only" && i + 1 < argc)
            only = argv[++i];
        else if (a == "--rules" && i + 1 < argc)
            g_rules = argv[++i];
        else if (a == "--socktap-arg" && i + 1 < argc)
            g_socktapArgs.push_back(argv[++i]);
        else if (a == "--sessions" && i + 1 < argc)
            sessions = std::atoi(argv[++i]);
        else if (a == "--fanout" && i + 1 < argc)
            fanoutCount = std::atoi(argv[++i]);
        else if (a == "--bulk-only")
            bulkOnly = true;
        else if (a == "--small-messages" && i + 1 < argc)
            g_smallCount = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--route" && i + 1 < argc)
            routes.push_back(argv[++i]);
        else if (a == "--workload" && i + 1 < argc)
            workload = argv[++i];
    }
    rlimit limit {};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);

    if (sessions > 0)
        return runScale(socktap, sessions);
    if (fanoutCount > 0)
        return runFanout(socktap, fanoutCount);

    const quint64 smallCount = g_smallCount ? g_smallCount : g_quick ? 200'000 : 2'000'000;
    const quint64 mediumCount = g_quick ? 4'096 : 32'768; // 16 KiB: 512 MiB
    const quint64 largeCount = g_quick ? 64 : 512; // 1 MiB: 512 MiB
    const int rounds = g_quick ? 2'000 : 20'000;
    const int connections = g_quick ? 1'000 : 5'000;
    const bool mitm = haveProgram("mitmdump");
    // Socktap keeps its capture in the cache directory (the crash journal): a throw-away one, removed at the
    // end, so that benchmark traffic never fills the user's.
    char cacheTemplate[] = "/tmp/socktap-bench-cache-XXXXXX";
    const char *cache = ::mkdtemp(cacheTemplate);
    if (cache)
        ::setenv("XDG_CACHE_HOME", cache, 1);
    struct RemoveCache
    {
        const char *path;
        ~RemoveCache()
        {
            if (path)
                std::system((std::string("rm -rf '") + path + "'").c_str());
        }
    } removeCache {cache};
    std::printf("socktap load benchmark: %u cores, %s run, fd limit %llu; mitmdump %s\n\n",
                std::thread::hardware_concurrency(), g_quick ? "quick" : "full",
                static_cast<unsigned long long>(limit.rlim_cur),
                mitm ? "found: measured side by side" : "not installed: skipped");

    std::vector<Row> rows;
    auto report = [&](const std::string &route, const std::string &workload, const std::string &value) {
        std::printf("%-18s %-36s %s\n", route.c_str(), workload.c_str(), value.c_str());
        std::fflush(stdout);
        rows.push_back({route, workload, value});
    };
    auto fmt = [](const char *f, double v) {
        char b[96];
        std::snprintf(b, sizeof b, f, v);
        return std::string(b);
    };

    // Each workload: its server first, then the route to it (a proxy started for that server, so reverse
    // mode knows its upstream), then the client side; the proxy is stopped after each workload.
    struct Target
    {
        std::string kind;
        bool reverse;
        bool tunnel = false;
        std::string mode() const
        {
            return kind == "direct" ? "direct" : reverse ? "reverse" : tunnel ? "CONNECT" : "explicit";
        }
    };
    std::vector<Target> targets {
        {"direct", false}, {"socktap", false}, {"socktap", false, true}, {"socktap", true}};
    if (mitm) {
        targets.push_back({"mitmdump", false});
        targets.push_back({"mitmdump", false, true});
        targets.push_back({"mitmdump", true});
    }
    for (const Target &t : targets) {
        if (!only.empty() && t.kind != only)
            continue;
        if (!routes.empty() && std::find(routes.begin(), routes.end(), t.mode()) == routes.end())
            continue;
        auto withRoute = [&](quint16 serverPort, const std::function<void(const Route &, qint64)> &fn) {
            Route route;
            if (t.kind == "direct") {
                route.name = "direct";
                route.connectPort = serverPort;
            } else {
                route = startProxy(t.kind, socktap, t.reverse ? serverPort : 0, t.tunnel);
                if (!route.pid) {
                    report(t.kind, "start", "FAILED");
                    return;
                }
            }
            const qint64 idleKb = route.pid ? statusKb(route.pid, "VmRSS") : 0;
            fn(route, idleKb);
            if (route.pid)
                stopProcess(route.pid);
        };
        // One-way (client -> server), then echoed (the server sends every message back): the proxy's CPU per
        // message and per byte it relayed, in both directions.
        const std::vector<std::tuple<std::string, qsizetype, quint64, bool>> bulk {
            {"64 B messages, pipelined", 64, smallCount, false},
            {"16 KiB messages", 16 * 1024, mediumCount, false},
            {"1 MiB messages", 1024 * 1024, largeCount, false},
            {"64 B messages, echoed", 64, smallCount / 2, true},
            {"16 KiB messages, echoed", 16 * 1024, mediumCount / 2, true},
            {"1 MiB messages, echoed", 1024 * 1024, largeCount / 2, true}};
        for (const auto &[label, size, count, echoed] : bulk) {
            if (!workload.empty() && label != workload)
                continue;
            SinkServer server(echoed);
            withRoute(server.port, [&](const Route &route, qint64 idleKb) {
                const double cpuBefore = route.pid ? cpuSeconds(route.pid) : 0;
                const Throughput r = pipelined(route, server, size, count);
                const double cpu = route.pid ? cpuSeconds(route.pid) - cpuBefore : 0;
                std::string value = size == 64 ? fmt("%.0f messages/s", r.messagesPerSecond)
                                               : fmt("%.0f MB/s", r.megabytesPerSecond);
                if (!r.ok)
                    value += " (stopped after " + std::to_string(WorkloadSeconds) + " s: "
                        + std::to_string(r.delivered) + " of " + std::to_string(count) + " delivered)";
                report(route.name, label, value);
                if (r.delivered == 0)
                    return;
                if (route.pid) {
                    // What the proxy costs the machine, not only how fast it goes: on two cores its CPU is
                    // taken from the client and the server being debugged. Echoed: per message relayed, each
                    // way counted.
                    const double relayed = double(r.delivered) * (echoed ? 2 : 1);
                    const double gb = relayed * double(size) / 1e9;
                    report(route.name, "  proxy CPU, " + label,
                           fmt("%.2f s per GB", cpu / gb)
                               + fmt(", %.2f s per million messages", cpu / (relayed / 1e6)));
                }
                if (route.pid && !echoed) {
                    const double peak = double(statusKb(route.pid, "VmHWM")) / 1024;
                    report(route.name, "  peak RSS after " + label, fmt("%.0f MiB", peak));
                }
                if (size == 64 && route.pid && !echoed) {
                    // Memory per captured message beyond its payload: resident growth over the idle
                    // process, less the payloads, per message.
                    const double grown = double(statusKb(route.pid, "VmRSS") - idleKb) * 1024;
                    report(route.name, "  memory per captured message",
                           fmt("%.0f bytes beyond the payload", grown / double(r.delivered) - double(size)));
                }
            });
        }
        if (bulkOnly || !workload.empty())
            continue;
        {
            SinkServer echo(true);
            withRoute(echo.port, [&](const Route &route, qint64) {
                WakeLatencyRequest awake;
                const Latency l = pingPong(route, echo, rounds);
                report(
                    route.name, "ping-pong round trip, 64 B",
                    (l.ok ? fmt("p50 %.1f us", l.p50) + fmt(", p99 %.1f us", l.p99) : std::string("FAILED"))
                        + (awake.active() ? "" : " (no PM QoS: idle wake-ups included)"));
            });
        }
        {
            EchoPool pool;
            withRoute(pool.port, [&](const Route &route, qint64) {
                const Concurrency c = concurrent(route, pool.port, connections);
                report(route.name, std::to_string(connections) + " concurrent connections",
                       std::to_string(c.echoed) + " of " + std::to_string(connections) + " echoed"
                           + fmt(" in %.2f s", c.seconds)
                           + (c.echoed == connections
                                  ? ""
                                  : " (" + std::to_string(connections - c.echoed) + " FAILED)"));
            });
        }
    }
    if (!markdown.empty()) {
        if (FILE *f = std::fopen(markdown.c_str(), "w")) {
            std::fprintf(f, "| route | workload | result |\n| --- | --- | --- |\n");
            for (const Row &r : rows)
                std::fprintf(f, "| %s | %s | %s |\n", r.route.c_str(), r.workload.c_str(), r.value.c_str());
            std::fclose(f);
        }
    }
    return 0;
}
