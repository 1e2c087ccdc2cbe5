#include "MainWindow.h"

#include <cstdio>

#include "CaptureFeed.h"
#include "CloseSessionDialog.h"
#include "CloseView.h"
#include "ColumnChooser.h"
#include "FailedConnectionsNotice.h"
#include "ComposePanel.h"
#include "FileJob.h"
#include "HandshakeView.h"
#include "InterceptPane.h"
#include "MessagesPanel.h"
#include "PayloadView.h"
#include "RulesDialog.h"
#include "SessionFilterModel.h"
#include "SessionTableModel.h"
#include "TimelineView.h"

#include "certs/CertificateAuthority.h"
#include "core/capture/Clock.h"
#include "core/capture/TextFormat.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QCloseEvent>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QSettings>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

namespace socktap::ui {

MainWindow::MainWindow(capture::CaptureStore &store, ServerFactory makeServer,
                       certs::CertificateAuthority *ca, std::shared_ptr<intercept::InterceptHub> hub,
                       QWidget *parent)
    : QMainWindow(parent)
    , m_store(store)
    , m_makeServer(std::move(makeServer))
    , m_ca(ca)
    , m_hub(hub ? std::move(hub) : std::make_shared<intercept::InterceptHub>())
    , m_feed(new CaptureFeed(store, this))
    , m_sessions(new SessionTableModel(store, this))
    , m_filter(new SessionFilterModel(this))
{
    setWindowTitle(tr("Socktap"));
    m_filter->setSourceModel(m_sessions);
    RulesDialog::loadSaved(*m_hub);
    const CommandSender send = [this](capture::SessionId id, const intercept::SessionCommand &command,
                                      QObject *context, CommandDone done) {
        sendCommand(id, command, context, std::move(done));
    };

    // Left: the session list.
    auto *left = new QWidget(this);
    m_filterBox = new QLineEdit(left);
    m_filterBox->setPlaceholderText(tr("Filter sessions: host, URL, state"));
    m_filterBox->setClearButtonEnabled(true);
    m_showHttp = new QCheckBox(tr("Show HTTP and tunnels"), left);
    m_showHttp->setToolTip(
        tr("Also list the plain HTTP requests and the opaque (or failed) tunnels that passed "
           "through; by default the list shows WebSocket sessions only"));
    m_sessionView = new QTableView(left);
    m_sessionView->setObjectName(QStringLiteral("sessions"));
    m_sessionView->setModel(m_filter);
    m_sessionView->setSortingEnabled(true);
    m_sessionView->sortByColumn(SessionTableModel::Id, Qt::AscendingOrder);
    m_sessionView->setSelectionBehavior(QAbstractItemView::SelectRows);
    // Several rows for File > Export > HAR of selected sessions; the current row is the one inspected.
    m_sessionView->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_sessionView->verticalHeader()->hide();
    m_sessionView->verticalHeader()->setDefaultSectionSize(m_sessionView->fontMetrics().height() + 6);
    m_sessionView->setWordWrap(false);
    // A narrow URL column keeps its start (scheme, host) and its end (the path) rather than only the start.
    // Cut at the end: the scheme, host and port of a URL stay readable (the middle cut hid the port).
    m_sessionView->setTextElideMode(Qt::ElideRight);
    m_sessionView->setAlternatingRowColors(true);
    m_sessionView->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_sessionView, &QWidget::customContextMenuRequested, this, &MainWindow::showSessionMenu);
    // Compact by default: state, the URL (which takes what room there is), messages, bytes, close; the
    // rest from the header's context menu.
    m_sessionView->horizontalHeader()->setStretchLastSection(false);
    m_sessionView->horizontalHeader()->setSectionResizeMode(SessionTableModel::Url, QHeaderView::Stretch);
    m_sessionView->horizontalHeader()->setMinimumSectionSize(24);
    // Widths from what the columns hold, in this font: a state, counts past 100 and a size must read whole
    // at 1280x800 (fixed pixel widths cut them to "re…ed" and "104…5 ↓").
    const QFontMetrics metrics = m_sessionView->fontMetrics();
    const auto fit = [&](const QString &widest, int extra = 16) {
        return metrics.horizontalAdvance(widest) + extra;
    };
    m_sessionView->setColumnWidth(SessionTableModel::Id, fit(QStringLiteral("999")));
    m_sessionView->setColumnWidth(SessionTableModel::State,
                                  fit(QStringLiteral("connecting"), 40)); // + its dot
    m_sessionView->setColumnWidth(SessionTableModel::Messages, fit(QStringLiteral("999 ↑ 999 ↓")));
    m_sessionView->setColumnWidth(SessionTableModel::Bytes, fit(QStringLiteral("999.9 KiB")));
    m_sessionView->setColumnWidth(SessionTableModel::Close, 148);
    m_sessionView->setColumnWidth(SessionTableModel::Scheme, 52);
    m_sessionView->setColumnWidth(SessionTableModel::Host, 128);
    m_sessionView->setColumnWidth(SessionTableModel::Path, 84);
    for (int c : {SessionTableModel::MessagesUp, SessionTableModel::MessagesDown})
        m_sessionView->setColumnWidth(c, 58);
    for (int c : {SessionTableModel::BytesUp, SessionTableModel::BytesDown, SessionTableModel::Duration})
        m_sessionView->setColumnWidth(c, 84);
    m_sessionView->setColumnWidth(SessionTableModel::Started, 100); // hh:mm:ss.zzz
    QList<int> optional;
    for (int c = SessionTableModel::FirstOptionalColumn; c < SessionTableModel::ColumnCount; ++c)
        optional.append(c);
    m_sessionColumns = new ColumnChooser(m_sessionView, optional);
    auto *filterRow = new QHBoxLayout;
    filterRow->addWidget(m_filterBox, 1);
    filterRow->addWidget(m_showHttp);
    m_sessionStack = new QStackedWidget(left);
    m_sessionStack->addWidget(m_sessionView);
    buildEmptyPage(m_sessionStack);
    for (auto signal : {&QAbstractItemModel::rowsInserted, &QAbstractItemModel::rowsRemoved})
        connect(m_sessions, signal, this, &MainWindow::updateEmptyState);
    connect(m_sessions, &QAbstractItemModel::modelReset, this, &MainWindow::updateEmptyState);
    auto *leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(4, 4, 4, 4);
    leftLayout->addLayout(filterRow);
    leftLayout->addWidget(m_sessionStack, 1);
    m_failedNotice = new FailedConnectionsNotice(store, left);
    leftLayout->addWidget(m_failedNotice);
    connect(m_failedNotice, &FailedConnectionsNotice::showRequested, this, [this] { m_showHttp->setChecked(true); });
    connect(m_showHttp, &QCheckBox::toggled, m_failedNotice, &FailedConnectionsNotice::setShown);
    updateEmptyState();

