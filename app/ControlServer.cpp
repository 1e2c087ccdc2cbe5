#include "ControlServer.h"

#include "certs/CertificateAuthority.h"
#include "core/capture/BatchJournal.h"
#include "core/intercept/ControlJson.h"
#include "core/intercept/InterceptHub.h"
#include "core/intercept/ScriptLog.h"
#include "core/proxy/ProxyServer.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QRandomGenerator>

#include <QDateTime>
#include <QPointer>
#include <QSslConfiguration>
#include <QSslKey>
#include <QTimer>
#include <QUrlQuery>
#include <QWebSocket>
#include <QWebSocketServer>

#include <openssl/x509.h>

#include <cstdio>

namespace socktap::app {

namespace {

void sendJson(QWebSocket *socket, const QJsonObject &o)
{
    socket->sendTextMessage(QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact)));
}

} // namespace

ControlServer::ControlServer(std::shared_ptr<capture::BatchJournal> journal, proxy::ProxyServer *server,
                             std::shared_ptr<intercept::InterceptHub> hub, QObject *parent)
    : QObject(parent)
    , m_journal(std::move(journal))
    , m_proxy(server)
    , m_hub(std::move(hub))
    , m_timer(new QTimer(this))
    , m_journalId(QString::number(QRandomGenerator::system()->generate64(), 16))
    , m_logSeq(intercept::ScriptLog::instance().lastSeq())
{
    // What the journal's flusher wrote (at least every 100 ms) goes out within 50 ms more.
    m_timer->setInterval(50);
    connect(m_timer, &QTimer::timeout, this, &ControlServer::pump);
}

ControlServer::~ControlServer()
{
    // (abort() reports the disconnection at once, and its handler edits m_clients)
    for (Client &c : std::exchange(m_clients, {})) {
        c.socket->disconnect(this);
        c.socket->abort();
    }
}

bool ControlServer::listen(const QString &host, quint16 port, certs::CertificateAuthority &ca,
                           const QString &token, QString *error)
{
    if (!m_journal) {
        *error =
            QStringLiteral("--control streams the crash journal, and this run keeps none (--memory-only)");
        return false;
    }
    QString why;
    const auto leaf = ca.leafFor(host, &why);
    if (!leaf) {
        *error = QStringLiteral("--control: no certificate for %1: %2").arg(host, why);
        return false;
    }
    QSslConfiguration ssl = QSslConfiguration::defaultConfiguration();
    // The CA goes with the leaf: a client that trusts it by fingerprint finds it in the chain.
    ssl.setLocalCertificateChain(
        {QSslCertificate(certs::CertificateAuthority::certificatePem(leaf->certificate.get())),
         QSslCertificate(ca.certificatePem())});
    ssl.setPrivateKey(QSslKey(ca.leafKeyPem(), QSsl::Ec));
    if (ssl.privateKey().isNull())
        ssl.setPrivateKey(QSslKey(ca.leafKeyPem(), QSsl::Rsa));
    ssl.setPeerVerifyMode(QSslSocket::VerifyNone); // (clients prove themselves with the token)
    m_server = new QWebSocketServer(QStringLiteral("socktap-control"), QWebSocketServer::SecureMode, this);
    m_server->setSslConfiguration(ssl);
    m_token = token;
    if (!m_server->listen(QHostAddress(host), port)) {
        *error = QStringLiteral("--control %1:%2: %3").arg(host).arg(port).arg(m_server->errorString());
        return false;
    }
    connect(m_server, &QWebSocketServer::newConnection, this, &ControlServer::accept);
    m_timer->start();
    return true;
}

quint16 ControlServer::port() const
{
    return m_server ? m_server->serverPort() : 0;
}

int ControlServer::clients() const
{
    return int(m_clients.size());
}

