// libFuzzer target: HeadParser must agree with itself whole vs chunked, and never overrun its limit.
#include "FuzzChunks.h"
#include "core/http/HeadParser.h"
#include "core/http/RequestTarget.h"

#include <cstdlib>

using namespace socktap::http;

namespace {

struct Outcome
{
    HeadParser::Status status = HeadParser::Status::NeedMore;
    qsizetype consumed = 0;
    HeadErrorCode code = HeadErrorCode::None;
    QByteArray raw;
};

Outcome run(HeadParser::Kind kind, const QList<QByteArrayView> &pieces, const HeadLimits &limits)
{
    HeadParser parser(kind, limits);
    Outcome o;
    for (QByteArrayView piece : pieces) {
        while (!piece.isEmpty() && o.status == HeadParser::Status::NeedMore) {
            const auto r = parser.feed(piece);
            o.status = r.status;
            if (r.status == HeadParser::Status::Error)
                break;
            o.consumed += r.consumed;
            piece = piece.sliced(r.consumed);
        }
    }
    o.code = parser.error().code;
    if (o.status == HeadParser::Status::Complete)
        o.raw = kind == HeadParser::Kind::Request ? parser.request().raw : parser.response().raw;
    return o;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const auto kind = (data[0] & 1) ? HeadParser::Kind::Response : HeadParser::Kind::Request;
    HeadLimits limits;
    limits.maxHeadSize = 256 + (data[0] >> 1) * 64;
    limits.bareLf = (data[1] & 1) ? BareLfPolicy::Reject : BareLfPolicy::Accept;
    const QByteArrayView input(reinterpret_cast<const char *>(data + 2), qsizetype(size - 2));
    const Outcome whole = run(kind, {input}, limits);
    const Outcome chunked = run(kind, fuzzChunks(input, data[1]), limits);
    if (whole.status != chunked.status || whole.code != chunked.code)
        abort();
    if (whole.status == HeadParser::Status::Complete) {
        if (whole.consumed != chunked.consumed || whole.raw != chunked.raw
            || whole.raw.size() > limits.maxHeadSize)
            abort();
        if (kind == HeadParser::Kind::Request) {
            HeadParser p(kind, limits);
            p.feed(input);
            RequestTarget::parse(p.request().method, p.request().target);
        }
    }
    return 0;
}
