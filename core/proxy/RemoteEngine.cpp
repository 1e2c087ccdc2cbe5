#include "RemoteEngine.h"

#include "certs/CertificateAuthority.h"
#include "core/capture/CaptureBatch.h"
#include "core/capture/CaptureStore.h"
#include "core/intercept/ControlJson.h"
#include "core/intercept/InterceptHub.h"
#include "core/intercept/ScriptLog.h"

#include <QFile>
#include <QJsonArray>
#include <QRegularExpression>
#include <QJsonDocument>
#include <QSslConfiguration>
#include <QTimer>
#include <QUrlQuery>
#include <QWebSocket>

namespace socktap::proxy {

namespace {

void answerLater(QObject *context, RemoteEngine::Done done, const QString &why)
{
    QMetaObject::invokeMethod(
        context, [done = std::move(done), why] { done(intercept::CommandResult::failure(why)); },
        Qt::QueuedConnection);
}

} // namespace

std::optional<RemoteEngine::Trust> RemoteEngine::Trust::read(const QString &given, const QByteArray &ownCaPem,
                                                              QString *error)
{
    Trust trust;
    QString hex = given.trimmed();
    if (hex.startsWith(QLatin1String("sha256:"), Qt::CaseInsensitive))
        hex = hex.mid(7);
    hex.remove(QLatin1Char(':'));
    static const QRegularExpression digest(QStringLiteral("^[0-9A-Fa-f]{64}$"));
    if (digest.match(hex).hasMatch()) {
        trust.sha256 = QByteArray::fromHex(hex.toLatin1());
        return trust;
    }
    if (given.startsWith(QLatin1String("sha256:"), Qt::CaseInsensitive)) {
        *error = tr("%1: a SHA-256 fingerprint is 32 bytes in hex (64 digits, colons optional)").arg(given);
        return std::nullopt;
    }
    QByteArray pem = ownCaPem;
    if (!given.isEmpty()) {
        QFile f(given);
        if (!f.open(QIODevice::ReadOnly)) {
            *error = tr("%1: %2").arg(given, f.errorString());
            return std::nullopt;
        }
        pem = f.readAll();
    }
    trust.cas = QSslCertificate::fromData(pem, QSsl::Pem);
    if (trust.cas.isEmpty()) {
        *error = given.isEmpty() ? tr("no CA certificate to verify the remote with: give the file 'socktap ca "
                                      "export' writes there, or the fingerprint its --control line prints")
                                 : tr("%1 holds no PEM certificate").arg(given);
        return std::nullopt;
    }
    return trust;
}

RemoteEngine::RemoteEngine(QString target, QString token, Trust trust,
                           capture::CaptureStore &store, std::shared_ptr<intercept::InterceptHub> heldMirror,
                           QObject *parent)
    : QObject(parent)
    , m_target(std::move(target))
    , m_token(std::move(token))
    , m_trust(std::move(trust))
    , m_store(store)
    , m_heldMirror(std::move(heldMirror))
    , m_socket(new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this))
    , m_retry(new QTimer(this))
{
    applyTrust();
    m_socket->setMaxAllowedIncomingMessageSize(quint64(MaxMessage));
    m_retry->setSingleShot(true);
    connect(m_retry, &QTimer::timeout, this, &RemoteEngine::connectSocket);
    connect(m_socket, &QWebSocket::connected, this, [this] { m_failures = 0; });
    connect(m_socket, &QWebSocket::binaryMessageReceived, this, &RemoteEngine::onBinary);
    connect(m_socket, &QWebSocket::textMessageReceived, this, &RemoteEngine::onText);
    connect(m_socket, &QWebSocket::disconnected, this, &RemoteEngine::onDisconnected);
    connect(m_socket, &QWebSocket::sslErrors, this, &RemoteEngine::checkCertificate);
    // (said when it happens: by the time the socket reports that it disconnected, the reason is gone)
    connect(m_socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
            [this] { m_socketError = m_socket->errorString(); });
}