void ControlServer::accept()
{
    while (QWebSocket *socket = m_server->nextPendingConnection()) {
        socket->setParent(this);
        if (socket->state() != QAbstractSocket::ConnectedState) { // (gone before it was taken)
            socket->deleteLater();
            continue;
        }
        const QUrlQuery query(socket->requestUrl());
        // Compared in full whatever differs first: no timing hint about how much of a guess was right.
        const QByteArray given = query.queryItemValue(QStringLiteral("token")).toUtf8();
        const QByteArray wanted = m_token.toUtf8();
        int diff = given.size() == wanted.size() ? 0 : 1;
        for (qsizetype i = 0; i < std::min(given.size(), wanted.size()); ++i)
            diff |= given[i] ^ wanted[i];
        if (diff != 0 || socket->requestUrl().path() != QLatin1String("/capture")) {
            socket->close(QWebSocketProtocol::CloseCodePolicyViolated, QStringLiteral("wrong token"));
            socket->deleteLater();
            continue;
        }
        bool ok = true;
        quint64 from = query.queryItemValue(QStringLiteral("from")).toULongLong(&ok);
        // An offset into another run's journal (this Socktap restarted meanwhile) means nothing here.
        const QString journal = query.queryItemValue(QStringLiteral("journal"));
        if (!ok || (!journal.isEmpty() && journal != m_journalId))
            from = 0;
        socket->setMaxAllowedIncomingMessageSize(quint64(MaxRequest));
        connect(socket, &QWebSocket::textMessageReceived, this,
                [this, socket](const QString &text) { request(socket, text); });
        // A client that reads fast is sent more as soon as its queue drains, not only at the next turn.
        connect(socket, &QWebSocket::bytesWritten, this, [this, socket] {
            for (Client &c : m_clients)
                if (c.socket == socket && c.socket->bytesToWrite() < SendAhead / 2)
                    pumpClient(c);
        });
        connect(socket, &QWebSocket::disconnected, this, [this, socket] {
            std::erase_if(m_clients, [socket](const Client &c) { return c.socket == socket; });
            socket->deleteLater();
        });
        // A client that stops answering (a laptop asleep, a link that died without a FIN) is let go.
        connect(socket, &QWebSocket::pong, this, [this, socket] {
            for (Client &c : m_clients)
                if (c.socket == socket)
                    c.lastPong = QDateTime::currentMSecsSinceEpoch();
        });
        sendJson(socket, {{"hello", QJsonObject {{"journal", m_journalId}, {"from", qint64(from)}}}});
        const bool window = query.queryItemValue(QStringLiteral("role")) == QLatin1String("window");
        m_clients.push_back(Client {socket, from, 0, {}, QDateTime::currentMSecsSinceEpoch(), 0, window});
    }
    pump();
}

void ControlServer::request(QWebSocket *socket, const QString &text)
{
    const QJsonObject o = QJsonDocument::fromJson(text.toUtf8()).object();
    const QJsonValue number = o.value(QLatin1String("request"));
    QPointer<QWebSocket> to(socket);
    const auto answer = [to, number](const intercept::CommandResult &r) {
        if (to)
            sendJson(to, {{"reply", number}, {"ok", r.ok}, {"error", r.error}});
    };
    if (o.contains(QLatin1String("scripts"))) {
        // The window's Tools > Scripts, run here instead of what ran (in QJSEngine's sandbox, under this
        // Socktap's time limit, as --script files would).
        if (!m_hub)
            return answer(intercept::CommandResult::failure(QStringLiteral("this Socktap runs no scripts")));
        intercept::ScriptSet set;
        set.timeoutMs = m_hub->scriptTimeout();
        for (const QJsonValue v : o.value(QLatin1String("scripts")).toArray()) {
            const QJsonObject s = v.toObject();
            intercept::Script script;
            script.name = s.value(QLatin1String("name")).toString();
            script.path = s.value(QLatin1String("path")).toString();
            script.source = s.value(QLatin1String("source")).toString();
            set.scripts.push_back(std::move(script));
        }
        const QString error = m_hub->setScripts(std::move(set));
        return answer(error.isEmpty() ? intercept::CommandResult {}
                                      : intercept::CommandResult::failure(QStringLiteral("scripts: ") + error));
    }
    if (o.contains(QLatin1String("rules"))) {
        QString error;
        const QByteArray rules = QJsonDocument(o.value(QLatin1String("rules")).toObject()).toJson();
        auto set = intercept::RuleSet::fromJson(rules, &error);
        if (set && !m_hub)
            error = QStringLiteral("this Socktap takes no rules");
        if (!set || !m_hub)
            return answer(intercept::CommandResult::failure(QStringLiteral("rules: ") + error));
        m_hub->setRules(std::move(*set));
        return answer({});
    }
    QString error;
    const auto command = intercept::commandFromJson(o.value(QLatin1String("command")).toObject(), &error);
    if (!command)
        return answer(intercept::CommandResult::failure(QStringLiteral("command: ") + error));
    if (!m_proxy)
        return answer(intercept::CommandResult::failure(QStringLiteral("this Socktap has no live sessions")));
    const auto session = capture::SessionId(o.value(QLatin1String("session")).toInteger());
    m_proxy->command(session, *command, this, answer);
}

