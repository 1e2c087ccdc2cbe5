#include "MsgPack.h"

#include "JsonValue.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtEndian>

#include <cmath>
#include <cstring>

namespace socktap::decode {

namespace msgpack {

namespace {

constexpr int MaxDepth = 256; // nesting deeper than this is refused, not followed (a stack guard)
constexpr qsizetype MaxKeyChars = 256; // a map key that is not a string, as JSON text

template<typename T>
bool take(QByteArrayView data, qsizetype &at, T &out)
{
    if (data.size() - at < qsizetype(sizeof(T)))
        return false;
    std::memcpy(&out, data.data() + at, sizeof(T));
    out = qFromBigEndian(out);
    at += sizeof(T);
    return true;
}

QString base64(QByteArrayView bytes)
{
    return QString::fromLatin1(bytes.toByteArray().toBase64());
}

// The timestamp extension, type -1: 32-bit seconds, 64-bit nanoseconds<<34|seconds, or 96-bit.
QJsonValue timestamp(QByteArrayView d)
{
    qint64 seconds = 0;
    quint32 nanos = 0;
    if (d.size() == 4) {
        seconds = qFromBigEndian<quint32>(d.data());
    } else if (d.size() == 8) {
        const quint64 v = qFromBigEndian<quint64>(d.data());
        nanos = quint32(v >> 34);
        seconds = qint64(v & 0x3ffffffffULL);
    } else if (d.size() == 12) {
        nanos = qFromBigEndian<quint32>(d.data());
        seconds = qFromBigEndian<qint64>(d.data() + 4);
    } else {
        return QJsonObject {{"$ext", -1}, {"base64", base64(d)}};
    }
    const QDateTime t = QDateTime::fromMSecsSinceEpoch(seconds * 1000 + nanos / 1'000'000, Qt::UTC);
    return t.toString(Qt::ISODateWithMs);
}

} // namespace

std::optional<QJsonValue> read(QByteArrayView data, qsizetype &at, QString &error, int depth)
{
    const auto fail = [&](const QString &why) -> std::optional<QJsonValue> {
        error = QStringLiteral("MessagePack: %1 at byte %2").arg(why).arg(at);
        return std::nullopt;
    };
    if (depth > MaxDepth)
        return fail(QStringLiteral("nested deeper than %1").arg(MaxDepth));
    quint8 b = 0;
    if (!take(data, at, b))
        return fail(QStringLiteral("truncated"));
    const auto bytes = [&](quint64 n) -> std::optional<QByteArrayView> {
        if (quint64(data.size() - at) < n)
            return std::nullopt;
        const QByteArrayView v = data.sliced(at, qsizetype(n));
        at += qsizetype(n);
        return v;
    };
    const auto sized = [&](int width, quint64 &n) {
        quint8 a8;
        quint16 a16;
        quint32 a32;
        if (width == 1 && take(data, at, a8)) {
            n = a8;
            return true;
        }
        if (width == 2 && take(data, at, a16)) {
            n = a16;
            return true;
        }
        if (width == 4 && take(data, at, a32)) {
            n = a32;
            return true;
        }
        return false;
    };
    const auto array = [&](quint64 n) -> std::optional<QJsonValue> {
        if (n > quint64(data.size() - at))
            return fail(QStringLiteral("array of %1 longer than the message").arg(n));
        QJsonArray a;
        for (quint64 i = 0; i < n; ++i) {
            auto v = read(data, at, error, depth + 1);
            if (!v)
                return std::nullopt;
            a.append(*v);
        }
        return a;
    };
    const auto map = [&](quint64 n) -> std::optional<QJsonValue> {
        if (n > quint64(data.size() - at) / 2)
            return fail(QStringLiteral("map of %1 longer than the message").arg(n));
        QJsonObject o;
        for (quint64 i = 0; i < n; ++i) {
            auto k = read(data, at, error, depth + 1);
            if (!k)
                return std::nullopt;
            auto v = read(data, at, error, depth + 1);
            if (!v)
                return std::nullopt;
            QString key = k->isString()         ? k->toString()
                : k->isArray() || k->isObject() ? QString::fromUtf8(
                      (k->isArray() ? QJsonDocument(k->toArray()) : QJsonDocument(k->toObject()))
                          .toJson(QJsonDocument::Compact))
                                                : textOf(*k);
            // A key that is a map whose key is a map...: each level's JSON text escapes the one inside it,
            // doubling its length; capped, so 100 levels stay 100 short keys (found by fuzz_decode).
            if (!k->isString() && key.size() > MaxKeyChars)
                key = key.left(MaxKeyChars - 1) + QChar(0x2026);
            o.insert(key, *v);
        }
        return o;
    };
    const auto str = [&](quint64 n) -> std::optional<QJsonValue> {
        const auto v = bytes(n);
        if (!v)
            return fail(QStringLiteral("string of %1 bytes truncated").arg(n));
        return QString::fromUtf8(*v);
    };
    const auto bin = [&](quint64 n) -> std::optional<QJsonValue> {
        const auto v = bytes(n);
        if (!v)
            return fail(QStringLiteral("binary of %1 bytes truncated").arg(n));
        return QJsonObject {{"$bin", base64(*v)}};
    };
    const auto ext = [&](quint64 n) -> std::optional<QJsonValue> {
        qint8 type = 0;
        if (!take(data, at, type))
            return fail(QStringLiteral("truncated ext"));
        const auto v = bytes(n);
        if (!v)
            return fail(QStringLiteral("ext of %1 bytes truncated").arg(n));
        if (type == -1)
            return timestamp(*v);
        return QJsonObject {{"$ext", type}, {"base64", base64(*v)}};
    };
    if (b <= 0x7f)
        return QJsonValue(int(b));
    if (b >= 0xe0)
        return QJsonValue(int(qint8(b)));
    if ((b & 0xf0) == 0x80)
        return map(b & 0x0f);
    if ((b & 0xf0) == 0x90)
        return array(b & 0x0f);
    if ((b & 0xe0) == 0xa0)
        return str(b & 0x1f);
    quint64 n = 0;
    switch (b) {
    case 0xc0:
        return QJsonValue(QJsonValue::Null);
    case 0xc2:
        return QJsonValue(false);
    case 0xc3:
        return QJsonValue(true);
    case 0xc4:
    case 0xc5:
    case 0xc6:
        if (!sized(1 << (b - 0xc4), n))
            return fail(QStringLiteral("truncated length"));
        return bin(n);
    case 0xc7:
    case 0xc8:
    case 0xc9:
        if (!sized(1 << (b - 0xc7), n))
            return fail(QStringLiteral("truncated length"));
        return ext(n);
    case 0xca: {
        quint32 v;
        if (!take(data, at, v))
            return fail(QStringLiteral("truncated float"));
        float f;
        std::memcpy(&f, &v, 4);
        return QJsonValue(double(f));
    }
    case 0xcb: {
        quint64 v;
        if (!take(data, at, v))
            return fail(QStringLiteral("truncated double"));
        double f;
        std::memcpy(&f, &v, 8);
        return QJsonValue(f);
    }
    case 0xcc: {
        quint8 v;
        if (!take(data, at, v))
            break;
        return QJsonValue(int(v));
    }
    case 0xcd: {
        quint16 v;
        if (!take(data, at, v))
            break;
        return QJsonValue(int(v));
    }
    case 0xce: {
        quint32 v;
        if (!take(data, at, v))
            break;
        return QJsonValue(qint64(v));
    }
    case 0xcf: {
        quint64 v;
        if (!take(data, at, v))
            break;
        // JSON numbers are doubles: integers past 2^53 are kept exact as text.
        return v < (1ULL << 53) ? QJsonValue(qint64(v)) : QJsonValue(QString::number(v));
    }
    case 0xd0: {
        qint8 v;
        if (!take(data, at, v))
            break;
        return QJsonValue(int(v));
    }
    case 0xd1: {
        qint16 v;
        if (!take(data, at, v))
            break;
        return QJsonValue(int(v));
    }
    case 0xd2: {
        qint32 v;
        if (!take(data, at, v))
            break;
        return QJsonValue(qint64(v));
    }
    case 0xd3: {
        qint64 v;
        if (!take(data, at, v))
            break;
        return qAbs(v) < (1LL << 53) ? QJsonValue(v) : QJsonValue(QString::number(v));
    }
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
        return ext(1u << (b - 0xd4));
    case 0xd9:
    case 0xda:
    case 0xdb:
        if (!sized(1 << (b - 0xd9), n))
            return fail(QStringLiteral("truncated length"));
        return str(n);
    case 0xdc:
    case 0xdd:
        if (!sized(b == 0xdc ? 2 : 4, n))
            return fail(QStringLiteral("truncated length"));
        return array(n);
    case 0xde:
    case 0xdf:
        if (!sized(b == 0xde ? 2 : 4, n))
            return fail(QStringLiteral("truncated length"));
        return map(n);
    default:
        return fail(QStringLiteral("0x%1 is no MessagePack type").arg(b, 2, 16, QLatin1Char('0')));
    }
    return fail(QStringLiteral("truncated integer"));
}

namespace {

void putBE(QByteArray &out, quint64 v, int bytes)
{
    for (int i = bytes - 1; i >= 0; --i)
        out += char((v >> (8 * i)) & 0xff);
}

void putLength(QByteArray &out, quint64 n, quint8 fix, int fixMax, quint8 b8, quint8 b16, quint8 b32)
{
    if (fix && n <= quint64(fixMax))
        out += char(fix | n);
    else if (b8 && n <= 0xff) {
        out += char(b8);
        putBE(out, n, 1);
    } else if (n <= 0xffff) {
        out += char(b16);
        putBE(out, n, 2);
    } else {
        out += char(b32);
        putBE(out, n, 4);
    }
}

void writeTo(QByteArray &out, const QJsonValue &v)
{
    switch (v.type()) {
    case QJsonValue::Null:
    case QJsonValue::Undefined:
        out += char(0xc0);
        return;
    case QJsonValue::Bool:
        out += char(v.toBool() ? 0xc3 : 0xc2);
        return;
    case QJsonValue::Double: {
        const double d = v.toDouble();
        // [-2^63, 2^64): what an int64 or uint64 holds; -0.0 keeps its sign as a float.
        const bool integral = d == std::trunc(d) && d >= -9223372036854775808.0 && d < 18446744073709551616.0
            && !(d == 0 && std::signbit(d));
        if (!integral) {
            out += char(0xcb);
            quint64 bits;
            std::memcpy(&bits, &d, 8);
            putBE(out, bits, 8);
            return;
        }
        if (d >= 0) {
            const quint64 u =
                v.toInteger() >= 0 && double(v.toInteger()) == d ? quint64(v.toInteger()) : quint64(d);
            if (u <= 0x7f)
                out += char(u);
            else if (u <= 0xff)
                (out += char(0xcc)), putBE(out, u, 1);
            else if (u <= 0xffff)
                (out += char(0xcd)), putBE(out, u, 2);
            else if (u <= 0xffffffffull)
                (out += char(0xce)), putBE(out, u, 4);
            else
                (out += char(0xcf)), putBE(out, u, 8);
            return;
        }
        const qint64 i = v.toInteger();
        if (i >= -32)
            out += char(i);
        else if (i >= -128)
            (out += char(0xd0)), putBE(out, quint64(i), 1);
        else if (i >= -32768)
            (out += char(0xd1)), putBE(out, quint64(i), 2);
        else if (i >= -2147483648ll)
            (out += char(0xd2)), putBE(out, quint64(i), 4);
        else
            (out += char(0xd3)), putBE(out, quint64(i), 8);
        return;
    }
    case QJsonValue::String: {
        const QByteArray s = v.toString().toUtf8();
        putLength(out, quint64(s.size()), 0xa0, 31, 0xd9, 0xda, 0xdb);
        out += s;
        return;
    }
    case QJsonValue::Array: {
        const QJsonArray a = v.toArray();
        putLength(out, quint64(a.size()), 0x90, 15, 0, 0xdc, 0xdd);
        for (const QJsonValue &e : a)
            writeTo(out, e);
        return;
    }
    case QJsonValue::Object: {
        const QJsonObject o = v.toObject();
        if (o.size() == 1 && o.value("$bin").isString()) {
            const QByteArray b = QByteArray::fromBase64(o.value("$bin").toString().toLatin1());
            putLength(out, quint64(b.size()), 0, 0, 0xc4, 0xc5, 0xc6);
            out += b;
            return;
        }
        if (o.size() == 2 && o.value("$ext").isDouble() && o.value("base64").isString()) {
            const QByteArray b = QByteArray::fromBase64(o.value("base64").toString().toLatin1());
            const int fixed[] = {1, 2, 4, 8, 16};
            const quint8 fixCodes[] = {0xd4, 0xd5, 0xd6, 0xd7, 0xd8};
            bool done = false;
            for (int k = 0; k < 5 && !done; ++k)
                if (b.size() == fixed[k]) {
                    out += char(fixCodes[k]);
                    done = true;
                }
            if (!done)
                putLength(out, quint64(b.size()), 0, 0, 0xc7, 0xc8, 0xc9);
            out += char(qint8(o.value("$ext").toInt()));
            out += b;
            return;
        }
        putLength(out, quint64(o.size()), 0x80, 15, 0, 0xde, 0xdf);
        for (auto it = o.begin(); it != o.end(); ++it) {
            writeTo(out, it.key());
            writeTo(out, it.value());
        }
        return;
    }
    }
}

} // namespace

QByteArray write(const QJsonValue &value)
{
    QByteArray out;
    writeTo(out, value);
    return out;
}

} // namespace msgpack

Decoded MsgPackDecoder::decode(const Message &message, DecoderState *) const
{
    Decoded d;
    qsizetype at = 0;
    QString error;
    auto value = msgpack::read(message.payload, at, error);
    if (!value) {
        d.error = error;
        return d;
    }
    if (at != message.payload.size()) {
        d.error = QStringLiteral("MessagePack: %1 bytes after the value").arg(message.payload.size() - at);
        return d;
    }
    d.format = name();
    d.value = *value;
    d.summary = brief(*value);
    return d;
}

} // namespace socktap::decode