    // Right: the inspectors.
    m_tabs = new QTabWidget(this);
    m_handshake = new HandshakeView(m_tabs);
    m_messages = new MessagesPanel(store, m_tabs);
    m_close = new CloseView(m_tabs);
    m_timeline = new TimelineView(m_tabs);
    m_compose = new ComposePanel(send, m_tabs);
    m_tabs->addTab(m_handshake, tr("Handshake"));
    m_tabs->addTab(m_messages, tr("Messages"));
    m_tabs->addTab(m_close, tr("Close"));
    m_tabs->addTab(m_timeline, tr("Timeline"));
    m_tabs->addTab(m_compose, tr("Compose"));

    m_splitter = new QSplitter(Qt::Horizontal, this);
    m_splitter->setObjectName(QStringLiteral("mainSplitter"));
    // Until a session is picked, the inspectors' place says so rather than showing empty tables.
    m_inspectors = new QStackedWidget(this);
    m_noSession = new QLabel(tr("Select a session in the list to see its handshake, messages and close."),
                             m_inspectors);
    m_noSession->setObjectName(QStringLiteral("noSession"));
    m_noSession->setAlignment(Qt::AlignCenter);
    m_noSession->setWordWrap(true);
    m_noSession->setEnabled(false); // the palette's muted text
    m_inspectors->addWidget(m_noSession);
    m_inspectors->addWidget(m_tabs);
    m_splitter->addWidget(left);
    m_splitter->addWidget(m_inspectors);
    m_splitter->setStretchFactor(0, 2);
    m_splitter->setStretchFactor(1, 3);
    setCentralWidget(m_splitter);

    // Bottom: what is held at breakpoints; hidden until something is.
    m_intercept = new InterceptPane(m_hub, send, this);
    addDockWidget(Qt::BottomDockWidgetArea, m_intercept);
    m_intercept->hide();

    buildMenus();
    buildStatusBar();

