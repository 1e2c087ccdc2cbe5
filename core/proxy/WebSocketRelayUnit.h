// WebSocketRelay's record of a complete message in a gated direction: its frames as received and the
// message copied out of the assembler (whose views do not outlive the chunk), plus what is to happen to it.
// Private to the relay's two source files.
#pragma once

#include "WebSocketRelay.h"

#include "core/capture/CaptureWriter.h"

namespace socktap::proxy {

struct WebSocketRelay::Unit
{
    enum class State : quint8 { Held, Delayed, Ready };
    quint64 id = 0;
    State state = State::Ready;
    QByteArray raw; // its frames as received
    capture::MessageCopy message; // as received
    std::optional<intercept::OutgoingMessage> change; // a rule's or the user's new content
    quint16 flags = 0; // Held, Delayed
    QString note;

    Unit(const ws::MessageAssembler::Message &m, QByteArray wire)
        : raw(std::move(wire))
        , message(capture::factsOf(m))
    { }

    const capture::MessageFacts &received() const { return message.facts; }
    capture::MessageFacts facts() const
    {
        capture::MessageFacts f = message.facts;
        f.flags = flags;
        if (!note.isEmpty()) // what happened to it, after what the decoder said of it
            f.note = f.note.isEmpty() ? note : f.note + QStringLiteral("; ") + note;
        return f;
    }
};

} // namespace socktap::proxy
