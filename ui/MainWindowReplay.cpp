// MainWindow, continued: replaying a session through the window's own proxy and comparing the outcome.
#include "MainWindow.h"

#include "CompareView.h"
#include "ReplayDialog.h"

#include "certs/CertificateAuthority.h"

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

QMenu *MainWindow::sessionContextMenu()
{
    auto *menu = new QMenu(this);
    menu->addAction(m_replayAction);
    const auto current = m_current ? m_store.session(m_current) : std::nullopt;
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
    menu->addAction(tr("Export selected as &HAR…"), this, [this] { exportHarWithDialog(true); })
        ->setEnabled(current.has_value());
    menu->addAction(m_closeSession);
    return menu;
}

void MainWindow::showSessionMenu(const QPoint &at)
{
    QMenu *menu = sessionContextMenu();
    menu->setAttribute(Qt::WA_DeleteOnClose);
    menu->popup(m_sessionView->viewport()->mapToGlobal(at));
}

CompareView *MainWindow::compareView() const
{
    return m_compareView;
}

void MainWindow::replaySession(capture::SessionId id)
{
    QString error;
    auto plan = replay::planReplay(m_store, id, &error);
    if (!plan) {
        QMessageBox::warning(this, tr("Replay"), error);
        return;
    }
    auto *dialog = new ReplayDialog(std::move(*plan), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        replay::Replayer::Options options;
        options.timing = dialog->timing();
        options.speed = dialog->speed();
        QString why;
        if (!startReplay(dialog->plan(), options, dialog->ignoreJsonKeys(), &why))
            QMessageBox::warning(this, tr("Replay"), why);
    });
    dialog->open();
}

bool MainWindow::startReplay(replay::ReplayPlan plan, replay::Replayer::Options options,
                             const QStringList &ignoreJsonKeys, QString *error)
{
    const auto fail = [&](const QString &why) {
        if (error)
            *error = why;
        return false;
    };
    if (m_replayer)
        return fail(tr("A replay is already running."));
    if (!isListening() && !startProxy())
        return fail(tr("The proxy is not running, and the replay goes through it: start it first."));
    // Through this window's proxy (at its address, with its credentials when it listens beyond loopback):
    // the replay is captured like any session, and wss:// is intercepted with the window's CA, which the
    // replaying client trusts.
    const QHostAddress listening = m_server->address();
    const bool any = listening == QHostAddress::Any || listening == QHostAddress::AnyIPv4
        || listening == QHostAddress::AnyIPv6;
    const QByteArray credentials = m_server->config().proxyCredentials;
    const qsizetype colon = credentials.indexOf(':');
    options.proxy =
        QNetworkProxy(QNetworkProxy::HttpProxy, any ? QStringLiteral("127.0.0.1") : listening.toString(),
                      proxyPort(), colon > 0 ? QString::fromUtf8(credentials.first(colon)) : QString(),
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
    connect(m_replayer.get(), &replay::Replayer::finished, this, &MainWindow::finishReplay,
            Qt::QueuedConnection);
    m_replayStatus->setText(
        tr("Replaying session %1: connecting to %2…").arg(original).arg(m_replayer->plan().url.toString()));
    m_replayStatus->show();
    m_replayCancel->show();
    updateSessionActions();
    m_replayer->start();
    return true;
}

void MainWindow::cancelReplay()
{
    if (m_replayer)
        m_replayer->cancel();
}

void MainWindow::finishReplay()
{
    std::unique_ptr<replay::Replayer> done = std::move(m_replayer);
    m_replayCancel->hide();
    m_replayStatus->hide();
    updateSessionActions();
    const replay::Replayer::Result &r = done->result();
    if (r.cancelled || !r.error.isEmpty()) {
        const QString proxySaid = r.cancelled ? QString() : replay::proxyFailure(m_store, done->plan().url, r.startedAt);
        const QString why = r.cancelled ? tr("cancelled") : proxySaid.isEmpty() ? r.error : proxySaid;
        statusBar()->showMessage(tr("Replay of session %1: %2").arg(done->plan().original).arg(why), 15000);
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
            statusBar()->showMessage(tr("Replay of session %1: %2").arg(plan->original).arg(why), 15000);
            emit replayFinished(why);
            return;
        }
        compareReplay(*plan, found, ignore);
    });
    poll->start();
}

void MainWindow::compareReplay(const replay::ReplayPlan &plan, capture::SessionId replayId,
                               const QStringList &ignoreJsonKeys)
{
    const replay::CapturedSession again = replay::capturedSession(m_store, replayId);
    const replay::Comparison comparison =
        replay::compare(plan.originalMessages, again.messages, plan.originalClose, again.close,
                        replay::CompareOptions {ignoreJsonKeys, plan.hints});
    statusBar()->showMessage(tr("Replay of session %1 (session %2): %3")
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
                                    this);
    m_compareView->setAttribute(Qt::WA_DeleteOnClose);
    m_compareView->show();
    emit replayFinished({});
}

} // namespace socktap::ui