    connect(m_filterBox, &QLineEdit::textChanged, m_filter, &SessionFilterModel::setText);
    connect(m_showHttp, &QCheckBox::toggled, m_filter, &SessionFilterModel::setShowHttp);
    connect(m_sessionView->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &MainWindow::onCurrentSessionChanged);
    connect(m_sessionView->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &MainWindow::updateFileActions);
    connect(m_feed, &CaptureFeed::sessionsChanged, this, &MainWindow::onSessionsChanged);
    connect(m_feed, &CaptureFeed::messagesAppended, this, &MainWindow::onMessagesAppended);
    connect(m_feed, &CaptureFeed::resynchronise, this, [this] {
        // Which sessions changed is lost with the batches: count it as a change, unless a file opens
        // (settled when it is done).
        if (m_opening)
            m_lostTrackWhileOpening = true;
        else
            ++m_changes;
        m_sessions->reload();
        showSession(true);
    });
    connect(m_intercept, &InterceptPane::status, this,
            [this](const QString &text) { statusBar()->showMessage(text, 10000); });
    connect(m_intercept, &InterceptPane::pauseEnded, this,
            [this](capture::SessionId id, capture::Direction from) {
                m_paused[id][int(from)] = false;
                updateSessionActions();
            });
    connect(m_messages, &MessagesPanel::resendRequested, this, &MainWindow::resend);
    connect(m_messages, &MessagesPanel::editAndResendRequested, this, &MainWindow::editAndResend);
    connect(m_tabs, &QTabWidget::currentChanged, this, [this](int tab) {
        if (tab == TimelineTab)
            refreshTimeline();
    });
    auto *counters = new QTimer(this);
    connect(counters, &QTimer::timeout, this, &MainWindow::updateCounters);
    connect(counters, &QTimer::timeout, this, &MainWindow::updateSessionActions);
    counters->start(1000);
    setAcceptDrops(true); // capture files dropped on the window are opened
    restoreLayout();
    updateCounters();
    updateSessionActions();
    updateFileActions();
}

MainWindow::~MainWindow()
{
    // Before the members the job's thread may report to go: cancels it and waits for the thread.
    delete m_job;
}

void MainWindow::buildMenus()
{
    buildFileMenu();

    QMenu *edit = menuBar()->addMenu(tr("&Edit"));
    QAction *copy = edit->addAction(tr("&Copy"), this, &MainWindow::copySelection);
    copy->setShortcut(QKeySequence::Copy);
    copy->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    m_sessionView->addAction(copy);
    m_messages->view()->addAction(copy);
    QAction *find = edit->addAction(tr("&Find in messages"), this, [this] {
        m_tabs->setCurrentIndex(MessagesTab);
        m_messages->focusSearch();
    });
    find->setShortcut(QKeySequence::Find);
    QAction *filter = edit->addAction(tr("Filter &sessions"), this, [this] { m_filterBox->setFocus(); });
    filter->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_F));
    edit->addSeparator();
    QAction *clear = edit->addAction(tr("C&lear capture"), this, &MainWindow::clearCapture);
    clear->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));

    QMenu *captureMenu = menuBar()->addMenu(tr("&Capture"));
    m_startStop = captureMenu->addAction(tr("&Stop proxy"), this, [this] {
        if (isListening())
            stopProxy();
        else
            startProxy();
    });
    m_startStop->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    m_follow = captureMenu->addAction(tr("&Follow new messages"));
    m_follow->setCheckable(true);
    m_follow->setChecked(true);
    m_follow->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Space));
    m_follow->setToolTip(tr("Scroll to new messages as they arrive (only while the list is at its end)"));
    connect(m_follow, &QAction::toggled, m_messages, &MessagesPanel::setFollowing);

    QMenu *view = menuBar()->addMenu(tr("&View"));
    QAction *showIntercept = m_intercept->toggleViewAction();
    showIntercept->setText(tr("&Intercept pane"));
    showIntercept->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_I));
    view->addAction(showIntercept);
    buildSessionMenu();

    QMenu *tools = menuBar()->addMenu(tr("&Tools"));
    m_toolsMenu = tools;
    addBrowserActions(tools);
    tools->addSeparator();
    m_rulesAction = tools->addAction(tr("&Rules…"), this, &MainWindow::showRules);
    // (Ctrl+R is Replay: one key, one action.)
    m_rulesAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R));
    tools->addAction(tr("&Export CA certificate…"), this, &MainWindow::exportCa)->setEnabled(m_ca != nullptr);
    tools->addAction(tr("&Settings…"), this, &MainWindow::showSettings);

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About Socktap"), this, [this] {
        QMessageBox::about(this, tr("About Socktap"),
                           tr("<b>Socktap %1</b><p>An intercepting WebSocket debugging proxy: every frame "
                              "relayed byte for byte, "
                              "every message decoded.</p><p>Point a client at %2 as its HTTP proxy.</p>")
                               .arg(QCoreApplication::applicationVersion(), m_listening->text()));
    });
}

