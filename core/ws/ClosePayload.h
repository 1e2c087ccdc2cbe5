// The payload of a Close frame (RFC 6455 5.5.1): empty, or a 2-byte code and a UTF-8 reason.
#pragma once

#include "Violation.h"

#include <QByteArray>

#include <optional>

namespace socktap::ws {

struct ClosePayload
{
    std::optional<quint16> code; // absent for an empty payload (reported as 1005 No Status Rcvd)
    QByteArray reason;
    Violations violations;

    // The code an application would report: the one received, or 1005 when there was none.
    quint16 effectiveCode() const;

    static ClosePayload parse(QByteArrayView payload);
    // code must be valid on the wire; the reason is cut at a UTF-8 boundary to fit 125 bytes.
    static QByteArray build(quint16 code, QByteArrayView reason = {});
};

} // namespace socktap::ws
