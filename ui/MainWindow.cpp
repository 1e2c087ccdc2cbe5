#include "MainWindow.h"

#include "AttachFeature.h"
#include "BrowserFeature.h"
#include "CaptureFeed.h"
#include "CaptureStatus.h"
#include "ComposePanel.h"
#include "FailedConnectionsNotice.h"
#include "FileMenu.h"
#include "FilesFeature.h"
#include "FormatsFeature.h"
#include "HeldMessageModel.h"
#include "InterceptFeature.h"
#include "InterceptPane.h"
#include "MessagesPanel.h"
#include "MockFeature.h"
#include "PayloadView.h"
#include "ProxyFeature.h"
#include "ReplayFeature.h"
#include "ScriptsFeature.h"
#include "SessionInspector.h"
#include "SessionListPane.h"
#include "SessionMeaningSearch.h"
#include "SessionTableModel.h"

#include "core/capture/Clock.h"
#include "core/capture/TextFormat.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QCloseEvent>
#include <QDialog>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>

namespace socktap::ui {

MainWindow::MainWindow(capture::CaptureStore &store, ServerFactory makeServer,
                       certs::CertificateAuthority *ca, std::shared_ptr<intercept::InterceptHub> hub,
                       QWidget *parent)
    : QMainWindow(parent)
    , m_store(store)
    , m_feed(new CaptureFeed(store, this))
    , m_sessions(new SessionTableModel(store, this))
    , m_proxy(new ProxyFeature(*this, store, std::move(makeServer), ca))
    , m_files(new FilesFeature(*this, store, m_feed))
    , m_intercept(new InterceptFeature(
          *this, *m_proxy, std::move(hub),
          [this](capture::SessionId id, const intercept::SessionCommand &command, QObject *context,
                 CommandDone done) { m_proxy->sendCommand(id, command, context, std::move(done)); }))
    , m_replay(new ReplayFeature(*this, store, *m_proxy, ca))
    , m_mocks(new MockFeature(*this, store, m_intercept->hub()))
    , m_browsers(new BrowserFeature(*this, *m_proxy, ca))
    , m_formats(new FormatsFeature(*this, store))
    , m_scripts(new ScriptsFeature(*this, m_intercept->hub()))
    , m_attach(new AttachFeature(*this, store, m_intercept->hub(), ca))
{
    m_proxy->setRemotes(m_attach);
    connect(m_intercept, &InterceptFeature::rulesChanged, m_attach, &AttachFeature::pushRules);
    connect(m_scripts, &ScriptsFeature::scriptsReplaced, m_attach, &AttachFeature::pushScripts);
    // Which engine a session came from matters once there is more than one.
    connect(m_attach, &AttachFeature::enginesChanged, this, [this] {
        if (!m_attach->engines().empty())
            m_list->view()->setColumnHidden(SessionTableModel::Engine, false);
    });
    setWindowTitle(tr("Socktap"));
    m_list = new SessionListPane(store, m_sessions, this);
    m_list->setEmptyPage(m_browsers->buildEmptyPage(m_list));
    connect(m_list->view(), &QWidget::customContextMenuRequested, this, &MainWindow::showSessionMenu);
    for (auto signal : {&QAbstractItemModel::rowsInserted, &QAbstractItemModel::rowsRemoved})
        connect(m_sessions, signal, this, &MainWindow::updateEmptyState);
    connect(m_sessions, &QAbstractItemModel::modelReset, this, &MainWindow::updateEmptyState);
    m_splitter = new QSplitter(Qt::Horizontal, this);
    m_splitter->setObjectName(QStringLiteral("mainSplitter"));
    m_splitter->addWidget(m_list);
    buildInspectors();
    m_splitter->addWidget(m_inspector);
    m_splitter->setStretchFactor(0, 2);
    m_splitter->setStretchFactor(1, 3);
    setCentralWidget(m_splitter);
    buildMenus();
    buildStatusBar();

    connect(m_list->view()->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &MainWindow::onCurrentSessionChanged);
    connect(m_list->view()->selectionModel(), &QItemSelectionModel::selectionChanged, m_files,
            &FilesFeature::updateActions);
    connect(m_feed, &CaptureFeed::sessionsChanged, this, &MainWindow::onSessionsChanged);
    connect(m_feed, &CaptureFeed::messagesAppended, this, &MainWindow::onMessagesAppended);
    connect(m_feed, &CaptureFeed::resynchronise, this, [this] {
        m_sessions->reload();
        showSession(true);
    });
    connect(m_proxy, &ProxyFeature::listeningChanged, this, [this] {
        updateEmptyState();
        updateSessionActions();
    });
    connect(m_proxy, &ProxyFeature::budgetChanged, this, &MainWindow::updateCounters);
    connect(m_files, &FilesFeature::opened, this, &MainWindow::updateCounters);
    auto *counters = new QTimer(this);
    connect(counters, &QTimer::timeout, this, &MainWindow::updateCounters);
    connect(counters, &QTimer::timeout, this, &MainWindow::updateSessionActions);
    counters->start(1000);
    setAcceptDrops(true); // capture files dropped on the window are opened
    restoreLayout();
    updateEmptyState();
    updateCounters();
    updateSessionActions();
    m_files->updateActions();
}

MainWindow::~MainWindow()
{
    // Nothing reaches the features while they go (a selection change during teardown would reach the
    // deleted file feature).
    m_list->view()->selectionModel()->disconnect(this);
    // Before the members a file job's thread may report to go: cancels it and waits for the thread.
    delete m_files;
    m_files = nullptr;
}

InterceptPane *MainWindow::interceptPane() const
{
    return m_intercept->pane();
}

QTableView *MainWindow::sessionView() const
{
    return m_list->view();
}

QLineEdit *MainWindow::sessionFilterBox() const
{
    return m_list->filterBox();
}

ColumnChooser *MainWindow::sessionColumns() const
{
    return m_list->columns();
}

FailedConnectionsNotice *MainWindow::failedConnectionsNotice() const
{
    return m_list->failedNotice();
}

void MainWindow::buildInspectors()
{
    m_inspector = new SessionInspector(
        m_store,
        [this](capture::SessionId id, const intercept::SessionCommand &command, QObject *context,
               CommandDone done) { m_proxy->sendCommand(id, command, context, std::move(done)); },
        this);
    connect(messagesPanel(), &MessagesPanel::resendRequested, this,
            [this](capture::Direction to, quint8 opcode, const QByteArray &payload) {
                m_intercept->resend(m_current, to, opcode, payload);
            });
    connect(messagesPanel(), &MessagesPanel::editAndResendRequested, m_inspector,
            &SessionInspector::editAndResend);
    messagesPanel()->model()->setFormatChoice(
        [this](capture::SessionId id) { return m_formats->choiceFor(id); });
    m_list->setFormatChoice([this](capture::SessionId id) { return m_formats->choiceFor(id); });
    // A session's format chosen (or every session's decoding changed: a new protobuf schema): the session
    // filter, the shown session's messages and Compose decode again.
    const auto decodeAgain = [this](std::optional<capture::SessionId> only) {
        if (only)
            m_list->meaningSearch()->forget(*only);
        else
            m_list->meaningSearch()->forgetAll();
        if (m_current && (!only || *only == m_current)) {
            showSession(true);
            composePanel()->refreshFormat();
        }
    };
    connect(m_formats, &FormatsFeature::chosen, this, decodeAgain);
    connect(m_formats, &FormatsFeature::formatsReplaced, this, [decodeAgain] { decodeAgain(std::nullopt); });
    connect(m_scripts, &ScriptsFeature::formatsReplaced, this, [decodeAgain] { decodeAgain(std::nullopt); });
}

void MainWindow::buildMenus()
{
    QMenu *file = m_files->buildMenu(menuBar());
    const QList<QAction *> fileActions = file->actions();
    m_attach->addFileActions(file, fileActions.size() >= 2 ? fileActions[fileActions.size() - 2] : nullptr);

    QMenu *edit = menuBar()->addMenu(tr("&Edit"));
    QAction *copy = edit->addAction(tr("&Copy"), this, &MainWindow::copySelection);
    copy->setShortcut(QKeySequence::Copy);
    copy->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    m_list->view()->addAction(copy);
    messagesPanel()->view()->addAction(copy);
    QAction *find = edit->addAction(tr("&Find in messages"), this, [this] {
        tabs()->setCurrentIndex(MessagesTab);
        messagesPanel()->focusSearch();
    });
    find->setShortcut(QKeySequence::Find);
    QAction *filter = edit->addAction(tr("Filter &sessions"), this, [this] { m_list->focusFilter(); });
    filter->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_F));
    edit->addSeparator();
    QAction *clear = edit->addAction(tr("C&lear capture"), this, &MainWindow::clearCapture);
    clear->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));

    QMenu *captureMenu = menuBar()->addMenu(tr("&Capture"));
    captureMenu->addAction(m_proxy->startStopAction());
    m_follow = captureMenu->addAction(tr("&Follow new messages"));
    m_follow->setCheckable(true);
    m_follow->setChecked(true);
    m_follow->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Space));
    m_follow->setToolTip(tr("Scroll to new messages as they arrive (only while the list is at its end)"));
    connect(m_follow, &QAction::toggled, messagesPanel(), &MessagesPanel::setFollowing);

    QMenu *view = menuBar()->addMenu(tr("&View"));
    QAction *showIntercept = m_intercept->pane()->toggleViewAction();
    showIntercept->setText(tr("&Intercept pane"));
    showIntercept->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_I));
    view->addAction(showIntercept);

    QMenu *session = menuBar()->addMenu(tr("&Session"));
    m_intercept->addSessionActions(session);
    session->addSeparator();
    m_formats->addSessionMenu(session);
    session->addAction(m_replay->replayAction());
    session->addAction(m_mocks->serveAction());
    session->addAction(m_intercept->closeSessionAction());
    for (QAction *stall : m_intercept->stallActions())
        session->addAction(stall);

    m_toolsMenu = menuBar()->addMenu(tr("&Tools"));
    m_browsers->addActions(m_toolsMenu);
    m_toolsMenu->addSeparator();
    m_intercept->addToolsActions(m_toolsMenu);
    m_scripts->addToolsActions(m_toolsMenu);
    m_proxy->addToolsActions(m_toolsMenu);

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About Socktap"), this, [this] {
        QMessageBox::about(this, tr("About Socktap"),
                           tr("<b>Socktap %1</b><p>An intercepting WebSocket debugging proxy: every frame "
                              "relayed byte for byte, "
                              "every message decoded.</p><p>Point a client at %2 as its HTTP proxy.</p>")
                               .arg(QCoreApplication::applicationVersion(), m_proxy->listeningText()));
    });
}

