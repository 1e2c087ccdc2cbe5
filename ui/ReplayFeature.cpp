#include "ReplayFeature.h"

#include "MainWindow.h"
#include "ProxyFeature.h"

#include "CompareView.h"
#include "ReplayDialog.h"

#include "certs/CertificateAuthority.h"

#include <QAction>
#include <QClipboard>
#include <QElapsedTimer>
#include <QGuiApplication>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>
#include <QStatusBar>
#include <QTableView>
#include <QTimer>
#include <QToolButton>

namespace socktap::ui {

namespace {

constexpr int SessionEndWaitMs = 5'000; // for the proxy's capture to record the replay's end

} // namespace

ReplayFeature::ReplayFeature(MainWindow &window, capture::CaptureStore &store, ProxyFeature &proxy,
                             certs::CertificateAuthority *ca)
    : QObject(&window)
    , m_window(window)
    , m_store(store)
    , m_proxy(proxy)
    , m_ca(ca)
    , m_replayAction(new QAction(tr("Re&play…"), this))
{
    m_replayAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    m_replayAction->setToolTip(tr("Play this session's client side again, against its server or another, and "
                                  "compare what comes back"));
    connect(m_replayAction, &QAction::triggered, this, [this] { replaySession(m_window.currentSession()); });
}

ReplayFeature::~ReplayFeature() = default;

void ReplayFeature::addStatusWidgets(QStatusBar *bar)
{
    m_replayStatus = new QLabel(&m_window);
    m_replayCancel = new QToolButton(&m_window);
    m_replayCancel->setText(tr("Cancel replay"));
    connect(m_replayCancel, &QToolButton::clicked, this, &ReplayFeature::cancelReplay);
    bar->addWidget(m_replayStatus);
    bar->addWidget(m_replayCancel);
    m_replayStatus->hide();
    m_replayCancel->hide();
}

void ReplayFeature::update(capture::SessionId current)
{
    const auto session = current ? m_store.session(current) : std::nullopt;
    m_replayAction->setEnabled(session && session->kind == capture::SessionKind::WebSocket && !m_replayer);
}

void ReplayFeature::addCopyActions(QMenu *menu, capture::SessionId session)
{
    const auto current = session ? m_store.session(session) : std::nullopt;
    QAction *copy = menu->addAction(tr("Copy &URL"), this, [url = current ? current->url() : QByteArray()] {
        QGuiApplication::clipboard()->setText(QString::fromLatin1(url));
    });
    copy->setEnabled(current.has_value());
    // The session as a command line, to reproduce it in a terminal: its URL and the headers a client sends.
    const auto plan = current ? replay::planReplay(m_store, current->id, nullptr) : std::nullopt;
    const auto commandLine = [plan](const QString &program, const QString &urlFlag,
                                    const QString &headerFlag) {
        if (!plan)
            return QString();
        QStringList parts {program};
        const auto quoted = [](const QString &s) {
            return QLatin1Char('\'') + QString(s).replace(QLatin1Char('\''), QStringLiteral("'\\''"))
                + QLatin1Char('\'');
        };
        for (const auto &[name, value] : plan->headers)
            parts << headerFlag
                  << quoted(QString::fromLatin1(name) + QStringLiteral(": ") + QString::fromUtf8(value));
        if (!plan->subprotocols.isEmpty())
            parts << headerFlag
                  << quoted(QStringLiteral("Sec-WebSocket-Protocol: ")
                            + plan->subprotocols.join(QStringLiteral(", ")));
        if (!urlFlag.isEmpty())
            parts << urlFlag;
        parts << quoted(plan->url.toString());
        return parts.join(QLatin1Char(' '));
    };
    const std::pair<QString, QString> tools[] = {
        {tr("Copy as &websocat command"), commandLine(QStringLiteral("websocat"), {}, QStringLiteral("-H"))},
        {tr("Copy as w&scat command"),
         commandLine(QStringLiteral("wscat"), QStringLiteral("-c"), QStringLiteral("-H"))}};
    for (const auto &[label, command] : tools) {
        QAction *a =
            menu->addAction(label, this, [command] { QGuiApplication::clipboard()->setText(command); });
        a->setEnabled(plan.has_value());
        a->setData(command);
    }
}

CompareView *ReplayFeature::compareView() const
{
    return m_compareView;
}

void ReplayFeature::replaySession(capture::SessionId id)
{
    QString error;
    auto plan = replay::planReplay(m_store, id, &error);
    if (!plan) {
        QMessageBox::warning(&m_window, tr("Replay"), error);
        return;
    }
    auto *dialog = new ReplayDialog(std::move(*plan), &m_window);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        replay::Replayer::Options options;
        options.timing = dialog->timing();
        options.speed = dialog->speed();
        QString why;
        if (!startReplay(dialog->plan(), options, dialog->ignoreJsonKeys(), &why))
            QMessageBox::warning(&m_window, tr("Replay"), why);
    });
    dialog->open();
}

