// CBOR, RFC 8949, through Qt's QCborValue (tags, byte strings and undefined become JSON as
// QCborValue::toJsonValue() documents).
#include "JsonValue.h"
#include "MsgPack.h"

#include <QCborValue>

namespace socktap::decode {

Decoded CborDecoder::decode(const Message &message, DecoderState *) const
{
    Decoded d;
    QCborParserError error;
    const QCborValue value = QCborValue::fromCbor(message.payload.toByteArray(), &error);
    if (error.error != QCborError::NoError) {
        d.error = QStringLiteral("CBOR: %1 at byte %2").arg(error.errorString()).arg(error.offset);
        return d;
    }
    d.format = name();
    d.value = value.toJsonValue();
    d.summary = brief(d.value);
    return d;
}

} // namespace socktap::decode
