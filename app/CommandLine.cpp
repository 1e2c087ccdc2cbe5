#include "CommandLine.h"

#include "ManPage.h"

#include "certs/CertificateAuthority.h"
#include "core/decode/FormatRegistry.h"
#include "core/decode/ProtoSchema.h"
#include "core/replay/MockPlan.h"
#include "core/replay/ReplayPlan.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFileInfo>
#include <QRegularExpression>
#include <QSettings>
#include <QStandardPaths>
#include <QThread>
#include <QUrl>

namespace socktap::app {

std::optional<quint64> parseSize(const QString &text)
{
    QString t = text.trimmed().toUpper();
    if (t.endsWith(QLatin1String("IB")))
        t.chop(2);
    else if (t.endsWith(QLatin1Char('B')))
        t.chop(1);
    quint64 unit = 1;
    if (t.endsWith(QLatin1Char('K')))
        unit = 1ull << 10;
    else if (t.endsWith(QLatin1Char('M')))
        unit = 1ull << 20;
    else if (t.endsWith(QLatin1Char('G')))
        unit = 1ull << 30;
    if (unit != 1)
        t.chop(1);
    bool ok = false;
    const double value = t.toDouble(&ok);
    if (!ok || value < 0)
        return std::nullopt;
    return quint64(value * double(unit));
}

namespace {

// http://[USER:PASSWORD@]HOST:PORT, or just HOST:PORT (as most tools take a proxy), in our own words
// rather than QUrl's.
std::optional<proxy::UpstreamProxy> parseUpstreamProxy(const QString &text, QString *error)
{
    const auto bad = [&](const QString &why) -> std::optional<proxy::UpstreamProxy> {
        *error = QStringLiteral("--upstream-proxy '%1': %2 (expected http://[USER:PASSWORD@]HOST:PORT, e.g. "
                                "http://proxy.corp:3128)")
                     .arg(text, why);
        return std::nullopt;
    };
    QString rest = text.trimmed();
    if (const qsizetype scheme = rest.indexOf(QLatin1String("://")); scheme >= 0) {
        if (rest.left(scheme).toLower() != u"http")
            return bad(
                QStringLiteral("only http:// proxies are supported, not %1://").arg(rest.left(scheme)));
        rest = rest.mid(scheme + 3);
    }
    if (rest.endsWith(QLatin1Char('/')))
        rest.chop(1);
    if (rest.contains(QLatin1Char('/')))
        return bad(QStringLiteral("a proxy address has no path"));
    proxy::UpstreamProxy proxy;
    if (const qsizetype at = rest.lastIndexOf(QLatin1Char('@')); at >= 0) {
        const QString user = QUrl::fromPercentEncoding(rest.left(at).toUtf8());
        if (!user.contains(QLatin1Char(':')) || user.startsWith(QLatin1Char(':')))
            return bad(QStringLiteral("credentials go as USER:PASSWORD@"));
        proxy.credentials = user.toUtf8();
        rest = rest.mid(at + 1);
    }
    if (rest.isEmpty())
        return bad(QStringLiteral("no host"));
    QString why;
    const auto target = http::RequestTarget::parseAuthority(rest.toLatin1(), 0, &why);
    if (!target || target->port == 0)
        return bad(target ? QStringLiteral("no port") : why);
    proxy.host = target->host;
    proxy.port = target->port;
    return proxy;
}

bool parseListen(const QString &text, proxy::ProxyConfig &config, QString *error)
{
    QString why;
    // A bare port (8080) or one with no host (:8080) listens on loopback, the safe default; another
    // interface is always named.
    static const QRegularExpression portOnly(QStringLiteral("^:?(\\d+)$"));
    const auto bare = portOnly.match(text);
    const QString spelled = bare.hasMatch() ? QStringLiteral("127.0.0.1:") + bare.captured(1) : text;
    // Port 0 asks the system for a free port (the banner prints the one bound).
    const bool anyPort = spelled.endsWith(QLatin1String(":0"));
    const QByteArray authority = anyPort ? spelled.chopped(1).toLatin1() + '1' : spelled.toLatin1();
    auto target = http::RequestTarget::parseAuthority(authority, 0, &why);
    if (target && anyPort)
        target->port = 0;
    if (!target) {
        *error = QStringLiteral("--listen %1: %2 (expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080)")
                     .arg(text, why);
        return false;
    }
    QHostAddress address;
    if (target->host == "localhost")
        address = QHostAddress::LocalHost;
    else if (target->host == "*")
        address = QHostAddress::Any;
    else if (!address.setAddress(QString::fromLatin1(target->host))) {
        *error = QStringLiteral("--listen %1: '%2' is not an IP address")
                     .arg(text, QString::fromLatin1(target->host));
        return false;
    }
    config.listenAddress = address;
    config.listenPort = target->port;
    return true;
}

// --proto, --proto-path, --proto-type, --proto-url: the registry that decodes protobuf with them; null with
// `error` (protoc's file:line:column messages, or the types the schema has) otherwise.
std::shared_ptr<const decode::FormatRegistry> protobufFormats(const QStringList &files,
                                                              const QStringList &dirs, const QString &types,
                                                              const QString &url, QString *error)
{
    if (files.isEmpty()) {
        *error = QStringLiteral("--proto-type and --proto-url need --proto FILE.proto");
        return nullptr;
    }
    if (types.isEmpty()) {
        *error = QStringLiteral("--proto needs --proto-type TYPE (or client=TYPE,server=TYPE)");
        return nullptr;
    }
    decode::ProtoChoice choice {files, dirs, {}, {}, url};
    for (const QString &part : types.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        const QString t = part.trimmed();
        if (t.startsWith(QLatin1String("client=")))
            choice.clientType = t.mid(7);
        else if (t.startsWith(QLatin1String("server=")))
            choice.serverType = t.mid(7);
        else
            choice.clientType = choice.serverType = t;
    }
    QString why;
    auto formats = decode::protobufFormats(choice, &why);
    if (!formats)
        *error = QStringLiteral("--proto: %1").arg(why);
    return formats;
}

// The configuration file's [options] (--config FILE, else the user's, else the system's, when they have
// that section) as arguments, leaving out what the command line gives; empty with *why when it is wrong.
QStringList configArguments(const QString &explicitFile, const QList<QCommandLineOption> &options,
                            const QStringList &given, QString *why)
{
    QString file = explicitFile;
    if (file.isEmpty()) {
        const QString user = QStandardPaths::writableLocation(QStandardPaths::GenericConfigLocation)
            + QStringLiteral("/socktap/socktap.conf");
        for (const QString &candidate : {user, QStringLiteral("/etc/socktap/socktap.conf")}) {
            if (QFileInfo::exists(candidate)
                && QSettings(candidate, QSettings::IniFormat)
                       .childGroups()
                       .contains(QStringLiteral("options"))) {
                file = candidate;
                break;
            }
        }
        if (file.isEmpty())
            return {};
    } else if (!QFileInfo(file).isReadable()) {
        *why = QStringLiteral("--config %1: cannot read it").arg(file);
        return {};
    }
    QSettings settings(file, QSettings::IniFormat);
    if (settings.status() != QSettings::NoError) {
        *why = QStringLiteral("%1: not an INI file ([options] then name = value lines)").arg(file);
        return {};
    }
    settings.beginGroup(QStringLiteral("options"));
    QStringList out;
    for (const QString &key : settings.childKeys()) {
        const auto option = std::find_if(options.begin(), options.end(), [&](const QCommandLineOption &o) {
            return o.names().contains(key) && !(o.flags() & QCommandLineOption::HiddenFromHelp)
                && key != QLatin1String("config");
        });
        if (option == options.end()) {
            *why =
                QStringLiteral("%1: [options] %2: no such option (socktap --help lists them)").arg(file, key);
            return {};
        }
        if (std::any_of(option->names().begin(), option->names().end(),
                        [&](const QString &n) { return given.contains(n); }))
            continue; // the command line wins
        const QVariant value = settings.value(key);
        if (option->valueName().isEmpty()) {
            const QString flag = value.toString().trimmed().toLower();
            if (flag == QLatin1String("true") || flag == QLatin1String("yes") || flag == QLatin1String("1"))
                out << QStringLiteral("--") + key;
            else if (flag != QLatin1String("false") && flag != QLatin1String("no")
                     && flag != QLatin1String("0")) {
                *why = QStringLiteral("%1: [options] %2 = %3: a flag is true or false")
                           .arg(file, key, value.toString());
                return {};
            }
            continue;
        }
        const QStringList values =
            value.typeId() == QMetaType::QStringList ? value.toStringList() : QStringList {value.toString()};
        for (const QString &v : values)
            out << QStringLiteral("--") + key << v.trimmed();
    }
    return out;
}

} // namespace

ParseResult parseCommandLine(const QStringList &arguments)
{
    ParseResult result;
    AppOptions &o = result.options;
    QCommandLineParser p;
    p.setApplicationDescription(
        QStringLiteral("Socktap: an intercepting WebSocket debugging proxy.\n"
                       "Point a client at it as its HTTP proxy (explicit proxy and CONNECT), or put it in "
                       "front of a server with "
                       "--reverse. Every WebSocket message both ways is relayed untouched and recorded."));
    p.addHelpOption();
    p.addVersionOption();
    const QCommandLineOption listen(
        QStringLiteral("listen"),
        QStringLiteral("Address and port to listen on (a bare PORT is 127.0.0.1:PORT). "
                       "Default: 127.0.0.1:8080."),
        QStringLiteral("HOST:PORT"), QStringLiteral("127.0.0.1:8080"));
    const QCommandLineOption reverse(
        QStringLiteral("reverse"),
        QStringLiteral(
            "Reverse proxy mode: send origin-form requests to URL (ws://host:port). Default: off."),
        QStringLiteral("URL"));
    const QCommandLineOption headless(QStringLiteral("headless"),
                                      QStringLiteral("No window: print sessions and messages to stdout."));
    const QCommandLineOption json(
        QStringLiteral("json"),
        QStringLiteral("With --headless: print JSON Lines (one object per session event or message)."));
    const QCommandLineOption decode(
        QStringLiteral("decode"),
        QStringLiteral(
            "How the console shows what messages mean: auto (the format the subprotocol, URL or first "
            "messages name: socket.io, signalr, stomp, graphql-transport-ws, json-rpc, ...), off (raw "
            "previews, no \"decoded\" in --json), or a format name for every session. Default: auto."),
        QStringLiteral("MODE"), QStringLiteral("auto"));
    const QCommandLineOption proto(
        QStringLiteral("proto"),
        QStringLiteral("Decode protobuf messages with this .proto file (repeat for several; imports are "
                       "found beside it and in --proto-path). Needs --proto-type."),
        QStringLiteral("FILE"));
    const QCommandLineOption protoPath(
        QStringLiteral("proto-path"),
        QStringLiteral("A directory where .proto imports are found (as protoc's "
                       "--proto_path; repeat for several)."),
        QStringLiteral("DIR"));
    const QCommandLineOption protoType(
        QStringLiteral("proto-type"),
        QStringLiteral("The message type of --proto's messages: TYPE for both directions, or "
                       "client=TYPE,server=TYPE (a direction left out is decoded without the schema)."),
        QStringLiteral("TYPES"));
    const QCommandLineOption protoUrl(
        QStringLiteral("proto-url"),
        QStringLiteral("Decode as --proto-type the sessions whose path and query match this regular "
                       "expression. Default: the sessions decoded as protobuf (subprotocol protobuf or "
                       "--decode protobuf)."),
        QStringLiteral("REGEX"));
    const QCommandLineOption showHttp(
        QStringLiteral("show-http"),
        QStringLiteral(
            "With --headless: print plain HTTP requests and tunnels too. Default: on, except for "
            "'socktap browser' (its browser's own update and account traffic stays in the capture, "
            "as the window's 'Show HTTP and tunnels')."));
    const QCommandLineOption quiet(QStringLiteral("quiet"),
                                   QStringLiteral("With --headless: print nothing per session or message."));
    const QCommandLineOption strict(
        QStringLiteral("strict"),
        QStringLiteral(
            "Act as the RFC 6455 endpoint: fail connections that break the protocol (close 1002/1007). "
            "Default: off (forward and record violations)."));
    const QCommandLineOption memory(
        QStringLiteral("max-capture-memory"),
        QStringLiteral("Capture memory budget; past it the oldest payloads leave memory (read back from the "
                       "capture file; with --memory-only they are evicted and counted). Default: 1G."),
        QStringLiteral("SIZE"), QStringLiteral("1G"));
    const QCommandLineOption messageCap(
        QStringLiteral("max-message-capture"),
        QStringLiteral(
            "Bytes of one message kept in the capture; the rest is relayed and counted. Default: 64M."),
        QStringLiteral("SIZE"), QStringLiteral("64M"));
    const QCommandLineOption workers(
        QStringLiteral("workers"),
        QStringLiteral("Worker threads. Default: one per core (%1).").arg(QThread::idealThreadCount()),
        QStringLiteral("N"), QString::number(QThread::idealThreadCount()));
    const QCommandLineOption connectTimeout(
        QStringLiteral("connect-timeout"),
        QStringLiteral("Seconds to wait for a server to accept a connection (then 504). Default: 10."),
        QStringLiteral("SECONDS"), QStringLiteral("10"));
    const QCommandLineOption responseTimeout(
        QStringLiteral("response-timeout"),
        QStringLiteral("Seconds a server may stay silent while a response is awaited or streaming (then 504, "
                       "or the session ends with a timeout); 0 for no limit. Default: 60."),
        QStringLiteral("SECONDS"), QStringLiteral("60"));
    const QCommandLineOption maxConnections(
        QStringLiteral("max-connections"),
        QStringLiteral("Client connections served at once; past it new clients get 503. Default: what the "
                       "open-file limit allows at two descriptors each (printed at start)."),
        QStringLiteral("N"), QStringLiteral("0"));
    const QCommandLineOption demo(
        QStringLiteral("demo"),
        QStringLiteral("Start a built-in echo server and a scripted client through the proxy."));
    const QCommandLineOption caDir(
        QStringLiteral("ca-dir"),
        QStringLiteral("Directory of the root CA (created on first start). Default: %1.")
            .arg(certs::CertificateAuthority::defaultDirectory()),
        QStringLiteral("DIR"), certs::CertificateAuthority::defaultDirectory());
    const QCommandLineOption upstreamCa(QStringLiteral("upstream-ca"),
                                        QStringLiteral("Also trust this CA (PEM) for servers' certificates; "
                                                       "repeatable. Default: the system store only."),
                                        QStringLiteral("FILE"));
    const QCommandLineOption insecure(
        QStringLiteral("insecure-upstream"),
        QStringLiteral("Do not verify servers' certificates at all. Default: verify."));
    const QCommandLineOption insecureHost(
        QStringLiteral("insecure-upstream-host"),
        QStringLiteral("Do not verify certificates of hosts matching PATTERN (e.g. *.test); repeatable."),
        QStringLiteral("PATTERN"));
    const QCommandLineOption upstreamProxy(
        QStringLiteral("upstream-proxy"),
        QStringLiteral("Reach servers through this HTTP proxy (CONNECT tunnels), e.g. a corporate one: "
                       "http://[USER:PASSWORD@]HOST:PORT."),
        QStringLiteral("URL"));
    const QCommandLineOption upstreamProxyBypass(
        QStringLiteral("upstream-proxy-bypass"),
        QStringLiteral("With --upstream-proxy: dial hosts matching PATTERN directly (e.g. localhost, "
                       "*.internal); repeatable."),
        QStringLiteral("PATTERN"));
    const QCommandLineOption noIntercept(
        QStringLiteral("no-intercept"),
        QStringLiteral(
            "Tunnel TLS to hosts matching PATTERN untouched (for certificate-pinned apps); repeatable."),
        QStringLiteral("PATTERN"));
    const QCommandLineOption scriptOpt(
        QStringLiteral("script"),
        QStringLiteral("Run the JavaScript in FILE on every message (onMessage(message, session): return a "
                       "string to forward instead, null to drop; docs/scripts.md). Repeatable: in order."),
        QStringLiteral("FILE"));
    const QCommandLineOption scriptTimeout(
        QStringLiteral("script-timeout"),
        QStringLiteral(
            "How long one script call may run before it is stopped and the message forwarded as it "
            "came. Default: 100."),
        QStringLiteral("MS"), QStringLiteral("100"));
    const QCommandLineOption rules(
        QStringLiteral("rules"),
        QStringLiteral("Apply the rewrite rules in FILE (JSON, docs/rules.md): drop, delay, replace, "
                       "regex-replace, handshake headers. Default: none (in the window: the rules saved "
                       "from Tools > Rules)."),
        QStringLiteral("FILE"));
    const QCommandLineOption record(
        QStringLiteral("record"),
        QStringLiteral("Record the capture to FILE (native format, docs/capture-format.md) as it happens, "
                       "flushed every 100 ms. Default: a temporary file in the cache directory, removed at "
                       "exit unless saved."),
        QStringLiteral("FILE"));
    const QCommandLineOption proxyAuth(
        QStringLiteral("proxy-auth"),
        QStringLiteral(
            "Credentials clients must send (Proxy-Authorization: Basic) to use Socktap as a proxy. "
            "Default: none on loopback; beyond loopback a generated password, printed at start."),
        QStringLiteral("USER:PASSWORD"));
    const QCommandLineOption memoryOnly(
        QStringLiteral("memory-only"),
        QStringLiteral("Keep the capture in memory only, never on disk (past --max-capture-memory the oldest "
                       "payloads are evicted and counted). Default: off."));
    const QCommandLineOption disk(
        QStringLiteral("max-capture-disk"),
        QStringLiteral("Disk budget of the capture file; past it the oldest payloads are evicted (and "
                       "counted). Default: 10G."),
        QStringLiteral("SIZE"), QStringLiteral("10G"));
    const QCommandLineOption harOut(
        QStringLiteral("har"), QStringLiteral("With 'export': write HAR 1.2 (as Chrome DevTools) to OUT."),
        QStringLiteral("OUT"));
    const QCommandLineOption saveOut(
        QStringLiteral("save"),
        QStringLiteral("With 'recover N': write that capture to OUT in the native format."),
        QStringLiteral("OUT"));
    const QCommandLineOption textOut(
        QStringLiteral("text"),
        QStringLiteral("With 'export': write one session's conversation as text to OUT; with 'open': print "
                       "as text (the default)."),
        QStringLiteral("OUT"));
    const QCommandLineOption sessionOpt(
        QStringLiteral("session"),
        QStringLiteral("With 'export --text': the session to write; with 'replay' or 'mock': the session to "
                       "replay or serve. "
                       "Default: the first WebSocket session."),
        QStringLiteral("N"));
    const QCommandLineOption urlOpt(
        QStringLiteral("url"),
        QStringLiteral("With 'replay': connect here (ws:// or wss://) instead of the "
                       "original URL. With 'browser': the page to open (repeatable)."),
        QStringLiteral("URL"));
    const QCommandLineOption timingOpt(
        QStringLiteral("timing"),
        QStringLiteral(
            "With 'replay': fast (default), original (the recorded pace, see --speed) or conversation "
            "(each message once the server has sent what it had by then). With 'mock': original "
            "(default: the server's recorded delays), conversation (answers at once, their pace kept) or "
            "fast."),
        QStringLiteral("MODE"), QStringLiteral("fast"));
    const QCommandLineOption speedOpt(
        QStringLiteral("speed"),
        QStringLiteral("With 'replay --timing original' and 'mock': 2 plays twice as fast. "
                       "Default: 1."),
        QStringLiteral("X"), QStringLiteral("1"));
    const QCommandLineOption headerOpt(
        QStringLiteral("header"),
        QStringLiteral("With 'replay': set a handshake header ('Name: value'), or "
                       "remove it ('Name:'). Repeatable."),
        QStringLiteral("LINE"));
    const QCommandLineOption ignoreKeyOpt(
        QStringLiteral("ignore-json-key"),
        QStringLiteral("With 'replay' and 'mock --match content': a JSON key "
                       "whose values may differ (timestamps, ids), at any "
                       "depth. Repeatable."),
        QStringLiteral("KEY"));
    const QCommandLineOption matchOpt(
        QStringLiteral("match"),
        QStringLiteral("With 'mock': order (default: the n-th client message gets what followed the n-th "
                       "recorded one) or content (what followed the recorded message it equals)."),
        QStringLiteral("MODE"), QStringLiteral("order"));
    const QCommandLineOption unmatchedOpt(
        QStringLiteral("unmatched"),
        QStringLiteral("With 'mock': a client message the capture has no answer for is counted and shown; "
                       "then ignore (default), close[:CODE] the connection (1008), or fail (close, exit 4)."),
        QStringLiteral("POLICY"), QStringLiteral("ignore"));
    const QCommandLineOption onceOpt(
        QStringLiteral("once"),
        QStringLiteral("With 'mock': serve one session, then exit 0 when the client sent what the capture "
                       "expected, 4 when it differed."));
    const QCommandLineOption exactPathOpt(
        QStringLiteral("exact-path"),
        QStringLiteral("With 'mock': refuse (404) upgrades to another path than the recorded one."));
    const QCommandLineOption browserHeadless(
        QStringLiteral("browser-headless"),
        QStringLiteral("With 'browser': run the browser without a window (for CI; Chromium without its "
                       "sandbox)."));
    const QCommandLineOption browserArg(
        QStringLiteral("browser-arg"), QStringLiteral("With 'browser': pass ARG to the browser. Repeatable."),
        QStringLiteral("ARG"));
    const QCommandLineOption der(QStringLiteral("der"),
                                 QStringLiteral("With 'ca export': write DER instead of PEM."));
    QCommandLineOption screenshots(QStringLiteral("screenshots"),
                                   QStringLiteral("Save screenshots of each tab after --demo."),
                                   QStringLiteral("DIR"));
    screenshots.setFlags(QCommandLineOption::HiddenFromHelp);
    const QCommandLineOption configOpt(
        QStringLiteral("config"),
        QStringLiteral(
            "Read options from FILE's [options] section (name = value, as on the command line; the "
            "command line wins). Default: ~/.config/socktap/socktap.conf, else "
            "/etc/socktap/socktap.conf, when they have that section."),
        QStringLiteral("FILE"));
    QCommandLineOption printMan(QStringLiteral("print-man-page"),
                                QStringLiteral("Print socktap(1) in roff."));
    printMan.setFlags(QCommandLineOption::HiddenFromHelp);
    QCommandLineOption printCompletion(QStringLiteral("print-completion"),
                                       QStringLiteral("Print the bash or zsh completion script."),
                                       QStringLiteral("SHELL"));
    printCompletion.setFlags(QCommandLineOption::HiddenFromHelp);
    const QCommandLineOption controlOpt(
        QStringLiteral("control"),
        QStringLiteral("Offer this headless run's live capture and controls on HOST:PORT to a window's File > "
                       "Attach and 'socktap attach' (TLS with Socktap's CA; a token is needed). Default: off."),
        QStringLiteral("HOST:PORT"));
    const QCommandLineOption controlHoldGrace(
        QStringLiteral("control-hold-grace"),
        QStringLiteral("With --control: a message held while no window is attached is forwarded after this "
                       "long (counted from when it was held, or from when the last window left), so a hold "
                       "rule or a pause cannot stall a session for good. Default: 60."),
        QStringLiteral("SECONDS"), QStringLiteral("60"));
    const QCommandLineOption controlTokenOpt(
        QStringLiteral("control-token"),
        QStringLiteral("The token --control asks for. Default: a random one, printed at start."),
        QStringLiteral("TOKEN"));
    const QCommandLineOption tokenOpt(QStringLiteral("token"),
                                      QStringLiteral("With 'attach' or --attach: the remote's --control token."),
                                      QStringLiteral("TOKEN"));
    const QCommandLineOption caOpt(
        QStringLiteral("ca"),
        QStringLiteral("With 'attach' or --attach: the remote's CA certificate ('socktap ca export' there), "
                       "or its fingerprint as sha256:AB:CD:... (its --control line prints it). Default: this "
                       "user's Socktap CA."),
        QStringLiteral("FILE|sha256:HEX"));
    const QCommandLineOption attachOpt(
        QStringLiteral("attach"),
        QStringLiteral("The window starts attached to the headless Socktap whose --control is HOST:PORT (with "
                       "--token and --ca), as File > Attach does. Default: none."),
        QStringLiteral("HOST:PORT"));
    HelpTable table;
    table.description = p.applicationDescription();
    table.options = {scriptOpt,
                     scriptTimeout,
                     listen,
                     showHttp,
                     proto,
                     protoPath,
                     protoType,
                     protoUrl,
                     reverse,
                     headless,
                     json,
                     decode,
                     quiet,
                     strict,
                     memory,
                     messageCap,
                     workers,
                     connectTimeout,
                     demo,
                     caDir,
                     upstreamCa,
                     insecure,
                     insecureHost,
                     noIntercept,
                     rules,
                     record,
                     memoryOnly,
                     disk,
                     harOut,
                     saveOut,
                     textOut,
                     sessionOpt,
                     der,
                     screenshots,
                     proxyAuth,
                     responseTimeout,
                     maxConnections,
                     urlOpt,
                     timingOpt,
                     speedOpt,
                     headerOpt,
                     ignoreKeyOpt,
                     matchOpt,
                     unmatchedOpt,
                     onceOpt,
                     exactPathOpt,
                     browserHeadless,
                     browserArg,
                     upstreamProxy,
                     upstreamProxyBypass,
                     controlOpt,
                     controlTokenOpt,
                     controlHoldGrace,
                     tokenOpt,
                     caOpt,
                     attachOpt,
                     configOpt,
                     printMan,
                     printCompletion};
    p.addOptions(table.options);

    table.commands = {
        {QStringLiteral("browser"),
         QStringLiteral("'browser [chromium|chrome|firefox] [--url URL]': start Socktap and a browser "
                        "through it, with a throw-away profile that trusts Socktap's CA (removed when the "
                        "browser exits). Default: the first installed."),
         QStringLiteral("[browser [NAME]]")},
        {QStringLiteral("replay"),
         QStringLiteral("'replay FILE [--session N] [--url URL] [--timing MODE]': play a captured session's "
                        "client side again and compare the server's answers (exit 0 same, 4 different, 6 "
                        "cannot replay)."),
         QStringLiteral("[replay FILE]")},
        {QStringLiteral("attach"),
         QStringLiteral(
             "'attach HOST:PORT --token T [--ca FILE] [--json] [--record FILE]': print a remote headless "
             "Socktap's live capture (socktap --control there) as the headless mode prints its own, "
             "keeping a local copy with --record; a link that drops is resumed without losing or "
             "repeating a record."),
         QStringLiteral("[attach HOST:PORT]")},
        {QStringLiteral("mock"),
         QStringLiteral("'mock FILE [--session N] [--listen HOST:PORT] [--match order|content] [--timing "
                        "MODE] [--once]': serve a captured session's server side to a client under test, "
                        "ws:// and wss://, every mock session captured (exit 0, or with --once 0 matched, 4 "
                        "different; 6 cannot mock)."),
         QStringLiteral("[mock FILE]")},
        {QStringLiteral("recover"),
         QStringLiteral(
             "'recover': list the captures Socktap kept from earlier runs (killed, crashed, stopped "
             "by a signal, or headless); 'recover N [--json]': print the Nth as 'open' does; "
             "'recover N --save OUT': write it as a native capture."),
         QStringLiteral("[recover [N]]")},
        {QStringLiteral("ca"),
         QStringLiteral("'ca export FILE [--der]': write the root CA certificate (never the key); "
                        "'ca path': print where it lives; 'ca regenerate': make a new one "
                        "(the old one is kept as a backup)."),
         QStringLiteral("[ca export FILE | ca path | ca regenerate]")},
        {QStringLiteral("capture"),
         QStringLiteral("'open FILE [--json]': print a capture (native or HAR) as the headless console does; "
                        "'export --har OUT FILE', 'export --text OUT FILE [--session N]': convert it; "
                        "'FILE': open it in the window."),
         QStringLiteral("[open FILE | export ... FILE | FILE]")},
    };
    for (const CommandHelp &c : table.commands)
        p.addPositionalArgument(c.name, c.description, c.syntax);

    auto fail = [&](const QString &message) {
        result.action = ParseResult::Action::Exit;
        result.exitCode = 1;
        result.output = QStringLiteral("socktap: %1\nTry 'socktap --help'.").arg(message);
        return result;
    };
    // 'open FILE --text' names the output format (the default), while 'export --text OUT' takes a value:
    // drop the former before Qt's parser sees it as a missing value.
    QStringList args = arguments;
    if (args.value(1) == QLatin1String("open"))
        args.removeAll(QStringLiteral("--text"));
    if (!p.parse(args))
        return fail(p.errorText());
    // Options from the configuration file, for those the command line does not give (it wins).
    {
        QString why;
        const QStringList extra = configArguments(p.isSet(configOpt) ? p.value(configOpt) : QString(),
                                                  table.options, p.optionNames(), &why);
        if (!why.isEmpty())
            return fail(why);
        if (!extra.isEmpty()) {
            for (qsizetype i = 0; i < extra.size(); ++i)
                args.insert(1 + i, extra[i]); // (before any "--" the user gave)
            if (!p.parse(args))
                return fail(QStringLiteral("%1 (with the configuration file's options)").arg(p.errorText()));
        }
    }
    if (p.isSet(printMan) || p.isSet(printCompletion)) {
        result.action = ParseResult::Action::Exit;
        result.output = p.isSet(printMan) ? manPage(table, QCoreApplication::applicationVersion())
                                          : completion(table, p.value(printCompletion));
        if (result.output.isEmpty())
            return fail(
                QStringLiteral("--print-completion %1: expected bash or zsh").arg(p.value(printCompletion)));
        result.output.chop(1); // (the caller adds the last newline)
        return result;
    }
    if (p.isSet(QStringLiteral("help"))) {
        result.action = ParseResult::Action::Exit;
        // Parsed before the application object exists, Qt cannot know the program's name.
        result.output = p.helpText().replace(QStringLiteral("<executable_name>"), QStringLiteral("socktap"));
        return result;
    }
    if (p.isSet(QStringLiteral("version"))) {
        result.action = ParseResult::Action::Exit;
        result.output = QStringLiteral("socktap %1 (commit %2)")
                            .arg(QCoreApplication::applicationVersion(), QStringLiteral(SOCKTAP_COMMIT));
        return result;
    }
    const QStringList positional = p.positionalArguments();
    // What replay and mock share: --timing (with each command's default), --speed, --session and the
    // JSON keys to ignore. Empty, or why the command line is refused.
    const auto readPlayback = [&](const QString &defaultTiming) -> QString {
        o.replayTiming = p.isSet(timingOpt) ? p.value(timingOpt) : defaultTiming;
        if (!replay::timingFromName(o.replayTiming))
            return QStringLiteral("--timing %1: expected fast, original or conversation").arg(o.replayTiming);
        bool ok = false;
        o.replaySpeed = p.value(speedOpt).toDouble(&ok);
        if (!ok || !(o.replaySpeed >= 0.001 && o.replaySpeed <= 1000)) // (NaN fails too)
            return QStringLiteral("--speed %1: expected a factor from 0.001 to 1000, like 2 or 0.5")
                .arg(p.value(speedOpt));
        o.ignoreJsonKeys = p.values(ignoreKeyOpt);
        if (p.isSet(sessionOpt)) {
            o.exportSession = p.value(sessionOpt).toULongLong(&ok);
            if (!ok || o.exportSession == 0)
                return QStringLiteral("--session %1: expected a session number").arg(p.value(sessionOpt));
        }
        return {};
    };
    const QString first = positional.value(0);
    if (first == QLatin1String("ca")) {
        const QString sub = positional.value(1);
        if (sub == QLatin1String("export") && positional.size() == 3) {
            o.command = AppOptions::Command::CaExport;
            o.caExportFile = positional[2];
        } else if (sub == QLatin1String("path") && positional.size() == 2) {
            o.command = AppOptions::Command::CaPath;
        } else if (sub == QLatin1String("regenerate") && positional.size() == 2) {
            o.command = AppOptions::Command::CaRegenerate;
        } else {
            return fail(QStringLiteral(
                "usage: socktap ca export FILE [--der] | socktap ca path | socktap ca regenerate"));
        }
    } else if (first == QLatin1String("open")) {
        if (positional.size() != 2)
            return fail(QStringLiteral("usage: socktap open FILE [--json]"));
        o.command = AppOptions::Command::Open;
        o.captureFile = positional[1];
    } else if (first == QLatin1String("recover")) {
        bool ok = true;
        const int index = positional.size() == 2 ? positional[1].toInt(&ok) : 0;
        if (positional.size() > 2 || !ok || index < 0 || (p.isSet(saveOut) && index == 0))
            return fail(QStringLiteral("usage: socktap recover [N [--json | --save OUT]]"));
        o.command = AppOptions::Command::Recover;
        o.recoverIndex = index;
        o.recoverSave = p.value(saveOut);
    } else if (p.isSet(saveOut)) {
        return fail(QStringLiteral("--save goes with 'socktap recover N'"));
    } else if (first == QLatin1String("export")) {
        if (positional.size() != 2 || (p.isSet(harOut) == p.isSet(textOut)))
            return fail(QStringLiteral("usage: socktap export --har OUT.har FILE | socktap export --text "
                                       "OUT.txt FILE [--session N]"));
        o.command = AppOptions::Command::Export;
        o.captureFile = positional[1];
        o.exportHar = p.value(harOut);
        o.exportText = p.value(textOut);
        if (p.isSet(sessionOpt)) {
            bool ok = false;
            o.exportSession = p.value(sessionOpt).toULongLong(&ok);
            if (!ok || o.exportSession == 0)
                return fail(
                    QStringLiteral("--session %1: expected a session number").arg(p.value(sessionOpt)));
        }
    } else if (first == QLatin1String("replay")) {
        if (positional.size() != 2)
            return fail(QStringLiteral("usage: socktap replay FILE [--session N] [--url URL] [--timing "
                                       "fast|original|conversation] [--speed X] [--header 'Name: value'] "
                                       "[--ignore-json-key KEY] [--record OUT] [--json]"));
        o.command = AppOptions::Command::Replay;
        o.captureFile = positional[1];
        o.replayUrl = p.value(urlOpt);
        if (const QString why = readPlayback(QStringLiteral("fast")); !why.isEmpty())
            return fail(why);
        o.replayHeaders = p.values(headerOpt);
    } else if (first == QLatin1String("attach")) {
        if (positional.size() != 2 || !p.isSet(tokenOpt))
            return fail(QStringLiteral(
                "usage: socktap attach HOST:PORT --token T [--ca FILE|sha256:HEX] [--json] [--record FILE]"));
        o.command = AppOptions::Command::Attach;
        o.attachTarget = positional[1];
        o.attachToken = p.value(tokenOpt);
        o.attachCa = p.value(caOpt);
    } else if (first == QLatin1String("mock")) {
        if (positional.size() != 2)
            return fail(QStringLiteral("usage: socktap mock FILE [--session N] [--listen HOST:PORT] [--match "
                                       "order|content] [--timing fast|original|conversation] [--speed X] "
                                       "[--ignore-json-key KEY] [--unmatched ignore|close[:CODE]|fail] "
                                       "[--exact-path] [--once] [--json] [--rules FILE] [--record OUT]"));
        o.command = AppOptions::Command::Mock;
        o.captureFile = positional[1];
        if (const QString why = readPlayback(QStringLiteral("original")); !why.isEmpty())
            return fail(why);
        o.mockMatch = p.value(matchOpt);
        if (o.mockMatch != u"order" && o.mockMatch != u"content")
            return fail(QStringLiteral("--match %1: expected order or content").arg(o.mockMatch));
        o.mockUnmatched = p.value(unmatchedOpt);
        replay::MockOptions policy;
        if (!replay::setUnmatchedPolicy(o.mockUnmatched, policy))
            return fail(QStringLiteral("--unmatched %1: expected ignore, close, close:CODE (a code 1000-4999 "
                                       "a server may send) or fail")
                            .arg(o.mockUnmatched));
        o.mockOnce = p.isSet(onceOpt);
        o.mockExactPath = p.isSet(exactPathOpt);
    } else if (p.isSet(onceOpt) || p.isSet(matchOpt) || p.isSet(unmatchedOpt) || p.isSet(exactPathOpt)) {
        return fail(QStringLiteral("--once, --match, --unmatched and --exact-path go with 'socktap mock'"));
    } else if (first == QLatin1String("browser")) {
        if (positional.size() > 2)
            return fail(QStringLiteral("usage: socktap browser [chromium|chrome|firefox] [--url URL] "
                                       "[--browser-headless] [options]"));
        o.launchBrowser = true;
        o.browser = positional.value(1);
        if (!o.browser.isEmpty() && o.browser != u"chromium" && o.browser != u"chrome"
            && o.browser != u"firefox")
            return fail(QStringLiteral("browser %1: expected chromium, chrome or firefox").arg(o.browser));
        o.browserUrls = p.values(urlOpt);
        o.browserHeadless = p.isSet(browserHeadless);
        o.browserArguments = p.values(browserArg);
        o.showHttp = p.isSet(showHttp); // the browser's own background traffic stays in the capture
    } else if (p.isSet(browserHeadless) || p.isSet(browserArg)) {
        return fail(QStringLiteral("--browser-headless and --browser-arg go with 'socktap browser'"));
    } else if (positional.size() == 1) {
        // socktap FILE: open it in the window. A word that is no file is a mistyped command, never a
        // reason to start the proxy.
        if (!QFileInfo::exists(first))
            return fail(
                QStringLiteral("'%1' is neither a command (open, export, replay, mock, recover, browser, ca) "
                               "nor a capture file")
                    .arg(first));
        o.captureFile = first;
    } else if (!positional.isEmpty()) {
        return fail(QStringLiteral("unexpected argument '%1'").arg(positional.back()));
    }
    o.givenOptions = p.optionNames();
    o.controlListen = p.value(controlOpt);
    if (p.isSet(attachOpt)) {
        if (p.isSet(headless) || o.command != AppOptions::Command::Run)
            return fail(QStringLiteral("--attach is for the window (in a terminal: socktap attach HOST:PORT)"));
        if (!p.isSet(tokenOpt))
            return fail(QStringLiteral("--attach HOST:PORT needs --token (the remote's --control token)"));
        o.attachTarget = p.value(attachOpt);
        o.attachToken = p.value(tokenOpt);
        o.attachCa = p.value(caOpt);
    }
    o.controlToken = p.value(controlTokenOpt);
    for (const QCommandLineOption *needsControl : {&controlTokenOpt, &controlHoldGrace})
        if (p.isSet(*needsControl) && o.controlListen.isEmpty())
            return fail(QStringLiteral("--%1 goes with --control").arg(needsControl->names().first()));
    {
        bool ok = false;
        o.controlHoldGraceS = p.value(controlHoldGrace).toInt(&ok);
        if (!ok || o.controlHoldGraceS < 0)
            return fail(QStringLiteral("--control-hold-grace expects whole seconds, 0 or more"));
    }
    if (!o.controlListen.isEmpty() && !p.isSet(headless))
        return fail(
            QStringLiteral("--control goes with --headless (the window attaches to others with File > "
                           "Attach; it does not offer its own)"));
    o.caDir = p.value(caDir);
    o.caDer = p.isSet(der);
    o.upstreamCas = p.values(upstreamCa);
    o.proxy.upstreamCaFiles = o.upstreamCas;
    o.proxy.insecureUpstream = p.isSet(insecure);
    o.proxy.insecureUpstreamHosts = p.values(insecureHost);
    o.proxy.noIntercept = p.values(noIntercept);
    QString error;
    if (!parseListen(p.value(listen), o.proxy, &error))
        return fail(error);
    if (p.isSet(upstreamProxy)) {
        o.proxy.upstreamProxy = parseUpstreamProxy(p.value(upstreamProxy), &error);
        if (!o.proxy.upstreamProxy)
            return fail(error);
    }
    o.proxy.upstreamProxyBypass = p.values(upstreamProxyBypass);
    if (!o.proxy.upstreamProxyBypass.isEmpty() && !o.proxy.upstreamProxy)
        return fail(QStringLiteral("--upstream-proxy-bypass goes with --upstream-proxy"));
    if (o.proxy.upstreamProxyBypass.contains(QString()))
        return fail(QStringLiteral("--upstream-proxy-bypass: an empty pattern (expected a host, or a pattern "
                                   "like *.internal)"));
    if (p.isSet(reverse)) {
        QString why;
        o.proxy.reverse = http::RequestTarget::parseAbsolute(p.value(reverse).toLatin1(), &why);
        if (!o.proxy.reverse)
            return fail(QStringLiteral("--reverse %1: %2").arg(p.value(reverse), why));
    }
    const auto mem = parseSize(p.value(memory));
    if (!mem || *mem < (1u << 20))
        return fail(QStringLiteral("--max-capture-memory %1: expected a size of at least 1M, like 512M or 2G")
                        .arg(p.value(memory)));
    o.maxCaptureMemory = *mem;
    const auto cap = parseSize(p.value(messageCap));
    if (!cap || *cap > 0xffffffffull)
        return fail(QStringLiteral("--max-message-capture %1: expected a size below 4G, like 64M")
                        .arg(p.value(messageCap)));
    o.proxy.maxMessageCapture = qsizetype(*cap);
    const auto diskBudget = parseSize(p.value(disk));
    if (!diskBudget || *diskBudget < (16u << 20))
        return fail(QStringLiteral("--max-capture-disk %1: expected a size of at least 16M, like 500M or 20G")
                        .arg(p.value(disk)));
    o.maxCaptureDisk = *diskBudget;
    o.recordFile = p.value(record);
    if (p.isSet(proxyAuth)) {
        o.proxy.proxyCredentials = p.value(proxyAuth).toUtf8();
        if (!o.proxy.proxyCredentials.contains(':') || o.proxy.proxyCredentials.startsWith(':'))
            return fail(QStringLiteral("--proxy-auth: expected USER:PASSWORD"));
    }
    o.memoryOnly = p.isSet(memoryOnly);
    if (o.memoryOnly && !o.recordFile.isEmpty())
        return fail(QStringLiteral("--memory-only and --record contradict each other"));
    if (o.memoryOnly && !o.controlListen.isEmpty())
        return fail(QStringLiteral("--control streams the capture's journal from disk (so a client that lost "
                                   "its link resumes), and --memory-only keeps none: drop one of them"));
    bool ok = false;
    o.proxy.workers = p.value(workers).toInt(&ok);
    if (!ok || o.proxy.workers < 1 || o.proxy.workers > 256)
        return fail(QStringLiteral("--workers %1: expected 1-256").arg(p.value(workers)));
    const double seconds = p.value(connectTimeout).toDouble(&ok);
    if (!ok || seconds <= 0)
        return fail(
            QStringLiteral("--connect-timeout %1: expected seconds > 0").arg(p.value(connectTimeout)));
    o.proxy.connectTimeoutMs = int(seconds * 1000);
    const double responseSeconds = p.value(responseTimeout).toDouble(&ok);
    if (!ok || responseSeconds < 0)
        return fail(
            QStringLiteral("--response-timeout %1: expected seconds >= 0").arg(p.value(responseTimeout)));
    o.proxy.responseTimeoutMs = int(responseSeconds * 1000);
    o.proxy.maxConnections = p.value(maxConnections).toInt(&ok);
    if (!ok || o.proxy.maxConnections < 0)
        return fail(QStringLiteral("--max-connections %1: expected a number of connections")
                        .arg(p.value(maxConnections)));
    o.proxy.strict = p.isSet(strict);
    o.headless = p.isSet(headless);
    o.json = p.isSet(json);
    o.quiet = p.isSet(quiet);
    o.decode = p.value(decode);
    if (o.decode != QLatin1String("auto") && o.decode != QLatin1String("off")
        && !decode::FormatRegistry::current().find(o.decode))
        return fail(QStringLiteral("--decode %1: expected auto, off or one of %2")
                        .arg(o.decode, decode::FormatRegistry::current().names().join(QStringLiteral(", "))));
    if (p.isSet(proto) || p.isSet(protoType) || p.isSet(protoUrl)) {
        QString why;
        o.formats = protobufFormats(p.values(proto), p.values(protoPath), p.value(protoType),
                                    p.value(protoUrl), &why);
        if (!o.formats)
            return fail(why);
    }
    o.demo = p.isSet(demo) || p.isSet(screenshots);
    o.screenshotDir = p.value(screenshots);
    if (p.isSet(rules)) {
        o.rulesFile = p.value(rules);
        o.rules = intercept::RuleSet::load(o.rulesFile, &error);
        if (!o.rules) {
            // The format is in docs/rules.md, not in --help: point there.
            result = fail(error);
            result.output = QStringLiteral("socktap: %1\nThe rules file's format: docs/rules.md.").arg(error);
            return result;
        }
    }
    o.scriptFiles = p.values(scriptOpt);
    bool timeoutOk = false;
    o.scriptTimeoutMs = p.value(scriptTimeout).toInt(&timeoutOk);
    if (!timeoutOk || o.scriptTimeoutMs < 1 || o.scriptTimeoutMs > 60'000)
        return fail(QStringLiteral("--script-timeout %1: expected milliseconds from 1 to 60000")
                        .arg(p.value(scriptTimeout)));
    if (o.json && o.quiet)
        return fail(QStringLiteral("--json and --quiet contradict each other"));
    return result;
}

} // namespace socktap::app
