// The command line: every option with its default (socktap --help), parsed into settings.
#pragma once

#include "core/decode/FormatRegistry.h"
#include "core/intercept/Rule.h"
#include "core/proxy/ProxyConfig.h"

#include <QStringList>

namespace socktap::app {

struct AppOptions
{
    enum class Command { Run, CaExport, CaPath, CaRegenerate, Open, Export, Replay, Recover, Mock, Attach };
    Command command = Command::Run;
    QString controlListen; // --control HOST:PORT (headless)
    QString controlToken; // --control-token (empty: made up and printed)
    int controlHoldGraceS = 60; // --control-hold-grace
    QString attachTarget; // attach HOST:PORT
    QString attachToken; // attach --token
    QString attachCa; // attach --ca FILE
    QString captureFile; // open/export: the capture to read; run: a capture to open in the window
    QString exportHar; // export --har OUT
    QString exportText; // export --text OUT
    int recoverIndex = 0; // recover N: the Nth capture listed (1 = newest); 0: list them
    QString recoverSave; // recover N --save OUT: write it in the native format
    quint64 exportSession = 0; // export --text --session N, replay --session N (0: the first WebSocket one)
    QString replayUrl; // replay --url: another server than the original's
    QString replayTiming = QStringLiteral("fast"); // fast, original, conversation
    double replaySpeed = 1.0;
    QStringList replayHeaders; // replay --header 'Name: value'
    QStringList ignoreJsonKeys; // replay --ignore-json-key KEY
    // socktap mock FILE: how client messages find their answers, what happens to one without any, and
    // whether one session is served and compared (--once).
    QString mockMatch = QStringLiteral("order"); // order, content
    QString mockUnmatched = QStringLiteral("ignore"); // ignore, close[:CODE], fail
    bool mockOnce = false;
    bool mockExactPath = false;
    QString recordFile; // --record FILE: the journal; empty for a temporary one
    bool memoryOnly = false; // --memory-only: no journal at all
    quint64 maxCaptureDisk = 10ull << 30;
    QString caExportFile;
    bool caDer = false;
    QString caDir; // where the root CA lives
    QStringList upstreamCas;
    proxy::ProxyConfig proxy;
    quint64 maxCaptureMemory = 1ull << 30;
    bool headless = false;
    bool json = false;
    // --decode: "auto" (the format the handshake or the first messages name), "off", or a format name
    // for every session.
    QString decode = QStringLiteral("auto");
    // --proto FILE... with --proto-type (and --proto-url): the built-in formats with protobuf decoded by
    // that schema; null without --proto. main() installs it (decode::FormatRegistry::setCurrent).
    std::shared_ptr<const decode::FormatRegistry> formats;
    bool quiet = false;
    bool demo = false;
    std::optional<intercept::RuleSet> rules; // --rules FILE, loaded and checked
    QString rulesFile;
    // --script FILE.js (repeatable, run in order; docs/scripts.md) and each call's time limit.
    QStringList scriptFiles;
    int scriptTimeoutMs = 100;
    // socktap browser [ID]: open a browser through Socktap once it listens (headless: Socktap stops when
    // the browser exits).
    bool launchBrowser = false;
    // Print plain HTTP requests and tunnels in the console, beside WebSocket sessions: --show-http, and by
    // default except for `socktap browser`, whose browser's own background traffic would bury them.
    bool showHttp = true;
    QString browser; // chromium, chrome, firefox; empty: the first installed
    QStringList browserUrls; // browser --url: pages to open
    bool browserHeadless = false; // --browser-headless: the browser without a window (CI)
    QStringList browserArguments; // --browser-arg
    QStringList givenOptions; // the options the command line set (their long names): they win over Settings
    QString screenshotDir; // hidden: after the demo, save a screenshot of each tab here and quit
};

struct ParseResult
{
    enum class Action { Run, Exit };
    Action action = Action::Run;
    int exitCode = 0;
    QString output; // help or version text, or the error
    AppOptions options;
};

ParseResult parseCommandLine(const QStringList &arguments);
// "64M", "1G", "512K", "1000" -> bytes.
std::optional<quint64> parseSize(const QString &text);

} // namespace socktap::app
