// Close status codes: the RFC 6455 7.4 names, the IANA "WebSocket Close Code Number Registry" with a
// one-line meaning per code, and which codes may appear on the wire.
#pragma once

#include <QString>

namespace socktap::ws {

namespace CloseCode {
// RFC 6455 7.4.1 and the IANA registry.
inline constexpr quint16 Normal = 1000;
inline constexpr quint16 GoingAway = 1001;
inline constexpr quint16 ProtocolError = 1002;
inline constexpr quint16 UnsupportedData = 1003;
inline constexpr quint16 Reserved1004 = 1004;
inline constexpr quint16 NoStatusReceived = 1005; // never on the wire
inline constexpr quint16 AbnormalClosure = 1006; // never on the wire
inline constexpr quint16 InvalidPayload = 1007;
inline constexpr quint16 PolicyViolation = 1008;
inline constexpr quint16 MessageTooBig = 1009;
inline constexpr quint16 MandatoryExtension = 1010;
inline constexpr quint16 InternalError = 1011;
inline constexpr quint16 ServiceRestart = 1012;
inline constexpr quint16 TryAgainLater = 1013;
inline constexpr quint16 BadGateway = 1014;
inline constexpr quint16 TlsHandshake = 1015; // never on the wire
} // namespace CloseCode

struct CloseCodeInfo
{
    enum class Range {
        Unused, // 0-999: never used (RFC 6455 7.4.2)
        Protocol, // 1000-2999: defined by RFC 6455, its extensions and revisions
        Registered, // 3000-3999: libraries and frameworks, registered with IANA
        Private, // 4000-4999: private use by applications
        Invalid, // 5000 and up
    };
    Range range = Range::Invalid;
    QString name; // "Normal Closure"; "Unassigned" where the registry has no entry
    QString meaning; // one line
    bool registered = false; // has an IANA entry
    bool allowedOnWire = false; // an endpoint may send it in a Close frame (RFC 6455 7.4)
};

CloseCodeInfo closeCodeInfo(quint16 code);
// "1001 Going Away"
QString closeCodeLabel(quint16 code);
// RFC 6455 7.4: whether an endpoint may put code in a Close frame. 1004-1006, 1015, unassigned
// 1016-2999 and everything below 1000 or above 4999 may not.
bool isValidOnWire(quint16 code);

} // namespace socktap::ws
