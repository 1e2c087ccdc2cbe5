// JavaScript addons (issue 21, first part): scripts with an onMessage(message, session) hook, run with
// Qt's QJSEngine where the relay takes its verdicts. One engine per thread (a worker's sessions share it;
// an engine is bound to the thread that made it); each script is evaluated once per engine in a scope of
// its own, so two scripts' functions do not clash. Every call has a time limit: a watchdog thread
// interrupts the engine past it (QJSEngine::setInterrupted), and the message goes on unchanged.
#pragma once

#include <QJSValue>
#include <QString>

#include <memory>
#include <vector>

class QJSEngine;

namespace socktap::intercept {

struct Script
{
    QString name; // the file's name, for notes: "script chat.js"
    QString path; // for errors: file:line
    QString source;
};

struct ScriptSet
{
    std::vector<Script> scripts; // run in order
    int timeoutMs = 100; // per call
    quint64 generation = 0; // set by the hub: engines evaluate a set once
};

// Whether source is JavaScript that evaluates: empty, or "FILE:LINE: message".
QString scriptError(const Script &script);

class ScriptRunner
{
public:
    struct Loaded
    {
        QString name;
        QJSValue onMessage; // undefined when the script defines none
        QString error; // evaluating it failed: "FILE:LINE: message"
    };

    // This thread's runner (made on first use, gone with the thread).
    static ScriptRunner &forThisThread();

    // The set's scripts in this thread's engine, evaluated when the set is new to it.
    const std::vector<Loaded> &load(const ScriptSet &set);
    // Calls fn with args within timeoutMs. On an exception or the limit: an undefined value and *error
    // ("FILE:LINE: message", "stopped after 100 ms").
    QJSValue call(QJSValue fn, const QJSValueList &args, int timeoutMs, const QString &path, QString *error);
    QJSEngine &engine() { return *m_engine; }

    ScriptRunner();
    ~ScriptRunner();

private:
    std::unique_ptr<QJSEngine> m_engine;
    quint64 m_generation = 0;
    std::vector<Loaded> m_loaded;
};

} // namespace socktap::intercept
