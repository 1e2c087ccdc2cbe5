// Micro-benchmark of the frame codec: unmasking, frame parsing, parsing with unmasking, and full message
// assembly, over client (masked) frames of several sizes fed in 64 KiB reads as a socket delivers them.
// Prints GB/s and frames/s. Not a test: numbers, not verdicts.
#include "core/ws/FrameParser.h"
#include "core/ws/FrameWriter.h"
#include "core/ws/Masking.h"
#include "core/ws/MessageAssembler.h"

#include <QElapsedTimer>

#include <cstdio>

using namespace socktap::ws;

namespace {

constexpr qsizetype ReadSize = 64 * 1024;
constexpr qsizetype StreamTarget = 64 * 1024 * 1024;

QByteArray makeStream(qsizetype payloadSize, qsizetype &frames)
{
    QByteArray payload(payloadSize, 'x');
    for (qsizetype i = 0; i < payloadSize; ++i)
        payload[i] = char('a' + i % 26);
    FrameHeader h;
    h.opcode = quint8(Opcode::Text);
    h.masked = true;
    h.maskKey = {0x11, 0x22, 0x33, 0x44};
    const QByteArray one = FrameWriter::frame(h, payload);
    frames = std::max<qsizetype>(1, StreamTarget / one.size());
    QByteArray stream;
    stream.reserve(one.size() * frames);
    for (qsizetype i = 0; i < frames; ++i)
        stream += one;
    return stream;
}

template<typename Fn>
double timeIt(qsizetype bytes, Fn &&fn, double &gbps)
{
    // Repeat until at least half a second has passed; report the best of three runs' throughput.
    double best = 0;
    double seconds = 0;
    for (int run = 0; run < 3; ++run) {
        QElapsedTimer t;
        t.start();
        int reps = 0;
        do {
            fn();
            ++reps;
        } while (t.nsecsElapsed() < 500'000'000);
        seconds = double(t.nsecsElapsed()) / 1e9 / reps;
        best = std::max(best, double(bytes) / seconds / 1e9);
    }
    gbps = best;
    return seconds;
}

struct Mode
{
    const char *name;
    bool unmask;
    bool assemble;
};

} // namespace

int main()
{
    std::printf("socktap codec benchmark (single thread, masked client frames, fed in %lld-byte reads)\n\n",
                static_cast<long long>(ReadSize));
    {
        QByteArray src(StreamTarget, 'q'), dst(StreamTarget, 0);
        const std::array<quint8, 4> key {1, 2, 3, 4};
        double gbps = 0;
        timeIt(
            src.size(), [&] { applyMask(dst.data(), src.constData(), src.size(), key, 1); }, gbps);
        std::printf("%-28s %8.2f GB/s\n\n", "unmask (applyMask)", gbps);
    }
    std::printf("%-10s %-22s %10s %14s\n", "payload", "work", "GB/s", "frames/s");
    const Mode modes[] = {
        {"parse", false, false}, {"parse + unmask", true, false}, {"parse + assemble", true, true}};
    for (const qsizetype size :
         {qsizetype(64), qsizetype(1024), qsizetype(16 * 1024), qsizetype(1024 * 1024)}) {
        qsizetype frames = 0;
        const QByteArray stream = makeStream(size, frames);
        QByteArray scratch(ReadSize, 0);
        for (const Mode &mode : modes) {
            qsizetype seen = 0;
            double gbps = 0;
            const double seconds = timeIt(
                stream.size(),
                [&] {
                    FrameParser parser;
                    MessageAssembler assembler;
                    seen = 0;
                    for (qsizetype pos = 0; pos < stream.size(); pos += ReadSize) {
                        QByteArrayView chunk =
                            QByteArrayView(stream).sliced(pos, std::min(ReadSize, stream.size() - pos));
                        for (;;) {
                            const auto ev = parser.next(chunk);
                            chunk = chunk.sliced(ev.consumed);
                            if (ev.kind == FrameParser::Event::Kind::NeedMore)
                                break;
                            if (mode.assemble) {
                                if (assembler.handle(ev, 0))
                                    ++seen;
                                continue;
                            }
                            if (ev.kind == FrameParser::Event::Kind::Payload && mode.unmask)
                                applyMask(scratch.data(), ev.payload.data(), ev.payload.size(),
                                          ev.header.maskKey, ev.payloadOffset);
                            if (ev.kind == FrameParser::Event::Kind::FrameEnd)
                                ++seen;
                        }
                    }
                },
                gbps);
            if (seen != frames) {
                std::fprintf(stderr, "expected %lld frames, saw %lld\n", static_cast<long long>(frames),
                             static_cast<long long>(seen));
                return 1;
            }
            std::printf("%-10lld %-22s %10.2f %14.0f\n", static_cast<long long>(size), mode.name, gbps,
                        double(frames) / seconds);
        }
    }
    return 0;
}
