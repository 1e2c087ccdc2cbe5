#include "Violation.h"

#include "CloseCode.h"

namespace socktap::ws {

namespace {

struct ViolationName
{
    Violation violation;
    const char *code;
    const char *section;
};

// Codes are part of the capture file format (docs/capture-format.md): never rename one.
constexpr ViolationName ViolationNames[] = {
    {Violation::ReservedOpcode, "reserved-opcode", "RFC 6455 5.2"},
    {Violation::ReservedBitsSet, "reserved-bits-set", "RFC 6455 5.2"},
    {Violation::FragmentedControlFrame, "fragmented-control-frame", "RFC 6455 5.5"},
    {Violation::ControlFrameTooLong, "control-frame-too-long", "RFC 6455 5.5"},
    {Violation::NonMinimalLength, "non-minimal-length", "RFC 6455 5.2"},
    {Violation::LengthHighBitSet, "length-high-bit-set", "RFC 6455 5.2"},
    {Violation::UnmaskedClientFrame, "unmasked-client-frame", "RFC 6455 5.1"},
    {Violation::MaskedServerFrame, "masked-server-frame", "RFC 6455 5.1"},
    {Violation::UnexpectedContinuation, "unexpected-continuation", "RFC 6455 5.4"},
    {Violation::ExpectedContinuation, "expected-continuation", "RFC 6455 5.4"},
    {Violation::CompressedControlFrame, "compressed-control-frame", "RFC 7692 6.1"},
    {Violation::CompressedContinuation, "compressed-continuation", "RFC 7692 6.1"},
    {Violation::InvalidUtf8, "invalid-utf8", "RFC 6455 8.1"},
    {Violation::ClosePayloadTooShort, "close-payload-too-short", "RFC 6455 5.5.1"},
    {Violation::InvalidCloseCode, "invalid-close-code", "RFC 6455 7.4"},
    {Violation::InvalidCloseReason, "invalid-close-reason", "RFC 6455 5.5.1"},
    {Violation::InflateFailed, "inflate-failed", "RFC 7692 6.2"},
    {Violation::InflatedTooLarge, "inflated-too-large", ""},
    {Violation::FrameAfterClose, "frame-after-close", "RFC 6455 5.5.1"},
};

const ViolationName *nameOf(Violation v)
{
    for (const ViolationName &n : ViolationNames)
        if (n.violation == v)
            return &n;
    return nullptr;
}

} // namespace

const char *violationCode(Violation v)
{
    const ViolationName *n = nameOf(v);
    return n ? n->code : "";
}

const char *violationSection(Violation v)
{
    const ViolationName *n = nameOf(v);
    return n ? n->section : "";
}

Violation violationFromCode(QByteArrayView code)
{
    for (const ViolationName &n : ViolationNames)
        if (code == n.code)
            return n.violation;
    return Violation::None;
}

quint16 closeCodeFor(Violation v)
{
    switch (v) {
    case Violation::InvalidUtf8:
    case Violation::InvalidCloseReason:
    case Violation::InflateFailed:
        return CloseCode::InvalidPayload; // 7.4.1: data inconsistent with the message type
    case Violation::InflatedTooLarge:
        return CloseCode::MessageTooBig;
    case Violation::None:
        return CloseCode::Normal;
    default:
        return CloseCode::ProtocolError;
    }
}

quint16 closeCodeFor(Violations set)
{
    quint16 best = CloseCode::Normal;
    for (quint32 bit = 1; bit != 0; bit <<= 1) {
        if (!(set.toInt() & bit))
            continue;
        const quint16 code = closeCodeFor(Violation(bit));
        if (best == CloseCode::Normal || code != CloseCode::ProtocolError)
            best = code;
    }
    return best;
}

QString describe(Violation v)
{
    switch (v) {
    case Violation::None:
        return {};
    case Violation::ReservedOpcode:
        return QStringLiteral("reserved opcode (RFC 6455 5.2)");
    case Violation::ReservedBitsSet:
        return QStringLiteral("RSV bit set without a negotiated extension (RFC 6455 5.2)");
    case Violation::FragmentedControlFrame:
        return QStringLiteral("fragmented control frame (RFC 6455 5.5)");
    case Violation::ControlFrameTooLong:
        return QStringLiteral("control frame payload over 125 bytes (RFC 6455 5.5)");
    case Violation::NonMinimalLength:
        return QStringLiteral("payload length not minimally encoded (RFC 6455 5.2)");
    case Violation::LengthHighBitSet:
        return QStringLiteral("most significant bit of 64-bit length set (RFC 6455 5.2)");
    case Violation::UnmaskedClientFrame:
        return QStringLiteral("client frame not masked (RFC 6455 5.1)");
    case Violation::MaskedServerFrame:
        return QStringLiteral("server frame masked (RFC 6455 5.1)");
    case Violation::UnexpectedContinuation:
        return QStringLiteral("continuation frame without a message to continue (RFC 6455 5.4)");
    case Violation::ExpectedContinuation:
        return QStringLiteral("new data frame inside a fragmented message (RFC 6455 5.4)");
    case Violation::CompressedControlFrame:
        return QStringLiteral("RSV1 (compressed) on a control frame (RFC 7692 6.1)");
    case Violation::CompressedContinuation:
        return QStringLiteral("RSV1 (compressed) on a continuation frame (RFC 7692 6.1)");
    case Violation::InvalidUtf8:
        return QStringLiteral("text message is not valid UTF-8 (RFC 6455 8.1)");
    case Violation::ClosePayloadTooShort:
        return QStringLiteral("close payload of one byte (RFC 6455 5.5.1)");
    case Violation::InvalidCloseCode:
        return QStringLiteral("close code not allowed on the wire (RFC 6455 7.4)");
    case Violation::InvalidCloseReason:
        return QStringLiteral("close reason is not valid UTF-8 (RFC 6455 5.5.1)");
    case Violation::InflateFailed:
        return QStringLiteral("compressed payload does not inflate (RFC 7692 6.2)");
    case Violation::InflatedTooLarge:
        return QStringLiteral("inflated message exceeds the size limit");
    case Violation::FrameAfterClose:
        return QStringLiteral("frame sent after a Close frame (RFC 6455 5.5.1)");
    }
    return QStringLiteral("unknown violation");
}

QStringList describe(Violations set)
{
    QStringList out;
    for (quint32 bit = 1; bit != 0; bit <<= 1) {
        if (set.toInt() & bit)
            out.append(describe(Violation(bit)));
    }
    return out;
}

} // namespace socktap::ws
