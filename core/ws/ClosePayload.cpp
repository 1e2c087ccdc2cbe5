#include "ClosePayload.h"

#include "CloseCode.h"
#include "Frame.h"
#include "Utf8Validator.h"

namespace socktap::ws {

quint16 ClosePayload::effectiveCode() const
{
    return code.value_or(CloseCode::NoStatusReceived);
}

ClosePayload ClosePayload::parse(QByteArrayView payload)
{
    ClosePayload out;
    if (payload.isEmpty())
        return out; // 5.5.1: the body is optional
    if (payload.size() == 1) {
        out.violations |= Violation::ClosePayloadTooShort; // 5.5.1: a body starts with a 2-byte code
        return out;
    }
    out.code = quint16(quint8(payload[0]) << 8 | quint8(payload[1]));
    if (!isValidOnWire(*out.code))
        out.violations |= Violation::InvalidCloseCode; // 7.4.1, 7.4.2
    out.reason = payload.sliced(2).toByteArray();
    if (!Utf8Validator::isValid(out.reason))
        out.violations |= Violation::InvalidCloseReason; // 5.5.1: the reason is UTF-8
    return out;
}

QByteArray ClosePayload::build(quint16 code, QByteArrayView reason)
{
    Q_ASSERT(isValidOnWire(code));
    QByteArray out;
    out += char(code >> 8);
    out += char(code & 0xff);
    qsizetype n = std::min<qsizetype>(reason.size(), qsizetype(MaxControlPayload) - 2);
    // Do not cut a code point in half: back up over continuation bytes.
    if (n < reason.size()) {
        while (n > 0 && (quint8(reason[n]) & 0xc0) == 0x80)
            --n;
    }
    out += reason.first(n);
    return out;
}

} // namespace socktap::ws
