#include "ScriptHandshake.h"

#include <QJSEngine>
#include <QJSValueIterator>

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

// What the script left in `object`, applied to `headers`: removed, changed and new fields, each noted.
void applyHeaders(const QJSValue &object, http::Headers &headers, const QString &label, const QString &head,
                  QStringList *notes)
{
    if (!object.isObject())
        return;
    std::map<QByteArray, QByteArray> now; // lower-case name -> value
    std::vector<std::pair<QByteArray, QByteArray>> order;
    for (QJSValueIterator it(object); it.hasNext();) {
        it.next();
        if (it.value().isUndefined() || it.value().isNull())
            continue;
        const QByteArray name = it.name().toLatin1();
        now[name.toLower()] = it.value().toString().toLatin1();
        order.emplace_back(name, it.value().toString().toLatin1());
    }
    std::vector<QByteArray> names;
    for (const http::HeaderField &f : headers.fields())
        if (std::find(names.begin(), names.end(), f.name.toLower()) == names.end())
            names.push_back(f.name.toLower());
    for (const QByteArray &name : names) {
        const auto it = now.find(name);
        if (it == now.end()) {
            headers.remove(name);
            notes->append(
                QStringLiteral("%1: removed %2 from the %3").arg(label, QString::fromLatin1(name), head));
        } else if (headers.combined(name) != it->second) {
            headers.set(name, it->second);
            notes->append(QStringLiteral("%1: set %2: %3 on the %4")
                              .arg(label, QString::fromLatin1(name), QString::fromLatin1(it->second), head));
        }
    }
    for (const auto &[name, value] : order) {
        if (std::find(names.begin(), names.end(), name.toLower()) != names.end())
            continue;
        headers.append(name, value);
        notes->append(QStringLiteral("%1: set %2: %3 on the %4")
                          .arg(label, QString::fromLatin1(name), QString::fromLatin1(value), head));
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
    for (const ScriptRunner::Loaded &script : runner.load(set)) {
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
        QString error;
        const QJSValue result = runner.call(script, fn, {handshake}, set.timeoutMs, nullptr, &error);
        if (!error.isEmpty()) {
            verdict.notes.append(QStringLiteral("%1: %2; the %3 went on as it was").arg(label, error, head));
            continue;
        }
        applyHeaders(handshake.property(QStringLiteral("headers")), headers, label, head, &verdict.notes);
        if (!request || result.isUndefined() || result.isNull())
            continue;
        // A status answers the client: the server is never asked.
        const int status =
            result.isNumber() ? result.toInt() : result.property(QStringLiteral("status")).toInt();
        if (status < 200 || status > 599) {
            verdict.notes.append(
                QStringLiteral("%1: onRequest returned %2: expected nothing or {status: 200-599, "
                               "body}; the request went on")
                    .arg(label, result.toString()));
            continue;
        }
        const QJSValue body = result.isObject() ? result.property(QStringLiteral("body")) : QJSValue();
        verdict.rejectStatus = status;
        verdict.rejectBody = body.isString() ? body.toString() : QStringLiteral("rejected by %1").arg(label);
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