bool ReplayFeature::startReplay(replay::ReplayPlan plan, replay::Replayer::Options options,
                                const QStringList &ignoreJsonKeys, QString *error)
{
    const auto fail = [&](const QString &why) {
        if (error)
            *error = why;
        return false;
    };
    if (m_replayer)
        return fail(tr("A replay is already running."));
    if (!m_proxy.isListening() && !m_proxy.startProxy())
        return fail(tr("The proxy is not running, and the replay goes through it: start it first."));
    // Through this window's proxy (at its address, with its credentials when it listens beyond loopback):
    // the replay is captured like any session, and wss:// is intercepted with the window's CA, which the
    // replaying client trusts.
    const QHostAddress listening = m_proxy.server()->address();
    const bool any = listening == QHostAddress::Any || listening == QHostAddress::AnyIPv4
        || listening == QHostAddress::AnyIPv6;
    const QByteArray credentials = m_proxy.server()->config().proxyCredentials;
    const qsizetype colon = credentials.indexOf(':');
    options.proxy = QNetworkProxy(
        QNetworkProxy::HttpProxy, any ? QStringLiteral("127.0.0.1") : listening.toString(),
        m_proxy.proxyPort(), colon > 0 ? QString::fromUtf8(credentials.first(colon)) : QString(),
        colon > 0 ? QString::fromUtf8(credentials.sliced(colon + 1)) : QString());
    if (m_ca)
        options.trustedCas = QSslCertificate::fromData(m_ca->certificatePem());
    m_replayIgnore = ignoreJsonKeys;
    m_replayer = std::make_unique<replay::Replayer>(std::move(plan), options);
    const capture::SessionId original = m_replayer->plan().original;
    connect(m_replayer.get(), &replay::Replayer::progress, this, [this, original](int sent, int received) {
        m_replayStatus->setText(tr("Replaying session %1: %2 of %3 sent, %4 received")
                                    .arg(original)
                                    .arg(sent)
                                    .arg(m_replayer->plan().steps.size())
                                    .arg(received));
    });
    connect(m_replayer.get(), &replay::Replayer::finished, this, &ReplayFeature::finishReplay,
            Qt::QueuedConnection);
    m_replayStatus->setText(
        tr("Replaying session %1: connecting to %2…").arg(original).arg(m_replayer->plan().url.toString()));
    m_replayStatus->show();
    m_replayCancel->show();
    update(m_window.currentSession());
    m_replayer->start();
    return true;
}

void ReplayFeature::cancelReplay()
{
    if (m_replayer)
        m_replayer->cancel();
}

void ReplayFeature::finishReplay()
{
    std::unique_ptr<replay::Replayer> done = std::move(m_replayer);
    m_replayCancel->hide();
    m_replayStatus->hide();
    update(m_window.currentSession());
    const replay::Replayer::Result &r = done->result();
    if (r.cancelled || !r.error.isEmpty()) {
        const QString proxySaid =
            r.cancelled ? QString() : replay::proxyFailure(m_store, done->plan().url, r.startedAt);
        const QString why = r.cancelled ? tr("cancelled") : proxySaid.isEmpty() ? r.error : proxySaid;
        m_window.statusBar()->showMessage(tr("Replay of session %1: %2").arg(done->plan().original).arg(why),
                                          15000);
        emit replayFinished(why);
        return;
    }
    // The proxy records the replay's end a moment after the client sees it: wait for it, then compare.
    const quint16 port = r.localPort;
    auto plan = std::make_shared<replay::ReplayPlan>(done->plan());
    auto waited = std::make_shared<QElapsedTimer>();
    waited->start();
    auto *poll = new QTimer(this);
    poll->setInterval(20);
    connect(poll, &QTimer::timeout, this, [this, poll, port, plan, waited, ignore = m_replayIgnore] {
        capture::SessionId found = 0;
        for (const capture::SessionId id : m_store.sessionIds()) {
            const auto s = m_store.session(id);
            if (s && s->clientPort == port && s->replayOf() == plan->original
                && (s->state == capture::SessionState::Closed || s->state == capture::SessionState::Failed))
                found = id;
        }
        if (!found && waited->elapsed() < SessionEndWaitMs)
            return;
        poll->deleteLater();
        if (!found) {
            const QString why = tr("the replay's session was not found in the capture");
            m_window.statusBar()->showMessage(tr("Replay of session %1: %2").arg(plan->original).arg(why),
                                              15000);
            emit replayFinished(why);
            return;
        }
        compareReplay(*plan, found, ignore);
    });
    poll->start();
}

void ReplayFeature::compareReplay(const replay::ReplayPlan &plan, capture::SessionId replayId,
                                  const QStringList &ignoreJsonKeys)
{
    const replay::CapturedSession again = replay::capturedSession(m_store, replayId);
    const replay::Comparison comparison =
        replay::compare(plan.originalMessages, again.messages, plan.originalClose, again.close,
                        replay::CompareOptions {ignoreJsonKeys, plan.hints});
    m_window.statusBar()->showMessage(tr("Replay of session %1 (session %2): %3")
                                          .arg(plan.original)
                                          .arg(replayId)
                                          .arg(comparison.verdict()),
                                      30000);
    if (m_compareView)
        m_compareView->close();
    m_compareView = new CompareView(comparison,
                                    tr("Session %1 replayed as session %2 against %3")
                                        .arg(plan.original)
                                        .arg(replayId)
                                        .arg(plan.url.toString()),
                                    &m_window);
    m_compareView->setAttribute(Qt::WA_DeleteOnClose);
    m_compareView->show();
    emit replayFinished({});
}

} // namespace socktap::ui
