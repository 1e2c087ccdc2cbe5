// The RFC 6455 / RFC 7692 rules a peer can break, as flags, each mapped in one place to the close code an
// endpoint would fail the connection with (RFC 6455 7.4.1) and to a one-line description naming the rule.
#pragma once

#include <QFlags>
#include <QString>
#include <QStringList>

namespace socktap::ws {

enum class Violation : quint32 {
    None = 0,
    ReservedOpcode = 1u << 0, // 5.2
    ReservedBitsSet = 1u << 1, // 5.2: RSV bit without a negotiated meaning
    FragmentedControlFrame = 1u << 2, // 5.5
    ControlFrameTooLong = 1u << 3, // 5.5
    NonMinimalLength = 1u << 4, // 5.2
    LengthHighBitSet = 1u << 5, // 5.2
    UnmaskedClientFrame = 1u << 6, // 5.1
    MaskedServerFrame = 1u << 7, // 5.1
    UnexpectedContinuation = 1u << 8, // 5.4: continuation without a started message
    ExpectedContinuation = 1u << 9, // 5.4: new data frame inside a fragmented message
    CompressedControlFrame = 1u << 10, // RFC 7692 6.1: RSV1 on a control frame
    CompressedContinuation = 1u << 11, // RFC 7692 6.1: RSV1 on a continuation frame
    InvalidUtf8 = 1u << 12, // 8.1
    ClosePayloadTooShort = 1u << 13, // 5.5.1: one byte
    InvalidCloseCode = 1u << 14, // 7.4
    InvalidCloseReason = 1u << 15, // 5.5.1: reason not UTF-8
    InflateFailed = 1u << 16, // RFC 7692 6.2
    InflatedTooLarge = 1u << 17, // local limit on inflated size
    FrameAfterClose = 1u << 18, // 5.5.1: nothing after a Close frame
};
Q_DECLARE_FLAGS(Violations, Violation)
Q_DECLARE_OPERATORS_FOR_FLAGS(Violations)

// RFC 6455 7.4.1 close code an endpoint fails the connection with for this violation.
quint16 closeCodeFor(Violation v);
// The most telling close code for a set: 1007 and 1009 beat 1002.
quint16 closeCodeFor(Violations v);
// One line naming the rule broken, with the RFC section.
QString describe(Violation v);
QStringList describe(Violations v);
// A stable, machine-readable name for a violation ("reserved-opcode"), for files other tools read; empty
// for None. violationFromCode() is its inverse (None for an unknown code).
const char *violationCode(Violation v);
Violation violationFromCode(QByteArrayView code);
// The rule's section: "RFC 6455 5.2", "RFC 7692 6.1", or "" for Socktap's own limits.
const char *violationSection(Violation v);

} // namespace socktap::ws