void MainWindow::buildStatusBar()
{
    m_proxy->addStatusWidgets(statusBar());
    m_files->addStatusWidgets(statusBar());
    m_replay->addStatusWidgets(statusBar());
    m_attach->addStatusWidgets(statusBar());
    m_counters = new QLabel(this);
    statusBar()->addPermanentWidget(m_counters);
}

void MainWindow::updateSessionActions()
{
    const bool live = m_proxy->isLive(m_current);
    m_intercept->update(m_current, live);
    m_replay->update(m_current);
    m_mocks->update(m_current);
    m_formats->update(m_current);
    m_inspector->setLive(m_current, live);
}

void MainWindow::updateEmptyState()
{
    if (m_list->updateEmptyState())
        m_browsers->updateEmptyPage();
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
    m_files->status()->updateStorage();
}

void MainWindow::onSessionsChanged(const QList<capture::SessionId> &ids)
{
    m_sessions->update(ids);
    m_list->failedNotice()->update(ids);
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
    m_inspector->appendNew();
}

bool MainWindow::selectSession(capture::SessionId id)
{
    return m_list->selectSession(id);
}

void MainWindow::onCurrentSessionChanged()
{
    m_current = m_list->currentSession();
    showSession(true);
    updateSessionActions();
    m_files->updateActions();
}

