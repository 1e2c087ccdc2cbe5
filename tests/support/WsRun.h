// Test helper: drives a FrameParser (and optionally a MessageAssembler) over a chunked byte stream the way
// the relay does, and records what came out as plain values that QCOMPARE can check.
#pragma once

#include "core/ws/FrameParser.h"
#include "core/ws/Masking.h"
#include "core/ws/MessageAssembler.h"

#include <QList>

namespace socktap::test {

struct ParsedFrame
{
    ws::FrameHeader header;
    ws::Violations violations;
    QByteArray payload; // unmasked
    quint64 payloadEvents = 0;
};

struct RecordedMessage
{
    quint8 opcode = 0;
    QByteArray payload;
    QByteArray wirePayload;
    quint64 payloadSize = 0;
    quint64 wireSize = 0;
    quint64 frameCount = 0;
    QList<ws::FrameInfo> frames;
    bool compressed = false;
    bool truncated = false;
    bool incomplete = false;
    ws::Violations violations;
    std::optional<quint16> closeCode;
    QByteArray closeReason;
    QString note;
};

struct WsRun
{
    QList<ParsedFrame> frames;
    QList<RecordedMessage> messages;
    bool error = false;
    ws::Violations errorViolations;
    qsizetype consumed = 0;
};

inline RecordedMessage record(const ws::MessageAssembler::Message &m)
{
    RecordedMessage r;
    r.opcode = m.opcode;
    r.payload = m.payload.toByteArray();
    r.wirePayload = m.wirePayload.toByteArray();
    r.payloadSize = m.payloadSize;
    r.wireSize = m.wireSize;
    r.frameCount = m.frameCount;
    r.frames = QList<ws::FrameInfo>(m.frames.begin(), m.frames.end());
    r.compressed = m.compressed;
    r.truncated = m.truncated;
    r.incomplete = m.incomplete;
    r.violations = m.violations;
    r.closeCode = m.close.code;
    r.closeReason = m.close.reason;
    r.note = m.note;
    return r;
}

// Feeds pieces through parser (and assembler, when given); flushIncomplete at the end if asked.
inline WsRun drive(const QList<QByteArrayView> &pieces, ws::FrameParser &parser,
                   ws::MessageAssembler *assembler = nullptr, bool flushAtEnd = false)
{
    WsRun run;
    qint64 clock = 0;
    for (QByteArrayView piece : pieces) {
        for (;;) {
            const ws::FrameParser::Event ev = parser.next(piece);
            piece = piece.sliced(ev.consumed);
            run.consumed += ev.consumed;
            using Kind = ws::FrameParser::Event::Kind;
            if (ev.kind == Kind::NeedMore)
                break;
            if (ev.kind == Kind::Error) {
                run.error = true;
                run.errorViolations = ev.violations;
                return run;
            }
            if (ev.kind == Kind::Header)
                run.frames.append({ev.header, ev.violations, {}, 0});
            if (ev.kind == Kind::Payload) {
                ParsedFrame &f = run.frames.last();
                if (quint64(f.payload.size()) != ev.payloadOffset)
                    qFatal("payload offset %llu does not follow %lld bytes", ev.payloadOffset,
                           f.payload.size());
                QByteArray chunk = ev.payload.toByteArray();
                if (ev.header.masked)
                    ws::applyMask(chunk.data(), chunk.constData(), chunk.size(), ev.header.maskKey,
                                  ev.payloadOffset);
                f.payload += chunk;
                ++f.payloadEvents;
            }
            if (assembler) {
                if (const auto *m = assembler->handle(ev, ++clock))
                    run.messages.append(record(*m));
            }
        }
    }
    if (assembler && flushAtEnd) {
        while (const auto *m = assembler->flushIncomplete(++clock))
            run.messages.append(record(*m));
    }
    return run;
}

inline ws::FrameParser::Options from(ws::FrameParser::Sender sender, bool deflate = false)
{
    ws::FrameParser::Options o;
    o.sender = sender;
    o.perMessageDeflate = deflate;
    return o;
}

} // namespace socktap::test