void MainWindow::buildSessionMenu()
{
    QMenu *session = menuBar()->addMenu(tr("&Session"));
    const std::pair<capture::Direction, QString> pauses[] = {
        {capture::Direction::ClientToServer, tr("Pause &client → server")},
        {capture::Direction::ServerToClient, tr("Pause &server → client")}};
    for (const auto &[from, text] : pauses) {
        QAction *pause = session->addAction(text);
        pause->setCheckable(true);
        pause->setShortcut(
            QKeySequence(Qt::CTRL | (from == capture::Direction::ClientToServer ? Qt::Key_1 : Qt::Key_2)));
        pause->setToolTip(tr("Hold every message this side sends until you forward it (Intercept pane)"));
        // triggered, not toggled: only the user's clicks send a command, not the window's own updates.
        connect(pause, &QAction::triggered, this, [this, from](bool on) { setPaused(from, on); });
        m_pause[int(from)] = pause;
    }
    m_holdPingPong = session->addAction(tr("Pauses hold pings and pongs &too"));
    m_holdPingPong->setCheckable(true);
    m_holdPingPong->setToolTip(tr("Off (the default): Ping and Pong pass a pause, so the peers' keepalive does "
                                  "not time out while you look. On: the next pause holds them too."));
    m_resumeAll = session->addAction(tr("&Resume all"), this, &MainWindow::resumeAll);
    m_resumeAll->setToolTip(tr("Forward everything held in this session and stop pausing it"));
    session->addSeparator();
    // The pane's actions live here too, so F8 and friends work while the pane is hidden.
    for (QAction *a : {m_intercept->forwardAction(), m_intercept->editAction(), m_intercept->dropAction(),
                       m_intercept->forwardAllAction()}) {
        session->addAction(a);
        addAction(a);
    }
    session->addSeparator();
    m_replayAction = session->addAction(tr("Re&play…"), this, [this] { replaySession(m_current); });
    m_replayAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    m_replayAction->setToolTip(tr("Play this session's client side again, against its server or another, and "
                                  "compare what comes back"));
    m_closeSession = session->addAction(tr("&Close session…"), this, &MainWindow::closeSession);
}

bool MainWindow::isLive(capture::SessionId id) const
{
    return id && m_server && !m_stopping && m_server->isLive(id);
}

void MainWindow::sendCommand(capture::SessionId id, const intercept::SessionCommand &command,
                             QObject *context, CommandDone done)
{
    if (!m_server || m_stopping) {
        // Answered later all the same, so callers have one path.
        QMetaObject::invokeMethod(
            context,
            [done = std::move(done)] { done(intercept::CommandResult::failure(tr("the proxy is stopped"))); },
            Qt::QueuedConnection);
        return;
    }
    m_server->command(id, command, context, std::move(done));
}

void MainWindow::updateSessionActions()
{
    const bool live = isLive(m_current);
    const auto paused = m_paused.value(m_current, {false, false});
    for (int from = 0; from < 2; ++from) {
        const QSignalBlocker blocker(m_pause[size_t(from)]);
        m_pause[size_t(from)]->setEnabled(live);
        m_pause[size_t(from)]->setChecked(live && paused[size_t(from)]);
    }
    m_resumeAll->setEnabled(live);
    m_closeSession->setEnabled(live);
    const auto current = m_current ? m_store.session(m_current) : std::nullopt;
    m_replayAction->setEnabled(current && current->kind == capture::SessionKind::WebSocket && !m_replayer);
    m_compose->setSession(m_current, live);
    m_messages->setLive(live);
}

void MainWindow::setPaused(capture::Direction from, bool on)
{
    const capture::SessionId id = m_current;
    intercept::SessionCommand command;
    command.kind = intercept::SessionCommand::Kind::SetPause;
    command.from = from;
    command.on = on;
    command.holdPingPong = m_holdPingPong->isChecked();
    m_paused[id][int(from)] = on;
    sendCommand(id, command, this, [this, id, from, on](const intercept::CommandResult &result) {
        if (result.ok)
            return;
        m_paused[id][int(from)] = false; // the session has ended, or never paused
        statusBar()->showMessage(tr("Pause failed: %1").arg(result.error), 10000);
        updateSessionActions();
    });
    updateSessionActions();
}

void MainWindow::resumeAll()
{
    const capture::SessionId id = m_current;
    for (const auto from : {capture::Direction::ClientToServer, capture::Direction::ServerToClient}) {
        intercept::SessionCommand command;
        command.kind = intercept::SessionCommand::Kind::ReleaseAll;
        command.from = from;
        sendCommand(id, command, this, [this, id, from](const intercept::CommandResult &result) {
            if (!result.ok) {
                statusBar()->showMessage(tr("Resume failed: %1").arg(result.error), 10000);
                return;
            }
            m_paused[id][int(from)] = false;
            updateSessionActions();
        });
    }
}

void MainWindow::closeSession()
{
    const capture::SessionId id = m_current;
    auto *dialog = new CloseSessionDialog(id, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, id, dialog] {
        const intercept::SessionCommand command = dialog->command();
        const bool reset = command.kind == intercept::SessionCommand::Kind::Reset;
        sendCommand(id, command, this, [this, id, reset](const intercept::CommandResult &result) {
            statusBar()->showMessage(
                result.ok ? (reset ? tr("Session %1 reset").arg(id) : tr("Close sent in session %1").arg(id))
                          : tr("Close failed: %1").arg(result.error),
                10000);
        });
    });
    dialog->open();
}

