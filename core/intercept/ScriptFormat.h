// A message format written in JavaScript: registerFormat({name, decode, detect, encode, summary,
// subprotocols, url, binary}) in a script makes a decoder the message list, the Decoded tab, filters, rules
// and compose use like a built-in one. Each call runs in the calling thread's engine (the window's,
// a worker's, the console's), with the scripts' time limit; what it returns is JSON-like data.
#pragma once

#include "ScriptRunner.h"

#include "core/decode/Decoder.h"

namespace socktap::intercept {

class ScriptFormat final : public decode::Decoder
{
public:
    ScriptFormat(std::shared_ptr<const ScriptSet> scripts, ScriptFormatSpec spec);

    QString name() const override { return m_spec.name; }
    decode::Decoded decode(const decode::Message &message, decode::DecoderState *state) const override;
    bool recognises(const decode::Message &message) const override;
    std::optional<QByteArray> encode(const decode::Message &original, const QJsonValue &value,
                                     QString *error) const override;
    bool binaryMessages() const override { return m_spec.binary; }

private:
    // Calls the spec's `what` function with (message, extra...) on this thread.
    ScriptRunner::Outcome call(const QString &what, ScriptRunner::Mode mode, const decode::Message &message,
                               const QJSValueList &extra = {}) const;

    std::shared_ptr<const ScriptSet> m_scripts;
    ScriptFormatSpec m_spec;
};

// The set's formats, installed in FormatRegistry (those of an earlier set go).
void installScriptFormats(const std::shared_ptr<const ScriptSet> &scripts);

} // namespace socktap::intercept
