// Protocol Buffers with a schema: the user's .proto files compiled at run time (libprotobuf's Importer,
// what protoc itself parses with), a message type chosen per direction, and messages shown as the proto3
// JSON mapping (https://protobuf.dev/programming-guides/json/) under the .proto's own field names. Without
// a type, or when the bytes are not that type, the schema-less decoder (Protobuf.h) shows the wire format.
// libprotobuf stays inside ProtoSchema.cpp: nothing that includes this header sees its headers.
#pragma once

#include "Decoder.h"

#include <QByteArrayView>
#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <memory>
#include <optional>

namespace socktap::decode {

class ProtoSchema
{
public:
    // The .proto files and what they import, compiled; null with `error` (every error, one
    // `file:line:column: message` a line, as protoc prints them) when any file fails. Each file is found
    // under its own directory and the import directories (protoc's --proto_path).
    static std::shared_ptr<const ProtoSchema> load(const QStringList &protoFiles,
                                                   const QStringList &importDirs, QString *error);
    ~ProtoSchema();

    // Every message type's full name ("socktap.test.Quote", nested ones "pkg.Outer.Inner"), sorted.
    QStringList messageTypes() const;
    // The message as the proto3 JSON mapping with the .proto's field names; nullopt with `error` when the
    // type is not in the schema, the bytes do not parse as it, or they carry fields it does not define
    // (then they are most likely another type's).
    std::optional<QJsonObject> decode(const QString &type, QByteArrayView bytes, QString *error) const;
    // The reverse: JSON (as decode() gives it, or with camelCase names) as the type's wire format; nullopt
    // with `error` for a field the type does not have or a value of the wrong kind.
    std::optional<QByteArray> encode(const QString &type, const QJsonObject &value, QString *error) const;
    // One line for a decoded message: the type's short name and its first set singular scalar fields in
    // declaration order (`Quote symbol="ACME" bid=10.5`), under about 80 characters.
    QString summary(const QString &type, const QJsonObject &value) const;

private:
    struct Private;
    explicit ProtoSchema(std::unique_ptr<Private> d);
    std::unique_ptr<Private> d;
};

// The "protobuf" format with a schema: each direction decoded as its chosen type. A direction without a
// type is decoded without the schema; a message that is not its direction's type is too, with `error`
// saying why, so the user sees both the fields and that the type did not fit.
class ProtobufSchemaDecoder final : public Decoder
{
public:
    ProtobufSchemaDecoder(std::shared_ptr<const ProtoSchema> schema, QString clientType, QString serverType);

    QString name() const override { return QStringLiteral("protobuf"); }
    bool binaryMessages() const override { return true; }
    Decoded decode(const Message &message, DecoderState *state) const override;
    std::optional<QByteArray> encode(const Message &original, const QJsonValue &value,
                                     QString *error) const override;

private:
    const QString &typeFor(const Message &message) const;

    std::shared_ptr<const ProtoSchema> m_schema;
    QString m_clientType;
    QString m_serverType;
};

class FormatRegistry;

// What the user picked (--proto and its options, or the window's Protobuf schema dialog): the .proto
// files, where their imports are, the message type of each direction (empty: the wire format), and the
// URLs they apply to (empty: the sessions decoded as protobuf by subprotocol, content or Decode as).
struct ProtoChoice
{
    QStringList files;
    QStringList importDirs;
    QString clientType;
    QString serverType;
    QString urlPattern;
};

// The built-in formats with "protobuf" decoded by the choice; null with `error` when the files do not
// compile (protoc's messages), a type is not in them (with the types they have) or the URL pattern is
// not a regular expression. No files: the built-in formats.
std::shared_ptr<const FormatRegistry> protobufFormats(const ProtoChoice &choice, QString *error);
// The same with the choice's files already compiled (a dialog that lists their types).
std::shared_ptr<const FormatRegistry> protobufFormats(std::shared_ptr<const ProtoSchema> schema,
                                                      const ProtoChoice &choice, QString *error);

} // namespace socktap::decode
