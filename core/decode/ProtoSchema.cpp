#include "ProtoSchema.h"

#include "FormatRegistry.h"
#include "JsonValue.h"
#include "Protobuf.h"

#include <QDir>
#include <QFileInfo>
#include <QHash>
#include <QJsonDocument>
#include <QLocale>

#include <google/protobuf/compiler/importer.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/unknown_field_set.h>
#include <google/protobuf/util/json_util.h>

#include <limits>
#include <mutex>
#include <set>

namespace pb = google::protobuf;

namespace socktap::decode {

namespace {

QString qs(const std::string &s)
{
    return QString::fromStdString(s);
}

// Every compile error, as protoc prints it (compiler/command_line_interface.cc's ErrorPrinter): the
// parser's 0-based line and column shown 1-based, and no place at all when the error has none (-1: a
// file that is not found, an import that failed).
class ErrorCollector final : public pb::compiler::MultiFileErrorCollector
{
public:
    void AddError(const std::string &file, int line, int column, const std::string &message) override
    {
        QString where = qs(file);
        if (line >= 0)
            where += QStringLiteral(":%1:%2").arg(line + 1).arg(column + 1);
        const QString error = where + QStringLiteral(": ") + qs(message);
        if (!errors.contains(error)) // a file imported twice is reported once
            errors << error;
    }

    QStringList errors;
};

// A .proto's text, owned by the stream the Importer reads and then deletes.
class TextStream final : public pb::io::ZeroCopyInputStream
{
public:
    explicit TextStream(std::string text)
        : m_text(std::move(text))
        , m_stream(m_text.data(), int(m_text.size()))
    { }
    bool Next(const void **data, int *size) override { return m_stream.Next(data, size); }
    void BackUp(int count) override { m_stream.BackUp(count); }
    bool Skip(int count) override { return m_stream.Skip(count); }
    int64_t ByteCount() const override { return m_stream.ByteCount(); }

private:
    std::string m_text;
    pb::io::ArrayInputStream m_stream;
};

// The user's directories, then the well-known types
// (https://protobuf.dev/reference/protobuf/google.protobuf/: google/protobuf/timestamp.proto and the rest).
// protoc finds those in its own include directory, which a machine with only the runtime library does not
// have; libprotobuf carries them compiled in, and a compiled file's DebugString() is its .proto source.
class SourceTree final : public pb::compiler::SourceTree
{
public:
    pb::io::ZeroCopyInputStream *Open(const std::string &file) override
    {
        if (pb::io::ZeroCopyInputStream *onDisk = disk.Open(file))
            return onDisk;
        if (file.rfind("google/protobuf/", 0) == 0) {
            if (const pb::FileDescriptor *builtin =
                    pb::DescriptorPool::generated_pool()->FindFileByName(file))
                return new TextStream(builtin->DebugString());
        }
        return nullptr;
    }
    std::string GetLastErrorMessage() override { return disk.GetLastErrorMessage(); }

