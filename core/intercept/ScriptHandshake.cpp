#include "ScriptHandshake.h"

#include <QJSEngine>

namespace socktap::intercept {

namespace {

// Headers as a script sees them: an object by name as received, a repeated field's values joined with
// ", " (RFC 9110 5.3).
QJSValue headersObject(QJSEngine &engine, const http::Headers &headers)
{
    QJSValue out = engine.newObject();
    for (const http::HeaderField &f : headers.fields()) {
        const QString name = QString::fromLatin1(f.name);
        if (out.hasOwnProperty(name))
            continue;
        out.setProperty(name, QString::fromLatin1(headers.combined(f.name)));
    }
    return out;
}

// RFC 9110 5.5: a value has no CR, LF or NUL (and is sent as Latin-1 here); a name is a token (5.1).
bool validValue(const QString &value)
{
    for (const QChar c : value)
        if (c.unicode() > 0xff || c == u'\r' || c == u'\n' || c == u'\0')
            return false;
    return true;
}

// What the script left in its headers object (read back as plain strings by the runner), applied to
// `headers`: removed, changed and new fields, each noted. Sec-WebSocket-Key is the client's (the 101's
// accept is computed from it): a script does not change it.
void applyHeaders(const std::vector<std::pair<QByteArray, QByteArray>> &left, http::Headers &headers,
                  const QString &label, const QString &head, QStringList *notes)
{
    std::map<QByteArray, std::pair<QByteArray, QString>> now; // lower-case name -> (name, value)
    std::vector<QByteArray> order;
    for (const auto &[name, raw] : left) {
        const QString value = QString::fromUtf8(raw);
        if (!http::isToken(name) || !validValue(value)) {
            notes->append(
                QStringLiteral("%1: %2: %3 not set on the %4: not a valid header field (RFC 9110 5)")
                    .arg(label, QString::fromUtf8(name), value, head));
            continue;
        }
        now[name.toLower()] = {name, value};
        order.push_back(name.toLower());
    }
    std::vector<QByteArray> names;
    for (const http::HeaderField &f : headers.fields())
        if (std::find(names.begin(), names.end(), f.name.toLower()) == names.end())
            names.push_back(f.name.toLower());
    const auto protectedName = [](const QByteArray &lower) { return lower == "sec-websocket-key"; };
    for (const QByteArray &name : names) {
        const auto it = now.find(name);
        const QByteArray value = it == now.end() ? QByteArray() : it->second.second.toLatin1();
        if (it != now.end() && headers.combined(name) == value)
            continue;
        if (protectedName(name)) {
            notes->append(QStringLiteral("%1: Sec-WebSocket-Key left as the client sent it (the 101's accept "
                                         "answers it)")
                              .arg(label));
            continue;
        }
        if (it == now.end()) {
            QByteArray shown = name; // (named as the peer wrote it)
            for (const http::HeaderField &f : headers.fields())
                if (f.name.toLower() == name)
                    shown = f.name;
            headers.remove(name);
            notes->append(
                QStringLiteral("%1: removed %2 from the %3").arg(label, QString::fromLatin1(shown), head));
        } else {
            headers.set(name, value);
            notes->append(
                QStringLiteral("%1: set %2: %3 on the %4")
                    .arg(label, QString::fromLatin1(it->second.first), QString::fromLatin1(value), head));
        }
    }
    for (const QByteArray &lower : order) {
        if (std::find(names.begin(), names.end(), lower) != names.end())
            continue;
        const auto &[name, value] = now[lower];
        if (protectedName(lower))
            continue;
        headers.append(name, value.toLatin1());
        notes->append(
            QStringLiteral("%1: set %2: %3 on the %4").arg(label, QString::fromLatin1(name), value, head));
    }
}

HandshakeVerdict runHooks(Hook hook, const ScriptSet &set, const HandshakeFacts &facts,
                          http::Headers &headers)
{
    HandshakeVerdict verdict;
    if (!set.has(hook))
        return verdict;
    ScriptRunner &runner = ScriptRunner::forThisThread();
    QJSEngine &engine = runner.engine();
    const bool request = hook == Hook::Request;
    const QString head = request ? QStringLiteral("request") : QStringLiteral("response");
    const auto loaded = runner.load(set);
    using Kind = ScriptRunner::Outcome::Kind;
    for (const ScriptRunner::Loaded &script : *loaded) {
        const QJSValue &fn = script.hook(hook);
        if (!fn.isCallable() || script.health->disabled.load(std::memory_order_relaxed))
            continue;
        const QString label = QStringLiteral("script %1").arg(script.name);
        QJSValue handshake = engine.newObject();
        handshake.setProperty(QStringLiteral("url"), facts.url);
        handshake.setProperty(QStringLiteral("host"), QString::fromLatin1(facts.host));
        handshake.setProperty(QStringLiteral("path"), QString::fromLatin1(facts.path));
        handshake.setProperty(QStringLiteral("headers"), headersObject(engine, headers));
        if (!request) {
            handshake.setProperty(QStringLiteral("status"), facts.status);
            if (facts.request)
                handshake.setProperty(QStringLiteral("requestHeaders"),
                                      headersObject(engine, *facts.request));
        }
        const ScriptRunner::Outcome out =
            runner.call(script, fn, ScriptRunner::Mode::Handshake, {handshake}, set.timeoutMs, nullptr);
        if (out.kind == Kind::Failed) {
            verdict.notes.append(
                QStringLiteral("%1: %2; the %3 went on as it was").arg(label, out.error, head));
            continue;
        }
        applyHeaders(out.headers, headers, label, head, &verdict.notes);
        if (!request || out.kind == Kind::Undefined || out.kind == Kind::Null)
            continue;
        // A status answers the client with an error of the script's choosing: the server is never asked.
        const int status = out.kind == Kind::Number ? int(out.number) : 0;
        if (out.kind != Kind::Number || status < 400 || status > 599) {
            verdict.notes.append(
                QStringLiteral("%1: onRequest returned %2: expected nothing, or a status from 400 "
                               "to 599 ({status, body}); the request went on")
                    .arg(label, out.kind == Kind::Number ? QString::number(out.number) : out.text));
            continue;
        }
        verdict.rejectStatus = status;
        verdict.rejectBody = out.hasBody ? out.text : QStringLiteral("rejected by %1").arg(label);
        verdict.notes.append(QStringLiteral("%1: rejected with %2").arg(label).arg(status));
        return verdict;
    }
    return verdict;
}

} // namespace

HandshakeVerdict runRequestHooks(const ScriptSet &set, const HandshakeFacts &facts, http::Headers &headers)
{
    return runHooks(Hook::Request, set, facts, headers);
}

HandshakeVerdict runResponseHooks(const ScriptSet &set, const HandshakeFacts &facts, http::Headers &headers)
{
    return runHooks(Hook::Response, set, facts, headers);
}

} // namespace socktap::intercept
