#include "ScriptFormat.h"

#include "core/decode/FormatRegistry.h"

#include <QJSEngine>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace socktap::intercept {

ScriptFormat::ScriptFormat(std::shared_ptr<const ScriptSet> scripts, ScriptFormatSpec spec)
    : m_scripts(std::move(scripts))
    , m_spec(std::move(spec))
{ }

QJSValue ScriptFormat::call(const QString &what, const decode::Message &message, const QJSValueList &extra,
                            QString *error) const
{
    ScriptRunner &runner = ScriptRunner::forThisThread();
    const std::vector<ScriptRunner::Loaded> &loaded = runner.load(*m_scripts);
    if (size_t(m_spec.script) >= loaded.size())
        return QJSValue();
    const ScriptRunner::Loaded &script = loaded[size_t(m_spec.script)];
    const auto spec = script.formats.find(m_spec.name);
    if (spec == script.formats.end())
        return QJSValue();
    const QJSValue fn = spec->second.property(what);
    if (!fn.isCallable())
        return QJSValue();
    QJSEngine &engine = runner.engine();
    QJSValue m = engine.newObject();
    m.setProperty(QStringLiteral("from"),
                  message.fromServer ? QStringLiteral("server") : QStringLiteral("client"));
    m.setProperty(QStringLiteral("type"), message.binary ? QStringLiteral("binary") : QStringLiteral("text"));
    if (message.binary)
        m.setProperty(QStringLiteral("bytes"), engine.toScriptValue(message.payload.toByteArray()));
    else
        m.setProperty(QStringLiteral("text"), QString::fromUtf8(message.payload));
    QJSValueList args = extra;
    args.prepend(m);
    return runner.call(script, fn, args, m_scripts->timeoutMs, nullptr, error);
}

decode::Decoded ScriptFormat::decode(const decode::Message &message, decode::DecoderState *) const
{
    decode::Decoded out;
    QString error;
    const QJSValue value = call(QStringLiteral("decode"), message, {}, &error);
    if (!error.isEmpty() || value.isUndefined() || value.isNull()) {
        out.error = error.isEmpty() ? QStringLiteral("not %1 (its decode returned nothing)").arg(m_spec.name)
                                    : QStringLiteral("%1: %2").arg(m_spec.name, error);
        return out;
    }
    out.format = m_spec.name;
    out.value = fromScript(value);
    QString ignored;
    const QJSValue summary = call(QStringLiteral("summary"), message, {value}, &ignored);
    if (summary.isString()) {
        out.summary = summary.toString();
    } else {
        // The value itself, on one line, as far as a column shows it.
        QByteArray compact;
        if (out.value.isObject())
            compact = QJsonDocument(out.value.toObject()).toJson(QJsonDocument::Compact);
        else if (out.value.isArray())
            compact = QJsonDocument(out.value.toArray()).toJson(QJsonDocument::Compact);
        else
            compact = out.value.toVariant().toString().toUtf8();
        out.summary = QString::fromUtf8(compact.left(200));
    }
    return out;
}

bool ScriptFormat::recognises(const decode::Message &message) const
{
    QString error;
    return call(QStringLiteral("detect"), message, {}, &error).toBool();
}

std::optional<QByteArray> ScriptFormat::encode(const decode::Message &original, const QJsonValue &value,
                                               QString *error) const
{
    QString why;
    ScriptRunner &runner = ScriptRunner::forThisThread();
    const QJSValue result =
        call(QStringLiteral("encode"), original, {toScript(runner.engine(), value)}, &why);
    if (result.isString())
        return result.toString().toUtf8();
    if (const QVariant bytes = result.toVariant(); bytes.typeId() == QMetaType::QByteArray)
        return bytes.toByteArray();
    if (error)
        *error = !why.isEmpty()
            ? why
            : QStringLiteral("%1 has no encode(value, message) returning a string or an ArrayBuffer")
                  .arg(m_spec.name);
    return std::nullopt;
}

void installScriptFormats(const std::shared_ptr<const ScriptSet> &scripts)
{
    std::vector<decode::FormatRegistry::Extra> formats;
    if (scripts)
        for (const ScriptFormatSpec &spec : scripts->formats)
            formats.push_back(
                {std::make_shared<ScriptFormat>(scripts, spec), spec.subprotocols, spec.urlPattern});
    decode::FormatRegistry::setScriptFormats(std::move(formats));
}

} // namespace socktap::intercept
