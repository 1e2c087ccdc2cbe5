// The window end to end, offscreen: the engine relays a QWebSocket client's session through the proxy;
// the test selects it and checks what the Handshake, Messages (text, JSON tree, hex, frames) and Close
// inspectors show. Then acting on live traffic through the window's own actions and panels: pausing and
// forwarding, editing and dropping held messages, composing, resending, closing, and the rules dialog.
// Last, capture files through the File menu's methods: open (native, HAR, dropped), save, export, cancel.
#include "core/capture/BatchJournal.h"
#include "core/capture/CaptureWriter.h"
#include "core/capture/Clock.h"
#include "core/capture/Recovery.h"
#include "support/Peers.h"
#include "support/StandIn.h"
#include "ui/CaptureFeed.h"

#include "ui/BrowserFeature.h"
#include "ui/CaptureStatus.h"
#include "ui/CloseSessionDialog.h"
#include "ui/CloseView.h"
#include "ui/ColumnChooser.h"
#include "ui/CompareView.h"
#include "ui/ComposePanel.h"
#include "ui/FailedConnectionsNotice.h"
#include "ui/FileMenu.h"
#include "ui/FilesFeature.h"
#include "ui/FormatsFeature.h"
#include "ui/HandshakeView.h"
#include "ui/HeldMessageModel.h"
#include "ui/InterceptFeature.h"
#include "ui/InterceptPane.h"
#include "ui/MainWindow.h"
#include "ui/MessageEditor.h"
#include "ui/MessagesPanel.h"
#include "ui/MockFeature.h"
#include "ui/PayloadView.h"
#include "ui/ProtoSchemaDialog.h"
#include "ui/ProxyFeature.h"
#include "ui/RecoveryOffer.h"
#include "ui/ReplayDialog.h"
#include "ui/ReplayFeature.h"
#include "ui/RuleForm.h"
#include "ui/RulesDialog.h"
#include "ui/ScriptsFeature.h"
#include "ui/SessionTableModel.h"
#include "ui/SettingsDialog.h"
#include "ui/TimelineView.h"
#include <sys/wait.h>
#include <unistd.h>

#include "certs/CertificateAuthority.h"
#include "core/browser/BrowserLauncher.h"
#include "core/capture/CaptureWriter.h"
#include "core/capture/NativeFile.h"
#include "core/decode/FormatRegistry.h"
#include "core/http/RequestTarget.h"
#include "core/intercept/InterceptHub.h"
#include "core/proxy/TlsSession.h"
#include "support/PythonPeer.h"
#include "support/TlsPeers.h"

#include <QAbstractItemModelTester>
#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QRegularExpression>
#include <QScopeGuard>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTextBrowser>
#include <QToolButton>
#include <QTreeWidget>

using namespace socktap;
using namespace socktap::test;

namespace {

QString tableText(const QTableWidget *t)
{
    QStringList rows;
    for (int r = 0; r < t->rowCount(); ++r)
        rows << QStringLiteral("%1: %2").arg(t->item(r, 0) ? t->item(r, 0)->text() : QString(),
                                             t->item(r, 1) ? t->item(r, 1)->text() : QString());
    return rows.join('\n');
}

constexpr auto FromClient = capture::Direction::ClientToServer;
constexpr auto FromServer = capture::Direction::ServerToClient;

// A window whose engine shares `hub`, listening on an ephemeral port, with one live session from a
// QWebSocket client to an echo server selected.
// While it lives, QSettings reads and writes a temporary directory, not the user's ~/.config.
struct TemporarySettings
{
    QTemporaryDir dir;
    TemporarySettings() { QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, dir.path()); }
    ~TemporarySettings()
    {
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope,
                           QStandardPaths::writableLocation(QStandardPaths::GenericConfigLocation));
    }
};

struct LiveWindow
{
    capture::CaptureStore store;
    std::shared_ptr<intercept::InterceptHub> hub = std::make_shared<intercept::InterceptHub>();
    proxy::ProxyConfig config;
    std::unique_ptr<ui::MainWindow> window;
    std::unique_ptr<QAbstractItemModelTester> heldTester;
    EchoServer echo;
    std::unique_ptr<QWebSocket> client;
    capture::SessionId session = 0;

    std::unique_ptr<certs::CertificateAuthority> ca;

    // withCa: the window has a root CA (as the application's always does), for what needs one.
    explicit LiveWindow(bool withCa = false)
    {
        config.listenPort = 0;
        config.workers = 2;
        config.intercept = hub;
        if (withCa)
            ca = certs::CertificateAuthority::create();
        window = std::make_unique<ui::MainWindow>(
            store, [this] { return std::make_unique<proxy::ProxyServer>(config, store); }, ca.get(), hub);
        heldTester = std::make_unique<QAbstractItemModelTester>(
            window->interceptPane()->model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        window->show();
    }
    ~LiveWindow()
    {
        client.reset();
        if (!window)
            return;
        window->proxy()->stopProxy();
        if (!QTest::qWaitFor([&] { return window->proxy()->proxyPort() == 0; }, WaitMs))
            qWarning("proxy did not stop");
    }
    // Starts the proxy and opens the client; true once the window shows the session as live.
    bool open()
    {
        if (!window->proxy()->startProxy())
            return false;
        client = openClient(echo.url(QStringLiteral("/live")),
                            QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"),
                                          window->proxy()->proxyPort()));
        if (!client)
            return false;
        // The window selects nothing by itself: the test picks the session, as a user would.
        return QTest::qWaitFor(
            [&] {
                window->feed()->refresh();
                if (!session && window->sessions()->rowCount() > 0) {
                    session = window->sessions()->sessionId(0);
                    window->selectSession(session);
                }
                return session && window->proxy()->isLive(session)
                    && window->intercept()->pauseAction(FromClient)->isEnabled();
            },
            WaitMs);
    }
    // Commands run in order on the session's worker: once this one answers, every earlier one has acted.
    bool sync()
    {
        bool answered = false;
        intercept::SessionCommand noop;
        noop.kind = intercept::SessionCommand::Kind::SetPause;
        noop.from = FromServer;
        noop.on = false;
        window->proxy()->sendCommand(session, noop, window.get(), [&](const auto &) { answered = true; });
        return QTest::qWaitFor([&] { return answered; }, WaitMs);
    }
    ui::InterceptPane *pane() const { return window->interceptPane(); }
    int held() const { return pane()->model()->rowCount(); }
    // The captured messages of the session whose flags include `flag`.
    std::vector<capture::MessageView> flagged(quint16 flag)
    {
        std::vector<capture::MessageView> out;
        for (quint64 i = 0; i < store.messageCount(session); ++i) {
            if (auto m = store.message(session, i); m && m->record.has(flag))
                out.push_back(*m);
        }
        return out;
    }
};

QStringList echo(const LiveWindow &w)
{
    return w.echo.texts;
}

template<typename T>
T *waitChild(QObject *parent)
{
    T *found = nullptr;
    (void)QTest::qWaitFor([&] { return (found = parent->findChild<T *>()) != nullptr; }, WaitMs);
    return found;
}

// A closed WebSocket session to ws://sample.test:80/PATH, as the relay records one.
capture::SessionInfo sampleSession(capture::SessionId id, const QByteArray &path)
{
    const qint64 start = qint64(1700000000) * 1000000 + qint64(id) * 1000000;
    capture::SessionInfo s;
    s.id = id;
    s.kind = capture::SessionKind::WebSocket;
    s.state = capture::SessionState::Closed;
    s.scheme = "ws";
    s.host = "sample.test";
    s.port = 80;
    s.path = path;
    s.acceptedAt = start;
    s.requestAt = start + 100;
    s.upgradedAt = start + 1000;
    s.closedAt = start + 900000;
    return s;
}

// count text messages "message N" (padded with padding bytes), client and server taking turns.
void writeSampleMessages(capture::CaptureWriter &w, capture::SessionId id, int count, int padding = 0)
{
    for (int i = 0; i < count; ++i) {
        const QByteArray payload = "message " + QByteArray::number(i) + QByteArray(padding, 'x');
        capture::MessageFacts f;
        f.opcode = quint8(ws::Opcode::Text);
        f.payload = payload;
        f.payloadSize = quint64(payload.size());
        f.wireSize = quint64(payload.size()) + 6;
        f.frameCount = 1;
        f.firstFrameTime = f.lastFrameTime = qint64(1700000000) * 1000000 + i * 1000;
        w.message(id, i % 2 ? FromServer : FromClient, f);
        if (w.wantsFlush())
            w.flush();
    }
    w.flush();
}

// Records sessions /chat/1.. of messages each, as --record FILE does, into a native file at path. With
// saveAs, the capture is also saved under that name with saveNative, as File > Save does.
bool writeCapture(const QString &path, int sessions, int messages, int padding = 0,
                  const QString &saveAs = {})
{
    capture::CaptureStore store;
    QString error;
    auto journal = capture::CaptureFile::create(path, false, &error);
    if (!journal) {
        qWarning("%s", qPrintable(error));
        return false;
    }
    store.attachJournal(journal);
    capture::CaptureWriter w(store);
    for (int n = 1; n <= sessions; ++n) {
        const capture::SessionId id = store.newSessionId();
        w.session(sampleSession(id, "/chat/" + QByteArray::number(n)));
        w.flush(); // a session's record before its messages
        writeSampleMessages(w, id, messages, padding);
    }
    journal->flush();
    if (!saveAs.isEmpty() && !capture::saveNative(store, {}, saveAs, &error)) {
        qWarning("%s", qPrintable(error));
        return false;
    }
    return true;
}

QByteArray readFile(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

QString harFile(const char *name)
{
    return QStringLiteral(SOCKTAP_SOURCE_DIR "/tests/data/har/") + QLatin1String(name);
}

// A window over a capture kept in memory (no --record file); no proxy.
struct FileWindow
{
    QTemporaryDir dir;
    capture::CaptureStore store;
    proxy::ProxyConfig config;
    std::unique_ptr<ui::MainWindow> window;

    FileWindow()
    {
        window = std::make_unique<ui::MainWindow>(
            store, [this] { return std::make_unique<proxy::ProxyServer>(config, store); }, nullptr, nullptr);
        window->show();
    }
    QString path(const char *name) const { return dir.filePath(QLatin1String(name)); }
    bool idle() const
    {
        return QTest::qWaitFor([&] { return !window->files()->isBusy(); }, WaitMs);
    }
    // The row of the session table showing url, or -1.
    int rowOf(const QByteArray &url) const
    {
        for (int row = 0; row < window->sessions()->rowCount(); ++row)
            if (window->sessions()->session(row)->url() == url)
                return row;
        return -1;
    }
    // The session list's row (after filtering and sorting) showing url.
    QModelIndex viewIndexOf(const QByteArray &url) const
    {
        const QAbstractItemModel *model = window->sessionView()->model();
        const QVariant id = qulonglong(window->sessions()->sessionId(rowOf(url)));
        for (int row = 0; row < model->rowCount(); ++row)
            if (model->index(row, 0).data(ui::SessionTableModel::SessionIdRole) == id)
                return model->index(row, 0);
        return {};
    }
    QString status() const { return window->statusBar()->currentMessage(); }
};

} // namespace