void RemoteEngine::checkCertificate(const QList<QSslError> &errors)
{
    // The remote's own CA is what is trusted, and only that Socktap holds its key: a certificate it signed
    // is that Socktap whatever name it carries (a service listening on 0.0.0.0 has a leaf for the address
    // it was given, not the name the user types).
    bool pinned = false;
    if (!m_trust.sha256.isEmpty()) {
        // The fingerprint names the CA: it must be in the chain the remote sent, and have signed the leaf.
        const QList<QSslCertificate> chain = m_socket->sslConfiguration().peerCertificateChain();
        for (const QSslCertificate &ca : chain)
            if (!chain.isEmpty() && ca.digest(QCryptographicHash::Sha256) == m_trust.sha256
                && certs::CertificateAuthority::signs(ca.toDer(), chain.first().toDer()))
                pinned = true;
    }
    QList<QSslError> ignorable;
    for (const QSslError &e : errors) {
        switch (e.error()) {
        case QSslError::HostNameMismatch:
            ignorable.append(e);
            break;
        case QSslError::UnableToGetIssuerCertificate:
        case QSslError::UnableToGetLocalIssuerCertificate:
        case QSslError::UnableToVerifyFirstCertificate:
        case QSslError::SelfSignedCertificateInChain:
        case QSslError::CertificateUntrusted:
            if (pinned) {
                ignorable.append(e);
                break;
            }
            [[fallthrough]];
        default:
            m_linkError = !m_trust.sha256.isEmpty()
                ? (pinned ? e.errorString() : tr("its certificate is not signed by the CA with the fingerprint given"))
                : tr("%1 (is it the remote's own CA? give --ca sha256:… as its --control line prints, or the "
                     "file 'socktap ca export' writes there)")
                      .arg(e.errorString());
        }
    }
    if (ignorable.size() == errors.size())
        m_socket->ignoreSslErrors(ignorable);
}

RemoteEngine::~RemoteEngine()
{
    m_state = State::Detached;
    forgetHeld();
    m_socket->disconnect(this);
    m_socket->abort();
}

void RemoteEngine::open()
{
    if (!m_stream)
        m_stream =
            std::make_unique<capture::JournalStream>(m_store, capture::OpenOptions {false, m_target, {}});
    setState(State::Connecting);
    connectSocket();
}

void RemoteEngine::applyTrust()
{
    QSslConfiguration ssl = QSslConfiguration::defaultConfiguration();
    ssl.setCaCertificates(m_trust.cas); // (none with a fingerprint: checkCertificate decides)
    ssl.setPeerVerifyMode(QSslSocket::VerifyPeer);
    m_socket->setSslConfiguration(ssl);
}

void RemoteEngine::reopen(QString token, Trust trust)
{
    m_token = std::move(token);
    m_trust = std::move(trust);
    applyTrust();
    m_failures = 0;
    open();
}

void RemoteEngine::retireOpenSessions()
{
    if (!m_stream)
        return;
    auto batch = std::make_shared<capture::CaptureBatch>();
    for (const capture::SessionId id : m_stream->result().sessionIds) {
        auto s = m_store.session(id);
        if (s && !s->openWhenSaved
            && (s->state == capture::SessionState::Connecting || s->state == capture::SessionState::Open
                || s->state == capture::SessionState::Closing)) {
            s->openWhenSaved = true;
            m_retired.push_back(id);
            batch->sessions.push_back(std::move(*s));
        }
    }
    if (!batch->sessions.empty())
        m_store.apply(std::move(batch));
}

void RemoteEngine::detach()
{
    setState(State::Detached);
    m_retry->stop();
    m_socket->close();
    forgetHeld();
    failAll(tr("detached from %1").arg(m_target));
    retireOpenSessions();
}

void RemoteEngine::connectSocket()
{
    if (m_state == State::Detached)
        return;
    m_greeted = false;
    QUrl url(QStringLiteral("wss://%1/capture").arg(m_target));
    QUrlQuery query;
    query.addQueryItem(QStringLiteral("token"), m_token);
    query.addQueryItem(QStringLiteral("from"), QString::number(m_stream->received()));
    if (!m_journalId.isEmpty())
        query.addQueryItem(QStringLiteral("journal"), m_journalId);
    if (m_heldMirror) // (a window, which can release what is held; socktap attach only reads)
        query.addQueryItem(QStringLiteral("role"), QStringLiteral("window"));
    url.setQuery(query);
    m_socket->open(url);
}

QString RemoteEngine::stateText() const
{
    switch (m_state) {
    case State::Connecting:
        return tr("connecting");
    case State::Attached:
        return tr("attached");
    case State::Waiting:
        return m_stateText;
    case State::Refused:
        return tr("refused: %1").arg(m_stateText);
    case State::Untrusted:
        return tr("not trusted: %1").arg(m_stateText);
    case State::Failed:
        return tr("stopped: %1").arg(m_stateText);
    case State::Detached:
        return tr("detached");
    }
    return {};
}

void RemoteEngine::setState(State state, QString text)
{
    m_state = state;
    if (!text.isEmpty())
        m_stateText = std::move(text);
    emit stateChanged();
}

bool RemoteEngine::owns(capture::SessionId id) const
{
    return id && m_stream && m_stream->journalId(id) != 0;
}

bool RemoteEngine::isLive(capture::SessionId id) const
{
    if (m_state != State::Attached || !owns(id))
        return false;
    const auto s = m_store.session(id);
    return s && s->kind == capture::SessionKind::WebSocket
        && (s->state == capture::SessionState::Connecting || s->state == capture::SessionState::Open
            || s->state == capture::SessionState::Closing);
}