    pb::compiler::DiskSourceTree disk;
};

// libprotobuf writes why a parse failed (a proto3 string that is not UTF-8) to its log, not to the caller:
// while a decode runs on this thread its log lines are kept for the error; the rest go to Qt's log.
thread_local QStringList *logCapture = nullptr;

void logHandler(pb::LogLevel level, const char *file, int line, const std::string &message)
{
    if (logCapture && level != pb::LOGLEVEL_FATAL) {
        *logCapture << qs(message);
        return;
    }
    qWarning("protobuf %s:%d: %s", file, line, message.c_str());
}

class CaptureLog
{
public:
    CaptureLog() { logCapture = &lines; }
    ~CaptureLog() { logCapture = nullptr; }
    QStringList lines;
};

// Why the parsed message keeps fields in its unknown set, walking into nested messages (their paths
// prefixed "book.", "book.bids[1]."). Such a field is one the type does not define, or one it does define
// that came with another wire type (https://protobuf.dev/programming-guides/encoding/#structure), or a value
// a closed enum does not define (proto2's enums,
// https://protobuf.dev/programming-guides/enum/#closed): each means the bytes are not this type's.
void unknownFields(const pb::Message &message, const QString &prefix, QStringList &undefined,
                   QStringList &mismatched)
{
    const pb::Reflection *reflection = message.GetReflection();
    const pb::Descriptor *descriptor = message.GetDescriptor();
    const pb::UnknownFieldSet &unknown = reflection->GetUnknownFields(message);
    for (int i = 0; i < unknown.field_count(); ++i) {
        const pb::UnknownField &field = unknown.field(i);
        const QString number = prefix + QString::number(field.number());
        const pb::FieldDescriptor *known = descriptor->FindFieldByNumber(field.number());
        QString issue;
        if (!known) {
            if (!undefined.contains(number))
                undefined << number;
            continue;
        }
        if (known->enum_type() && field.type() == pb::UnknownField::TYPE_VARINT)
            issue = QStringLiteral("field %1 (%2) has %3, which enum %4 does not define")
                        .arg(number, qs(known->name()))
                        .arg(qint64(field.varint()))
                        .arg(qs(known->enum_type()->name()));
        else
            issue = QStringLiteral("field %1 (%2) is not a %3")
                        .arg(number, qs(known->name()), QString::fromLatin1(known->type_name()));
        if (!mismatched.contains(issue))
            mismatched << issue;
    }
    std::vector<const pb::FieldDescriptor *> fields;
    reflection->ListFields(message, &fields);
    for (const pb::FieldDescriptor *field : fields) {
        if (field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE)
            continue;
        const QString name = prefix + qs(field->name());
        if (!field->is_repeated()) {
            unknownFields(reflection->GetMessage(message, field), name + QLatin1Char('.'), undefined,
                          mismatched);
            continue;
        }
        for (int i = 0; i < reflection->FieldSize(message, field); ++i)
            unknownFields(reflection->GetRepeatedMessage(message, field, i),
                          QStringLiteral("%1[%2].").arg(name).arg(i), undefined, mismatched);
    }
}

void collectTypes(const pb::Descriptor *type, QHash<QString, const pb::Descriptor *> &types)
{
    // Map fields' entries are message types only in the wire format (`map<string, int32>` is
    // `repeated XEntry`, https://protobuf.dev/programming-guides/proto3/#backwards): no one sends one alone.
    if (type->options().map_entry())
        return;
    types.insert(qs(type->full_name()), type);
    for (int i = 0; i < type->nested_type_count(); ++i)
        collectTypes(type->nested_type(i), types);
}

void collectFile(const pb::FileDescriptor *file, std::set<const pb::FileDescriptor *> &seen,
                 QHash<QString, const pb::Descriptor *> &types)
{
    if (!seen.insert(file).second)
        return;
    for (int i = 0; i < file->message_type_count(); ++i)
        collectTypes(file->message_type(i), types);
    // What a file imports is in the schema too: a user who names one file can pick its imports' types.
    for (int i = 0; i < file->dependency_count(); ++i)
        collectFile(file->dependency(i), seen, types);
}

} // namespace

struct ProtoSchema::Private
{
    // Declared in the order each needs the one before: the Importer reads the source tree and reports to
    // the collector, the factory's prototypes point into the Importer's descriptor pool.
    SourceTree sources;
    ErrorCollector errors;
    pb::compiler::Importer importer {&sources, &errors};
    pb::DynamicMessageFactory factory;
    QHash<QString, const pb::Descriptor *> types;
};

ProtoSchema::ProtoSchema(std::unique_ptr<Private> p)
    : d(std::move(p))
{ }

ProtoSchema::~ProtoSchema() = default;

std::shared_ptr<const ProtoSchema> ProtoSchema::load(const QStringList &protoFiles,
                                                     const QStringList &importDirs, QString *error)
{
    static std::once_flag logOnce;
    std::call_once(logOnce, [] { pb::SetLogHandler(logHandler); });

    auto p = std::make_unique<Private>();
    QStringList errors;
    // protoc's --proto_path: a file under an import directory is named by its path below it (so that its
    // own imports, written the same way, find it once,
    // https://protobuf.dev/programming-guides/proto3/#importing); a file elsewhere by its name in its own
    // directory, mapped after the import directories.
    for (const QString &dir : importDirs)
        p->sources.disk.MapPath("", QDir::cleanPath(QDir(dir).absolutePath()).toStdString());
    for (const QString &file : protoFiles) {
        const QFileInfo info(file);
        if (info.isFile())
            p->sources.disk.MapPath("", QDir::cleanPath(info.absolutePath()).toStdString());
    }
    QStringList virtualNames;
    for (const QString &file : protoFiles) {
        const QFileInfo info(file);
        if (!info.isFile()) {
            errors << QStringLiteral("%1: no such file").arg(file);
            continue;
        }
        std::string virtualName;
        std::string shadow;
        switch (p->sources.disk.DiskFileToVirtualFile(QDir::cleanPath(info.absoluteFilePath()).toStdString(),
                                                      &virtualName, &shadow)) {
        case pb::compiler::DiskSourceTree::SUCCESS:
            virtualNames << qs(virtualName);
            break;
        case pb::compiler::DiskSourceTree::SHADOWED:
            // Its imports would read the other file of that name: protoc refuses it too.
            errors << QStringLiteral("%1: shadowed by %2, which has the same name earlier in the import path")
                          .arg(file, qs(shadow));
            break;
        case pb::compiler::DiskSourceTree::CANNOT_OPEN:
            errors << QStringLiteral("%1: %2").arg(file, qs(p->sources.disk.GetLastErrorMessage()));
            break;
        case pb::compiler::DiskSourceTree::NO_MAPPING: // every file's directory is mapped above
            errors << QStringLiteral("%1: not in any import directory").arg(file);
            break;
        }
    }
    std::set<const pb::FileDescriptor *> seen;
    for (const QString &name : virtualNames) {
        const pb::FileDescriptor *file = p->importer.Import(name.toStdString());
        if (file)
            collectFile(file, seen, p->types);
        else if (p->errors.errors.isEmpty())
            errors << QStringLiteral("%1: does not compile").arg(name);
    }
    errors << p->errors.errors;
    if (!errors.isEmpty()) {
        if (error)
            *error = errors.join(QLatin1Char('\n'));
        return nullptr;
    }
    return std::shared_ptr<const ProtoSchema>(new ProtoSchema(std::move(p)));
}

QStringList ProtoSchema::messageTypes() const
{
    QStringList names = d->types.keys();
    names.sort();
    return names;
}

std::optional<QJsonObject> ProtoSchema::decode(const QString &type, QByteArrayView bytes,
                                               QString *error) const
{
    const auto fail = [&](const QString &why) -> std::optional<QJsonObject> {
        if (error)
            *error = why;
        return std::nullopt;
    };
    const pb::Descriptor *descriptor = d->types.value(type);
    if (!descriptor)
        return fail(QStringLiteral("no message type %1 in the schema").arg(type));
    if (bytes.size() > std::numeric_limits<int>::max()) // libprotobuf's limit on one message
        return fail(
            QStringLiteral("not a %1: %2 bytes are more than a message can be").arg(type).arg(bytes.size()));
    std::unique_ptr<pb::Message> message(d->factory.GetPrototype(descriptor)->New());
    {
        CaptureLog log;
        if (!message->ParsePartialFromArray(bytes.data(), int(bytes.size()))) {
            // libprotobuf says only that it failed: the reason is its log line (bad UTF-8) or, for broken
            // bytes, where the wire format itself breaks.
            QString why = log.lines.join(QStringLiteral("; "));
            if (why.isEmpty())
                protobuf::decodeRaw(bytes, &why);
            if (why.isEmpty())
                why = QStringLiteral("the bytes do not parse as it");
            return fail(QStringLiteral("not a %1: %2").arg(type, why));
        }
    }
    // proto2's required fields (https://protobuf.dev/programming-guides/proto2/#field-labels).
    if (!message->IsInitialized())
        return fail(
            QStringLiteral("not a %1: %2 missing").arg(type, qs(message->InitializationErrorString())));
    // Parsing keeps what the type does not define (https://protobuf.dev/programming-guides/proto3/#unknowns)
    // and so takes almost any message as almost any type: fields it does not know are the sign that the
    // bytes are another type's.
    QStringList undefined;
    QStringList mismatched;
    unknownFields(*message, {}, undefined, mismatched);
    if (!undefined.isEmpty())
        mismatched.prepend(
            undefined.size() == 1
                ? QStringLiteral("field %1 is not in it").arg(undefined.front())
                : QStringLiteral("fields %1 are not in it").arg(undefined.join(QStringLiteral(", "))));
    if (!mismatched.isEmpty())
        return fail(QStringLiteral("not a %1: %2").arg(type, mismatched.join(QStringLiteral("; "))));

    // The proto3 JSON mapping (https://protobuf.dev/programming-guides/json/): the .proto's field names as
    // written rather than lowerCamelCase, fields at their default value left out as on the wire; 64-bit
    // integers are strings and bytes base64, as the mapping says.
    pb::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    options.always_print_primitive_fields = false;
    std::string json;
    const pb::util::Status status = pb::util::MessageToJsonString(*message, &json, options);
    if (!status.ok())
        return fail(QStringLiteral("%1 as JSON: %2").arg(type, qs(std::string(status.message()))));
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(json), &parseError);
    if (!doc.isObject())
        return fail(QStringLiteral("%1 as JSON: %2").arg(type, parseError.errorString()));
    return doc.object();
}