void MainWindow::resend(capture::Direction to, quint8 opcode, const QByteArray &payload)
{
    intercept::SessionCommand command;
    command.kind = intercept::SessionCommand::Kind::Send;
    command.from = to; // sent as the peer on that side: ClientToServer goes to the server
    command.flag = capture::MessageFlag::Resent;
    command.message = intercept::OutgoingMessage {opcode, payload, 1};
    const QString where = to == capture::Direction::ClientToServer ? tr("the server") : tr("the client");
    sendCommand(m_current, command, this, [this, where](const intercept::CommandResult &result) {
        statusBar()->showMessage(
            result.ok ? tr("Resent to %1").arg(where) : tr("Resend failed: %1").arg(result.error), 10000);
    });
}

void MainWindow::editAndResend(capture::Direction from, quint8 opcode, const QByteArray &payload)
{
    m_compose->prefill(from, opcode, payload);
    m_tabs->setCurrentIndex(ComposeTab);
}

void MainWindow::showRules()
{
    auto *dialog = new RulesDialog(m_hub, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this] {
        statusBar()->showMessage(tr("%n rule(s) in use", nullptr, int(m_hub->rules()->rules.size())), 5000);
    });
    dialog->open();
}

void MainWindow::buildStatusBar()
{
    m_listening = new QLabel(this);
    // Never squeezed out by the counters on the right: where the proxy listens is the first thing to know.
    m_listening->setMinimumWidth(m_listening->fontMetrics().horizontalAdvance(tr("Proxy on 127.0.0.1:65535"))
                                 + 8);
    m_toggle = new QToolButton(this);
    m_toggle->setAutoRaise(true);
    connect(m_toggle, &QToolButton::clicked, m_startStop, &QAction::trigger);
    m_counters = new QLabel(this);
    statusBar()->addWidget(m_listening);
    statusBar()->addWidget(m_toggle);
    buildJobStatus();
    m_replayStatus = new QLabel(this);
    m_replayCancel = new QToolButton(this);
    m_replayCancel->setText(tr("Cancel replay"));
    connect(m_replayCancel, &QToolButton::clicked, this, &MainWindow::cancelReplay);
    statusBar()->addWidget(m_replayStatus);
    statusBar()->addWidget(m_replayCancel);
    m_replayStatus->hide();
    m_replayCancel->hide();
    statusBar()->addPermanentWidget(m_counters);
}

bool MainWindow::startProxy()
{
    if (m_server || m_stopping)
        return isListening();
    m_server = m_makeServer();
    QString error;
    if (!m_server->start(&error)) {
        m_server.reset();
        m_lastStartError = error;
        // In the proxy's own label, not a temporary message: QStatusBar drew that over the label and the
        // Start button ("Proxy stopped … Start" across the error).
        updateListening();
        return false;
    }
    m_lastStartError.clear();
    // Said on stderr too, as headless does: whoever started the window from a terminal (or a test that
    // asked for port 0) learns the port actually bound.
    std::fprintf(stderr, "socktap: listening on %s\n", qPrintable(m_server->endpoint()));
    connect(m_server.get(), &proxy::ProxyServer::acceptTrouble, this,
            [this](const QString &why) { statusBar()->showMessage(why); });
    connect(m_server.get(), &proxy::ProxyServer::acceptRecovered, this,
            [this] { statusBar()->showMessage(tr("Accepting new clients again"), 10000); });
    updateListening();
    updateSessionActions();
    return true;
}

void MainWindow::stopProxy()
{
    if (!m_server || m_stopping)
        return;
    m_stopping = true;
    m_listening->setText(tr("Stopping…"));
    connect(m_server.get(), &proxy::ProxyServer::stopped, this, [this] {
        // Deleted later: we are inside its signal.
        m_server.release()->deleteLater();
        m_stopping = false;
        m_paused.clear(); // every session has ended
        updateListening();
        updateSessionActions();
    });
    m_server->stop();
}

bool MainWindow::isListening() const
{
    return m_server && m_server->isListening() && !m_stopping;
}

quint16 MainWindow::proxyPort() const
{
    return m_server ? m_server->port() : 0;
}

void MainWindow::updateEmptyState()
{
    if (!m_emptyHint)
        return; // (still being built)
    if (m_sessions->rowCount() > 0) {
        m_sessionStack->setCurrentWidget(m_sessionView);
        return;
    }
    const QString address =
        isListening() ? proxyAddressForClients() : tr("(the proxy is stopped: Capture > Start proxy)");
    m_emptyBrowser->setEnabled(isListening());
    m_copyAddress->setEnabled(isListening());
    m_emptyHint->setText(
        tr("<p>The browser starts with a throw-away profile that uses Socktap and trusts its CA, so its "
           "ws:// and wss:// sessions appear here; your own profile is not touched.</p>"
           "<p><b>Or</b> point any client at Socktap as its HTTP proxy: <b>%1</b><br>"
           "For wss://, that client must trust Socktap's root CA: open <a "
           "href=\"http://socktap/\">http://socktap/</a> through the "
           "proxy (it exists only there), or Tools &gt; Export CA certificate.</p>"
           "<p>Select a session to see its handshake, messages and close.</p>"
           "<p>Or open a saved capture or a HAR file: File &gt; Open, or drop it on the window.</p>")
            .arg(address.toHtmlEscaped()));
    m_sessionStack->setCurrentWidget(m_emptyPage);
}