void RemoteEngine::command(capture::SessionId id, const intercept::SessionCommand &command, QObject *context,
                           Done done)
{
    const capture::SessionId remote = m_stream ? m_stream->journalId(id) : 0;
    if (!remote)
        return answerLater(context, std::move(done),
                           tr("session %1 is not one of %2's").arg(id).arg(m_target));
    request({{"session", qint64(remote)}, {"command", intercept::commandJson(command)}}, context,
            std::move(done));
}

void RemoteEngine::setRules(const intercept::RuleSet &rules, QObject *context, Done done)
{
    m_pushedRules = rules.toJson();
    request({{"rules", *m_pushedRules}}, context, std::move(done));
}

void RemoteEngine::setScripts(const intercept::ScriptSet &scripts, QObject *context, Done done)
{
    QJsonArray list;
    for (const intercept::Script &s : scripts.scripts)
        list.append(QJsonObject {{"name", s.name}, {"path", s.path}, {"source", s.source}});
    m_pushedScripts = list;
    request({{"scripts", list}}, context, std::move(done));
}

void RemoteEngine::request(QJsonObject message, QObject *context, Done done)
{
    if (m_state != State::Attached)
        return answerLater(context, std::move(done),
                           tr("the link to %1 is down (%2)").arg(m_target, stateText()));
    const quint64 number = ++m_nextRequest;
    message[QLatin1String("request")] = qint64(number);
    m_pending.emplace(number, Pending {context, std::move(done)});
    m_socket->sendTextMessage(QString::fromUtf8(QJsonDocument(message).toJson(QJsonDocument::Compact)));
}

void RemoteEngine::onBinary(const QByteArray &bytes)
{
    if (m_state == State::Failed)
        return;
    QString why;
    if (!m_stream->feed(bytes, &why)) {
        setState(State::Failed, tr("%1's capture cannot be read: %2").arg(m_target, why));
        m_socket->abort();
        emit failed(m_stateText);
        return;
    }
    if (!m_unplaced.empty())
        mirrorPending();
}

void RemoteEngine::onText(const QString &text)
{
    const QJsonObject o = QJsonDocument::fromJson(text.toUtf8()).object();
    if (const QJsonValue hello = o.value(QLatin1String("hello")); hello.isObject()) {
        const QString journal = hello.toObject().value(QLatin1String("journal")).toString();
        m_greeted = true;
        const bool restarted = !m_journalId.isEmpty() && journal != m_journalId;
        if (restarted) {
            // The remote restarted: its new journal from the start, with new local ids (the sessions read
            // so far stay as they were last seen).
            retireOpenSessions();
            m_retired.clear(); // (they stay as last seen: their run is over)
            m_stream =
                std::make_unique<capture::JournalStream>(m_store, capture::OpenOptions {false, m_target, {}});
        }
        m_journalId = journal;
        if (!restarted && !m_retired.empty()) {
            // Attached again to the same run: what was shown as last seen is live again.
            auto batch = std::make_shared<capture::CaptureBatch>();
            for (const capture::SessionId id : std::exchange(m_retired, {}))
                if (auto s = m_store.session(id); s && s->openWhenSaved) {
                    s->openWhenSaved = false;
                    batch->sessions.push_back(std::move(*s));
                }
            if (!batch->sessions.empty())
                m_store.apply(std::move(batch));
        }
        setState(State::Attached);
        if (restarted) {
            emit remoteRestarted();
            // It came back with its own rules and scripts: what this side had set goes again.
            const Done ignore = [](const intercept::CommandResult &) {};
            if (m_pushedRules)
                request({{"rules", *m_pushedRules}}, this, ignore);
            if (m_pushedScripts)
                request({{"scripts", *m_pushedScripts}}, this, ignore);
        }
        return;
    }
    if (const QJsonValue held = o.value(QLatin1String("held")); held.isObject())
        return applyHeld(held.toObject());
    if (const QJsonValue log = o.value(QLatin1String("log")); log.isArray()) {
        // The remote's scripts' console: into this process's log (the window's console pane, attach's
        // stderr), named by the remote, with this side's session ids.
        for (const QJsonValue v : log.toArray()) {
            const QJsonObject l = v.toObject();
            const int level = l.value(QLatin1String("level")).toInt();
            intercept::ScriptLog::instance().add(
                QStringLiteral("%1 %2").arg(m_target, l.value(QLatin1String("script")).toString()),
                m_stream->storedId(capture::SessionId(l.value(QLatin1String("session")).toInteger())),
                intercept::ScriptLogLine::Level(std::clamp(level, 0, 2)), l.value(QLatin1String("text")).toString());
        }
        return;
    }
    if (const QJsonValue reply = o.value(QLatin1String("reply")); !reply.isUndefined()) {
        const auto it = m_pending.find(quint64(reply.toInteger()));
        if (it == m_pending.end())
            return;
        Pending p = std::move(it->second);
        m_pending.erase(it);
        const intercept::CommandResult result {o.value(QLatin1String("ok")).toBool(),
                                               o.value(QLatin1String("error")).toString()};
        if (p.context)
            QMetaObject::invokeMethod(p.context, [done = std::move(p.done), result] { done(result); });
    }
}

