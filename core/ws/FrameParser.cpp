#include "FrameParser.h"

#include <algorithm>
#include <cstring>

namespace socktap::ws {

FrameParser::FrameParser()
    : FrameParser(Options {})
{ }

FrameParser::FrameParser(Options options)
    : m_options(options)
{ }

void FrameParser::reset()
{
    *this = FrameParser(m_options);
}

int FrameParser::headerSizeFor(const quint8 *first2)
{
    const quint8 len7 = first2[1] & 0x7f;
    const int extended = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    const int mask = (first2[1] & 0x80) ? 4 : 0;
    return 2 + extended + mask;
}

FrameParser::Event FrameParser::next(QByteArrayView input)
{
    Event ev;
    switch (m_state) {
    case State::Header:
        return parseHeader(input);
    case State::Payload: {
        const quint64 remaining = m_header.length - m_payloadDone;
        const qsizetype n = qsizetype(std::min<quint64>(remaining, quint64(input.size())));
        if (n == 0)
            return ev;
        ev.kind = Event::Kind::Payload;
        ev.consumed = n;
        ev.header = m_header;
        ev.payload = input.first(n);
        ev.payloadOffset = m_payloadDone;
        m_payloadDone += quint64(n);
        if (m_payloadDone == m_header.length)
            m_state = State::FrameEnd;
        return ev;
    }
    case State::FrameEnd:
        ev.kind = Event::Kind::FrameEnd;
        ev.header = m_header;
        m_state = State::Header;
        return ev;
    case State::Failed:
        ev.kind = Event::Kind::Error;
        ev.header = m_header;
        ev.violations = Violation::LengthHighBitSet;
        return ev;
    }
    return ev;
}

FrameParser::Event FrameParser::parseHeader(QByteArrayView input)
{
    Event ev;
    const quint8 *bytes = nullptr;
    if (m_headerFill == 0 && input.size() >= 2
        && input.size() >= headerSizeFor(reinterpret_cast<const quint8 *>(input.data()))) {
        // Fast path: the whole header is in this chunk.
        bytes = reinterpret_cast<const quint8 *>(input.data());
        ev.consumed = headerSizeFor(bytes);
    } else {
        // Gather a header split across chunks: first the 2 fixed bytes, then the rest.
        qsizetype used = 0;
        while (used < input.size()) {
            const int need = m_headerFill < 2 ? 2 : headerSizeFor(m_headerBuffer);
            if (m_headerFill >= need)
                break;
            const qsizetype take = std::min<qsizetype>(need - m_headerFill, input.size() - used);
            std::memcpy(m_headerBuffer + m_headerFill, input.data() + used, size_t(take));
            m_headerFill += quint8(take);
            used += take;
        }
        if (m_headerFill < 2 || m_headerFill < headerSizeFor(m_headerBuffer)) {
            ev.consumed = used;
            return ev; // NeedMore
        }
        bytes = m_headerBuffer;
        ev.consumed = used;
        m_headerFill = 0;
    }
    ev.violations = decode(bytes, ev.header);
    if (ev.violations.testFlag(Violation::LengthHighBitSet)) {
        // A length of 2^63 or more cannot be honoured by anyone: the stream is unparseable from here.
        m_state = State::Failed;
        ev.kind = Event::Kind::Error;
        return ev;
    }
    ev.kind = Event::Kind::Header;
    m_payloadDone = 0;
    m_state = m_header.length == 0 ? State::FrameEnd : State::Payload;
    return ev;
}

Violations FrameParser::decode(const quint8 *b, FrameHeader &out)
{
    // Built in a local (registers) and stored to both places: parseHeader's wide copy of m_header right
    // after byte-wise stores into it stalled store forwarding, 6-8% of the relay's CPU at 64-byte messages.
    FrameHeader h;
    Violations v;
    // RFC 6455 5.2: FIN, RSV1-3, opcode (4 bits); MASK, payload length (7 bits).
    h.fin = b[0] & 0x80;
    h.rsv1 = b[0] & 0x40;
    h.rsv2 = b[0] & 0x20;
    h.rsv3 = b[0] & 0x10;
    h.opcode = b[0] & 0x0f;
    h.masked = b[1] & 0x80;
    const quint8 len7 = b[1] & 0x7f;
    int pos = 2;
    if (len7 == 126) {
        h.length = quint64(b[2]) << 8 | b[3];
        pos = 4;
        if (h.length < 126)
            v |= Violation::NonMinimalLength; // 5.2: the minimal number of bytes MUST be used
    } else if (len7 == 127) {
        h.length = 0;
        for (int i = 0; i < 8; ++i)
            h.length = h.length << 8 | b[2 + i];
        pos = 10;
        if (h.length >> 63)
            v |= Violation::LengthHighBitSet; // 5.2: the most significant bit MUST be 0
        if (h.length <= 0xffff)
            v |= Violation::NonMinimalLength;
    } else {
        h.length = len7;
    }
    h.maskKey = {};
    if (h.masked) {
        h.maskKey = {b[pos], b[pos + 1], b[pos + 2], b[pos + 3]}; // (no memcpy: h stays in registers)
        pos += 4;
    }
    h.headerSize = quint8(pos);

    // 5.1: a client masks every frame; a server masks none.
    if (m_options.sender == Sender::Client && !h.masked)
        v |= Violation::UnmaskedClientFrame;
    if (m_options.sender == Sender::Server && h.masked)
        v |= Violation::MaskedServerFrame;

    const bool control = isControl(h.opcode);
    if (isReservedOpcode(h.opcode))
        v |= Violation::ReservedOpcode; // 5.2: reserved opcodes have no meaning yet
    if (control && !h.fin)
        v |= Violation::FragmentedControlFrame; // 5.5: control frames MUST NOT be fragmented
    if (control && h.length > MaxControlPayload)
        v |= Violation::ControlFrameTooLong; // 5.5: payload length of 125 bytes or less
    if (h.rsv2 || h.rsv3)
        v |= Violation::ReservedBitsSet; // 5.2: MUST be 0 unless an extension defines them
    if (h.rsv1) {
        if (!m_options.perMessageDeflate)
            v |= Violation::ReservedBitsSet;
        else if (control)
            v |= Violation::CompressedControlFrame; // RFC 7692 6.1: not on control frames
        else if (h.opcode == quint8(Opcode::Continuation))
            v |= Violation::CompressedContinuation; // RFC 7692 6.1: only on the first frame
    }
    if (m_closeSeen)
        v |= Violation::FrameAfterClose; // 5.5.1: nothing after Close
    if (h.opcode == quint8(Opcode::Close))
        m_closeSeen = true;

    // 5.4: fragmentation; control frames may sit between fragments and change nothing.
    if (h.opcode == quint8(Opcode::Continuation)) {
        if (!m_inFragmentedMessage)
            v |= Violation::UnexpectedContinuation;
        else if (h.fin)
            m_inFragmentedMessage = false;
    } else if (h.opcode == quint8(Opcode::Text) || h.opcode == quint8(Opcode::Binary)) {
        if (m_inFragmentedMessage)
            v |= Violation::ExpectedContinuation;
        m_inFragmentedMessage = !h.fin;
    }
    m_header = h;
    out = h;
    return v;
}

} // namespace socktap::ws