void ControlServer::releaseUnwatched(qint64 now)
{
    // Holds are for a window to release: a message held while none is attached waits at most the grace
    // period (counted from when it was held, or from when the last window left), then goes on, rather than
    // stalling its session for good.
    if (std::any_of(m_clients.begin(), m_clients.end(), [](const Client &c) { return c.window; })) {
        m_unwatchedSince = 0; // (socktap attach only reads: it cannot release anything)
        return;
    }
    if (!m_unwatchedSince)
        m_unwatchedSince = now;
    if (!m_hub || !m_proxy || now - m_unwatchedSince < m_holdGraceMs)
        return;
    const std::vector<intercept::HeldMessage> held = m_hub->held();
    std::set<std::tuple<quint64, int, quint64>> stillHeld;
    std::vector<const intercept::HeldMessage *> due;
    for (const intercept::HeldMessage &h : held) {
        const auto key = std::make_tuple(h.session, int(h.from), h.id);
        stillHeld.insert(key);
        if (now - std::max(h.heldSince / 1000, m_unwatchedSince) >= m_holdGraceMs && !m_releasing.contains(key)) {
            m_releasing.insert(key);
            due.push_back(&h);
        }
    }
    std::erase_if(m_releasing, [&](const auto &key) { return !stillHeld.contains(key); });
    if (due.empty())
        return;
    std::set<capture::SessionId> sessions;
    for (const intercept::HeldMessage *h : due) {
        sessions.insert(h->session);
        intercept::SessionCommand release;
        release.kind = intercept::SessionCommand::Kind::Release;
        release.from = h->from;
        release.id = h->id;
        release.by = QStringLiteral("no window attached");
        m_proxy->command(h->session, release, this, [](const intercept::CommandResult &) {});
    }
    QStringList names;
    for (const capture::SessionId s : sessions)
        names << QString::number(s);
    std::fprintf(stderr, "socktap: no window attached for %lld s: forwarding %zu held message%s (session%s %s)\n",
                 static_cast<long long>(m_holdGraceMs / 1000), due.size(), due.size() == 1 ? "" : "s",
                 sessions.size() == 1 ? "" : "s", qPrintable(names.join(QStringLiteral(", "))));
}

void ControlServer::sendHeld(Client &c)
{
    // The held messages as the hub lists them, told as what came and what went since the last turn.
    const quint64 generation = m_hub->heldGeneration();
    // (a client that does not read gets the difference later, in one message, not a queue of them)
    if (generation == c.heldGeneration || c.socket->bytesToWrite() >= SendAhead)
        return;
    c.heldGeneration = generation;
    const std::vector<intercept::HeldMessage> held = m_hub->held();
    std::set<std::tuple<quint64, int, quint64>> now;
    QJsonArray added, removed;
    for (const intercept::HeldMessage &h : held) {
        const auto key = std::make_tuple(h.session, int(h.from), h.id);
        now.insert(key);
        if (!c.held.contains(key))
            added.append(intercept::heldJson(h));
    }
    for (const auto &[session, from, id] : c.held)
        if (!now.contains({session, from, id}))
            removed.append(
                QJsonObject {{"session", qint64(session)},
                             {"from", QLatin1String(capture::directionName(capture::Direction(from)))},
                             {"id", qint64(id)}});
    c.held = std::move(now);
    if (!added.isEmpty() || !removed.isEmpty())
        sendJson(c.socket, {{"held", QJsonObject {{"add", added}, {"remove", removed}}}});
}

void ControlServer::pump()
{
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    if (now - m_lastPing >= PingMs) {
        m_lastPing = now;
        std::vector<QWebSocket *> silent;
        for (Client &c : m_clients) {
            if (now - c.lastPong > SilentMs)
                silent.push_back(c.socket);
            else
                c.socket->ping();
        }
        for (QWebSocket *socket : silent)
            socket->abort(); // (its disconnected handler removes it from m_clients: not while iterating)
    }
    for (Client &c : m_clients)
        pumpClient(c);
    releaseUnwatched(now);
    // What scripts said here, for the consoles of the windows attached (lines kept from before a client
    // came are not repeated to it).
    const std::vector<intercept::ScriptLogLine> lines = intercept::ScriptLog::instance().since(m_logSeq);
    if (lines.empty())
        return;
    m_logSeq = lines.back().seq;
    QJsonArray out;
    for (const intercept::ScriptLogLine &l : lines)
        out.append(QJsonObject {{"script", l.script},
                                {"session", qint64(l.session)},
                                {"level", int(l.level)},
                                {"text", l.text}});
    for (Client &c : m_clients) {
        if (c.socket->bytesToWrite() >= SendAhead) {
            c.logSkipped += quint64(lines.size()); // (said to it once it reads again)
            continue;
        }
        QJsonArray mine = out;
        if (const quint64 skipped = std::exchange(c.logSkipped, 0))
            mine.prepend(QJsonObject {{"script", "socktap"},
                                      {"session", 0},
                                      {"level", int(intercept::ScriptLogLine::Level::Warn)},
                                      {"text", QStringLiteral("%1 lines of this Socktap's script console were not sent "
                                                              "while this link was not reading")
                                                   .arg(skipped)}});
        sendJson(c.socket, {{"log", mine}});
    }
}

void ControlServer::pumpClient(Client &c)
{
    // Only what the flusher has handed to the kernel: bytes still pending may be rewritten (a padded
    // last block), and the stream's bytes are final once sent.
    const auto file = m_journal->file();
    const quint64 written = file->written();
    while (c.offset < written && c.socket->bytesToWrite() < SendAhead) {
        const qint64 n = qint64(std::min<quint64>(written - c.offset, Piece));
        const QByteArray bytes = file->read(c.offset, n);
        if (bytes.size() != n)
            break; // (read again at the next turn)
        c.socket->sendBinaryMessage(bytes);
        c.offset += quint64(n);
    }
    // After the journal's bytes: a held message's session is then usually known to the client.
    if (m_hub)
        sendHeld(c);
}

} // namespace socktap::app