QString MainWindow::listeningText() const
{
    return m_listening->text();
}

void MainWindow::updateListening()
{
    updateEmptyState();
    if (isListening()) {
        m_listening->setText(tr("Proxy on %1").arg(m_server->endpoint()));
        m_toggle->setText(tr("Stop"));
        m_startStop->setText(tr("&Stop proxy"));
    } else {
        m_listening->setText(m_lastStartError.isEmpty() ? tr("Proxy stopped")
                                                        : tr("Proxy stopped: %1").arg(m_lastStartError));
        m_listening->setToolTip(m_lastStartError);
        m_toggle->setText(tr("Start"));
        m_startStop->setText(tr("&Start proxy"));
    }
}

void MainWindow::updateCounters()
{
    const auto s = m_store.stats();
    QString text = tr("%1 · %2 · %3 captured · memory %4 of %5")
                       .arg(capture::counted(s.sessions, "session"), capture::counted(s.messages, "message"))
                       .arg(capture::byteSize(s.payloadBytesHeld), capture::byteSize(s.memoryUsed),
                            capture::byteSize(s.memoryLimit));
    if (s.evictedPayloads || s.evictedRecords || s.evictedSessions)
        text += tr(" · evicted: %1 payloads, %2 records, %3 sessions")
                    .arg(s.evictedPayloads)
                    .arg(s.evictedRecords)
                    .arg(s.evictedSessions);
    m_counters->setText(text);
    updateStorage();
}

void MainWindow::onSessionsChanged(const QList<capture::SessionId> &ids)
{
    m_sessions->update(ids);
    m_failedNotice->update(ids);
    noteChanges(ids);
    updateSessionActions();
    if (m_current && ids.contains(m_current))
        showSession(false);
    // Nothing is selected but by the user: a session picked by the window (a browser's background
    // connection, often) would be a session the user did not ask to look at.
}