std::optional<QByteArray> ProtoSchema::encode(const QString &type, const QJsonObject &value,
                                              QString *error) const
{
    const auto fail = [&](const QString &why) -> std::optional<QByteArray> {
        if (error)
            *error = why;
        return std::nullopt;
    };
    const pb::Descriptor *descriptor = d->types.value(type);
    if (!descriptor)
        return fail(QStringLiteral("no message type %1 in the schema").arg(type));
    std::unique_ptr<pb::Message> message(d->factory.GetPrototype(descriptor)->New());
    // The mapping's parser takes both the .proto's names and lowerCamelCase; a name the type does not have
    // is an error, not dropped, so a rule's typo is seen.
    pb::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    const QByteArray json = QJsonDocument(value).toJson(QJsonDocument::Compact);
    const pb::util::Status status = pb::util::JsonStringToMessage(
        pb::StringPiece(json.constData(), size_t(json.size())), message.get(), options);
    if (!status.ok())
        return fail(QStringLiteral("not a %1: %2").arg(type, qs(std::string(status.message()))));
    if (!message->IsInitialized())
        return fail(
            QStringLiteral("not a %1: %2 missing").arg(type, qs(message->InitializationErrorString())));
    std::string bytes;
    if (!message->SerializeToString(&bytes))
        return fail(QStringLiteral("%1 cannot be serialized").arg(type));
    return QByteArray::fromStdString(bytes);
}

