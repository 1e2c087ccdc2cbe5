// MessagePack (https://github.com/msgpack/msgpack/blob/master/spec.md) to JSON, for display and matching:
// every type, ext types as {"$ext": type, "base64": data}, the timestamp extension (type -1) as an ISO 8601
// string, binary as {"$bin": base64}, map keys that are not strings written as JSON text.
#pragma once

#include "Decoder.h"

#include <QJsonValue>
#include <optional>

namespace socktap::decode {

namespace msgpack {
// Reads one value at `at` and moves past it; nullopt with `error` on truncated or invalid input.
std::optional<QJsonValue> read(QByteArrayView data, qsizetype &at, QString &error, int depth = 0);
// The reverse of read(), in each value's smallest encoding: integers (doubles with no fraction that fit 64
// bits) as int or uint, other numbers as float 64, {"$bin": base64} as bin, {"$ext": type, "base64": data}
// as ext. A timestamp read() showed as text is written as that text: callers that must keep the bytes check
// that write(read(x)) == x first.
QByteArray write(const QJsonValue &value);
} // namespace msgpack

class MsgPackDecoder final : public Decoder
{
public:
    QString name() const override { return QStringLiteral("msgpack"); }
    bool binaryMessages() const override { return true; }
    Decoded decode(const Message &message, DecoderState *state) const override;
};

// CBOR (RFC 8949) through Qt's QCborValue.
class CborDecoder final : public Decoder
{
public:
    QString name() const override { return QStringLiteral("cbor"); }
    bool binaryMessages() const override { return true; }
    Decoded decode(const Message &message, DecoderState *state) const override;
};

} // namespace socktap::decode
