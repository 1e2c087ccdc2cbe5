// socktap(1) and the shells' completions, made from the same table as --help (the parser's options and
// commands), so that none of them can say something the others do not. The build runs
// `socktap --print-man-page` and `socktap --print-completion bash|zsh` and installs what they print.
#pragma once

#include <QCommandLineOption>
#include <QList>
#include <QString>

namespace socktap::app {

struct CommandHelp
{
    QString name; // "replay"
    QString description; // as --help says it
    QString syntax; // "[replay FILE]"
};

struct HelpTable
{
    QString description; // the program's, as --help opens
    QList<CommandHelp> commands;
    QList<QCommandLineOption> options; // hidden ones are left out
};

// The man page in roff (man(7) macros).
QString manPage(const HelpTable &table, const QString &version);
// A completion script for "bash" or "zsh"; empty for another shell.
QString completion(const HelpTable &table, const QString &shell);

} // namespace socktap::app
