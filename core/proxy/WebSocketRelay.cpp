#include "WebSocketRelay.h"

namespace socktap::proxy {

namespace {

ws::FrameParser::Options parserOptions(ws::FrameParser::Sender sender, bool deflate)
{
    ws::FrameParser::Options o;
    o.sender = sender;
    o.perMessageDeflate = deflate;
    return o;
}

ws::MessageAssembler::Options assemblerOptions(qsizetype maxPayload)
{
    ws::MessageAssembler::Options o;
    o.maxPayload = maxPayload;
    return o;
}

} // namespace

WebSocketRelay::WebSocketRelay(Options options, Sink &sink)
    : m_options(options)
    , m_sink(sink)
    , m_client {ws::FrameParser(parserOptions(ws::FrameParser::Sender::Client, options.deflate.has_value())),
                ws::MessageAssembler(assemblerOptions(options.maxPayload)), false}
    , m_server {ws::FrameParser(parserOptions(ws::FrameParser::Sender::Server, options.deflate.has_value())),
                ws::MessageAssembler(assemblerOptions(options.maxPayload)), false}
{
    if (options.deflate) {
        // RFC 7692 7.1: each peer compresses with its own window and context rule.
        m_client.assembler.enableDeflate(options.deflate->windowBits(true),
                                         options.deflate->noContextTakeover(true));
        m_server.assembler.enableDeflate(options.deflate->windowBits(false),
                                         options.deflate->noContextTakeover(false));
    }
}

void WebSocketRelay::noteViolations(Direction from, ws::Violations v)
{
    if (!v)
        return;
    if (!m_violations)
        m_firstViolation = QStringLiteral("%1: %2").arg(QLatin1String(capture::directionName(from)),
                                                        ws::describe(v).join(QStringLiteral("; ")));
    m_violations |= v;
}

bool WebSocketRelay::failIfStrict(Direction from, ws::Violations v, QByteArrayView forwardable)
{
    if (!m_options.strict || !v)
        return false;
    // The rule-breaking frame is withheld; what came before it is passed on.
    m_sink.forward(from, forwardable);
    m_failed = true;
    m_sink.fail(from, ws::closeCodeFor(v), ws::describe(v).join(QStringLiteral("; ")));
    return true;
}

void WebSocketRelay::noteMessage(Direction from, const ws::MessageAssembler::Message &m, qint64 now)
{
    if (m.opcode != quint8(ws::Opcode::Close))
        return;
    const int i = capture::directionIndex(from);
    if (m_close.closeSent[i])
        return;
    m_close.closeSent[i] = true;
    m_close.code[i] = m.close.code;
    m_close.reason[i] = m.close.reason;
    if (!m_close.firstCloser) {
        m_close.firstCloser = from;
        m_close.firstCloseTime = now;
    }
}

void WebSocketRelay::received(Direction from, QByteArrayView bytes, qint64 now)
{
    if (m_failed)
        return; // the connection is being failed: nothing more crosses
    Side &s = side(from);
    if (s.undecodable) {
        m_sink.forward(from, bytes);
        return;
    }
    qsizetype pos = 0;
    qsizetype frameStart = 0; // where the current frame's header began in bytes (0: in an earlier chunk)
    for (;;) {
        const qsizetype eventStart = pos;
        const ws::FrameParser::Event ev = s.parser.next(bytes.sliced(pos));
        pos += ev.consumed;
        using Kind = ws::FrameParser::Event::Kind;
        if (ev.kind == Kind::NeedMore)
            break;
        if (ev.kind == Kind::Header) {
            frameStart = eventStart;
            noteViolations(from, ev.violations);
            if (failIfStrict(from, ev.violations, bytes.first(frameStart)))
                return;
        }
        if (ev.kind == Kind::Error) {
            noteViolations(from, ev.violations);
            if (failIfStrict(from, ev.violations, bytes.first(frameStart)))
                return;
            // Nothing after this can be decoded; keep relaying so the peers decide.
            s.undecodable = true;
            break;
        }
        if (const auto *m = s.assembler.handle(ev, now)) {
            // Frame-level violations were handled at their header; these are about the payload.
            const ws::Violations payloadLevel = m->violations
                & (ws::Violation::InvalidUtf8 | ws::Violation::ClosePayloadTooShort
                   | ws::Violation::InvalidCloseCode | ws::Violation::InvalidCloseReason
                   | ws::Violation::InflateFailed | ws::Violation::InflatedTooLarge);
            noteViolations(from, payloadLevel);
            noteMessage(from, *m, now);
            m_sink.captured(from, *m);
            if (failIfStrict(from, payloadLevel, bytes.first(frameStart)))
                return;
        }
    }
    m_sink.forward(from, bytes);
}

void WebSocketRelay::ended(Direction from, qint64 now)
{
    Side &s = side(from);
    while (const auto *m = s.assembler.flushIncomplete(now))
        m_sink.captured(from, *m);
    if (m_close.tcpEndTime == 0)
        m_close.tcpEndTime = now;
}

} // namespace socktap::proxy