QString ProtoSchema::summary(const QString &type, const QJsonObject &value) const
{
    constexpr int MaxChars = 80;
    const pb::Descriptor *descriptor = d->types.value(type);
    QString line = descriptor ? qs(descriptor->name()) : type.section(QLatin1Char('.'), -1);
    if (!descriptor)
        return line;
    // Scalars first, in declaration order, as they say most (a symbol, a price, an id); then lists and
    // messages as their sizes, the way the schema-less summary shows them. A well-known type the mapping
    // writes as a scalar (a Timestamp's RFC 3339 text, a wrapper's value) is a scalar here too.
    QStringList scalars;
    QStringList containers;
    for (int i = 0; i < descriptor->field_count(); ++i) {
        const pb::FieldDescriptor *field = descriptor->field(i);
        const QString name = qs(field->name());
        const QJsonValue v = value.value(name);
        if (v.isUndefined())
            continue;
        if (v.isArray() || v.isObject()) {
            containers << name + QLatin1Char('=') + brief(v);
            continue;
        }
        // Quoted when the .proto says text; 64-bit integers, enums and Timestamps are JSON strings only by
        // the mapping, and read as what they are. Doubles as the shortest text that reads back the same
        // (a price's digits all matter).
        QString shown;
        if (field->type() == pb::FieldDescriptor::TYPE_STRING
            || field->type() == pb::FieldDescriptor::TYPE_BYTES)
            shown = brief(v, 24);
        else if (v.isDouble())
            shown = QString::number(v.toDouble(), 'g', QLocale::FloatingPointShortest);
        else
            shown = textOf(v);
        if (shown.size() > 24)
            shown = shown.left(23) + QChar(0x2026);
        scalars << name + QLatin1Char('=') + shown;
    }
    const QStringList parts = scalars + containers;
    for (qsizetype i = 0; i < parts.size(); ++i) {
        // The last part may use the room that " …" would otherwise need.
        const int room = i + 1 == parts.size() ? MaxChars : MaxChars - 2;
        if (line.size() + 1 + parts[i].size() > room) {
            line += QLatin1Char(' ') + QChar(0x2026);
            break;
        }
        line += QLatin1Char(' ') + parts[i];
    }
    return line;
}