void MainWindow::onMessagesAppended(const QSet<capture::SessionId> &sessions)
{
    if (!m_current || !sessions.contains(m_current))
        return;
    m_messages->appendNew();
    if (m_tabs->currentIndex() == TimelineTab && capture::nowMicros() - m_lastTimeline > 500'000)
        refreshTimeline();
}

bool MainWindow::selectSession(capture::SessionId id)
{
    const int row = m_sessions->rowOf(id);
    if (row < 0)
        return false;
    const QModelIndex index = m_filter->mapFromSource(m_sessions->index(row, 0));
    if (!index.isValid())
        return false;
    m_sessionView->setCurrentIndex(index);
    return true;
}

void MainWindow::onCurrentSessionChanged()
{
    const QModelIndex index = m_filter->mapToSource(m_sessionView->currentIndex());
    m_current = index.isValid() ? m_sessions->sessionId(index.row()) : 0;
    showSession(true);
    updateSessionActions();
    updateFileActions();
}

void MainWindow::showSession(bool messagesToo)
{
    const int row = m_sessions->rowOf(m_current);
    const capture::SessionInfo *s = m_sessions->session(row);
    m_inspectors->setCurrentWidget(s ? static_cast<QWidget *>(m_tabs) : m_noSession);
    if (!s) {
        m_handshake->clear();
        m_close->clear();
        m_timeline->clear();
        m_messages->setSession(0, 0);
        return;
    }
    QList<capture::SessionId> replays; // shown in both: the original lists its replays
    if (s->kind == capture::SessionKind::WebSocket)
        for (int r = 0; r < m_sessions->rowCount(); ++r)
            if (const capture::SessionInfo *other = m_sessions->session(r);
                other && other->replayOf() == s->id)
                replays.append(other->id);
    m_handshake->setSession(*s, replays);
    m_close->setSession(*s);
    if (messagesToo)
        m_messages->setSession(s->id, s->upgradedAt ? s->upgradedAt : s->acceptedAt);
    if (m_tabs->currentIndex() == TimelineTab || messagesToo)
        refreshTimeline();
}

void MainWindow::refreshTimeline()
{
    const capture::SessionInfo *s = m_sessions->session(m_sessions->rowOf(m_current));
    if (!s) {
        m_timeline->clear();
        return;
    }
    m_lastTimeline = capture::nowMicros();
    m_timeline->setData(m_messages->model()->records(), s->upgradedAt ? s->upgradedAt : s->acceptedAt,
                        s->closedAt);
}

void MainWindow::clearCapture()
{
    if (m_job) {
        // An open would go on adding to the emptied capture, a save or export would miss what it reads.
        statusBar()->showMessage(tr("Cancel or wait for %1 before clearing").arg(m_job->title()), 5000);
        return;
    }
    m_store.clear();
    showFileWarnings({}, {});
    m_current = 0;
    m_sessions->clear();
    m_failedNotice->clear();
    showSession(true);
    updateSessionActions();
    updateCounters();
}

void MainWindow::copySelection()
{
    if (m_messages->view()->hasFocus() || m_messages->isAncestorOf(QApplication::focusWidget())) {
        m_messages->payload()->copyText();
        return;
    }
    if (const capture::SessionInfo *s = m_sessions->session(m_sessions->rowOf(m_current)))
        QApplication::clipboard()->setText(QString::fromLatin1(s->url()));
}

void MainWindow::exportCa()
{
    if (!m_ca)
        return;
    const QString file = QFileDialog::getSaveFileName(
        this, tr("Export the Socktap CA certificate"), QStringLiteral("socktap-ca.pem"),
        tr("PEM certificate (*.pem *.crt);;DER certificate (*.cer *.der)"));
    if (file.isEmpty())
        return;
    const bool der = file.endsWith(QLatin1String(".cer")) || file.endsWith(QLatin1String(".der"));
    QFile out(file);
    if (!out.open(QIODevice::WriteOnly | QIODevice::Truncate)
        || out.write(der ? m_ca->certificateDer() : m_ca->certificatePem()) < 0) {
        QMessageBox::warning(this, tr("Export CA certificate"),
                             tr("Cannot write %1: %2").arg(file, out.errorString()));
        return;
    }
    QMessageBox::information(
        this, tr("Export CA certificate"),
        tr("<p>Wrote the certificate (never the key) of <b>%1</b> to %2.</p>"
           "<p>SHA-256 fingerprint:<br><tt>%3</tt></p>"
           "<p>To inspect wss:// traffic, make the browser trust it: Chromium on Linux "
           "<tt>certutil -d sql:$HOME/.pki/nssdb -A -t \"C,,\" -n \"Socktap Root CA\" -i %2</tt>; "
           "Firefox: Settings, Certificates, Authorities, Import. docs/certificates.md has every "
           "browser and OS, and how to remove it.</p>")
            .arg(m_ca->commonName().toHtmlEscaped(), file.toHtmlEscaped(), m_ca->fingerprintSha256()));
}

void MainWindow::showSettings()
{
    SettingsDialog dialog(currentSettings(), m_ca ? m_ca->commonName() : QString(), this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    if (const auto chosen = dialog.settings())
        settingsChosen(*chosen);
}

void MainWindow::settingsChosen(const WindowSettings &settings)
{
    // Saved as they end up running: a new address that could not be had is not kept for the next start.
    if (!applySettings(settings)) {
        currentSettings().save();
        return;
    }
    auto *once = new QObject(this);
    connect(this, &MainWindow::proxyRestarted, once, [this, once] {
        currentSettings().save();
        once->deleteLater();
    });
}

void MainWindow::setEditableConfig(proxy::ProxyConfig *config, Theme theme, bool credentialsGenerated)
{
    m_config = config;
    m_theme = theme;
    m_generatedCredentials = credentialsGenerated;
}

WindowSettings MainWindow::currentSettings() const
{
    proxy::ProxyConfig shown;
    if (m_config)
        shown = *m_config;
    else if (m_server) {
        shown.listenAddress = m_server->address();
        shown.listenPort = m_server->port();
    }
    return WindowSettings::from(shown, m_store.stats().memoryLimit, m_theme);
}

bool MainWindow::applySettings(const WindowSettings &settings)
{
    const WindowSettings before = currentSettings();
    m_store.setMemoryLimit(settings.memoryBudget);
    updateCounters();
    if (settings.theme != m_theme) {
        applyTheme(settings.theme);
        m_theme = settings.theme;
    }
    if (!m_config)
        return false;
    settings.applyTo(*m_config);
    if (before.listenAddress != settings.listenAddress)
        guardListener();
    const bool proxyChanged = before.listenAddress != settings.listenAddress
        || before.listenPort != settings.listenPort || before.verifyUpstream != settings.verifyUpstream
        || before.insecureHosts != settings.insecureHosts
        || before.maxMessageCapture != settings.maxMessageCapture;
    // Stopped by the user (or stopping): the next start uses the new settings. Not started because the
    // old address failed: start now.
    if (!proxyChanged || m_stopping || (!m_server && m_lastStartError.isEmpty()))
        return false;
    restartProxy(before);
    return true;
}

void MainWindow::guardListener()
{
    // Beyond loopback, proxy use needs credentials (generated unless given); back on loopback, generated
    // ones are dropped again.
    if (m_config->listenAddress.isLoopback() && m_generatedCredentials) {
        m_config->proxyCredentials.clear();
        m_generatedCredentials = false;
    }
    const bool had = !m_config->proxyCredentials.isEmpty();
    m_exposureWarning = proxy::requireCredentialsBeyondLoopback(*m_config);
    m_generatedCredentials = m_generatedCredentials || (!had && !m_config->proxyCredentials.isEmpty());
    if (m_exposureWarning.isEmpty())
        return;
    warn(tr("Settings"), m_exposureWarning);
}

void MainWindow::restartProxy(const WindowSettings &before)
{
    // Same address, any free port: stay on the port clients (and launched browsers) already use.
    const quint16 configured = m_config->listenPort;
    const quint16 keepPort = m_server && configured == 0 && before.listenPort == 0
            && before.listenAddress == m_config->listenAddress
        ? m_server->port()
        : 0;
    // The engine reads its configuration when it starts: stop (open sessions get 1001), start again.
    const auto startAgain = [this, before, configured, keepPort] {
        if (keepPort)
            m_config->listenPort = keepPort;
        const bool started = startProxy();
        m_config->listenPort = configured;
        if (started) {
            statusBar()->showMessage(
                tr("Proxy restarted on %1 with the new settings").arg(proxyAddressForClients()), 10000);
            emit proxyRestarted(true, QString());
            return;
        }
        const QString why = m_lastStartError;
        before.applyTo(*m_config); // back to what worked
        guardListener();
        startProxy();
        const QString message = tr("%1. Socktap is back on %2:%3.")
                                    .arg(why, before.listenAddress.toString())
                                    .arg(before.listenPort);
        warn(tr("Settings"), message);
        emit proxyRestarted(false, why);
    };
    if (!m_server) {
        startAgain();
        return;
    }
    connect(m_server.get(), &proxy::ProxyServer::stopped, this, startAgain, Qt::QueuedConnection);
    stopProxy();
}

void MainWindow::restoreLayout()
{
    QSettings settings(QStringLiteral("socktap"),
                       QStringLiteral("socktap")); // ~/.config/socktap/socktap.conf
    if (!restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray()))
        resize(1280, 800);
    restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
    if (!m_splitter->restoreState(settings.value(QStringLiteral("window/splitter")).toByteArray()))
        m_splitter->setSizes({width() / 2, width() / 2}); // the session list's columns and its URLs need it
    m_sessionView->horizontalHeader()->restoreState(
        settings.value(QStringLiteral("sessions/header2")).toByteArray());
    m_messages->view()->horizontalHeader()->restoreState(
        settings.value(QStringLiteral("messages/header2")).toByteArray());
    m_showHttp->setChecked(settings.value(QStringLiteral("sessions/showHttp"), false).toBool());
}

void MainWindow::saveLayout()
{
    QSettings settings(QStringLiteral("socktap"),
                       QStringLiteral("socktap")); // ~/.config/socktap/socktap.conf
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
    settings.setValue(QStringLiteral("window/splitter"), m_splitter->saveState());
    settings.setValue(QStringLiteral("sessions/header2"), m_sessionView->horizontalHeader()->saveState());
    settings.setValue(QStringLiteral("messages/header2"),
                      m_messages->view()->horizontalHeader()->saveState());
    settings.setValue(QStringLiteral("sessions/showHttp"), m_showHttp->isChecked());
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    if (m_job) {
        // A save or export is let finish (half a file is worth nothing); a read stops where it is.
        event->ignore();
        m_openQueue.clear();
        if (m_job->kind() == FileJob::Kind::Open)
            m_job->cancel();
        m_closeWhenIdle = true;
        statusBar()->showMessage(tr("Closing once %1 has ended…").arg(m_job->title()));
        return;
    }
    // Asked before the proxy stops, so that Cancel leaves everything as it was.
    if (m_exitSave == ExitSave::Unasked && !askSaveBeforeQuit()) {
        event->ignore();
        return;
    }
    saveLayout();
    if (m_server) {
        // Close open sessions with 1001 Going Away first, then close the window.
        event->ignore();
        if (!m_stopping) {
            connect(m_server.get(), &proxy::ProxyServer::stopped, this, &QWidget::close,
                    Qt::QueuedConnection);
            stopProxy();
        }
        return;
    }
    if (m_exitSave == ExitSave::Save) {
        // The proxy has stopped, so the sessions' final states are in what is saved; closes when done.
        event->ignore();
        m_closeWhenIdle = saveCaptureTo(m_exitSavePath);
        if (!m_closeWhenIdle)
            m_exitSave = ExitSave::Unasked;
        return;
    }
    event->accept();
}

} // namespace socktap::ui
