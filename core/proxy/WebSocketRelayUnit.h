// WebSocketRelay's record of a complete message in a gated direction: its frames as received and the
// message copied out of the assembler (whose views do not outlive the chunk), plus what is to happen to it.
// Private to the relay's two source files.
#pragma once

#include "WebSocketRelay.h"

namespace socktap::proxy {

// A complete message of a gated direction, copied out of the assembler because it outlives the chunk.
struct WebSocketRelay::Unit
{
    enum class State : quint8 { Held, Delayed, Ready };
    quint64 id = 0;
    State state = State::Ready;
    QByteArray raw; // its frames as received
    quint8 opcode = 0;
    QByteArray payload;
    QByteArray wirePayload;
    quint64 payloadSize = 0;
    quint64 wireSize = 0;
    quint64 frameCount = 0;
    std::vector<ws::FrameInfo> frames;
    bool compressed = false;
    bool truncated = false;
    bool incomplete = false;
    ws::Violations violations;
    qint64 firstFrameTime = 0;
    qint64 lastFrameTime = 0;
    std::optional<quint16> closeCode;
    std::optional<intercept::OutgoingMessage> change; // a rule's or the user's new content
    quint16 flags = 0; // Held, Delayed
    QString note;

    Unit(const ws::MessageAssembler::Message &m, QByteArray wire)
        : raw(std::move(wire))
        , opcode(m.opcode)
        , payload(m.payload.toByteArray())
        , wirePayload(m.wirePayload.toByteArray())
        , payloadSize(m.payloadSize)
        , wireSize(m.wireSize)
        , frameCount(m.frameCount)
        , frames(m.frames.begin(), m.frames.end())
        , compressed(m.compressed)
        , truncated(m.truncated)
        , incomplete(m.incomplete)
        , violations(m.violations)
        , firstFrameTime(m.firstFrameTime)
        , lastFrameTime(m.lastFrameTime)
    {
        if (m.opcode == quint8(ws::Opcode::Close))
            closeCode = m.close.code;
    }

    capture::MessageFacts facts() const
    {
        capture::MessageFacts f;
        f.opcode = opcode;
        f.payload = payload;
        f.wirePayload = wirePayload;
        f.payloadSize = payloadSize;
        f.wireSize = wireSize;
        f.frameCount = frameCount;
        f.frames = frames;
        f.compressed = compressed;
        f.truncated = truncated;
        f.incomplete = incomplete;
        f.violations = violations;
        f.firstFrameTime = firstFrameTime;
        f.lastFrameTime = lastFrameTime;
        f.closeCode = closeCode;
        f.flags = flags;
        f.note = note;
        return f;
    }
};

} // namespace socktap::proxy