ProtobufSchemaDecoder::ProtobufSchemaDecoder(std::shared_ptr<const ProtoSchema> schema, QString clientType,
                                             QString serverType)
    : m_schema(std::move(schema))
    , m_clientType(std::move(clientType))
    , m_serverType(std::move(serverType))
{ }

const QString &ProtobufSchemaDecoder::typeFor(const Message &message) const
{
    return message.fromServer ? m_serverType : m_clientType;
}

Decoded ProtobufSchemaDecoder::decode(const Message &message, DecoderState *state) const
{
    static const ProtobufDecoder withoutSchema;
    if (!message.binary) {
        Decoded d;
        d.error = QStringLiteral("protobuf is binary; this message is text");
        return d;
    }
    const QString &type = typeFor(message);
    if (type.isEmpty() || !m_schema)
        return withoutSchema.decode(message, state);
    QString error;
    if (const auto value = m_schema->decode(type, message.payload, &error)) {
        Decoded d;
        d.format = name();
        d.value = *value;
        d.summary = m_schema->summary(type, *value);
        return d;
    }
    // The wire format still shows what came, and `error` why it is not the chosen type.
    Decoded fallback = withoutSchema.decode(message, state);
    fallback.error = error;
    return fallback;
}

std::optional<QByteArray> ProtobufSchemaDecoder::encode(const Message &original, const QJsonValue &value,
                                                        QString *error) const
{
    const QString &type = typeFor(original);
    if (type.isEmpty() || !m_schema) {
        if (error)
            *error =
                QStringLiteral("protobuf without a message type for this direction cannot be re-encoded");
        return std::nullopt;
    }
    if (!value.isObject()) {
        if (error)
            *error = QStringLiteral("a %1 is a JSON object").arg(type);
        return std::nullopt;
    }
    return m_schema->encode(type, value.toObject(), error);
}

std::shared_ptr<const FormatRegistry> protobufFormats(const ProtoChoice &choice, QString *error)
{
    if (choice.files.isEmpty())
        return std::make_shared<FormatRegistry>(FormatRegistry::builtin());
    auto schema = ProtoSchema::load(choice.files, choice.importDirs, error);
    return schema ? protobufFormats(std::move(schema), choice, error) : nullptr;
}

std::shared_ptr<const FormatRegistry> protobufFormats(std::shared_ptr<const ProtoSchema> schema,
                                                      const ProtoChoice &choice, QString *error)
{
    auto formats = std::make_shared<FormatRegistry>(FormatRegistry::builtin());
    const QStringList known = schema->messageTypes();
    for (const QString &type : {choice.clientType, choice.serverType}) {
        if (!type.isEmpty() && !known.contains(type)) {
            *error =
                QStringLiteral("%1: no such message type in %2; it has %3")
                    .arg(type, choice.files.join(QStringLiteral(", ")), known.join(QStringLiteral(", ")));
            return nullptr;
        }
    }
    const QRegularExpression url(choice.urlPattern);
    if (!url.isValid()) {
        *error = QStringLiteral("URL pattern %1: %2").arg(choice.urlPattern, url.errorString());
        return nullptr;
    }
    formats->replace(std::make_shared<ProtobufSchemaDecoder>(schema, choice.clientType, choice.serverType),
                     choice.urlPattern);
    return formats;
}

} // namespace socktap::decode
