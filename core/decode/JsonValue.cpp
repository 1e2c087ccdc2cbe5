#include "JsonValue.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

#include <cmath>

namespace socktap::decode {

std::optional<QJsonValue> parseJson(QByteArrayView text, QString *error)
{
    // QJsonDocument takes only objects and arrays at the top; a scalar (Socket.IO's ack of a number, a
    // JSON-RPC id) is parsed inside an array of one.
    const QByteArray trimmed = text.trimmed().toByteArray();
    if (trimmed.isEmpty()) {
        if (error)
            *error = QStringLiteral("no JSON value");
        return std::nullopt;
    }
    QJsonParseError parseError;
    const bool container = trimmed.front() == '{' || trimmed.front() == '[';
    const QJsonDocument doc = QJsonDocument::fromJson(container ? trimmed : '[' + trimmed + ']', &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        if (error)
            *error = QStringLiteral("JSON: %1 at offset %2")
                         .arg(parseError.errorString())
                         .arg(container ? parseError.offset : std::max(0, parseError.offset - 1));
        return std::nullopt;
    }
    if (!container)
        return doc.array().at(0);
    return doc.isArray() ? QJsonValue(doc.array()) : QJsonValue(doc.object());
}

QString textOf(const QJsonValue &value)
{
    if (value.isString())
        return value.toString();
    if (value.isDouble()) {
        const double d = value.toDouble();
        if (std::floor(d) == d && std::abs(d) < 1e15)
            return QString::number(qint64(d));
        return QString::number(d);
    }
    if (value.isBool())
        return value.toBool() ? QStringLiteral("true") : QStringLiteral("false");
    if (value.isNull())
        return QStringLiteral("null");
    return {};
}

QString brief(const QJsonValue &value, int maxChars)
{
    QString s;
    if (value.isString())
        s = QLatin1Char('"') + value.toString() + QLatin1Char('"');
    else if (value.isArray())
        s = QStringLiteral("[%1]").arg(value.toArray().size());
    else if (value.isObject())
        s = QStringLiteral("{%1}").arg(value.toObject().size());
    else
        s = textOf(value);
    if (s.size() > maxChars)
        s = s.left(maxChars - 1) + QChar(0x2026);
    return s;
}

std::optional<QStringList> parseJsonPath(const QString &text)
{
    if (!text.startsWith(QLatin1String("$.")) && text != QLatin1String("$"))
        return std::nullopt;
    QStringList steps;
    static const QRegularExpression part(QStringLiteral(R"(([^.\[\]]+)|\[(\d+)\])"));
    for (auto it = part.globalMatch(text.mid(2)); it.hasNext();) {
        const auto m = it.next();
        steps << (m.captured(1).isEmpty() ? QLatin1Char('[') + m.captured(2) + QLatin1Char(']')
                                          : m.captured(1));
    }
    if (steps.isEmpty() && text != QLatin1String("$"))
        return std::nullopt;
    return steps;
}

QJsonValue valueAt(const QJsonValue &root, const QStringList &path)
{
    QJsonValue at = root;
    for (const QString &step : path) {
        if (step.startsWith(QLatin1Char('[')))
            at = at.isArray() ? at.toArray().at(step.mid(1, step.size() - 2).toLongLong()) : QJsonValue();
        else
            at = at.isObject() ? at.toObject().value(step) : QJsonValue(QJsonValue::Undefined);
        if (at.isUndefined())
            break;
    }
    return at;
}

std::optional<QJsonValue> withValueAt(const QJsonValue &root, const QStringList &path,
                                      const QJsonValue &value)
{
    if (path.isEmpty())
        return value;
    const QString &step = path.first();
    const QStringList rest = path.mid(1);
    if (step.startsWith(QLatin1Char('['))) {
        if (!root.isArray())
            return std::nullopt;
        QJsonArray a = root.toArray();
        const qsizetype i = step.mid(1, step.size() - 2).toLongLong();
        if (i < 0 || i >= a.size())
            return std::nullopt;
        const auto inner = withValueAt(a.at(i), rest, value);
        if (!inner)
            return std::nullopt;
        a[i] = *inner;
        return a;
    }
    if (!root.isObject())
        return std::nullopt;
    QJsonObject o = root.toObject();
    const QJsonValue child = o.value(step);
    if (child.isUndefined() && !rest.isEmpty())
        return std::nullopt;
    const auto inner = withValueAt(child, rest, value);
    if (!inner)
        return std::nullopt;
    o[step] = *inner;
    return o;
}

QString countOf(qsizetype n, const char *noun)
{
    return QStringLiteral("%1 %2%3").arg(n).arg(QLatin1String(noun)).arg(n == 1 ? "" : "s");
}

QJsonObject decodedToJson(const Decoded &d, std::optional<quint64> pair, qint64 pairMicros)
{
    QJsonObject o;
    if (d.decoded()) {
        o["format"] = d.format;
        o["summary"] = d.summary;
        o["value"] = d.value;
    }
    if (d.chatter)
        o["chatter"] = true;
    if (pair) {
        o["pair"] = qint64(*pair);
        o["pairMicros"] = pairMicros;
    }
    if (!d.error.isEmpty())
        o["error"] = d.error;
    return o;
}

} // namespace socktap::decode