void MainWindow::showSession(bool messagesToo)
{
    const capture::SessionInfo *s = m_sessions->session(m_sessions->rowOf(m_current));
    QList<capture::SessionId> replays; // shown in both: the original lists its replays
    if (s && s->kind == capture::SessionKind::WebSocket)
        for (int r = 0; r < m_sessions->rowCount(); ++r)
            if (const capture::SessionInfo *other = m_sessions->session(r);
                other && other->replayOf() == s->id)
                replays.append(other->id);
    m_inspector->showSession(s, replays, messagesToo);
}

std::vector<capture::SessionId> MainWindow::selectedSessions() const
{
    return m_list->selectedSessions(m_current);
}

QMenu *MainWindow::sessionContextMenu()
{
    auto *menu = new QMenu(this);
    menu->addAction(m_replay->replayAction());
    menu->addAction(m_mocks->serveAction());
    m_replay->addCopyActions(menu, m_current);
    menu->addAction(tr("Export selected as &HAR…"), this,
                    [this] { m_files->menu()->exportHarWithDialog(true); })
        ->setEnabled(m_current && m_store.session(m_current).has_value());
    menu->addAction(m_intercept->closeSessionAction());
    for (QAction *stall : m_intercept->stallActions())
        menu->addAction(stall);
    return menu;
}

