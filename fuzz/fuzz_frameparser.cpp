// libFuzzer target: FrameParser + MessageAssembler (with and without permessage-deflate) must give the
// same messages whole and chunked, consume every byte unless the stream is fatal, and stay within caps.
#include "FuzzChunks.h"
#include "core/ws/FrameParser.h"
#include "core/ws/MessageAssembler.h"

#include <cstdlib>

using namespace socktap::ws;

namespace {

struct Seen
{
    quint8 opcode;
    QByteArray payload;
    quint64 payloadSize;
    Violations violations;
    bool operator==(const Seen &) const = default;
};

QList<Seen> run(const QList<QByteArrayView> &pieces, FrameParser::Options options, bool noTakeover,
                qsizetype &consumed)
{
    FrameParser parser(options);
    MessageAssembler::Options limits;
    limits.maxPayload = 4096;
    limits.maxFrameInfos = 16;
    MessageAssembler assembler(limits);
    if (options.perMessageDeflate)
        assembler.enableDeflate(15, noTakeover);
    QList<Seen> out;
    consumed = 0;
    qint64 now = 0;
    for (QByteArrayView piece : pieces) {
        for (;;) {
            const auto ev = parser.next(piece);
            piece = piece.sliced(ev.consumed);
            consumed += ev.consumed;
            if (ev.kind == FrameParser::Event::Kind::NeedMore || ev.kind == FrameParser::Event::Kind::Error)
                break;
            if (const auto *m = assembler.handle(ev, ++now)) {
                if (m->payload.size() > limits.maxPayload
                    || qsizetype(m->frames.size()) > limits.maxFrameInfos)
                    abort();
                out.append({m->opcode, m->payload.toByteArray(), m->payloadSize, m->violations});
            }
        }
        if (parser.failed())
            break;
    }
    while (const auto *m = assembler.flushIncomplete(++now))
        out.append({m->opcode, m->payload.toByteArray(), m->payloadSize, m->violations});
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    FrameParser::Options options;
    options.sender = (data[0] & 1) ? FrameParser::Sender::Client : FrameParser::Sender::Server;
    options.perMessageDeflate = data[0] & 2;
    const bool noTakeover = data[0] & 4;
    const QByteArrayView input(reinterpret_cast<const char *>(data + 1), qsizetype(size - 1));
    qsizetype wholeConsumed = 0, chunkedConsumed = 0;
    const auto whole = run({input}, options, noTakeover, wholeConsumed);
    const auto chunked = run(fuzzChunks(input, data[0] * 2654435761u), options, noTakeover, chunkedConsumed);
    if (!(whole == chunked) || wholeConsumed != chunkedConsumed || wholeConsumed > input.size())
        abort();
    return 0;
}
