// Incremental RFC 6455 frame parser for either direction. Fed bytes in any chunking, it reports a frame's
// header (with every rule it breaks), its payload in chunks as they arrive (never buffering a frame whole)
// and the frame's end. Never reads a socket; knows nothing about sessions or messages.
#pragma once

#include "Frame.h"
#include "Violation.h"

#include <QByteArrayView>

namespace socktap::ws {

class FrameParser
{
public:
    // Who sends the frames being parsed: client frames must be masked, server frames must not (5.1).
    enum class Sender : quint8 { Client, Server };

    struct Options
    {
        Sender sender = Sender::Client;
        // Negotiated permessage-deflate (RFC 7692): RSV1 marks the first frame of a compressed message.
        bool perMessageDeflate = false;
    };

    struct Event
    {
        enum class Kind : quint8 {
            NeedMore, // all input used; feed more
            Header, // a frame header is complete: header, violations
            Payload, // payload bytes as on the wire (still masked): payload, payloadOffset
            FrameEnd, // the current frame is complete
            Error, // the stream cannot be parsed further: violations says why
        };
        Kind kind = Kind::NeedMore;
        qsizetype consumed = 0; // bytes of the input this event used
        FrameHeader header; // the current frame's header (for every kind but NeedMore)
        Violations violations; // Header and Error
        QByteArrayView payload; // Payload
        quint64 payloadOffset = 0; // Payload: position of payload[0] in the frame's payload
    };

    FrameParser();
    explicit FrameParser(Options options);

    // Returns the next event found at the start of input. FrameEnd consumes nothing, so call again until
    // NeedMore, advancing input by consumed each time.
    Event next(QByteArrayView input);

    void setPerMessageDeflate(bool on) { m_options.perMessageDeflate = on; }
    const Options &options() const { return m_options; }
    bool inFragmentedMessage() const { return m_inFragmentedMessage; }
    // Between two frames: nothing of a frame has been parsed yet (a control frame may be sent here).
    bool atFrameBoundary() const { return m_state == State::Header && m_headerFill == 0; }
    bool failed() const { return m_state == State::Failed; }
    void reset();

private:
    enum class State : quint8 { Header, Payload, FrameEnd, Failed };

    Event parseHeader(QByteArrayView input);
    static int headerSizeFor(const quint8 *first2);
    Violations decode(const quint8 *bytes, FrameHeader &out); // into m_header and out

    Options m_options;
    State m_state = State::Header;
    bool m_inFragmentedMessage = false;
    bool m_closeSeen = false;
    quint8 m_headerFill = 0;
    quint8 m_headerBuffer[MaxHeaderSize];
    FrameHeader m_header;
    quint64 m_payloadDone = 0;
};

} // namespace socktap::ws