class TestGui final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QNetworkProxyFactory::setUseSystemConfiguration(false);
        // Settings (window layout, saved rules) go to a throw-away test location, never the user's.
        QStandardPaths::setTestModeEnabled(true);
        QSettings(QStringLiteral("socktap"), QStringLiteral("socktap")).clear();
    }

    void inspectorsShowTheSession()
    {
        capture::CaptureStore store;
        proxy::ProxyConfig config;
        config.listenPort = 0;
        config.workers = 2;
        ui::MainWindow window(
            store, [&] { return std::make_unique<proxy::ProxyServer>(config, store); }, nullptr, nullptr);
        window.show();
        QVERIFY(window.proxy()->startProxy());
        QVERIFY(window.proxy()->isListening());

        EchoServer echo;
        auto client = openClient(echo.url(QStringLiteral("/gui?room=7")),
                                 QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"),
                                               window.proxy()->proxyPort()));
        QVERIFY(client);
        client->setOutgoingFrameSize(16); // the long text goes in several frames
        client->sendTextMessage(QStringLiteral("plain text hello, world"));
        client->sendTextMessage(QStringLiteral(R"({"user":{"name":"ada","roles":["admin","dev"]},"n":3})"));
        client->sendBinaryMessage(QByteArray("\x00\x01\x02hello\xff", 9));
        QVERIFY(QTest::qWaitFor([&] { return echo.texts.size() == 2 && echo.binaries.size() == 1; }, WaitMs));
        client->close(QWebSocketProtocol::CloseCodeNormal, QStringLiteral("bye now"));

        // The session appears, unselected until the user picks it, and reaches its end.
        QVERIFY(QTest::qWaitFor(
            [&] {
                window.feed()->refresh();
                return window.sessions()->rowCount() == 1;
            },
            WaitMs));
        QCOMPARE(window.currentSession(), capture::SessionId(0));
        window.sessionView()->setCurrentIndex(window.sessionView()->model()->index(0, 0));
        QVERIFY(QTest::qWaitFor(
            [&] {
                window.feed()->refresh();
                const auto *s = window.sessions()->session(0);
                // Three messages, their echoes and the client's Close. (Whether Qt's server still answers
                // with a Close is a race with the FIN Qt's client sends right after its own.)
                return s && s->state == capture::SessionState::Closed
                    && window.messagesPanel()->model()->rowCount() >= 7;
            },
            WaitMs));
        QCOMPARE(window.sessionView()->model()->rowCount(), 1);
        QVERIFY(window.currentSession() != 0);

        // Handshake: the heads as tables and raw text.
        const QString request = tableText(window.handshakeView()->requestTable());
        QVERIFY2(request.contains("Upgrade: websocket"), qPrintable(request));
        QVERIFY(request.contains("Sec-WebSocket-Version: 13"));
        QVERIFY(tableText(window.handshakeView()->responseTable()).contains("Sec-WebSocket-Accept"));
        QVERIFY(window.handshakeView()->raw()->toPlainText().startsWith("GET /gui?room=7 HTTP/1.1"));
        QVERIFY(window.handshakeView()->summary()->toPlainText().contains(QStringLiteral("/gui?room=7")));

        // Messages: text, then JSON as a tree, then hex.
        window.tabs()->setCurrentIndex(ui::MainWindow::MessagesTab);
        ui::MessagesPanel *messages = window.messagesPanel();
        QVERIFY(messages->selectMessage(0));
        QCOMPARE(messages->payload()->text(), QStringLiteral("plain text hello, world"));
        QCOMPARE(messages->payload()->framesTable()->rowCount(), 2); // 16 bytes per frame
        QVERIFY(messages->selectMessage(1));
        QCOMPARE(messages->payload()->tabs()->currentIndex(),
                 int(ui::PayloadView::JsonTab)); // chosen automatically
        const QTreeWidgetItem *root = messages->payload()->jsonTree()->topLevelItem(0);
        QVERIFY(root);
        QCOMPARE(root->childCount(), 2);
        // Keys in the order the message had them ({"user":...,"n":3}), not sorted.
        QCOMPARE(root->child(0)->text(0), QStringLiteral("user"));
        QCOMPARE(root->child(1)->text(0), QStringLiteral("n"));
        QTreeWidgetItem *user = root->child(0);
        QCOMPARE(user->childCount(), 2);
        QCOMPARE(user->child(0)->text(0), QStringLiteral("name"));
        // The Text tab shows it as sent, or indented on request.
        QCOMPARE(messages->payload()->text(),
                 QStringLiteral(R"({"user":{"name":"ada","roles":["admin","dev"]},"n":3})"));
        QVERIFY(messages->payload()->prettyJsonBox()->isEnabled());
        messages->payload()->prettyJsonBox()->setChecked(true);
        QCOMPARE(messages->payload()->text(),
                 QStringLiteral(
                     "{\n  \"user\": {\n    \"name\": \"ada\",\n    \"roles\": [\n      \"admin\",\n      "
                     "\"dev\"\n    ]\n  },\n  \"n\": 3\n}"));
        messages->payload()->prettyJsonBox()->setChecked(false);
        QVERIFY(messages->selectMessage(2));
        QVERIFY2(messages->payload()->hexText().startsWith("00000000  00 01 02 68 65 6c 6c 6f  ff"),
                 qPrintable(messages->payload()->hexText()));
        QVERIFY(messages->payload()->hexText().contains("|...hello.|"));

        // Search filters and highlights; the direction filter keeps one side.
        messages->searchBox()->setText(QStringLiteral("ada"));
        QVERIFY(QTest::qWaitFor([&] { return messages->model()->rowCount() == 2; },
                                WaitMs)); // client's and the echo
        messages->searchBox()->clear();
        QVERIFY(QTest::qWaitFor([&] { return messages->model()->rowCount() >= 7; }, WaitMs));
        // 3 messages and a Close each way, less the server's Close when Qt's race drops it.
        const int all = messages->model()->rowCount();
        QVERIFY(all == 7 || all == 8);
        const bool serverClosed = all == 8;
        messages->model()->setDirectionFilter(ui::MessageTableModel::DirectionFilter::FromClient);
        QCOMPARE(messages->model()->rowCount(), 4);
        for (int row = 0; row < 4; ++row)
            QCOMPARE(messages->model()->index(row, ui::MessageTableModel::Direction).data().toString(),
                     QStringLiteral("→"));
        messages->model()->setDirectionFilter(ui::MessageTableModel::DirectionFilter::FromServer);
        QCOMPARE(messages->model()->rowCount(), all - 4);
        for (int row = 0; row < all - 4; ++row)
            QCOMPARE(messages->model()->index(row, ui::MessageTableModel::Direction).data().toString(),
                     QStringLiteral("←"));
        messages->model()->setDirectionFilter(ui::MessageTableModel::DirectionFilter::Both);
        QCOMPARE(messages->model()->rowCount(), all);

        // Close: code, name, meaning, who closed first.
        window.tabs()->setCurrentIndex(ui::MainWindow::CloseTab);
        const QString close = window.closeView()->toPlainText();
        QVERIFY2(close.contains("1000 Normal Closure"), qPrintable(close));
        QVERIFY(close.contains("The purpose of the connection has been fulfilled."));
        QVERIFY(close.contains("bye now"));
        QVERIFY2(close.contains(QStringLiteral("Closed first by\nclient\n")), qPrintable(close));
        // Completed exactly when the server's Close crossed too.
        QVERIFY2(close.contains(serverClosed ? QStringLiteral("Closing handshake\ncompleted")
                                             : QStringLiteral("Closing handshake\nincomplete")),
                 qPrintable(close));

        // Timeline: both directions counted.
        window.tabs()->setCurrentIndex(ui::MainWindow::TimelineTab);
        const auto &series = window.timelineView()->series();
        double sent[2] = {0, 0};
        for (int d = 0; d < 2; ++d)
            for (double v : series.messages[d])
                sent[d] += v * series.bucketSeconds;
        QCOMPARE(std::lround(sent[0]), 4L);
        QCOMPARE(std::lround(sent[1]), long(all - 4));

        // Stop and start again from the window.
        window.proxy()->stopProxy();
        QVERIFY(QTest::qWaitFor([&] { return !window.proxy()->isListening(); }, WaitMs));
        QVERIFY(QTest::qWaitFor([&] { return window.proxy()->startProxy(); }, WaitMs));
        QVERIFY(window.proxy()->isListening());
        window.close();
        QVERIFY(QTest::qWaitFor([&] { return !window.isVisible(); }, WaitMs));
    }

    // Session > Pauses hold pings and pongs too: off, the client's ping passes a pause (the pane stays
    // empty); on, the next pause holds it and the pane shows it.
    void pausesHoldPingsOnlyWhenAsked()
    {
        LiveWindow w;
        QVERIFY(w.open());
        QAction *holdPings = w.window->intercept()->holdPingPongAction();
        QVERIFY(!holdPings->isChecked()); // the default: keepalives pass
        if (const QString shots = qEnvironmentVariable("SOCKTAP_SCREENSHOTS"); !shots.isEmpty()) {
            QMenu *session = holdPings->associatedObjects().isEmpty()
                ? nullptr
                : qobject_cast<QMenu *>(holdPings->associatedObjects().front());
            QVERIFY(session);
            session->popup(w.window->mapToGlobal(QPoint(120, 20)));
            QTest::qWait(100);
            session->grab().save(shots + QStringLiteral("/socktap-menu-session-bar.png"));
            session->hide();
        }
        w.window->intercept()->pauseAction(FromClient)->trigger();
        QVERIFY(w.sync());
        int pongs = 0;
        connect(w.client.get(), &QWebSocket::pong, this, [&] { ++pongs; });
        w.client->ping("through");
        QVERIFY(QTest::qWaitFor([&] { return pongs == 1; }, WaitMs)); // the server answered it
        QCOMPARE(w.held(), 0);
        w.window->intercept()->pauseAction(FromClient)->trigger(); // resume
        QVERIFY(w.sync());
        holdPings->setChecked(true);
        w.window->intercept()->pauseAction(FromClient)->trigger();
        QVERIFY(w.sync());
        w.client->ping("held");
        QVERIFY(QTest::qWaitFor([&] { return w.held() == 1; }, WaitMs));
        QCOMPARE(pongs, 1);
        holdPings->setChecked(false);
    }

    // (a) Session > Pause client → server holds what the client sends; the pane shows itself with the
    // message and how long it has waited; F8 forwards it to the server.
    void pauseAndForward()
    {
        LiveWindow w;
        QVERIFY(w.open());
        QAction *pause = w.window->intercept()->pauseAction(FromClient);
        QCOMPARE(pause->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_1));
        QVERIFY(w.pane()->isHidden());
        pause->trigger();
        QVERIFY(pause->isChecked());
        QVERIFY(w.sync());

        w.client->sendTextMessage(QStringLiteral("held hello"));
        QVERIFY(QTest::qWaitFor([&] { return w.held() == 1; }, WaitMs));
        QVERIFY(w.pane()->isVisible()); // shown by itself
        ui::HeldMessageModel *model = w.pane()->model();
        QCOMPARE(model->index(0, ui::HeldMessageModel::Preview).data().toString(),
                 QStringLiteral("held hello"));
        QCOMPARE(model->index(0, ui::HeldMessageModel::From).data().toString(), QStringLiteral("→"));
        QVERIFY(
            model->index(0, ui::HeldMessageModel::Url).data().toString().endsWith(QLatin1String("/live")));
        const QString heldFor = model->index(0, ui::HeldMessageModel::HeldFor).data().toString();
        QTest::qWait(400);
        QVERIFY(echo(w).isEmpty()); // still held
        QVERIFY2(model->index(0, ui::HeldMessageModel::HeldFor).data().toString() != heldFor,
                 qPrintable(heldFor)); // ticking

        QCOMPARE(w.pane()->forwardAction()->shortcut(), QKeySequence(Qt::Key_F8));
        w.window->activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(w.window.get()));
        QTest::keyClick(w.window.get(), Qt::Key_F8);
        QVERIFY(
            QTest::qWaitFor([&] { return echo(w) == QStringList {QStringLiteral("held hello")}; }, WaitMs));
        QVERIFY(QTest::qWaitFor([&] { return w.held() == 0; }, WaitMs));
        QVERIFY(QTest::qWaitFor([&] { return !w.flagged(capture::MessageFlag::Held).empty(); }, WaitMs));
        QVERIFY(pause->isChecked()); // forwarding one message keeps the pause
        // The pane says what it did in words, with no message number of its own (the Messages tab's are
        // the only ones), and forgets it when the next message is held.
        QVERIFY(QTest::qWaitFor([&] { return !w.pane()->statusLabel()->text().isEmpty(); }, WaitMs));
        QCOMPARE(
            w.pane()->statusLabel()->text(),
            QStringLiteral("Forwarded the text message from the client (10 B) in session %1").arg(w.session));
        w.client->sendTextMessage(QStringLiteral("held again"));
        QVERIFY(QTest::qWaitFor([&] { return w.held() == 1; }, WaitMs));
        QVERIFY(w.pane()->statusLabel()->text().isEmpty());
        w.pane()->forwardAction()->trigger();
        QVERIFY(QTest::qWaitFor([&] { return w.held() == 0; }, WaitMs));

        // Pauses are remembered per session: unchecked for none selected, checked again when it is.
        w.window->sessionView()->clearSelection();
        w.window->sessionView()->setCurrentIndex({});
        QVERIFY(!pause->isChecked() && !pause->isEnabled());
        QVERIFY(w.window->selectSession(w.session));
        QVERIFY(pause->isChecked());
    }

    // (b) Edit: the editor refuses invalid JSON; the edited message reaches the server; the capture keeps
    // the original and the message list flags it edited.
    void editHeldMessage()
    {
        LiveWindow w;
        QVERIFY(w.open());
        w.window->intercept()->pauseAction(FromClient)->trigger();
        QVERIFY(w.sync());
        w.client->sendTextMessage(QStringLiteral("original text"));
        QVERIFY(QTest::qWaitFor([&] { return w.held() == 1; }, WaitMs));

        QVERIFY(w.pane()->editAction()->isEnabled());
        w.pane()->editAction()->trigger();
        auto *editor = waitChild<ui::MessageEditor>(w.pane());
        QVERIFY(editor);
        auto *ok = editor->parentWidget()->findChild<QDialogButtonBox *>()->button(QDialogButtonBox::Ok);
        QCOMPARE(editor->payloadEdit()->toPlainText(), QStringLiteral("original text"));
        editor->formatBox()->setCurrentIndex(ui::MessageEditor::JsonFormat);
        QVERIFY2(editor->errorLabel()->text().contains(QLatin1String("Invalid JSON")),
                 qPrintable(editor->errorLabel()->text()));
        QVERIFY(!ok->isEnabled());
        ok->click(); // refused: nothing is sent
        QTest::qWait(200);
        QCOMPARE(w.held(), 1);
        editor->payloadEdit()->setPlainText(QStringLiteral(R"({"edited": true})"));
        QVERIFY(editor->errorLabel()->text().isEmpty());
        QVERIFY(ok->isEnabled());
        ok->click();
        QVERIFY(QTest::qWaitFor(
            [&] { return echo(w) == QStringList {QStringLiteral(R"({"edited": true})")}; }, WaitMs));
        QVERIFY(QTest::qWaitFor([&] { return w.held() == 0; }, WaitMs));

        // The message list: flagged edited, the payload as sent, the original one tab away.
        ui::MessagesPanel *messages = w.window->messagesPanel();
        QVERIFY(QTest::qWaitFor([&] { return messages->model()->rowCount() >= 2; }, WaitMs));
        const auto edited = w.flagged(capture::MessageFlag::Edited);
        QCOMPARE(edited.size(), size_t(1));
        QVERIFY(messages->selectMessage(edited[0].index));
        const int row = messages->model()->rowOfMessage(edited[0].index);
        const QString flags = messages->model()->index(row, ui::MessageTableModel::Flags).data().toString();
        QVERIFY2(flags.contains(QLatin1String("edited")) && flags.contains(QLatin1String("held")),
                 qPrintable(flags));
        QCOMPARE(QString::fromUtf8(messages->payload()->payload()), QStringLiteral(R"({"edited": true})"));
        QVERIFY(messages->payload()->tabs()->isTabEnabled(ui::PayloadView::OriginalTab));
        QCOMPARE(messages->payload()->originalText(), QStringLiteral("original text"));
        QVERIFY2(messages->payload()->noteText().contains(QLatin1String("edited")),
                 qPrintable(messages->payload()->noteText()));
    }

    // (c) Drop never delivers (recorded dropped, struck out); Forward all delivers the rest and ends the
    // pause.
    void dropAndForwardAll()
    {
        LiveWindow w;
        QVERIFY(w.open());
        w.window->intercept()->pauseAction(FromClient)->trigger();
        QVERIFY(w.sync());
        w.client->sendTextMessage(QStringLiteral("drop me"));
        QVERIFY(QTest::qWaitFor([&] { return w.held() == 1; }, WaitMs));
        w.pane()->view()->setFocus();
        w.window->activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(w.window.get()));
        QTest::keyClick(w.pane()->view(), Qt::Key_Delete); // Delete while the list has focus
        QVERIFY(QTest::qWaitFor([&] { return w.held() == 0; }, WaitMs));
        QVERIFY(QTest::qWaitFor([&] { return !w.flagged(capture::MessageFlag::Dropped).empty(); }, WaitMs));
        QCOMPARE(w.flagged(capture::MessageFlag::Dropped)[0].payload, QByteArray("drop me"));

        w.client->sendTextMessage(QStringLiteral("one"));
        w.client->sendTextMessage(QStringLiteral("two"));
        QVERIFY(QTest::qWaitFor([&] { return w.held() == 2; }, WaitMs));
        QVERIFY(echo(w).isEmpty());
        QCOMPARE(w.pane()->forwardAllAction()->shortcut(), QKeySequence(Qt::SHIFT | Qt::Key_F8));
        w.pane()->forwardAllAction()->trigger();
        QVERIFY(QTest::qWaitFor(
            [&] {
                return echo(w) == QStringList({QStringLiteral("one"), QStringLiteral("two")});
            },
            WaitMs));
        QVERIFY(QTest::qWaitFor([&] { return !w.window->intercept()->pauseAction(FromClient)->isChecked(); },
                                WaitMs));
        w.client->sendTextMessage(QStringLiteral("three")); // not paused any more
        QVERIFY(QTest::qWaitFor([&] { return echo(w).size() == 3; }, WaitMs));
        QVERIFY(!echo(w).contains(QStringLiteral("drop me")));

        // The dropped row stands out in the message list.
        ui::MessagesPanel *messages = w.window->messagesPanel();
        const quint64 dropped = w.flagged(capture::MessageFlag::Dropped)[0].index;
        QVERIFY(QTest::qWaitFor([&] { return messages->model()->rowOfMessage(dropped) >= 0; }, WaitMs));
        const QModelIndex cell = messages->model()->index(messages->model()->rowOfMessage(dropped), 0);
        QVERIFY(cell.data(Qt::FontRole).value<QFont>().strikeOut());
        QVERIFY(messages->model()
                    ->index(cell.row(), ui::MessageTableModel::Flags)
                    .data()
                    .toString()
                    .contains("dropped"));
    }

    // Compose in the session's format: a real Socket.IO server (npm socket.io) behind the window's proxy in
    // reverse mode, the client speaking Engine.IO by hand. "As socket.io" emits "chat" with an ack id: the
    // server's own handler answers with an ack that carries what it received, so the peer parsed the emit.
    void composeInTheSessionsFormat()
    {
        PythonPeer server;
        QVERIFY2(server.startNode(QStringLiteral("socketio-server.mjs"), {}), server.banner.constData());
        capture::CaptureStore store;
        proxy::ProxyConfig config;
        config.listenPort = 0;
        config.workers = 2;
        config.reverse = http::RequestTarget::parseAbsolute(
            QStringLiteral("ws://127.0.0.1:%1").arg(server.port).toLatin1());
        QVERIFY(config.reverse);
        ui::MainWindow window(
            store, [&] { return std::make_unique<proxy::ProxyServer>(config, store); }, nullptr, nullptr);
        window.show();
        QVERIFY(window.proxy()->startProxy());
        QWebSocket client;
        QStringList got;
        QObject::connect(&client, &QWebSocket::textMessageReceived, [&](const QString &m) {
            got << m;
            if (m == QLatin1String("2"))
                client.sendTextMessage(QStringLiteral("3")); // Engine.IO's pong to the server's ping
        });
        client.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/socket.io/?EIO=4&transport=websocket")
                             .arg(window.proxy()->proxyPort())));
        const auto received = [&](const QString &start) {
            return QTest::qWaitFor(
                [&] {
                    return std::any_of(got.begin(), got.end(),
                                       [&](const QString &m) { return m.startsWith(start); });
                },
                WaitMs);
        };
        QVERIFY2(received(QStringLiteral("0{")), qPrintable(got.join('\n')));
        client.sendTextMessage(QStringLiteral("40")); // connect to the main namespace
        QVERIFY2(received(QStringLiteral("42[\"news\"")), qPrintable(got.join('\n')));
        QVERIFY(QTest::qWaitFor(
            [&] {
                window.feed()->refresh();
                return window.sessions()->rowCount() > 0;
            },
            WaitMs));
        QVERIFY(window.selectSession(window.sessions()->sessionId(0)));
        window.tabs()->setCurrentIndex(ui::MainWindow::ComposeTab);
        ui::ComposePanel *compose = window.composePanel();
        QVERIFY(QTest::qWaitFor([&] { return compose->sendButton()->isEnabled(); }, WaitMs));
        QCOMPARE(compose->modeBox()->itemText(ui::ComposePanel::InFormat), QStringLiteral("As socket.io"));
        QCOMPARE(compose->modeBox()->currentIndex(), int(ui::ComposePanel::InFormat));
        compose->targetBox()->setCurrentIndex(ui::ComposePanel::ToServer);
        // Filled with the latest socket.io message the client sent: its connect.
        QVERIFY2(compose->valueEdit()->toPlainText().contains(QLatin1String("\"connect\"")),
                 qPrintable(compose->valueEdit()->toPlainText()));
        compose->valueEdit()->setPlainText(QStringLiteral(
            R"({"type": "event", "event": "chat", "id": 41, "args": [{"msg": "composed", "price": 7}]})"));
        // What the user wrote stays while the window goes on (a resize, the second's refresh, other tabs).
        window.resize(1280, 800);
        window.tabs()->setCurrentIndex(ui::MainWindow::MessagesTab);
        window.tabs()->setCurrentIndex(ui::MainWindow::ComposeTab);
        QTest::qWait(1100);
        QVERIFY2(compose->valueEdit()->toPlainText().contains(QLatin1String("composed")),
                 qPrintable(compose->valueEdit()->toPlainText()));
        QTest::mouseClick(compose->sendButton(), Qt::LeftButton);
        QVERIFY2(received(QStringLiteral(R"(4341[{"ok":true,"echo":{"msg":"composed","price":7}}])")),
                 qPrintable(got.join('\n')));
        QVERIFY(
            QTest::qWaitFor([&] { return compose->resultLabel()->text() == QLatin1String("sent"); }, WaitMs));
        // The capture holds the bytes Socktap encoded, flagged injected.
        bool injected = false;
        for (quint64 i = 0; i < store.messageCount(window.sessions()->sessionId(0)); ++i) {
            const auto m = store.message(window.sessions()->sessionId(0), i);
            injected = injected
                || (m && m->record.has(capture::MessageFlag::Injected)
                    && m->payload == R"(4241["chat",{"msg":"composed","price":7}])");
        }
        QVERIFY(injected);
        // What cannot be sent says why, and sends nothing.
        compose->valueEdit()->setPlainText(QStringLiteral("{\n  \"type\": }"));
        QTest::mouseClick(compose->sendButton(), Qt::LeftButton);
        QVERIFY2(compose->resultLabel()->text().startsWith(QLatin1String("Not JSON at line 2")),
                 qPrintable(compose->resultLabel()->text()));
        compose->valueEdit()->setPlainText(QStringLiteral(R"({"type": "connect"})"));
        QTest::mouseClick(compose->sendButton(), Qt::LeftButton);
        QVERIFY2(compose->resultLabel()->text().contains(QLatin1String("\"event\" or \"ack\"")),
                 qPrintable(compose->resultLabel()->text()));
        // Raw stays one choice away, with its own editor.
        compose->modeBox()->setCurrentIndex(ui::ComposePanel::Raw);
        QVERIFY(compose->editor()->isVisible());
        QVERIFY(!compose->valueEdit()->isVisible());
        // Edit and resend is about the chosen message's bytes: Raw, also after the tab is shown again.
        compose->modeBox()->setCurrentIndex(ui::ComposePanel::InFormat);
        window.tabs()->setCurrentIndex(ui::MainWindow::MessagesTab);
        compose->prefill(capture::Direction::ClientToServer, quint8(ws::Opcode::Text), "42[\"picked\"]");
        window.tabs()->setCurrentIndex(ui::MainWindow::ComposeTab);
        QCOMPARE(compose->modeBox()->currentIndex(), int(ui::ComposePanel::Raw));
        QCOMPARE(compose->editor()->payloadEdit()->toPlainText(), QStringLiteral("42[\"picked\"]"));
        client.close();
        window.proxy()->stopProxy();
        QVERIFY(QTest::qWaitFor([&] { return window.proxy()->proxyPort() == 0; }, WaitMs));
    }

    // Session > Decode as: a session its handshake does not name is decoded as the user chooses, and the
    // choice saved for its host and path applies to the next session there (and is forgotten on request).
    void decodeAsChosenFormat()
    {
        LiveWindow w;
        QVERIFY(w.open());
        w.client->sendTextMessage(QStringLiteral(R"(["1","2","room:lobby","new_msg",{"body":"hi"}])"));
        ui::MessageTableModel *model = w.window->messagesPanel()->model();
        QVERIFY(QTest::qWaitFor(
            [&] {
                w.window->feed()->refresh();
                return model->rowCount() >= 2; // the message and its echo
            },
            WaitMs));
        QCOMPARE(model->formatName(),
                 QString()); // nothing says Phoenix: no subprotocol, no /websocket?vsn=, no phx_join
        QCOMPARE(model->decodedMessage(0)->format, QStringLiteral("json"));
        QMenu *decodeAs = w.window->formats()->decodeAsMenu();
        QVERIFY(decodeAs->isEnabled());
        QAction *phoenix = nullptr;
        QAction *remember = nullptr;
        for (QAction *a : decodeAs->actions()) {
            if (a->text() == QLatin1String("phoenix"))
                phoenix = a;
            if (a->text().startsWith(QLatin1String("&Remember for ")))
                remember = a;
        }
        QVERIFY(phoenix && remember);
        QVERIFY2(remember->text().endsWith(QLatin1String("/live")), qPrintable(remember->text()));
        phoenix->trigger();
        QCOMPARE(model->formatName(), QStringLiteral("phoenix"));
        QCOMPARE(model->decodedMessage(0)->format, QStringLiteral("phoenix"));
        QVERIFY(QTest::qWaitFor(
            [&] {
                return model->index(0, ui::MessageTableModel::Summary)
                    .data()
                    .toString()
                    .startsWith(QLatin1String("new_msg room:lobby"));
            },
            WaitMs));
        QVERIFY(phoenix->isChecked());
        // The session filter by meaning follows the choice: as JSON there is no event "new_msg".
        QLineEdit *filter = w.window->sessionFilterBox();
        QAbstractItemModel *shown = w.window->sessionView()->model();
        filter->setText(QStringLiteral("event:new_msg"));
        QVERIFY(QTest::qWaitFor([&] { return shown->rowCount() == 1; }, WaitMs));
        w.window->formats()->choose(w.session, QString(), false);
        QVERIFY(QTest::qWaitFor([&] { return shown->rowCount() == 0; }, WaitMs));
        w.window->formats()->choose(w.session, QStringLiteral("phoenix"), false);
        QVERIFY(QTest::qWaitFor([&] { return shown->rowCount() == 1; }, WaitMs));
        filter->clear();
        QVERIFY(w.window->selectSession(w.session));
        QVERIFY(phoenix->isChecked());
        // Compose follows too: it composes in the chosen format (and in none once automatic again).
        ui::ComposePanel *compose = w.window->composePanel();
        QCOMPARE(compose->modeBox()->itemText(ui::ComposePanel::InFormat), QStringLiteral("As phoenix"));
        w.window->formats()->choose(w.session, QString(), false);
        QCOMPARE(compose->modeBox()->count(), 1); // Raw only: JSON has no format of its own to compose in
        w.window->formats()->choose(w.session, QStringLiteral("phoenix"), false);
        QCOMPARE(compose->modeBox()->itemText(ui::ComposePanel::InFormat), QStringLiteral("As phoenix"));
        // Not saved yet: another session to the same place is automatic.
        auto second = openClient(w.echo.url(QStringLiteral("/live")),
                                 QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"),
                                               w.window->proxy()->proxyPort()));
        QVERIFY(second);
        capture::SessionId secondId = 0;
        QVERIFY(QTest::qWaitFor(
            [&] {
                w.window->feed()->refresh();
                for (int r = 0; r < w.window->sessions()->rowCount(); ++r)
                    if (w.window->sessions()->sessionId(r) != w.session)
                        secondId = w.window->sessions()->sessionId(r);
                return secondId != 0;
            },
            WaitMs));
        QCOMPARE(w.window->formats()->choiceFor(secondId), QString());
        remember->trigger(); // saved for this host and path
        QVERIFY(remember->isChecked());
        QCOMPARE(w.window->formats()->choiceFor(secondId), QStringLiteral("phoenix"));
        QVERIFY(w.window->selectSession(secondId));
        QCOMPARE(model->formatName(), QStringLiteral("phoenix"));
        // Kept between runs: a new window reads it.
        {
            ui::MainWindow again(
                w.store, [&] { return std::make_unique<proxy::ProxyServer>(w.config, w.store); }, nullptr,
                nullptr);
            QCOMPARE(again.formats()->choiceFor(secondId), QStringLiteral("phoenix"));
        }
        remember->trigger(); // unchecked: forgotten
        QCOMPARE(w.window->formats()->choiceFor(secondId), QString());
        QCOMPARE(model->formatName(), QString());
    }

    // Session > Protobuf schema: the window's --proto. The dialog compiles the chosen .proto files as
    // they are picked (protoc's errors shown, OK refused), lists their types, and once accepted the open
    // session's protobuf messages are decoded as the chosen type; the choice is kept for the next start.
    void protobufSchemaFromTheWindow()
    {
        LiveWindow w;
        QVERIFY(w.open());
        // Order {id: 7, symbol: "BTC", qty: -3} (sint32: zigzag 5), echoed back by the server.
        w.client->sendBinaryMessage(QByteArray("\x08\x07\x12\x03"
                                               "BTC"
                                               "\x18\x05",
                                               9));
        ui::MessageTableModel *model = w.window->messagesPanel()->model();
        QVERIFY(QTest::qWaitFor(
            [&] {
                w.window->feed()->refresh();
                return model->rowCount() >= 2;
            },
            WaitMs));
        w.window->formats()->choose(w.session, QStringLiteral("protobuf"), false);
        const auto summary = [&] {
            return model->index(0, ui::MessageTableModel::Summary).data().toString();
        };
        QVERIFY2(!summary().startsWith(QLatin1String("Order")), qPrintable(summary())); // no schema yet

        const QString proto = QStringLiteral(SOCKTAP_SOURCE_DIR "/tests/data/proto/");
        ui::ProtoSchemaDialog broken({{proto + QLatin1String("broken.proto")}, {}, {}, {}, {}});
        QVERIFY(!broken.formats());
        QVERIFY2(broken.errors().contains(QLatin1String("broken.proto:9:17: Expected field number.")),
                 qPrintable(broken.errors()));

        ui::ProtoSchemaDialog dialog({{proto + QLatin1String("market.proto")}, {}, {}, {}, {}});
        QVERIFY2(dialog.formats(), qPrintable(dialog.errors()));
        QVERIFY(dialog.clientTypeBox()->findText(QStringLiteral("socktap.test.Order")) > 0);
        dialog.clientTypeBox()->setCurrentText(QStringLiteral("socktap.test.Order"));
        dialog.serverTypeBox()->setCurrentText(QStringLiteral("socktap.test.Order"));
        dialog.urlEdit()->setText(QStringLiteral("(unclosed"));
        QVERIFY(!dialog.formats()); // not a regular expression
        QVERIFY2(dialog.errors().contains(QLatin1String("(unclosed")), qPrintable(dialog.errors()));
        dialog.urlEdit()->clear();
        QVERIFY2(dialog.formats(), qPrintable(dialog.errors()));
        if (const QString shots = qEnvironmentVariable("SOCKTAP_SCREENSHOTS"); !shots.isEmpty()) {
            dialog.show();
            QTest::qWait(50);
            dialog.grab().save(shots + QStringLiteral("/socktap-protobuf-schema.png"));
            dialog.hide();
        }
        w.window->formats()->useSchema(dialog.choice(), dialog.formats());
        QVERIFY(QTest::qWaitFor([&] { return summary().startsWith(QLatin1String("Order id=7")); }, WaitMs));
        QVERIFY2(summary().contains(QLatin1String("qty=-3")), qPrintable(summary()));
        QCOMPARE(model->decodedMessage(1)->value.toObject()[QLatin1String("symbol")].toString(),
                 QStringLiteral("BTC"));

        // Saved: the next start decodes with it (the command line's --proto aside).
        decode::FormatRegistry::setCurrent(nullptr);
        {
            ui::MainWindow again(
                w.store, [&] { return std::make_unique<proxy::ProxyServer>(w.config, w.store); }, nullptr,
                nullptr);
            QVERIFY(&decode::FormatRegistry::current() != &decode::FormatRegistry::builtin());
            QCOMPARE(ui::FormatsFeature::savedSchema().clientType, QStringLiteral("socktap.test.Order"));
        }
        // And none again: the wire format.
        w.window->formats()->useSchema({}, decode::protobufFormats({}, nullptr));
        QVERIFY(&decode::FormatRegistry::current() == &decode::FormatRegistry::builtin());
        QVERIFY(QTest::qWaitFor([&] { return !summary().startsWith(QLatin1String("Order")); }, WaitMs));
    }

    // The Intercept pane left open at quit does not come back empty at the next start: it shows itself
    // when something is held.
    void interceptPaneNotRestoredEmpty()
    {
        capture::CaptureStore store;
        proxy::ProxyConfig config;
        config.listenPort = 0;
        {
            ui::MainWindow first(
                store, [&] { return std::make_unique<proxy::ProxyServer>(config, store); }, nullptr, nullptr);
            first.show();
            first.interceptPane()->show();
            QVERIFY(first.interceptPane()->isVisible());
            QVERIFY(first.close()); // no proxy running: closes at once, saving the layout
        }
        ui::MainWindow second(
            store, [&] { return std::make_unique<proxy::ProxyServer>(config, store); }, nullptr, nullptr);
        second.show();
        QVERIFY(QTest::qWaitForWindowExposed(&second));
        QVERIFY(!second.interceptPane()->isVisible());
    }

    // Settings > Also trust CAs, the window's counterpart of --upstream-ca: a wss:// server whose certificate
    // comes from its own CA is refused (the proxy verifies servers) until Settings trusts that CA; then the
    // proxy restarts and the same client gets through. A file that is not there is refused by the dialog.
    void settingsTrustAnUpstreamCa()
    {
        LiveWindow w(true);
        QString error;
        w.config.tls = std::make_shared<proxy::TlsContexts>(w.ca.get(), QStringList(), &error);
        QVERIFY2(w.config.tls->isValid(), qPrintable(error));
        w.window->proxy()->setEditableConfig(&w.config, ui::Theme::System);
        QVERIFY(w.window->proxy()->startProxy());
        auto serverCa = certs::CertificateAuthority::create();
        SecureEcho server(*serverCa, QStringLiteral("127.0.0.1"));
        QTemporaryDir dir;
        QFile caFile(dir.filePath(QStringLiteral("server-ca.pem")));
        QVERIFY(caFile.open(QIODevice::WriteOnly));
        caFile.write(serverCa->certificatePem());
        caFile.close();
        const auto connectThrough = [&] {
            auto ws = std::make_unique<QWebSocket>();
            ws->setSslConfiguration(trusting(w.ca->certificatePem()));
            ws->setProxy(QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"),
                                       w.window->proxy()->proxyPort()));
            QString said;
            QObject::connect(ws.get(), &QWebSocket::textMessageReceived, [&](const QString &m) { said = m; });
            ws->open(QUrl(QStringLiteral("wss://127.0.0.1:%1/trust").arg(server.port())));
            if (!QTest::qWaitFor([&] { return ws->state() == QAbstractSocket::ConnectedState; }, 5000))
                return QString();
            ws->sendTextMessage(QStringLiteral("through"));
            (void)QTest::qWaitFor([&] { return !said.isEmpty(); }, WaitMs); // empty when nothing came back
            return said;
        };
        QCOMPARE(connectThrough(), QString()); // the server's CA is not trusted yet

        ui::SettingsDialog dialog(w.window->proxy()->currentSettings(), QString());
        dialog.upstreamCaEdit()->setText(dir.filePath(QStringLiteral("missing.pem")));
        QVERIFY(!dialog.settings(&error));
        QVERIFY2(error.contains(QLatin1String("no such file")), qPrintable(error));
        dialog.upstreamCaEdit()->setText(caFile.fileName());
        const auto chosen = dialog.settings(&error);
        QVERIFY2(chosen, qPrintable(error));
        QSignalSpy restarted(w.window->proxy(), &ui::ProxyFeature::proxyRestarted);
        w.window->proxy()->settingsChosen(*chosen);
        QVERIFY(restarted.wait(WaitMs));
        QVERIFY(restarted.first().at(0).toBool());
        QCOMPARE(w.config.upstreamCaFiles, QStringList {caFile.fileName()});
        QCOMPARE(connectThrough(), QStringLiteral("through"));
        QCOMPARE(w.window->proxy()->currentSettings().upstreamCaFiles, QStringList {caFile.fileName()});
    }

    // The session filter by meaning: "method:getUser" keeps the sessions with a message that calls it,
    // decoded in each session's format across the whole capture, and follows messages that arrive later.
    void filterSessionsByMeaning()
    {
        LiveWindow w;
        QVERIFY(w.open());
        const auto proxyNow = QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"),
                                            w.window->proxy()->proxyPort());
        auto other = openClient(w.echo.url(QStringLiteral("/other")), proxyNow);
        QVERIFY(other);
        w.client->sendTextMessage(
            QStringLiteral(R"({"id":1,"jsonrpc":"2.0","method":"getUser","params":[7]})"));
        other->sendTextMessage(QStringLiteral(R"({"id":1,"jsonrpc":"2.0","method":"listRooms"})"));
        QTableView *list = w.window->sessionView();
        QVERIFY(QTest::qWaitFor(
            [&] {
                w.window->feed()->refresh();
                return list->model()->rowCount() == 2;
            },
            WaitMs));
        QLineEdit *filter = w.window->sessionFilterBox();
        QVERIFY(filter && filter->placeholderText().contains(QLatin1String("event:chat")));
        const auto shown = [&] {
            QList<capture::SessionId> ids;
            for (int r = 0; r < list->model()->rowCount(); ++r)
                ids << list->model()->index(r, 0).data(ui::SessionTableModel::SessionIdRole).toULongLong();
            return ids;
        };
        filter->setText(QStringLiteral("method:getUser"));
        QVERIFY(QTest::qWaitFor([&] { return shown() == QList<capture::SessionId> {w.session}; }, WaitMs));
        // A message that arrives later brings its session in.
        other->sendTextMessage(QStringLiteral(R"({"id":2,"jsonrpc":"2.0","method":"getUser"})"));
        QVERIFY(QTest::qWaitFor([&] { return shown().size() == 2; }, WaitMs));
        filter->setText(QStringLiteral("method:nothingLikeThis"));
        QVERIFY(QTest::qWaitFor([&] { return shown().isEmpty(); }, WaitMs));
        // Text that reads as a query ("ws:" a field name) but is a URL keeps what it matches.
        filter->setText(QStringLiteral("ws://127.0.0.1"));
        QVERIFY(QTest::qWaitFor([&] { return shown().size() == 2; }, WaitMs));
        filter->setText(QStringLiteral("/other")); // plain text: host, URL, state as before
        QVERIFY(QTest::qWaitFor([&] { return shown().size() == 1 && shown().first() != w.session; }, WaitMs));
        filter->clear();
        QCOMPARE(shown().size(), 2);
    }

    // (d) Compose sends text to the server and a ping to the client; (e) into an ended session it says so.
    void composeAndClosedSession()
    {
        LiveWindow w;
        QVERIFY(w.open());
        ui::ComposePanel *compose = w.window->composePanel();
        QVERIFY(compose->sendButton()->isEnabled());
        w.window->tabs()->setCurrentIndex(ui::MainWindow::ComposeTab);
        compose->targetBox()->setCurrentIndex(ui::ComposePanel::ToServer);
        compose->editor()->setMessage(quint8(ws::Opcode::Text), "composed hello");
        QTest::mouseClick(compose->sendButton(), Qt::LeftButton);
        QVERIFY(QTest::qWaitFor([&] { return echo(w).contains(QStringLiteral("composed hello")); }, WaitMs));
        QVERIFY(
            QTest::qWaitFor([&] { return compose->resultLabel()->text() == QLatin1String("sent"); }, WaitMs));

        compose->targetBox()->setCurrentIndex(ui::ComposePanel::ToClient);
        compose->editor()->typeBox()->setCurrentIndex(
            compose->editor()->typeBox()->findText(QStringLiteral("Ping")));
        compose->editor()->payloadEdit()->setPlainText(QStringLiteral("are you there"));
        // Ctrl+Return sends, even from inside the payload editor.
        w.window->activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(w.window.get()));
        compose->editor()->payloadEdit()->setFocus();
        QTest::keyClick(compose->editor()->payloadEdit(), Qt::Key_Return, Qt::ControlModifier);
        QCOMPARE(compose->editor()->payloadEdit()->toPlainText(), QStringLiteral("are you there"));
        // The client got the ping: its automatic Pong (same payload) comes back through the proxy.
        QVERIFY(QTest::qWaitFor(
            [&] {
                for (quint64 i = 0; i < w.store.messageCount(w.session); ++i) {
                    const auto m = w.store.message(w.session, i);
                    if (m && m->record.opcode == quint8(ws::Opcode::Pong)
                        && m->record.direction() == FromClient && m->payload == "are you there")
                        return true;
                }
                return false;
            },
            WaitMs));
        const auto injected = w.flagged(capture::MessageFlag::Injected);
        QVERIFY(std::any_of(injected.begin(), injected.end(), [](const auto &m) {
            return m.record.opcode == quint8(ws::Opcode::Ping) && m.record.direction() == FromServer;
        }));

        // The session ends: the window disables Compose; a send that races the end gets the engine's answer.
        w.client->close();
        QVERIFY(QTest::qWaitFor([&] { return !compose->sendButton()->isEnabled(); }, WaitMs));
        QVERIFY(!w.window->proxy()->isLive(w.session));
        compose->setSession(w.session, true); // as if the window had not noticed yet
        compose->targetBox()->setCurrentIndex(ui::ComposePanel::ToServer);
        compose->editor()->setMessage(quint8(ws::Opcode::Text), "too late");
        compose->send();
        QVERIFY(QTest::qWaitFor(
            [&] { return compose->resultLabel()->text().contains(QLatin1String("has ended")); }, WaitMs));
        QVERIFY(compose->resultLabel()->text().contains(QString::number(w.session)));
    }

    // Session > Stall client → server: what the client sends stops crossing while TCP stays up, and
    // crosses once unchecked; both are recorded on the session as faults.
    void stallFromTheSessionMenu()
    {
        LiveWindow w;
        QVERIFY(w.open());
        QAction *stall = w.window->intercept()->stallActions()[int(capture::Direction::ClientToServer)];
        QVERIFY(stall->isEnabled() && !stall->isChecked());
        stall->trigger();
        QVERIFY(stall->isChecked());
        QVERIFY(w.sync());
        w.client->sendTextMessage(QStringLiteral("held back"));
        QTest::qWait(300);
        QVERIFY(!w.echo.texts.contains(QStringLiteral("held back")));
        stall->trigger(); // unchecked: resumed
        QVERIFY(!stall->isChecked());
        QVERIFY(QTest::qWaitFor([&] { return w.echo.texts.contains(QStringLiteral("held back")); }, WaitMs));
        QVERIFY(QTest::qWaitFor(
            [&] {
                const auto s = w.store.session(w.session);
                return s && s->faults.size() == 2;
            },
            WaitMs));
        const auto s = w.store.session(w.session);
        QVERIFY2(s->faults[0].contains(QStringLiteral("stalled client → server")), qPrintable(s->faults[0]));
        QVERIFY2(s->faults[1].contains(QStringLiteral("resumed client → server")), qPrintable(s->faults[1]));
        // The Timeline marks both, at their moments, in the record's words.
        w.window->tabs()->setCurrentIndex(ui::MainWindow::TimelineTab);
        QVERIFY(QTest::qWaitFor(
            [&] {
                w.window->feed()->refresh();
                return w.window->timelineView()->series().faults.size() == 2;
            },
            WaitMs));
        const auto &marks = w.window->timelineView()->series().faults;
        QVERIFY2(marks[0].second.startsWith(QStringLiteral("stalled client → server")),
                 qPrintable(marks[0].second));
        QVERIFY(marks[0].first >= 0 && marks[1].first >= marks[0].first + 0.25); // 300 ms apart
        QVERIFY(marks[1].first <= w.window->timelineView()->series().spanSeconds);
        if (const QString shots = qEnvironmentVariable("SOCKTAP_SCREENSHOTS"); !shots.isEmpty()) {
            w.window->resize(1280, 800);
            QTest::qWait(200);
            w.window->grab().save(shots + QStringLiteral("/socktap-timeline-faults.png"));
            // scripts/screenshots.sh: the faults in the Handshake tab.
            w.window->tabs()->setCurrentIndex(ui::MainWindow::HandshakeTab);
            QTest::qWait(300); // the feed brings the session's faults
            w.window->feed()->refresh();
            QTest::qWait(100);
            w.window->grab().save(shots + QStringLiteral("/socktap-faults.png"));
        }
    }

    // The Rules dialog's form writes respond and echo rules: the answer template and "forward"; a template
    // naming a regex group the rule lacks is refused with the parser's sentence.
    void ruleFormFaults()
    {
        // close, reset and stall: on the Nth matching message (message conditions shown) or a time after
        // the upgrade (host and path only); the fields each action reads, and read back as written.
        ui::RuleForm form;
        form.show();
        form.actionBox()->setCurrentIndex(form.actionBox()->findData(QStringLiteral("close")));
        QVERIFY(form.closeCodeBox()->isVisibleTo(&form) && form.towardBox()->isVisibleTo(&form));
        QVERIFY(form.afterMessagesBox()->isVisibleTo(&form) && !form.afterMsBox()->isVisibleTo(&form));
        QVERIFY(!form.stopBox()->isVisibleTo(&form));
        form.directionBox()->setCurrentIndex(form.directionBox()->findData(QStringLiteral("server")));
        form.closeCodeBox()->setValue(4001);
        form.closeReasonEdit()->setText(QStringLiteral("bye"));
        form.towardBox()->setCurrentIndex(form.towardBox()->findData(QStringLiteral("client")));
        form.afterMessagesBox()->setValue(3);
        QVERIFY2(form.validate(), qPrintable(form.errorLabel()->text()));
        QJsonObject rule = form.rule();
        QCOMPARE(rule.value(QLatin1String("code")).toInt(), 4001);
        QCOMPARE(rule.value(QLatin1String("reason")).toString(), QStringLiteral("bye"));
        QCOMPARE(rule.value(QLatin1String("toward")).toString(), QStringLiteral("client"));
        QCOMPARE(rule.value(QLatin1String("afterMessages")).toInt(), 3);
        QCOMPARE(rule.value(QLatin1String("match")).toObject().value(QLatin1String("direction")).toString(),
                 QStringLiteral("server"));
        form.closeReasonEdit()->setText(QString(124, QLatin1Char('x')));
        QVERIFY(!form.validate());
        QVERIFY2(form.errorLabel()->text().contains(QLatin1String("at most 123")),
                 qPrintable(form.errorLabel()->text()));
        form.setRule(rule);
        QCOMPARE(form.closeReasonEdit()->text(), QStringLiteral("bye"));
        QCOMPARE(form.afterMessagesBox()->value(), 3);

        // delay with jitter: latency that varies, its spread offered once there is jitter.
        form.actionBox()->setCurrentIndex(form.actionBox()->findData(QStringLiteral("delay")));
        QVERIFY(form.jitterBox()->isVisibleTo(&form) && !form.spreadBox()->isVisibleTo(&form));
        form.msBox()->setValue(200);
        form.jitterBox()->setValue(50);
        QVERIFY(form.spreadBox()->isVisibleTo(&form));
        form.spreadBox()->setCurrentIndex(form.spreadBox()->findData(QStringLiteral("normal")));
        QVERIFY2(form.validate(), qPrintable(form.errorLabel()->text()));
        QCOMPARE(form.rule().value(QLatin1String("jitterMs")).toInt(), 50);
        QCOMPARE(form.rule().value(QLatin1String("spread")).toString(), QStringLiteral("normal"));
        form.jitterBox()->setValue(0);
        QVERIFY(!form.rule().contains(QLatin1String("spread"))
                && !form.rule().contains(QLatin1String("jitterMs")));

        // throttle: a side and a rate, no message conditions.
        form.actionBox()->setCurrentIndex(form.actionBox()->findData(QStringLiteral("throttle")));
        QVERIFY(form.directionBox()->isVisibleTo(&form) && form.rateBox()->isVisibleTo(&form));
        QVERIFY(!form.typeBox()->isVisibleTo(&form) && !form.afterMsBox()->isVisibleTo(&form));
        form.directionBox()->setCurrentIndex(form.directionBox()->findData(QStringLiteral("server")));
        form.rateBox()->setValue(50000);
        QVERIFY2(form.validate(), qPrintable(form.errorLabel()->text()));
        QCOMPARE(form.rule().value(QLatin1String("bytesPerSecond")).toInt(), 50000);
        QCOMPARE(
            form.rule().value(QLatin1String("match")).toObject().value(QLatin1String("direction")).toString(),
            QStringLiteral("server"));
        form.directionBox()->setCurrentIndex(form.directionBox()->findData(QStringLiteral("both")));

        // stall on a timer: host and path only, and one of them is needed.
        form.actionBox()->setCurrentIndex(form.actionBox()->findData(QStringLiteral("stall")));
        form.triggerBox()->setCurrentIndex(form.triggerBox()->findData(QStringLiteral("time")));
        QVERIFY(!form.directionBox()->isVisibleTo(&form) && form.afterMsBox()->isVisibleTo(&form));
        QVERIFY(form.stopBox()->isVisibleTo(&form) && !form.closeCodeBox()->isVisibleTo(&form));
        QVERIFY(!form.validate());
        form.pathEdit()->setText(QStringLiteral("/live"));
        form.stopBox()->setCurrentIndex(form.stopBox()->findData(QStringLiteral("server")));
        form.afterMsBox()->setValue(2500);
        QVERIFY2(form.validate(), qPrintable(form.errorLabel()->text()));
        rule = form.rule();
        QCOMPARE(rule.value(QLatin1String("afterMs")).toInt(), 2500);
        QCOMPARE(rule.value(QLatin1String("stop")).toString(), QStringLiteral("server"));
        QVERIFY(!rule.value(QLatin1String("match")).toObject().contains(QLatin1String("direction")));
        QVERIFY(!rule.contains(QLatin1String("afterMessages")));
        if (const QString shots = qEnvironmentVariable("SOCKTAP_SCREENSHOTS"); !shots.isEmpty()) {
            QTest::qWait(50);
            form.grab().save(shots + QStringLiteral("/socktap-rule-fault.png"));
        }
        form.setRule(QJsonObject {});
        form.setRule(rule);
        QCOMPARE(form.triggerBox()->currentData().toString(), QStringLiteral("time"));
        QCOMPARE(form.afterMsBox()->value(), 2500);

        // A reset of the client's side, a Close without the closing handshake, a mock of a capture.
        form.actionBox()->setCurrentIndex(form.actionBox()->findData(QStringLiteral("reset")));
        QVERIFY(form.towardBox()->isVisibleTo(&form) && !form.abruptBox()->isVisibleTo(&form));
        form.towardBox()->setCurrentIndex(form.towardBox()->findData(QStringLiteral("client")));
        QCOMPARE(form.rule().value(QLatin1String("toward")).toString(), QStringLiteral("client"));
        form.actionBox()->setCurrentIndex(form.actionBox()->findData(QStringLiteral("close")));
        form.abruptBox()->setChecked(true);
        QCOMPARE(form.rule().value(QLatin1String("handshake")), QJsonValue(false));
        form.actionBox()->setCurrentIndex(form.actionBox()->findData(QStringLiteral("mock")));
        QVERIFY(form.mockFileEdit()->isVisibleTo(&form) && !form.towardBox()->isVisibleTo(&form));
        QVERIFY(!form.directionBox()->isVisibleTo(&form)); // a handshake rule: host and path only
        form.mockFileEdit()->setText(QStringLiteral("chat.socktap"));
        form.mockSessionBox()->setValue(3);
        form.mockMatchBox()->setCurrentIndex(form.mockMatchBox()->findData(QStringLiteral("content")));
        rule = form.rule();
        QCOMPARE(rule.value(QLatin1String("file")).toString(), QStringLiteral("chat.socktap"));
        QCOMPARE(rule.value(QLatin1String("session")).toInt(), 3);
        QCOMPARE(rule.value(QLatin1String("matchBy")).toString(), QStringLiteral("content"));
        QVERIFY(!rule.contains(QLatin1String("timing"))); // the default
        QVERIFY2(form.validate(), qPrintable(form.errorLabel()->text()));
        if (const QString shots = qEnvironmentVariable("SOCKTAP_SCREENSHOTS"); !shots.isEmpty())
            form.grab().save(shots + QStringLiteral("/socktap-rule-mock.png"));

        // The Rules table says what each does, in the words the session's record uses.
        auto hub = std::make_shared<intercept::InterceptHub>();
        QString error;
        const auto set = intercept::RuleSet::fromJson(
            QByteArray(
                "{\"rules\": [{\"match\": {\"direction\": \"server\"}, \"action\": \"close\", "
                "\"code\": 4001, \"reason\": \"bye\", \"toward\": \"client\", \"afterMessages\": 3},"
                "{\"action\": \"throttle\", \"bytesPerSecond\": 20000},"
                "{\"match\": {\"path\": \"/x\"}, \"action\": \"delay\", \"ms\": 100, \"jitterMs\": 20},"
                "{\"action\": \"mock\", \"file\": \"/tmp/chat.socktap\"},"
                "{\"action\": \"reset\", \"toward\": \"server\"}]}"),
            &error);
        QVERIFY2(set, qPrintable(error));
        hub->setRules(*set);
        ui::RulesDialog dialog(hub);
        QCOMPARE(dialog.table()->item(0, ui::RulesDialog::ActionColumn)->text(),
                 QStringLiteral("close 4001 'bye' toward the client (at matching message 3)"));
        QCOMPARE(dialog.table()->item(1, ui::RulesDialog::ActionColumn)->text(),
                 QStringLiteral("throttle to 20000 bytes/s"));
        QCOMPARE(dialog.table()->item(1, ui::RulesDialog::MatchColumn)->text(),
                 QStringLiteral("every session"));
        QCOMPARE(dialog.table()->item(2, ui::RulesDialog::ActionColumn)->text(),
                 QStringLiteral("delay 100 ± 20 ms (uniform)"));
        QCOMPARE(
            dialog.table()->item(3, ui::RulesDialog::ActionColumn)->text(),
            QStringLiteral("answer from chat.socktap (its first WebSocket session) instead of the server"));
        QCOMPARE(dialog.table()->item(3, ui::RulesDialog::MatchColumn)->text(),
                 QStringLiteral("every upgrade"));
        QCOMPARE(dialog.table()->item(4, ui::RulesDialog::ActionColumn)->text(),
                 QStringLiteral("reset the server's connection (the client's ends with a FIN)"));
    }

    void ruleFormRespondAndEcho()
    {
        ui::RuleForm form;
        form.show();
        form.directionBox()->setCurrentIndex(form.directionBox()->findData(QStringLiteral("client")));
        form.actionBox()->setCurrentIndex(form.actionBox()->findData(QStringLiteral("respond")));
        QVERIFY(form.replacementEdit()->isVisibleTo(&form) && form.forwardBox()->isVisibleTo(&form));
        form.replacementEdit()->setPlainText(QStringLiteral("{\"id\":{{$.id}},\"result\":\"pong\"}"));
        form.forwardBox()->setChecked(false);
        QVERIFY2(form.validate(), qPrintable(form.errorLabel()->text()));
        if (const QString shots = qEnvironmentVariable("SOCKTAP_SCREENSHOTS"); !shots.isEmpty()) {
            QTest::qWait(50);
            form.grab().save(shots + QStringLiteral("/socktap-rule-respond.png"));
        }
        QJsonObject rule = form.rule();
        QCOMPARE(rule.value(QLatin1String("action")).toString(), QStringLiteral("respond"));
        QCOMPARE(rule.value(QLatin1String("forward")).toBool(true), false);
        QVERIFY(rule.value(QLatin1String("payload")).toString().contains(QLatin1String("{{$.id}}")));
        form.replacementEdit()->setPlainText(QStringLiteral("got {{1}}"));
        QVERIFY(!form.validate());
        QVERIFY2(form.errorLabel()->text().contains(QLatin1String("the rule has none")),
                 qPrintable(form.errorLabel()->text()));
        form.setRule(rule); // read back as written
        QVERIFY(!form.forwardBox()->isChecked());
        form.actionBox()->setCurrentIndex(form.actionBox()->findData(QStringLiteral("echo")));
        QVERIFY(!form.replacementEdit()->isVisibleTo(&form) && form.forwardBox()->isVisibleTo(&form));
        form.forwardBox()->setChecked(true);
        QVERIFY2(form.validate(), qPrintable(form.errorLabel()->text()));
        QVERIFY(!form.rule().contains(QLatin1String("payload"))
                && !form.rule().contains(QLatin1String("forward")));

        // A binary answer from a rules file survives the form (which writes text answers) unless replaced.
        QJsonObject binary {
            {QStringLiteral("action"), QStringLiteral("respond")},
            {QStringLiteral("base64"), QStringLiteral("AAH/")},
            {QStringLiteral("match"), QJsonObject {{QStringLiteral("payload"), QStringLiteral("x")}}}};
        form.setRule(binary);
        QCOMPARE(form.rule().value(QLatin1String("base64")).toString(), QStringLiteral("AAH/"));
        QVERIFY(!form.rule().contains(QLatin1String("payload")));
        form.replacementEdit()->setPlainText(QStringLiteral("now text"));
        QCOMPARE(form.rule().value(QLatin1String("payload")).toString(), QStringLiteral("now text"));

        // refuse: host and path only, a status with Retry-After or a reset, a number of attempts.
        form.actionBox()->setCurrentIndex(form.actionBox()->findData(QStringLiteral("refuse")));
        QVERIFY(!form.directionBox()->isVisibleTo(&form) && form.statusBox()->isVisibleTo(&form));
        form.directionBox()->setCurrentIndex(form.directionBox()->findData(QStringLiteral("both")));
        QVERIFY(!form.validate()); // no host or path: it would refuse every upgrade
        form.pathEdit()->setText(QStringLiteral("/socket.io/*"));
        form.statusBox()->setValue(429);
        form.retryAfterBox()->setValue(2);
        form.timesBox()->setValue(3);
        QVERIFY2(form.validate(), qPrintable(form.errorLabel()->text()));
        rule = form.rule();
        QCOMPARE(rule.value(QLatin1String("status")).toInt(), 429);
        QCOMPARE(rule.value(QLatin1String("retryAfter")).toInt(), 2);
        QCOMPARE(rule.value(QLatin1String("times")).toInt(), 3);
        form.resetBox()->setChecked(true);
        QVERIFY(!form.statusBox()->isEnabled());
        QVERIFY2(form.validate(), qPrintable(form.errorLabel()->text()));
        QVERIFY(form.rule().value(QLatin1String("reset")).toBool());
        QVERIFY(!form.rule().contains(QLatin1String("status")));
        if (const QString shots = qEnvironmentVariable("SOCKTAP_SCREENSHOTS"); !shots.isEmpty()) {
            form.resetBox()->setChecked(false);
            QTest::qWait(50);
            form.grab().save(shots + QStringLiteral("/socktap-rule-refuse.png"));
        }
    }

    // (f) Tools > Rules: a rule added through the form reaches the hub (and acts on live traffic) and
    // QSettings; an invalid regex is refused with the parser's sentence; reordering and removing work.
    void rulesDialog()
    {
        LiveWindow w;
        QVERIFY(w.open());
        w.window->intercept()->rulesAction()->trigger();
        auto *dialog = waitChild<ui::RulesDialog>(w.window.get());
        QVERIFY(dialog);
        QCOMPARE(dialog->table()->rowCount(), 0);

        dialog->addRule();
        auto *form = waitChild<ui::RuleForm>(dialog);
        QVERIFY(form);
        form->nameEdit()->setText(QStringLiteral("mask secrets"));
        form->directionBox()->setCurrentIndex(form->directionBox()->findData(QStringLiteral("client")));
        form->typeBox()->setCurrentIndex(form->typeBox()->findData(QStringLiteral("text")));
        form->actionBox()->setCurrentIndex(form->actionBox()->findData(QStringLiteral("regex-replace")));
        QVERIFY(form->patternEdit()->isVisibleTo(form) && !form->msBox()->isVisibleTo(form));
        form->patternEdit()->setText(QStringLiteral("secret=(\\w+)"));
        form->withEdit()->setText(QStringLiteral("secret=XXX"));
        form->accept();
        QVERIFY(QTest::qWaitFor([&] { return dialog->findChild<ui::RuleForm *>() == nullptr; }, WaitMs));
        QCOMPARE(dialog->table()->rowCount(), 1);
        QCOMPARE(dialog->table()->item(0, ui::RulesDialog::NameColumn)->text(),
                 QStringLiteral("mask secrets"));
        QVERIFY(dialog->table()->item(0, ui::RulesDialog::MatchColumn)->text().contains("sent by client"));

        // A new rule does nothing until its action is chosen: OK says so.
        dialog->addRule();
        form = waitChild<ui::RuleForm>(dialog);
        form->typeBox()->setCurrentIndex(form->typeBox()->findData(QStringLiteral("text")));
        form->accept();
        QVERIFY2(form->errorLabel()->text().contains(QLatin1String("Choose what the rule does")),
                 qPrintable(form->errorLabel()->text()));
        QVERIFY(form->isVisible());
        form->typeBox()->setCurrentIndex(form->typeBox()->findData(QStringLiteral("any")));
        form->actionBox()->setCurrentIndex(form->actionBox()->findData(QStringLiteral("delay")));
        // An invalid regular expression: the parser's sentence, and the form stays open.
        form->regexEdit()->setText(QStringLiteral("("));
        form->accept();
        QVERIFY2(form->errorLabel()->text().contains(QLatin1String("invalid regular expression '('")),
                 qPrintable(form->errorLabel()->text()));
        QVERIFY(form->isVisible());
        // Fixed, with another action: a second rule, then moved above the first. A rule without a condition
        // is refused by the form (it would act on every message), as is one whose action was not chosen.
        form->regexEdit()->clear();
        form->nameEdit()->setText(QStringLiteral("slow"));
        form->msBox()->setValue(5);
        form->accept();
        QVERIFY2(form->errorLabel()->text().contains(QLatin1String("Give the rule a condition")),
                 qPrintable(form->errorLabel()->text()));
        QVERIFY(form->isVisible());
        form->typeBox()->setCurrentIndex(form->typeBox()->findData(QStringLiteral("text")));
        form->accept();
        QVERIFY(QTest::qWaitFor([&] { return dialog->table()->rowCount() == 2; }, WaitMs));
        dialog->table()->setCurrentCell(1, 0);
        dialog->move(-1);
        QCOMPARE(dialog->table()->item(0, ui::RulesDialog::NameColumn)->text(), QStringLiteral("slow"));
        dialog->removeRule(); // the current one: "slow"
        QCOMPARE(dialog->table()->rowCount(), 1);
        // Export and import: the file --rules reads; importing adds its rules after these.
        QTemporaryDir files;
        const QString exported = files.filePath(QStringLiteral("rules.json"));
        QVERIFY(dialog->exportTo(exported));
        QString loadError;
        QVERIFY2(intercept::RuleSet::load(exported, &loadError), qPrintable(loadError));
        QVERIFY(dialog->importFrom(exported));
        QCOMPARE(dialog->table()->rowCount(), 2);
        QFile broken(files.filePath(QStringLiteral("broken.json")));
        QVERIFY(broken.open(QIODevice::WriteOnly));
        broken.write(R"({"rules": [{"action": "explode"}]})");
        broken.close();
        QVERIFY(!dialog->importFrom(broken.fileName()));
        QVERIFY2(dialog->errorLabel()->text().contains(QLatin1String("unknown action 'explode'")),
                 qPrintable(dialog->errorLabel()->text()));
        dialog->table()->setCurrentCell(1, 0);
        dialog->removeRule(); // the imported copy
        dialog->accept();

        const auto rules = w.hub->rules();
        QCOMPARE(rules->rules.size(), size_t(1));
        QCOMPARE(rules->rules[0].name, QStringLiteral("mask secrets"));
        QCOMPARE(rules->rules[0].action, intercept::Action::RegexReplace);
        const QString saved = QSettings(QStringLiteral("socktap"), QStringLiteral("socktap"))
                                  .value("intercept/rules")
                                  .toString();
        QVERIFY2(saved.contains(QLatin1String("\"mask secrets\"")), qPrintable(saved));
        QVERIFY(!saved.contains('\n')); // compact

        // It acts on the live session, and a new window's empty hub gets it back.
        w.client->sendTextMessage(QStringLiteral("login secret=hunter2"));
        QVERIFY(
            QTest::qWaitFor([&] { return echo(w).contains(QStringLiteral("login secret=XXX")); }, WaitMs));
        intercept::InterceptHub fresh;
        ui::RulesDialog::loadSaved(fresh);
        QCOMPARE(fresh.rules()->rules.size(), size_t(1));
        QSettings(QStringLiteral("socktap"), QStringLiteral("socktap")).remove("intercept/rules");
    }

    // (g) The message list's Resend to server sends the selected message again, flagged resent; Session >
    // Close session sends the chosen code.
    void resendAndCloseSession()
    {
        LiveWindow w;
        QVERIFY(w.open());
        w.client->sendTextMessage(QStringLiteral("say it twice"));
        QVERIFY(QTest::qWaitFor([&] { return echo(w).size() == 1; }, WaitMs));
        ui::MessagesPanel *messages = w.window->messagesPanel();
        QVERIFY(QTest::qWaitFor([&] { return messages->model()->rowCount() >= 1; }, WaitMs));
        QVERIFY(messages->selectMessage(0));
        QVERIFY(messages->resendToServerAction()->isEnabled());
        messages->resendToServerAction()->trigger();
        QVERIFY(QTest::qWaitFor([&] { return echo(w).size() == 2; }, WaitMs));
        QCOMPARE(echo(w)[1], QStringLiteral("say it twice"));
        QVERIFY(QTest::qWaitFor([&] { return !w.flagged(capture::MessageFlag::Resent).empty(); }, WaitMs));
        QCOMPARE(w.flagged(capture::MessageFlag::Resent)[0].record.direction(), FromClient);

        // Edit and resend opens Compose with the message in it.
        messages->editAndResendAction()->trigger();
        QCOMPARE(w.window->tabs()->currentIndex(), int(ui::MainWindow::ComposeTab));
        QCOMPARE(w.window->composePanel()->editor()->payloadEdit()->toPlainText(),
                 QStringLiteral("say it twice"));

        // Close session…: an invalid code to the client only.
        QSignalSpy closed(w.client.get(), &QWebSocket::disconnected);
        w.window->intercept()->closeSessionAction()->trigger();
        auto *dialog = waitChild<ui::CloseSessionDialog>(w.window.get());
        QVERIFY(dialog);
        dialog->codeBox()->setValue(4321);
        dialog->reasonEdit()->setText(QStringLiteral("from the gui"));
        dialog->peersBox()->setCurrentIndex(ui::CloseSessionDialog::ClientOnly);
        // The dialog's other choices, as commands: without the closing handshake, a reset of one side.
        QVERIFY(dialog->command().handshake);
        QVERIFY(!dialog->resetBox()->isEnabled());
        dialog->abruptBox()->setChecked(true);
        QVERIFY(!dialog->command().handshake);
        dialog->abruptBox()->setChecked(false);
        dialog->resetChoice()->setChecked(true);
        QVERIFY(dialog->resetBox()->isEnabled() && !dialog->abruptBox()->isEnabled());
        dialog->resetBox()->setCurrentIndex(ui::CloseSessionDialog::ServerOnly);
        const intercept::SessionCommand reset = dialog->command();
        QCOMPARE(reset.kind, intercept::SessionCommand::Kind::Reset);
        QVERIFY(!reset.toClient && reset.toServer);
        dialog->closeChoice()->setChecked(true);
        dialog->accept();
        QVERIFY(QTest::qWaitFor([&] { return closed.size() == 1; }, WaitMs));
        QCOMPARE(int(w.client->closeCode()), 4321);
        QCOMPARE(w.client->closeReason(), QStringLiteral("from the gui"));
    }

    // Forwarding when the proxy is stopped answers with an error in the pane, not a hang.
    void commandsWithoutEngine()
    {
        LiveWindow w;
        bool answered = false;
        intercept::CommandResult result;
        w.window->proxy()->sendCommand(1, {}, w.window.get(), [&](const intercept::CommandResult &r) {
            answered = true;
            result = r;
        });
        QVERIFY(!answered); // asynchronous like the engine's answers
        QVERIFY(QTest::qWaitFor([&] { return answered; }, WaitMs));
        QVERIFY(!result.ok);
        QVERIFY(result.error.contains(QLatin1String("stopped")));
    }

    // File > Open adds a native capture's sessions (selecting none); Save As writes a file that reopens
    // with the same sessions and messages; Export writes HAR of the selected sessions and a session as text.
    void openSaveAndExport()
    {
        FileWindow w;
        const QString sample = w.path("sample.socktap");
        QVERIFY(writeCapture(w.path("recorded.socktap"), 2, 3, 0, sample));
        QVERIFY(w.window->files()->openCaptureFile(sample));
        QVERIFY(w.window->files()->isBusy());
        QVERIFY(!w.window->files()->openCaptureFile(sample)); // one job at a time
        QTRY_COMPARE_WITH_TIMEOUT(w.window->sessions()->rowCount(), 2, WaitMs);
        QVERIFY(w.idle());
        QVERIFY2(w.window->files()->lastFileError().isEmpty(),
                 qPrintable(w.window->files()->lastFileError()));
        QVERIFY(w.rowOf("ws://sample.test:80/chat/1") >= 0);
        QVERIFY(w.rowOf("ws://sample.test:80/chat/2") >= 0);
        QCOMPARE(w.window->currentSession(), capture::SessionId(0)); // nothing selected for the user
        QVERIFY2(w.status().contains(QLatin1String("opened sample.socktap: 2 sessions, 6 messages")),
                 qPrintable(w.status()));
        QVERIFY(w.window->files()->status()->warnings().isEmpty());
        QVERIFY(!w.window->files()->status()->hasUnsavedCapture()); // all of it is in sample.socktap
        QCOMPARE(w.window->files()->menu()->recentFiles(),
                 QStringList {QFileInfo(sample).absoluteFilePath()});

        // A session captured live is lost at exit until saved.
        capture::CaptureWriter live(w.store);
        const capture::SessionId liveId = w.store.newSessionId();
        live.session(sampleSession(liveId, "/live"));
        live.flush();
        writeSampleMessages(live, liveId, 2);
        QTRY_COMPARE_WITH_TIMEOUT(w.window->sessions()->rowCount(), 3, WaitMs);
        QVERIFY(w.window->files()->status()->hasUnsavedCapture());
        const QString saved = w.path("saved.socktap");
        QVERIFY(w.window->files()->saveCaptureTo(saved));
        QVERIFY(w.idle());
        QVERIFY2(w.window->files()->lastFileError().isEmpty(),
                 qPrintable(w.window->files()->lastFileError()));
        QCOMPARE(w.window->files()->savePath(), saved);
        QVERIFY(!w.window->files()->status()->hasUnsavedCapture());
        QVERIFY2(w.status().contains(QLatin1String("saved")), qPrintable(w.status()));
        QCOMPARE(w.window->files()->menu()->recentFiles().first(), QFileInfo(saved).absoluteFilePath());
        capture::CaptureStore reread;
        QString error;
        const auto reopened = capture::openNative(saved, reread, &error);
        QVERIFY2(reopened, qPrintable(error));
        QCOMPARE(reopened->sessions, quint64(3));
        QCOMPARE(reopened->messages, quint64(8));
        QStringList urls;
        for (const capture::SessionId id : reread.sessionIds())
            urls << QString::fromLatin1(reread.session(id)->url());
        urls.sort();
        QCOMPARE(urls,
                 QStringList({QStringLiteral("ws://sample.test:80/chat/1"),
                              QStringLiteral("ws://sample.test:80/chat/2"),
                              QStringLiteral("ws://sample.test:80/live")}));

        // HAR of the two selected sessions: Chrome's shape, their messages in _webSocketMessages.
        QItemSelectionModel *selection = w.window->sessionView()->selectionModel();
        for (const QByteArray url : {"ws://sample.test:80/chat/1", "ws://sample.test:80/live"}) {
            QVERIFY(w.viewIndexOf(url).isValid());
            selection->select(w.viewIndexOf(url), QItemSelectionModel::Select | QItemSelectionModel::Rows);
        }
        const std::vector<capture::SessionId> selected = w.window->selectedSessions();
        QCOMPARE(selected.size(), size_t(2));
        const QString har = w.path("selected.har");
        QVERIFY(w.window->files()->exportHarTo(har, selected));
        QVERIFY(w.idle());
        QVERIFY2(w.window->files()->lastFileError().isEmpty(),
                 qPrintable(w.window->files()->lastFileError()));
        QJsonParseError parseError;
        const QJsonDocument doc = QJsonDocument::fromJson(readFile(har), &parseError);
        QVERIFY2(parseError.error == QJsonParseError::NoError, qPrintable(parseError.errorString()));
        const QJsonArray entries = doc.object().value("log").toObject().value("entries").toArray();
        QCOMPARE(entries.size(), 2);
        QList<int> messageCounts;
        for (const QJsonValue &entry : entries)
            messageCounts << int(entry.toObject().value("_webSocketMessages").toArray().size());
        std::sort(messageCounts.begin(), messageCounts.end());
        QCOMPARE(messageCounts, QList<int>({2, 3}));

        // One session as text: > client to server, < server to client.
        const QString text = w.path("session.txt");
        QVERIFY(w.window->files()->exportTextTo(text, selected.front()));
        QVERIFY(w.idle());
        QVERIFY2(w.window->files()->lastFileError().isEmpty(),
                 qPrintable(w.window->files()->lastFileError()));
        const QString conversation = QString::fromUtf8(readFile(text));
        QVERIFY2(conversation.contains(QLatin1String(" > message 0\n")), qPrintable(conversation));
        QVERIFY2(conversation.contains(QLatin1String(" < message 1\n")), qPrintable(conversation));
        QVERIFY(conversation.contains(QLatin1String("sample.test")));
    }

    // A file that is no capture: the API's own sentence in a message box that does not block, and nothing
    // added. A last line cut off mid-write: opened, with a warning in the status bar.
    void openErrorsAndWarnings()
    {
        FileWindow w;
        const QString bad = w.path("notes.txt");
        {
            QFile f(bad);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("these are not the sessions you are looking for\n");
        }
        capture::CaptureStore scratch;
        QString expected;
        QVERIFY(!capture::openCapture(bad, scratch, &expected));
        QSignalSpy finished(w.window->files(), &ui::FilesFeature::fileJobFinished);
        QVERIFY(w.window->files()->openCaptureFile(bad));
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, WaitMs);
        QCOMPARE(finished[0][0].toBool(), false);
        QCOMPARE(finished[0][1].toString(), expected);
        QCOMPARE(w.window->files()->lastFileError(), expected);
        auto *box = waitChild<QMessageBox>(w.window.get());
        QVERIFY(box);
        QVERIFY(box->isVisible());
        QCOMPARE(box->icon(), QMessageBox::Warning);
        QCOMPARE(box->text(), expected);
        box->accept();
        QCOMPARE(w.window->sessions()->rowCount(), 0);
        QVERIFY(w.window->files()->menu()->recentFiles().isEmpty()); // only files that opened

        const QString cut = w.path("cut.socktap");
        QVERIFY(writeCapture(cut, 1, 4));
        {
            QFile f(cut);
            QVERIFY(f.open(QIODevice::Append));
            f.write("{\"type\":\"message\",\"session\":1,\"dir"); // (no raw string: moc miscounts its quotes)
        }
        QVERIFY(w.window->files()->openCaptureFile(cut));
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 2, WaitMs);
        QVERIFY(finished[1][0].toBool());
        QCOMPARE(w.window->sessions()->rowCount(), 1);
        QCOMPARE(w.window->files()->status()->warnings().size(), 1);
        QVERIFY2(w.window->files()->status()->warnings()[0].contains(QLatin1String("incomplete")),
                 qPrintable(w.window->files()->status()->warnings()[0]));
        QVERIFY2(w.status().contains(QLatin1String("1 session, 4 messages; warning:")),
                 qPrintable(w.status()));
        QVERIFY(w.window->files()->status()->warningsLabel()->isVisible());
        QVERIFY(
            w.window->files()->status()->warningsLabel()->toolTip().contains(QLatin1String("incomplete")));
        QVERIFY(!w.window->findChild<QMessageBox *>()); // a warning is no reason for a box
    }

    // A long open shows progress and stops at Cancel, keeping what it read, and the window goes on working;
    // closing or destroying the window while a file loads waits for the thread, never crashes.
    void cancelLongOpen()
    {
        FileWindow w;
        const QString big = w.path("big.socktap");
        const int total = 200000;
        QVERIFY(writeCapture(big, 1, total, 100));
        QVERIFY(QFileInfo(big).size() > (24 << 20)); // several of the reader's 8 MiB chunks
        QSignalSpy finished(w.window->files(), &ui::FilesFeature::fileJobFinished);
        QVERIFY(w.window->files()->openCaptureFile(big));
        QVERIFY(w.window->files()->jobProgress()->isVisible());
        QVERIFY(w.window->files()->jobCancelButton()->isEnabled());
        QTest::mouseClick(w.window->files()->jobCancelButton(), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, WaitMs);
        QCOMPARE(finished[0][0].toBool(), false);
        QCOMPARE(finished[0][1].toString(), QStringLiteral("cancelled"));
        QVERIFY(!w.window->files()->jobProgress()->isVisible());
        QVERIFY(w.window->files()->lastFileError().isEmpty()); // not an error: no box
        QVERIFY(!w.window->findChild<QMessageBox *>());
        QVERIFY2(w.status().contains(QLatin1String("cancelled")), qPrintable(w.status()));
        const quint64 read = w.store.stats().messages;
        QVERIFY2(read > 0 && read < quint64(total), qPrintable(QString::number(read)));

        // Still usable: another file opens.
        const QString small = w.path("small.socktap");
        QVERIFY(writeCapture(small, 2, 3));
        QVERIFY(w.window->files()->openCaptureFile(small));
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 2, WaitMs);
        QVERIFY(finished[1][0].toBool());
        QCOMPARE(w.window->sessions()->rowCount(), 3);

        // Closing while a file loads: the load stops, then the window closes.
        QVERIFY(w.window->files()->openCaptureFile(big));
        w.window->close();
        QVERIFY(w.window->isVisible());
        QTRY_VERIFY_WITH_TIMEOUT(!w.window->isVisible(), WaitMs);
        QVERIFY(!w.window->files()->isBusy());

        // Destroyed while a file loads: the destructor stops and waits for the thread.
        QVERIFY(w.window->files()->openCaptureFile(big));
        QTest::qWait(20);
        w.window.reset();
        QVERIFY(w.store.stats().sessions >= 3);
    }

    // A HAR file dropped on the window opens like File > Open; its messages say their frames are unknown.
    void dropHarFile()
    {
        FileWindow w;
        const QString har = harFile("chrome.har");
        capture::CaptureStore scratch;
        QString error;
        const auto expected = capture::openCapture(har, scratch, &error);
        QVERIFY2(expected, qPrintable(error));

        // Only capture files are taken.
        const QString other = w.path("other.txt");
        {
            QFile f(other);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("plain text");
        }
        QMimeData notCapture;
        notCapture.setUrls({QUrl::fromLocalFile(other)});
        QDragEnterEvent refused(QPoint(20, 20), Qt::CopyAction, &notCapture, Qt::LeftButton, Qt::NoModifier);
        refused.setAccepted(false);
        QApplication::sendEvent(w.window.get(), &refused);
        QVERIFY(!refused.isAccepted());

        QMimeData mime;
        mime.setUrls({QUrl::fromLocalFile(har)});
        // Dropped on a read-only text view, the drag reaches the window all the same.
        auto *text = w.window->messagesPanel()->payload()->findChild<QPlainTextEdit *>();
        QDragEnterEvent overText(QPoint(5, 5), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        overText.setAccepted(false);
        QApplication::sendEvent(text->viewport(), &overText);
        QVERIFY(overText.isAccepted());
        // On the session list, as a user would.
        QWidget *list = w.window->sessionView()->viewport();
        QDragEnterEvent enter(QPoint(20, 20), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        enter.setAccepted(false);
        QApplication::sendEvent(list, &enter);
        QVERIFY(enter.isAccepted());
        QDropEvent drop(QPointF(20, 20), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        drop.setAccepted(false);
        QApplication::sendEvent(list, &drop);
        QVERIFY(drop.isAccepted());
        QVERIFY(w.window->files()->isBusy());
        QVERIFY(!w.window->files()->jobCancelButton()->isEnabled()); // a HAR file is parsed whole
        QTRY_COMPARE_WITH_TIMEOUT(w.window->sessions()->rowCount(), int(expected->sessions), WaitMs);
        QVERIFY(w.idle());
        QVERIFY2(
            w.status().contains(QStringLiteral("opened chrome.har: %1 sessions").arg(expected->sessions)),
            qPrintable(w.status()));
        // Nothing would be lost at exit that the file does not hold.
        QVERIFY(!w.window->files()->status()->hasUnsavedCapture());
        QCOMPARE(w.window->currentSession(), capture::SessionId(0));

        const int row = w.rowOf("wss://echo.example:443/ws?token=abc");
        QVERIFY(row >= 0);
        QVERIFY(w.window->selectSession(w.window->sessions()->sessionId(row)));
        w.window->tabs()->setCurrentIndex(ui::MainWindow::MessagesTab);
        ui::MessagesPanel *messages = w.window->messagesPanel();
        QTRY_VERIFY_WITH_TIMEOUT(messages->model()->rowCount() > 0, WaitMs);
        QCOMPARE(messages->model()->index(0, ui::MessageTableModel::WireSize).data().toString(),
                 QStringLiteral("?"));
        QVERIFY(messages->selectMessage(0));
        const QTableWidget *frames = messages->payload()->framesTable();
        QCOMPARE(frames->rowCount(), 1);
        QCOMPARE(frames->item(0, 0)->text(), QStringLiteral("frames unknown (imported from HAR)"));
        QCOMPARE(frames->columnSpan(0, 0), frames->columnCount());
    }

    // Quitting asks to save only what would be lost: not with a --record file, which holds everything.
    // The status bar says where the capture lives.
    void unsavedCaptureAndStorage()
    {
        FileWindow memory;
        QVERIFY(!memory.window->files()->status()->hasUnsavedCapture()); // empty
        capture::CaptureWriter live(memory.store);
        const capture::SessionId id = memory.store.newSessionId();
        live.session(sampleSession(id, "/live"));
        live.flush();
        QTRY_COMPARE_WITH_TIMEOUT(memory.window->sessions()->rowCount(), 1, WaitMs);
        QVERIFY(memory.window->files()->status()->hasUnsavedCapture());
        QTRY_COMPARE_WITH_TIMEOUT(memory.window->files()->status()->storageLabel()->text(),
                                  QStringLiteral("capture in memory only"), WaitMs);

        capture::CaptureStore store;
        QTemporaryDir dir;
        QString error;
        const QString record = dir.filePath(QStringLiteral("record.socktap"));
        store.attachJournal(capture::CaptureFile::create(record, false, &error));
        proxy::ProxyConfig config;
        ui::MainWindow window(
            store, [&] { return std::make_unique<proxy::ProxyServer>(config, store); }, nullptr, nullptr);
        capture::CaptureWriter recorded(store);
        recorded.session(sampleSession(store.newSessionId(), "/recorded"));
        recorded.flush();
        QTRY_COMPARE_WITH_TIMEOUT(window.sessions()->rowCount(), 1, WaitMs);
        QVERIFY(!window.files()->status()->hasUnsavedCapture());
        QTRY_VERIFY_WITH_TIMEOUT(
            window.files()->status()->storageLabel()->text().startsWith(QLatin1String("recording to ")),
            WaitMs);
        QVERIFY(window.files()->status()->storageLabel()->text().endsWith(QLatin1String("record.socktap")));
    }

    // Open Recent lists what was opened or saved, newest first, forgets files that are gone, and clears.
    void recentFiles()
    {
        QSettings(QStringLiteral("socktap"), QStringLiteral("socktap"))
            .remove(QStringLiteral("files/recent"));
        FileWindow w;
        const QString first = w.path("first.socktap");
        const QString second = w.path("second.socktap");
        QVERIFY(writeCapture(first, 1, 1));
        QVERIFY(writeCapture(second, 1, 1));
        for (const QString &file : {first, second}) {
            QVERIFY(w.window->files()->openCaptureFile(file));
            QVERIFY(w.idle());
        }
        QCOMPARE(w.window->files()->menu()->recentFiles(),
                 QStringList({QFileInfo(second).absoluteFilePath(), QFileInfo(first).absoluteFilePath()}));
        const auto texts = [&] {
            emit w.window->files()->menu()->recentMenu()->aboutToShow();
            QStringList out;
            for (const QAction *a : w.window->files()->menu()->recentMenu()->actions())
                if (!a->isSeparator())
                    out << a->text();
            return out;
        };
        QCOMPARE(texts(),
                 QStringList({QStringLiteral("&1 second.socktap"), QStringLiteral("&2 first.socktap"),
                              QStringLiteral("&Clear")}));
        QVERIFY(QFile::remove(second));
        QCOMPARE(texts(), QStringList({QStringLiteral("&1 first.socktap"), QStringLiteral("&Clear")}));
        QCOMPARE(QSettings(QStringLiteral("socktap"), QStringLiteral("socktap"))
                     .value(QStringLiteral("files/recent"))
                     .toStringList()
                     .size(),
                 1);
        w.window->files()->menu()->recentMenu()->actions().constLast()->trigger(); // Clear
        QVERIFY(w.window->files()->menu()->recentFiles().isEmpty());
        QVERIFY(!w.window->files()->menu()->recentMenu()->actions().constLast()->isEnabled());
        // The File menu ends with Quit.
        QCOMPARE(w.window->files()->menu()->fileMenu()->actions().constLast()->shortcut(),
                 QKeySequence(QKeySequence::Quit));
    }

    void emptyStateSaysWhatToDo()
    {
        LiveWindow w;
        QVERIFY(!w.window->browsers()->emptyHint()->isHidden()
                || w.window->browsers()->emptyHint()->isVisibleTo(w.window.get()));
        QVERIFY(w.window->browsers()->emptyHint()->text().contains(QStringLiteral("proxy is stopped")));
        QVERIFY(w.window->proxy()->startProxy());
        const QString hint = w.window->browsers()->emptyHint()->text();
        QVERIFY2(hint.contains(QStringLiteral("127.0.0.1:%1").arg(w.window->proxy()->proxyPort())),
                 qPrintable(hint));
        QVERIFY(hint.contains(QStringLiteral("http://socktap/")));
        QVERIFY(w.window->browsers()->emptyHint()->isVisibleTo(w.window.get()));
        QVERIFY(!w.window->sessionView()->isVisibleTo(w.window.get()));
        if (const QString dir = qEnvironmentVariable("SOCKTAP_SCREENSHOTS"); !dir.isEmpty()) {
            // scripts/screenshots.sh: the light and the dark look, at 1280x800 and 1920x1080.
            for (const ui::Theme theme : {ui::Theme::Light, ui::Theme::Dark}) {
                ui::applyTheme(theme);
                QTest::qWait(50); // the palette change reaches every widget
                const QString suffix = theme == ui::Theme::Dark ? QStringLiteral("-dark") : QString();
                w.window->resize(1280, 800);
                w.window->grab().save(dir + QStringLiteral("/socktap-empty%1.png").arg(suffix));
                w.window->resize(1920, 1080);
                QTest::qWait(50);
                w.window->grab().save(dir + QStringLiteral("/socktap-empty-1920%1.png").arg(suffix));
            }
            ui::applyTheme(ui::Theme::System);
        }
        // (After the screenshots: the status bar then says what was copied.)
        w.window->browsers()->copyProxyAddressButton()->click();
        QCOMPARE(QApplication::clipboard()->text(),
                 QStringLiteral("127.0.0.1:%1").arg(w.window->proxy()->proxyPort()));
        // The first session replaces it with the list.
        QVERIFY(w.open());
        QVERIFY(
            QTest::qWaitFor([&] { return w.window->sessionView()->isVisibleTo(w.window.get()); }, WaitMs));
        QVERIFY(!w.window->browsers()->emptyHint()->isVisibleTo(w.window.get()));
    }

    void failedConnectionsDoNotVanish()
    {
        // A CONNECT to a server that is down is a failed tunnel, hidden by default with the HTTP and tunnel
        // noise; a line under the list says it happened and why, and shows them in one click.
        LiveWindow w;
        QVERIFY(w.window->proxy()->startProxy());
        auto *notice = w.window->failedConnectionsNotice();
        QVERIFY(!notice->isVisibleTo(w.window.get()));
        for (int i = 0; i < 2; ++i) {
            RawClient client;
            QVERIFY(client.connect(w.window->proxy()->proxyPort()));
            client.send("CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n");
            const auto head = client.readResponseHead();
            QVERIFY(head && head->status == 502);
        }
        QVERIFY(QTest::qWaitFor(
            [&] {
                w.window->feed()->refresh();
                return notice->count() == 2 && notice->isVisibleTo(w.window.get());
            },
            WaitMs));
        QVERIFY2(notice->text().contains(QStringLiteral("2 connections failed"))
                     && notice->text().contains("refused"),
                 qPrintable(notice->text()));
        QCOMPARE(w.window->sessionView()->model()->rowCount(), 0); // hidden by default
        if (const QString shots = qEnvironmentVariable("SOCKTAP_SCREENSHOTS"); !shots.isEmpty()) {
            w.window->resize(1280, 800);
            QTest::qWait(50);
            w.window->grab().save(shots + QStringLiteral("/socktap-failed-connections.png"));
        }
        emit notice->linkActivated(QStringLiteral("show"));
        QVERIFY(!notice->isVisibleTo(w.window.get()));
        QCOMPARE(w.window->sessionView()->model()->rowCount(), 2);
    }

    void recoveryOfferReopensTheCapture()
    {
        // A run that was killed left its journal; the next window offers it back and Reopen loads it.
        QTemporaryDir root;
        const pid_t gone = ::fork(); // a pid whose process has ended
        if (gone == 0)
            ::_exit(0);
        ::waitpid(gone, nullptr, 0);
        const QString dir = root.filePath(QStringLiteral("capture-20261206-120000-%1").arg(gone));
        QVERIFY(QDir().mkpath(dir));
        {
            capture::CaptureStore killed;
            QString error;
            auto journal =
                capture::BatchJournal::create(dir + "/" + capture::BatchJournal::FileName, 1 << 30, &error);
            QVERIFY2(journal, qPrintable(error));
            killed.setCrashJournal(journal);
            capture::CaptureWriter writer(killed);
            capture::SessionInfo s;
            s.id = killed.newSessionId();
            s.state = capture::SessionState::Open;
            s.scheme = "ws";
            s.host = "example.test";
            s.port = 80;
            s.path = "/kept";
            s.upgradedAt = capture::nowMicros();
            writer.session(s);
            writer.flush();
            journal->flush();
        }
        auto found = capture::listCaptureDirectories(root.path());
        QCOMPARE(found.size(), size_t(1));
        QVERIFY(found.front().endedAbnormally());
        LiveWindow w;
        auto *offer = new ui::RecoveryOffer(w.window.get(), found);
        QVERIFY(offer->box());
        QVERIFY2(offer->box()->text().contains(
                     "did not stop cleanly: reopen its capture of 1 session, 0 messages?"),
                 qPrintable(offer->box()->text()));
        if (const QString shots = qEnvironmentVariable("SOCKTAP_SCREENSHOTS"); !shots.isEmpty()) {
            w.window->resize(1280, 800);
            QTest::qWait(50);
            offer->box()->grab().save(shots + QStringLiteral("/socktap-recovery-offer.png"));
        }
        offer->choose(ui::RecoveryOffer::Choice::Reopen);
        QVERIFY(QTest::qWaitFor(
            [&] {
                w.window->feed()->refresh();
                return w.window->sessions()->rowCount() == 1;
            },
            WaitMs));
        QVERIFY(capture::listCaptureDirectories(root.path()).front().reported()); // not offered again
    }

    void sessionListColumns()
    {
        // Compact by default; the header's context menu shows and hides the others.
        LiveWindow w;
        QVERIFY(w.open());
        QTableView *view = w.window->sessionView();
        QStringList shown;
        for (int c = 0; c < view->model()->columnCount(); ++c)
            if (!view->isColumnHidden(c))
                shown << view->model()->headerData(c, Qt::Horizontal).toString();
        QCOMPARE(shown, QStringList({"#", "State", "URL", "Messages", "Bytes", "Close / status"}));
        const int row = 0;
        QCOMPARE(view->model()->index(row, ui::SessionTableModel::Url).data().toString(),
                 w.echo.url(QStringLiteral("/live")).toString());
        QVERIFY(w.sync());
        QVERIFY(QTest::qWaitFor(
            [&] {
                w.window->feed()->refresh();
                return view->model()->index(row, ui::SessionTableModel::Messages).data().toString()
                    == QStringLiteral("0 ↑ 0 ↓");
            },
            WaitMs));

        std::unique_ptr<QMenu> menu(w.window->sessionColumns()->menu());
        QAction *started = nullptr;
        for (QAction *a : menu->actions())
            if (a->text() == QStringLiteral("Started"))
                started = a;
        QVERIFY(started && started->isCheckable() && !started->isChecked());
        started->trigger();
        QVERIFY(!view->isColumnHidden(ui::SessionTableModel::Started));
        QVERIFY(QRegularExpression(QStringLiteral("^\\d\\d:\\d\\d:\\d\\d\\.\\d\\d\\d$"))
                    .match(view->model()->index(row, ui::SessionTableModel::Started).data().toString())
                    .hasMatch());
        // Hide all but one: the last visible column cannot go.
        for (int pass = 0; pass < 2; ++pass) {
            menu.reset(w.window->sessionColumns()->menu());
            for (QAction *a : menu->actions())
                if (a->isChecked() && a->isEnabled() && a->text() != QStringLiteral("URL"))
                    a->trigger();
        }
        menu.reset(w.window->sessionColumns()->menu());
        int visible = 0;
        for (QAction *a : menu->actions()) {
            visible += a->isChecked();
            if (a->isChecked())
                QVERIFY(!a->isEnabled());
        }
        QCOMPARE(visible, 1);
        QVERIFY(!view->isColumnHidden(ui::SessionTableModel::Url));
    }

    void messageListContextMenu()
    {
        // Until a session is picked the inspectors say so; then right-click on a message: resend, edit and
        // resend, copy three ways, save the payload.
        LiveWindow w;
        QVERIFY(w.window->noSessionHint()->isVisibleTo(w.window.get()));
        QVERIFY(!w.window->tabs()->isVisibleTo(w.window.get()));
        QVERIFY(w.open());
        QVERIFY(w.window->tabs()->isVisibleTo(w.window.get()));
        w.client->sendTextMessage(QStringLiteral(R"({"b":1,"a":2})"));
        ui::MessagesPanel *messages = w.window->messagesPanel();
        QVERIFY(QTest::qWaitFor(
            [&] {
                w.window->feed()->refresh();
                return messages->model()->rowCount() >= 2;
            },
            WaitMs));
        QVERIFY(messages->payload()->text().isEmpty()); // nothing selected: the placeholder shows
        QVERIFY(messages->selectMessage(0));
        std::unique_ptr<QMenu> menu(messages->contextMenu());
        QStringList texts;
        for (QAction *a : menu->actions())
            if (!a->isSeparator()) {
                texts << a->text().remove(QLatin1Char('&'));
                QVERIFY2(a->isEnabled(), qPrintable(a->text()));
            }
        QCOMPARE(texts,
                 QStringList({"Resend to server", "Resend to client", "Edit and resend…", "Copy as text",
                              "Copy as hex", "Copy as base64", "Save payload…"}));
        messages->copyTextAction()->trigger();
        QCOMPARE(QApplication::clipboard()->text(), QStringLiteral(R"({"b":1,"a":2})"));
        QTemporaryDir dir;
        QVERIFY(messages->payload()->saveTo(dir.filePath("p.json")));
        QFile saved(dir.filePath("p.json"));
        QVERIFY(saved.open(QIODevice::ReadOnly));
        QCOMPARE(saved.readAll(), QByteArray(R"({"b":1,"a":2})"));
        // Resend from the menu reaches the server again.
        const int before = int(w.echo.texts.size());
        messages->resendToServerAction()->trigger();
        QVERIFY(QTest::qWaitFor([&] { return int(w.echo.texts.size()) == before + 1; }, WaitMs));
        QCOMPARE(w.echo.texts.back(), QStringLiteral(R"({"b":1,"a":2})"));
    }

    void aPortInUseIsSaidInTheProxyLabel()
    {
        // Not as a temporary message drawn over "Proxy stopped" and the Start button: in the label itself.
        QTcpServer holder;
        QVERIFY(holder.listen(QHostAddress::LocalHost, 0));
        LiveWindow w;
        w.config.listenPort = holder.serverPort();
        QVERIFY(!w.window->proxy()->startProxy());
        QVERIFY2(
            w.window->proxy()->listeningText().startsWith(QLatin1String("Proxy stopped: "))
                && w.window->proxy()->listeningText().contains(QLatin1String("in use by another program")),
            qPrintable(w.window->proxy()->listeningText()));
        QVERIFY(w.window->statusBar()->currentMessage().isEmpty());
        w.config.listenPort = 0;
        QVERIFY(w.window->proxy()->startProxy());
        QVERIFY(w.window->proxy()->listeningText().startsWith(QLatin1String("Proxy on 127.0.0.1:")));
    }

    void settingsApplyAndSayWhy()
    {
        LiveWindow w;
        w.window->proxy()->setEditableConfig(&w.config, ui::Theme::System);
        QVERIFY(w.window->proxy()->startProxy());
        QSignalSpy restarted(w.window->proxy(), &ui::ProxyFeature::proxyRestarted);

        // A port another program holds: the reason, and the proxy back where it was.
        QTcpServer holder;
        QVERIFY(holder.listen(QHostAddress::LocalHost, 0));
        ui::SettingsDialog dialog(w.window->proxy()->currentSettings(), QStringLiteral("Socktap Root CA"),
                                  w.window.get());
        QCOMPARE(dialog.addressEdit()->text(), QStringLiteral("127.0.0.1"));
        QVERIFY(dialog.verifyBox()->isChecked());
        dialog.portBox()->setValue(holder.serverPort());
        dialog.verifyBox()->setChecked(false);
        dialog.memoryBox()->setValue(64);
        dialog.themeBox()->setCurrentIndex(dialog.themeBox()->findData(QStringLiteral("dark")));
        auto chosen = dialog.settings();
        QVERIFY(chosen);
        w.window->proxy()->applySettings(*chosen);
        QVERIFY(restarted.wait(WaitMs));
        QCOMPARE(restarted.back().at(0).toBool(), false);
        const QString why = restarted.back().at(1).toString();
        QVERIFY2(why.contains(QStringLiteral("in use by another program")), qPrintable(why));
        QVERIFY(w.window->proxy()->isListening());
        QVERIFY(w.window->proxy()->proxyPort() != holder.serverPort());
        // The rest applied: the budget, the theme.
        QCOMPARE(w.store.stats().memoryLimit, quint64(64) << 20);
        QVERIFY(QApplication::palette().color(QPalette::Window).lightness() < 80);

        // A free port: the proxy moves there, and clients reach it.
        QTcpServer probe;
        QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
        const quint16 free = probe.serverPort();
        probe.close();
        dialog.portBox()->setValue(free);
        dialog.themeBox()->setCurrentIndex(dialog.themeBox()->findData(QStringLiteral("system")));
        chosen = dialog.settings();
        w.window->proxy()->applySettings(*chosen);
        QVERIFY(restarted.wait(WaitMs));
        QCOMPARE(restarted.back().at(0).toBool(), true);
        QCOMPARE(w.window->proxy()->proxyPort(), free);
        QCOMPARE(w.config.insecureUpstream, true); // verification off, as chosen
        QVERIFY(w.open());

        // What is not an address is refused in the dialog.
        dialog.addressEdit()->setText(QStringLiteral("my laptop"));
        QString error;
        QVERIFY(!dialog.settings(&error));
        QVERIFY(error.contains(QStringLiteral("not an IP address")));
    }

    void settingsBeyondLoopbackAndFailedAddressesNotKept()
    {
        const TemporarySettings settings;
        LiveWindow w;
        w.window->proxy()->setEditableConfig(&w.config, ui::Theme::System);
        QVERIFY(w.window->proxy()->startProxy());
        QSignalSpy restarted(w.window->proxy(), &ui::ProxyFeature::proxyRestarted);

        // A change that is not the address (verification) restarts on the same port, even with "any free
        // port" configured: clients and launched browsers keep reaching it.
        const quint16 port = w.window->proxy()->proxyPort();
        ui::WindowSettings unverified = w.window->proxy()->currentSettings();
        unverified.verifyUpstream = false;
        w.window->proxy()->settingsChosen(unverified);
        QVERIFY(restarted.wait(WaitMs));
        QVERIFY(restarted.back().at(0).toBool());
        QCOMPARE(w.window->proxy()->proxyPort(), port);
        QCOMPARE(w.config.listenPort, quint16(0));

        // Moving to every interface: proxy use now needs credentials, as at a start with --listen 0.0.0.0.
        ui::WindowSettings open = w.window->proxy()->currentSettings();
        open.listenAddress = QHostAddress::AnyIPv4;
        w.window->proxy()->settingsChosen(open);
        QVERIFY(restarted.wait(WaitMs));
        QVERIFY(restarted.back().at(0).toBool());
        QVERIFY(!w.config.proxyCredentials.isEmpty());
        QVERIFY(w.window->proxy()->exposureWarning().contains(QString::fromUtf8(w.config.proxyCredentials)));
        RawClient anonymous;
        QVERIFY(anonymous.connect(w.window->proxy()->proxyPort()));
        anonymous.send("CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n");
        const auto refused = anonymous.readResponseHead();
        QVERIFY(refused && refused->status == 407);
        // Back on loopback, the credentials it made up are dropped.
        open.listenAddress = QHostAddress::LocalHost;
        w.window->proxy()->settingsChosen(open);
        QVERIFY(restarted.wait(WaitMs));
        QVERIFY(w.config.proxyCredentials.isEmpty());

        // A port another program holds: not kept for the next start either.
        QTcpServer holder;
        QVERIFY(holder.listen(QHostAddress::LocalHost, 0));
        ui::WindowSettings taken = w.window->proxy()->currentSettings();
        taken.listenPort = holder.serverPort();
        taken.memoryBudget = 96ull << 20;
        w.window->proxy()->settingsChosen(taken);
        QVERIFY(restarted.wait(WaitMs));
        QVERIFY(!restarted.back().at(0).toBool());
        const ui::WindowSettings saved = ui::WindowSettings::restore(ui::WindowSettings {}, {});
        QCOMPARE(saved.listenPort, quint16(0)); // what runs: any free port, as before
        QCOMPARE(saved.memoryBudget, 96ull << 20); // the rest of the choice stays
    }

    void settingsAreKeptButTheCommandLineWins()
    {
        const TemporarySettings settings;
        ui::WindowSettings chosen;
        chosen.listenPort = 9999;
        chosen.verifyUpstream = false;
        chosen.memoryBudget = 256ull << 20;
        chosen.theme = ui::Theme::Dark;
        chosen.save();
        const ui::WindowSettings defaults;
        ui::WindowSettings next = ui::WindowSettings::restore(defaults, {});
        QCOMPARE(next.listenPort, quint16(9999));
        QCOMPARE(next.verifyUpstream, false);
        QCOMPARE(next.memoryBudget, 256ull << 20);
        QCOMPARE(next.theme, ui::Theme::Dark);
        // socktap --listen ... --max-capture-memory ...: those win.
        next = ui::WindowSettings::restore(defaults,
                                           {QStringLiteral("listen"), QStringLiteral("max-capture-memory")});
        QCOMPARE(next.listenPort, defaults.listenPort);
        QCOMPARE(next.memoryBudget, defaults.memoryBudget);
        QCOMPARE(next.verifyUpstream, false);
    }

    void everyShortcutIsOneAction()
    {
        // Two actions on one key make Qt fire neither ("ambiguous shortcut"): Ctrl+R was Replay and Rules.
        LiveWindow w;
        QHash<QString, QString> owner;
        const auto actions = w.window->findChildren<QAction *>();
        for (QAction *a : QSet<QAction *>(actions.begin(), actions.end())) {
            for (const QKeySequence &key : a->shortcuts()) {
                const QString name = key.toString();
                QVERIFY2(!owner.contains(name),
                         qPrintable(QStringLiteral("%1: %2 and %3").arg(name, owner[name], a->text())));
                owner[name] = a->text();
            }
        }
        QVERIFY(owner.size() > 10);
    }

    void openBrowserFromTheEmptyWindow()
    {
        // The empty window's button starts a browser through the proxy with a throw-away profile. A stand-in
        // "chromium" first on PATH records how it was started and what its HOME holds, then waits to be
        // closed: closing the window must stop it and remove the profile.
        QTemporaryDir bin;
        const QString record = bin.filePath("started.txt");
        QVERIFY(!writeStandIn(bin.path(), QStringLiteral("chromium"),
                              QStringLiteral("{ echo \"HOME=$HOME\"; for a in \"$@\"; do echo \"$a\"; done;"
                                             "  certutil -L -d \"sql:$HOME/.pki/nssdb\"; } > '%1.part'\n"
                                             "mv '%1.part' '%1'\n"
                                             "exec sleep 60\n")
                                  .arg(record)
                                  .toUtf8())
                     .isEmpty());
        const QByteArray path = qgetenv("PATH");
        qputenv("PATH", bin.path().toUtf8() + ':' + path);
        const auto restore = qScopeGuard([&] { qputenv("PATH", path); });

        LiveWindow w(true);
        QPushButton *button = w.window->browsers()->emptyBrowserButton();
        QVERIFY(button->isVisibleTo(w.window.get()));
        QVERIFY(!button->isEnabled()); // nothing to go through while the proxy is stopped
        QVERIFY(w.window->proxy()->startProxy());
        QVERIFY(button->isEnabled());
        button->click();
        QVERIFY(QTest::qWaitFor([&] { return QFile::exists(record); }, WaitMs));
        QCOMPARE(w.window->browsers()->running().size(), 1);
        QFile f(record);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QString started = QString::fromUtf8(f.readAll());
        QVERIFY2(
            started.contains(
                QStringLiteral("--proxy-server=http://127.0.0.1:%1\n").arg(w.window->proxy()->proxyPort())),
            qPrintable(started));
        QVERIFY(started.contains(QStringLiteral("--proxy-bypass-list=<-loopback>\n")));
        QVERIFY(started.contains(QStringLiteral("--no-first-run\n")));
        // Socktap's CA, trusted for servers, in the throw-away HOME's NSS database.
        QVERIFY2(started.contains(QRegularExpression(QStringLiteral("Socktap CA\\s+C,,"))),
                 qPrintable(started));
        const QString profile = w.window->browsers()->running().front()->profileDirectory();
        QVERIFY(started.contains(QStringLiteral("HOME=%1/home\n").arg(profile)));
        QVERIFY(started.contains(QStringLiteral("--user-data-dir=%1/profile\n").arg(profile)));
        QVERIFY(QFileInfo::exists(profile));

        // The empty page's link to the CA page opens it in a browser through Socktap (it exists nowhere
        // else).
        QVERIFY(QFile::remove(record));
        QVERIFY(
            w.window->browsers()->emptyHint()->text().contains(QStringLiteral("href=\"http://socktap/\"")));
        emit w.window->browsers()->emptyHint()->linkActivated(QStringLiteral("http://socktap/"));
        QVERIFY(QTest::qWaitFor([&] { return QFile::exists(record); }, WaitMs));
        QFile second(record);
        QVERIFY(second.open(QIODevice::ReadOnly));
        QVERIFY(second.readAll().contains("\nhttp://socktap/\n"));
        QCOMPARE(w.window->browsers()->running().size(), 2);

        // Tools has it too, with the shortcut.
        bool inTools = false;
        for (QAction *a : w.window->toolsMenu()->actions())
            inTools |= a->text().contains(QStringLiteral("Open Chromium through Socktap"))
                && a->shortcut() == QKeySequence(Qt::CTRL | Qt::Key_B);
        QVERIFY(inTools);

        w.window.reset(); // the window's browsers go with it, and their profiles
        QVERIFY(!QFileInfo::exists(profile));
    }

    void openBrowserWithoutAnyBrowser()
    {
        // Nothing on PATH: the window says what to install instead of failing quietly.
        QTemporaryDir empty;
        const QByteArray path = qgetenv("PATH");
        qputenv("PATH", empty.path().toUtf8());
        const auto restore = qScopeGuard([&] { qputenv("PATH", path); });
        LiveWindow w(true);
        QVERIFY(w.window->proxy()->startProxy());
        QString error;
        QVERIFY(!w.window->browsers()->openBrowser({}, {}, false, {}, &error));
        QVERIFY2(error.contains(QStringLiteral("No browser found"))
                     && error.contains(QStringLiteral("chromium")),
                 qPrintable(error));
        QVERIFY(w.window->statusBar()->currentMessage().contains(QStringLiteral("No browser found")));
        QVERIFY(w.window->browsers()->running().isEmpty());
    }

    // Session > Serve as mock: the recorded server answers the session's URL from now on (a message the
    // echo server would have echoed gets the recorded answer instead), the new session is flagged mocked,
    // and the rule that does it is rule 1 in the rules.
    // Tools > Scripts (issue 21): a script added in the window changes live traffic and registers a format
    // the message list shows; edited in the dialog's editor and saved, it is reloaded at once (the next
    // message meets the new version, session.state kept); its console.log lines and an exception with its
    // file and line show in the console pane; the list is saved for the next start.
    void scriptsFromTheWindow()
    {
        const TemporarySettings settings;
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("tag.js"));
        const auto write = [&](const QByteArray &source) {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
            f.write(source);
        };
        write("registerFormat({name: 'kv', detect: function (m) { return /^\\w+=/.test(m.text || ''); },\n"
              "  decode: function (m) { var p = m.text.split('='); var o = {}; o[p[0]] = p[1]; return o; },\n"
              "  summary: function (m, v) { return 'kv ' + Object.keys(v)[0]; }});\n"
              "function onClientMessage(message, session) {\n"
              "    session.state.n = (session.state.n || 0) + 1;\n"
              "    return message.text + ' v1';\n"
              "}\n");
        LiveWindow w;
        QVERIFY(w.open());
        w.window->scripts()->setEntries({{path, true, {}}});
        QVERIFY(w.hub->scripts());
        w.client->sendTextMessage(QStringLiteral("a=1"));
        QVERIFY(QTest::qWaitFor([&] { return w.echo.texts.contains(QStringLiteral("a=1 v1")); }, WaitMs));

        w.window->scripts()->show();
        auto *editor =
            w.window->scripts()->dialog()->findChild<QPlainTextEdit *>(QStringLiteral("scriptEditor"));
        auto *save = w.window->scripts()->dialog()->findChild<QPushButton *>(QStringLiteral("scriptSave"));
        auto *console =
            w.window->scripts()->dialog()->findChild<QPlainTextEdit *>(QStringLiteral("scriptConsole"));
        QVERIFY(editor && save && console);
        QVERIFY(editor->toPlainText().contains(QStringLiteral("' v1'")));
        editor->setPlainText(
            editor->toPlainText()
                .replace(QStringLiteral("' v1'"), QStringLiteral("' v2 #' + session.state.n"))
                .replace(QStringLiteral("    return message"),
                         QStringLiteral("    if (message.text === 'boom') throw new "
                                        "Error('no boom');\n    console.log('seen', "
                                        "message.text);\n    return message")));
        save->click();
        w.client->sendTextMessage(QStringLiteral("b=2"));
        QVERIFY(QTest::qWaitFor([&] { return w.echo.texts.contains(QStringLiteral("b=2 v2 #2")); }, WaitMs));
        w.client->sendTextMessage(QStringLiteral("boom"));
        QVERIFY(QTest::qWaitFor([&] { return w.echo.texts.contains(QStringLiteral("boom")); }, WaitMs));
        QVERIFY(QTest::qWaitFor(
            [&] {
                return console->toPlainText().contains(QStringLiteral("tag.js:6: Error: no boom"))
                    && console->toPlainText().contains(QStringLiteral("seen b=2"));
            },
            WaitMs));
        QVERIFY2(console->toPlainText().contains(QStringLiteral("session %1").arg(w.session)),
                 qPrintable(console->toPlainText()));

        // The registered format names the client's messages in the list.
        ui::MessageTableModel *model = w.window->messagesPanel()->model();
        QVERIFY(QTest::qWaitFor(
            [&] {
                w.window->feed()->refresh();
                for (int row = 0; row < model->rowCount(); ++row)
                    if (model->index(row, ui::MessageTableModel::Summary)
                            .data()
                            .toString()
                            .contains(QStringLiteral("kv b")))
                        return true;
                return false;
            },
            WaitMs));
        if (const QString shots = qEnvironmentVariable("SOCKTAP_SCREENSHOTS"); !shots.isEmpty()) {
            QTest::qWait(300);
            w.window->scripts()->dialog()->grab().save(shots + QStringLiteral("/socktap-scripts.png"));
            w.window->tabs()->setCurrentIndex(ui::MainWindow::MessagesTab);
            w.window->messagesPanel()->selectMessage(2);
            w.window->resize(1280, 800);
            QTest::qWait(200);
            w.window->grab().save(shots + QStringLiteral("/socktap-script-format.png"));
        }
        // Turned off, the traffic crosses untouched; the list (off) is what the next start loads.
        w.window->scripts()->setEntries({{path, false, {}}});
        QVERIFY(!w.hub->scripts());
        w.client->sendTextMessage(QStringLiteral("c=3"));
        QVERIFY(QTest::qWaitFor([&] { return w.echo.texts.contains(QStringLiteral("c=3")); }, WaitMs));
        auto next = std::make_shared<intercept::InterceptHub>();
        ui::MainWindow again(
            w.store, [] { return nullptr; }, nullptr, next);
        QCOMPARE(again.scripts()->entries().size(), 1);
        QCOMPARE(again.scripts()->entries().front().path, path);
        QVERIFY(!again.scripts()->entries().front().enabled);
    }

    void serveAsMockFromTheWindow()
    {
        LiveWindow w;
        QVERIFY(w.open());
        int echoes = 0;
        QObject::connect(w.client.get(), &QWebSocket::textMessageReceived, [&] { ++echoes; });
        w.client->sendTextMessage(QStringLiteral("recorded"));
        QVERIFY(QTest::qWaitFor([&] { return echoes == 1; }, WaitMs));
        w.client->close();
        const capture::SessionId original = w.session;
        QVERIFY(QTest::qWaitFor(
            [&] { return w.store.session(original)->state == capture::SessionState::Closed; }, WaitMs));
        w.window->feed()->refresh();
        std::unique_ptr<QMenu> menu(w.window->sessionContextMenu());
        QAction *serve = w.window->mocks()->serveAction();
        QVERIFY(menu->actions().contains(serve));
        QVERIFY(serve->isEnabled());
        QString why;
        QVERIFY2(w.window->mocks()->serveAsMock(original, &why), qPrintable(why));
        const auto rules = w.hub->rules();
        QCOMPARE(rules->rules.front().action, intercept::Action::Mock);
        QCOMPARE(rules->rules.front().name, QStringLiteral("mock of session %1").arg(original));

        const auto again = openClient(w.echo.url(QStringLiteral("/live?token=2")),
                                      QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"),
                                                    w.window->proxy()->proxyPort()));
        QVERIFY(again);
        QStringList answers;
        QObject::connect(again.get(), &QWebSocket::textMessageReceived,
                         [&](const QString &m) { answers << m; });
        again->sendTextMessage(QStringLiteral("not recorded"));
        QVERIFY(QTest::qWaitFor([&] { return !answers.isEmpty(); }, WaitMs));
        QCOMPARE(answers, QStringList {QStringLiteral("recorded")}); // the capture's answer, not an echo
        QVERIFY(!w.echo.texts.contains(QStringLiteral("not recorded"))); // the server never saw it
        capture::SessionId mocked = 0;
        QVERIFY(QTest::qWaitFor(
            [&] {
                for (capture::SessionId id : w.store.sessionIds())
                    if (id != original && !w.store.session(id)->mock.isEmpty())
                        mocked = id;
                return mocked != 0;
            },
            WaitMs));
        w.window->feed()->refresh();
        w.window->selectSession(mocked);
        w.window->tabs()->setCurrentIndex(ui::MainWindow::HandshakeTab);
        QTest::qWait(100);
        if (const QString shots = qEnvironmentVariable("SOCKTAP_SCREENSHOTS"); !shots.isEmpty()) {
            w.window->resize(1280, 800);
            QTest::qWait(200);
            w.window->grab().save(shots + QStringLiteral("/socktap-mock.png"));
        }
        // Turned off in the rules, the server answers again.
        intercept::RuleSet off = *w.hub->rules();
        off.rules.front().enabled = false;
        w.hub->setRules(off);
        QCOMPARE(w.window->mocks()->host().serving(), 0);
    }

    void replayFromTheWindow()
    {
        LiveWindow w;
        QVERIFY(w.open());
        int echoes = 0;
        QObject::connect(w.client.get(), &QWebSocket::textMessageReceived, [&] { ++echoes; });
        w.client->sendTextMessage(QStringLiteral("first"));
        QVERIFY(QTest::qWaitFor([&] { return echoes == 1; }, WaitMs));
        w.client->sendTextMessage(QStringLiteral("second"));
        QVERIFY(QTest::qWaitFor([&] { return echoes == 2; }, WaitMs));
        w.client->close();
        const capture::SessionId original = w.session;
        QVERIFY(QTest::qWaitFor(
            [&] { return w.store.session(original)->state == capture::SessionState::Closed; }, WaitMs));
        // The session list's context menu offers it, as does the Session menu.
        std::unique_ptr<QMenu> menu(w.window->sessionContextMenu());
        QVERIFY(menu->actions().contains(w.window->replay()->replayAction()));
        QStringList commands;
        for (QAction *a : menu->actions())
            if (a->text().startsWith(QStringLiteral("Copy as")))
                commands << a->data().toString();
        const QString url = w.echo.url(QStringLiteral("/live")).toString();
        QCOMPARE(commands,
                 QStringList(
                     {QStringLiteral("websocat '%1'").arg(url), QStringLiteral("wscat -c '%1'").arg(url)}));
        QVERIFY(w.window->replay()->replayAction()->isEnabled());
        // The dialog: prefilled, checked, edited.
        auto plan = replay::planReplay(w.store, original, nullptr);
        QVERIFY(plan);
        ui::ReplayDialog dialog(*plan, w.window.get());
        QCOMPARE(dialog.urlEdit()->text(), w.echo.url(QStringLiteral("/live")).toString());
        dialog.urlEdit()->setText(QStringLiteral("http://not-a-websocket"));
        dialog.accept();
        QVERIFY(dialog.result() != QDialog::Accepted);
        QVERIFY(!dialog.errorLabel()->isHidden());
        dialog.urlEdit()->setText(w.echo.url(QStringLiteral("/live")).toString());
        dialog.headersEdit()->appendPlainText(QStringLiteral("X-Replayed-By: the test"));
        dialog.timingBox()->setCurrentIndex(2);
        dialog.ignoreEdit()->setText(QStringLiteral("ts, id"));
        dialog.accept();
        QCOMPARE(dialog.result(), int(QDialog::Accepted));
        QCOMPARE(dialog.timing(), replay::Timing::Conversation);
        QCOMPARE(dialog.ignoreJsonKeys(), QStringList({QStringLiteral("ts"), QStringLiteral("id")}));
        QVERIFY(std::any_of(dialog.plan().headers.begin(), dialog.plan().headers.end(), [](const auto &h) {
            return h.first == "X-Replayed-By" && h.second == "the test";
        }));
        // Played through the window's proxy: progress in the status bar, then the comparison.
        QString finished = QStringLiteral("(not yet)");
        QObject::connect(w.window->replay(), &ui::ReplayFeature::replayFinished,
                         [&](const QString &e) { finished = e; });
        replay::Replayer::Options options;
        options.timing = dialog.timing();
        QVERIFY(w.window->replay()->startReplay(dialog.plan(), options, dialog.ignoreJsonKeys()));
        QVERIFY(w.window->replay()->isReplaying());
        QVERIFY(!w.window->replay()->replayStatus()->isHidden());
        QVERIFY(!w.window->replay()->replayAction()->isEnabled()); // one at a time
        QVERIFY(QTest::qWaitFor([&] { return finished != QStringLiteral("(not yet)"); }, 3 * WaitMs));
        QCOMPARE(finished, QString());
        QVERIFY(w.window->replay()->replayStatus()->isHidden());
        ui::CompareView *view = w.window->replay()->compareView();
        QVERIFY(view);
        QVERIFY2(view->verdictLabel()->text().startsWith(QStringLiteral("EQUAL")),
                 qPrintable(view->verdictLabel()->text()));
        QCOMPARE(view->serverTree()->topLevelItemCount(), 2);
        QCOMPARE(view->serverTree()->topLevelItem(0)->text(1), QStringLiteral("equal"));
        QCOMPARE(view->serverTree()->topLevelItem(1)->text(3), QStringLiteral("second"));
        // Linked both ways: the replay says whose it is, the original lists it.
        capture::SessionId replayId = 0;
        for (capture::SessionId id : w.store.sessionIds())
            if (w.store.session(id)->replayOf() == original)
                replayId = id;
        QVERIFY(replayId);
        QVERIFY(w.window->selectSession(replayId));
        QVERIFY(w.window->handshakeView()->summary()->toPlainText().contains(
            QStringLiteral("of session %1, by Socktap").arg(original)));
        QVERIFY(w.window->sessions()
                    ->data(w.window->sessions()->index(w.window->sessions()->rowOf(replayId),
                                                       ui::SessionTableModel::State))
                    .toString()
                    .contains(QStringLiteral("replay of %1").arg(original)));
        QVERIFY(w.window->selectSession(original));
        const QString summary = w.window->handshakeView()->summary()->toPlainText();
        const qsizetype at = summary.indexOf(QStringLiteral("Replayed as"));
        QVERIFY2(at >= 0, qPrintable(summary));
        QVERIFY(summary.mid(at)
                    .section(QLatin1Char('\n'), 0, 1)
                    .contains(QStringLiteral("session %1").arg(replayId)));
        if (const QString dir = qEnvironmentVariable("SOCKTAP_SCREENSHOTS"); !dir.isEmpty()) {
            // For the docs: a server that changed (a counter, a field gone, a message missing, another
            // close).
            const auto text = [](const char *s) {
                return replay::ComparedMessage {1, QByteArray(s), quint64(qstrlen(s)), false, {}};
            };
            const std::vector<replay::ComparedMessage> before[2] = {
                {text("subscribe prices"), text("ping")},
                {text("{\"type\": \"welcome\", \"session\": 41, \"ts\": 1}"),
                 text("{\"price\": 101.5, \"seq\": 1}"),
                 text("{\"price\": 101.7, \"seq\": 2, \"venue\": \"X\"}"), text("pong")}};
            const std::vector<replay::ComparedMessage> after[2] = {
                {text("subscribe prices"), text("ping")},
                {text("{\"type\": \"welcome\", \"session\": 42, \"ts\": 9}"),
                 text("{\"price\": 101.5, \"seq\": 1}"), text("{\"price\": 99.9, \"seq\": 2}")}};
            const replay::CloseSide closedBefore[2] = {{true, true, 1000, {}}, {true, false, 1000, {}}};
            const replay::CloseSide closedAfter[2] = {{true, true, 1000, {}},
                                                      {true, false, 1011, "internal error"}};
            ui::CompareView changed(
                replay::compare(before, after, closedBefore, closedAfter, {{QStringLiteral("ts")}, {}}),
                QStringLiteral("Session 3 replayed as session 7 against ws://staging.example/feed"));
            changed.resize(1000, 420);
            changed.grab().save(dir + QStringLiteral("/socktap-replay-compare.png"));
            dialog.grab().save(dir + QStringLiteral("/socktap-replay-dialog.png"));
        }
    }
};

QTEST_MAIN(TestGui)
#include "tst_gui.moc"
