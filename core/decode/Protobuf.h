// Protocol Buffers without a schema (https://protobuf.dev/programming-guides/encoding/): the wire format's
// fields by number and wire type; a length-delimited field shown as a nested message when it parses as one
// whole, else as text when it is printable UTF-8, else as bytes. Field numbers are the keys (a repeated
// field becomes an array), as `protoc --decode_raw` prints them.
#pragma once

#include "Decoder.h"

#include <QJsonObject>
#include <optional>

namespace socktap::decode {

namespace protobuf {
// The message's fields, or nullopt with `error` when the bytes are not a protobuf message.
std::optional<QJsonObject> decodeRaw(QByteArrayView data, QString *error = nullptr, int depth = 0);
} // namespace protobuf

class ProtobufDecoder final : public Decoder
{
public:
    QString name() const override { return QStringLiteral("protobuf"); }
    bool binaryMessages() const override { return true; }
    Decoded decode(const Message &message, DecoderState *state) const override;
};

} // namespace socktap::decode