void RemoteEngine::applyHeld(const QJsonObject &held)
{
    for (const QJsonValue v : held.value(QLatin1String("remove")).toArray()) {
        const QJsonObject r = v.toObject();
        const auto session = capture::SessionId(r.value(QLatin1String("session")).toInteger());
        const auto from = r.value(QLatin1String("from")).toString() == QLatin1String("server")
            ? capture::Direction::ServerToClient
            : capture::Direction::ClientToServer;
        const quint64 id = quint64(r.value(QLatin1String("id")).toInteger());
        std::erase_if(m_unplaced, [&](const intercept::HeldMessage &h) {
            return h.session == session && h.from == from && h.id == id;
        });
        const capture::SessionId local = m_stream->storedId(session);
        if (!local)
            continue;
        std::erase_if(m_mirrored, [&](const intercept::HeldMessage &h) {
            return h.session == local && h.from == from && h.id == id;
        });
        if (m_heldMirror)
            m_heldMirror->removeHeld(local, from, id);
    }
    for (const QJsonValue v : held.value(QLatin1String("add")).toArray()) {
        QString why;
        if (auto h = intercept::heldFromJson(v.toObject(), &why))
            m_unplaced.push_back(std::move(*h));
    }
    mirrorPending();
}

void RemoteEngine::mirrorPending()
{
    // A held message can arrive before its session's record does (the journal is flushed every 100 ms):
    // it waits here until the session has a local id.
    std::erase_if(m_unplaced, [this](intercept::HeldMessage &h) {
        const capture::SessionId local = m_stream->storedId(h.session);
        if (!local)
            return false;
        h.session = local;
        m_mirrored.push_back(h);
        if (m_heldMirror)
            m_heldMirror->addHeld(h);
        return true;
    });
}

void RemoteEngine::forgetHeld()
{
    // (the remote still holds them: a new link lists them again)
    if (m_heldMirror)
        for (const intercept::HeldMessage &h : m_mirrored)
            m_heldMirror->removeHeld(h.session, h.from, h.id);
    m_mirrored.clear();
    m_unplaced.clear();
}

void RemoteEngine::failAll(const QString &why)
{
    auto pending = std::move(m_pending);
    m_pending.clear();
    for (auto &[number, p] : pending)
        if (p.context)
            answerLater(p.context, std::move(p.done), why);
}

void RemoteEngine::onDisconnected()
{
    forgetHeld();
    failAll(
        tr("the link to %1 dropped before the answer (the command may have been carried out)").arg(m_target));
    if (m_state == State::Detached || m_state == State::Failed)
        return;
    // Decided a turn later: a connection that fails reports why just after it reports the disconnection.
    QTimer::singleShot(0, this, &RemoteEngine::afterDisconnect);
}

void RemoteEngine::afterDisconnect()
{
    if (m_state == State::Detached || m_state == State::Failed)
        return;
    // (refused before the hello; QWebSocket keeps an earlier connection's close code, so a link that was
    // accepted and then dropped must not read as a refusal)
    if (!m_greeted && m_socket->closeCode() == QWebSocketProtocol::CloseCodePolicyViolated) {
        setState(State::Refused, m_socket->closeReason());
        return;
    }
    if (!m_linkError.isEmpty()) {
        // Another certificate next time is no likelier: the user has to give the right CA.
        setState(State::Untrusted, std::exchange(m_linkError, {}));
        return;
    }
    // The remote goes on capturing: come back for what it wrote meanwhile, from the last byte here.
    const int delay = std::min(5000, 250 << std::min(m_failures++, 4));
    const QString why = m_socketError.isEmpty() ? m_socket->errorString() : std::exchange(m_socketError, {});
    const bool wasAttached = m_state == State::Attached;
    setState(State::Waiting, (wasAttached ? tr("link lost (%1); again in %2 ms from byte %3")
                                          : tr("cannot connect (%1); again in %2 ms from byte %3"))
                                 .arg(why)
                                 .arg(delay)
                                 .arg(m_stream->received()));
    m_retry->start(delay);
}

} // namespace socktap::proxy
