#include "Protobuf.h"

#include "JsonValue.h"

#include <QJsonArray>
#include <QtEndian>

#include <cstring>

namespace socktap::decode::protobuf {

namespace {

constexpr int MaxDepth = 64; // nested messages guessed at most this deep

bool varint(QByteArrayView data, qsizetype &at, quint64 &out)
{
    out = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (at >= data.size())
            return false;
        const quint8 b = quint8(data[at++]);
        out |= quint64(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false; // more than 10 bytes
}

QJsonValue integer(quint64 v)
{
    // JSON numbers are doubles: past 2^53 the exact value is kept as text.
    return v < (1ULL << 53) ? QJsonValue(qint64(v)) : QJsonValue(QString::number(v));
}

bool printable(const QString &s)
{
    for (const QChar c : s)
        if (c.unicode() < 0x20 && c != QLatin1Char('\n') && c != QLatin1Char('\r') && c != QLatin1Char('\t'))
            return false;
    return true;
}

QJsonValue lengthDelimited(QByteArrayView bytes, int depth)
{
    // A nested message first (what a schema would most often say), when it parses whole and is not
    // also plain text: "hi" happens to parse as field 13 (wire type 0) with value 105.
    const QString text = QString::fromUtf8(bytes);
    const bool isText = !bytes.isEmpty() && text.toUtf8() == bytes && printable(text);
    if (!isText && !bytes.isEmpty() && depth < MaxDepth) {
        if (auto nested = decodeRaw(bytes, nullptr, depth + 1))
            return *nested;
    }
    if (isText || bytes.isEmpty())
        return text;
    return QJsonObject {{"bytes", QString::fromLatin1(bytes.toByteArray().toBase64())}};
}

} // namespace

std::optional<QJsonObject> decodeRaw(QByteArrayView data, QString *error, int depth)
{
    const auto fail = [&](const QString &why, qsizetype at) -> std::optional<QJsonObject> {
        if (error)
            *error = QStringLiteral("protobuf: %1 at byte %2").arg(why).arg(at);
        return std::nullopt;
    };
    QJsonObject fields;
    qsizetype at = 0;
    while (at < data.size()) {
        const qsizetype start = at;
        quint64 key = 0;
        if (!varint(data, at, key))
            return fail(QStringLiteral("a truncated field key"), start);
        const quint64 number = key >> 3;
        const int wireType = int(key & 7);
        if (number == 0 || number > 536870911)
            return fail(QStringLiteral("field number %1 out of range").arg(number), start);
        QJsonValue value;
        switch (wireType) {
        case 0: { // VARINT
            quint64 v = 0;
            if (!varint(data, at, v))
                return fail(QStringLiteral("a truncated varint"), at);
            value = integer(v);
            break;
        }
        case 1: { // I64: shown as the integer, and the double it would be
            if (data.size() - at < 8)
                return fail(QStringLiteral("a truncated 64-bit field"), at);
            const quint64 v = qFromLittleEndian<quint64>(data.data() + at);
            double f;
            std::memcpy(&f, &v, 8);
            value = QJsonObject {{"fixed64", integer(v)}, {"double", f}};
            at += 8;
            break;
        }
        case 2: { // LEN
            quint64 n = 0;
            if (!varint(data, at, n) || n > quint64(data.size() - at))
                return fail(QStringLiteral("a length past the end"), at);
            value = lengthDelimited(data.sliced(at, qsizetype(n)), depth);
            at += qsizetype(n);
            break;
        }
        case 5: { // I32
            if (data.size() - at < 4)
                return fail(QStringLiteral("a truncated 32-bit field"), at);
            const quint32 v = qFromLittleEndian<quint32>(data.data() + at);
            float f;
            std::memcpy(&f, &v, 4);
            value = QJsonObject {{"fixed32", qint64(v)}, {"float", double(f)}};
            at += 4;
            break;
        }
        default: // 3 and 4 are proto2's deprecated groups; 6 and 7 do not exist
            return fail(QStringLiteral("wire type %1").arg(wireType), start);
        }
        const QString name = QString::number(number);
        // Repeated: an array in arrival order (no single field's value is ever an array, so an array
        // here is always the repetition).
        const QJsonValue existing = fields.value(name);
        if (existing.isUndefined()) {
            fields.insert(name, value);
        } else {
            QJsonArray list = existing.isArray() ? existing.toArray() : QJsonArray {existing};
            list.append(value);
            fields.insert(name, list);
        }
    }
    return fields;
}

} // namespace socktap::decode::protobuf

namespace socktap::decode {

Decoded ProtobufDecoder::decode(const Message &message, DecoderState *) const
{
    Decoded d;
    QString error;
    const auto fields = protobuf::decodeRaw(message.payload, &error);
    if (!fields) {
        d.error = error;
        return d;
    }
    d.format = name();
    d.value = *fields;
    QStringList parts;
    for (auto it = fields->begin(); it != fields->end() && parts.size() < 4; ++it)
        parts << it.key() + QLatin1Char('=') + brief(it.value(), 24);
    d.summary = parts.join(QLatin1Char(' '));
    if (fields->size() > 4)
        d.summary += QStringLiteral(" +%1").arg(fields->size() - 4);
    return d;
}

} // namespace socktap::decode
