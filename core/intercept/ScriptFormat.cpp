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

ScriptRunner::Outcome ScriptFormat::call(const QString &what, ScriptRunner::Mode mode,
                                         const decode::Message &message, const QJSValueList &extra) const
{
    ScriptRunner &runner = ScriptRunner::forThisThread();
    const auto loaded = runner.load(*m_scripts); // (held while its function runs)
    if (size_t(m_spec.script) >= loaded->size())
        return {};
    const ScriptRunner::Loaded &script = (*loaded)[size_t(m_spec.script)];
    const auto spec = script.formats.find(m_spec.name);
    if (spec == script.formats.end())
        return {};
    const QJSValue fn = spec->second.property(what); // (a plain copy registerFormat made)
    if (!fn.isCallable())
        return {};
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
    return runner.call(script, fn, mode, args, m_scripts->timeoutMs, nullptr);
}

decode::Decoded ScriptFormat::decode(const decode::Message &message, decode::DecoderState *) const
{
    using Kind = ScriptRunner::Outcome::Kind;
    decode::Decoded out;
    const ScriptRunner::Outcome value = call(QStringLiteral("decode"), ScriptRunner::Mode::Value, message);
    if (value.kind != Kind::Value) {
        out.error = value.kind == Kind::Failed
            ? QStringLiteral("%1: %2").arg(m_spec.name, value.error)
            : QStringLiteral("not %1 (its decode returned nothing)").arg(m_spec.name);
        return out;
    }
    out.format = m_spec.name;
    out.value = value.value;
    const ScriptRunner::Outcome summary = call(QStringLiteral("summary"), ScriptRunner::Mode::Plain, message,
                                               {toScript(ScriptRunner::forThisThread().engine(), out.value)});
    if (summary.kind == Kind::Text) {
        out.summary = summary.text;
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
    const ScriptRunner::Outcome r = call(QStringLiteral("detect"), ScriptRunner::Mode::Plain, message);
    return r.kind == ScriptRunner::Outcome::Kind::Boolean && r.flag;
}

std::optional<QByteArray> ScriptFormat::encode(const decode::Message &original, const QJsonValue &value,
                                               QString *error) const
{
    using Kind = ScriptRunner::Outcome::Kind;
    const ScriptRunner::Outcome r = call(QStringLiteral("encode"), ScriptRunner::Mode::Plain, original,
                                         {toScript(ScriptRunner::forThisThread().engine(), value)});
    if (r.kind == Kind::Text)
        return r.text.toUtf8();
    if (r.kind == Kind::Bytes)
        return r.bytes;
    if (error)
        *error = r.kind == Kind::Failed
            ? r.error
            : QStringLiteral("%1 has no encode(message, value) returning a string or an "
                             "ArrayBuffer")
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