void MainWindow::showSessionMenu(const QPoint &at)
{
    QMenu *menu = sessionContextMenu();
    menu->setAttribute(Qt::WA_DeleteOnClose);
    menu->popup(m_list->view()->viewport()->mapToGlobal(at));
}

void MainWindow::clearCapture()
{
    if (m_files->isBusy()) {
        // An open would go on adding to the emptied capture, a save or export would miss what it reads.
        statusBar()->showMessage(tr("Cancel or wait for %1 before clearing").arg(m_files->busyWith()), 5000);
        return;
    }
    m_store.clear();
    m_files->status()->showWarnings({}, {});
    m_current = 0;
    m_sessions->clear();
    m_list->failedNotice()->clear();
    showSession(true);
    updateSessionActions();
    updateCounters();
}

void MainWindow::copySelection()
{
    if (messagesPanel()->view()->hasFocus() || messagesPanel()->isAncestorOf(QApplication::focusWidget())) {
        messagesPanel()->payload()->copyText();
        return;
    }
    if (const capture::SessionInfo *s = m_sessions->session(m_sessions->rowOf(m_current)))
        QApplication::clipboard()->setText(QString::fromLatin1(s->url()));
}

void MainWindow::restoreLayout()
{
    QSettings settings(QStringLiteral("socktap"),
                       QStringLiteral("socktap")); // ~/.config/socktap/socktap.conf
    if (!restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray()))
        resize(1280, 800);
    restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
    // The Intercept pane shows itself when something is held; restored open and empty it would only say
    // what happened in the last run.
    if (interceptPane()->model()->rowCount() == 0)
        interceptPane()->hide();
    if (!m_splitter->restoreState(settings.value(QStringLiteral("window/splitter")).toByteArray()))
        m_splitter->setSizes({width() / 2, width() / 2}); // the session list's columns and its URLs need it
    m_list->view()->horizontalHeader()->restoreState(
        settings.value(QStringLiteral("sessions/header2")).toByteArray());
    messagesPanel()->view()->horizontalHeader()->restoreState(
        settings.value(QStringLiteral("messages/header2")).toByteArray());
    m_list->setShowHttp(settings.value(QStringLiteral("sessions/showHttp"), false).toBool());
}

void MainWindow::saveLayout()
{
    QSettings settings(QStringLiteral("socktap"),
                       QStringLiteral("socktap")); // ~/.config/socktap/socktap.conf
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
    settings.setValue(QStringLiteral("window/splitter"), m_splitter->saveState());
    settings.setValue(QStringLiteral("sessions/header2"), m_list->view()->horizontalHeader()->saveState());
    settings.setValue(QStringLiteral("messages/header2"),
                      messagesPanel()->view()->horizontalHeader()->saveState());
    settings.setValue(QStringLiteral("sessions/showHttp"), m_list->showsHttp());
}

void MainWindow::dragEnterEvent(QDragEnterEvent *event)
{
    if (!m_files->droppedCaptures(event->mimeData()).isEmpty())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent *event)
{
    const QStringList files = m_files->droppedCaptures(event->mimeData());
    if (files.isEmpty())
        return;
    event->acceptProposedAction();
    m_files->openDropped(files);
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    event->ignore();
    if (m_files->deferClose() || !m_files->readyToQuit())
        return;
    saveLayout();
    if (m_proxy->hasServer()) {
        // Close open sessions with 1001 Going Away first, then close the window. A close while a stop
        // runs (a second Quit, a signal after Quit) waits for that one: one close follows, not several.
        if (!m_proxy->isStopping())
            m_proxy->stopThen(this, [this] { close(); });
        return;
    }
    if (m_files->saveBeforeClose())
        return;
    event->accept();
}

void MainWindow::quitOnSignal(int signal)
{
    if (m_quitSignal)
        return;
    m_quitSignal = signal;
    m_files->quitWithoutAsking();
    // Whatever question is open (the save prompt, a file dialog) is answered "cancel"; the close follows
    // once the event loop is back at its top.
    for (QWidget *w : QApplication::topLevelWidgets())
        if (auto *dialog = qobject_cast<QDialog *>(w); dialog && dialog->isVisible())
            dialog->reject();
    QTimer::singleShot(0, this, &QWidget::close);
    // A save that does not finish or a proxy that does not stop must not keep the program alive.
    QTimer::singleShot(QuitDeadlineMs, qApp, [] { QCoreApplication::exit(0); });
}

} // namespace socktap::ui
