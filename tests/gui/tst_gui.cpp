// The window end to end, offscreen: the engine relays a QWebSocket client's session through the proxy;
// the test selects it and checks what the Handshake, Messages (text, JSON tree, hex, frames) and Close
// inspectors show. Then acting on live traffic through the window's own actions and panels: pausing and
// forwarding, editing and dropping held messages, composing, resending, closing, and the rules dialog.
#include "support/Peers.h"
#include "ui/CaptureFeed.h"
#include "ui/CloseSessionDialog.h"
#include "ui/CloseView.h"
#include "ui/ComposePanel.h"
#include "ui/HandshakeView.h"
#include "ui/HeldMessageModel.h"
#include "ui/InterceptPane.h"
#include "ui/MainWindow.h"
#include "ui/MessageEditor.h"
#include "ui/MessagesPanel.h"
#include "ui/PayloadView.h"
#include "ui/RuleForm.h"
#include "ui/RulesDialog.h"
#include "ui/SessionTableModel.h"
#include "ui/TimelineView.h"

#include "core/intercept/InterceptHub.h"

#include <QAbstractItemModelTester>
#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QSettings>
#include <QSpinBox>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QTextBrowser>
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

    LiveWindow()
    {
        config.listenPort = 0;
        config.workers = 2;
        config.intercept = hub;
        window = std::make_unique<ui::MainWindow>(
            store, [this] { return std::make_unique<proxy::ProxyServer>(config, store); }, nullptr, hub);
        heldTester = std::make_unique<QAbstractItemModelTester>(
            window->interceptPane()->model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        window->show();
    }
    ~LiveWindow()
    {
        client.reset();
        window->stopProxy();
        if (!QTest::qWaitFor([&] { return window->proxyPort() == 0; }, WaitMs))
            qWarning("proxy did not stop");
    }
    // Starts the proxy and opens the client; true once the window shows the session as live.
    bool open()
    {
        if (!window->startProxy())
            return false;
        client = openClient(
            echo.url(QStringLiteral("/live")),
            QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), window->proxyPort()));
        if (!client)
            return false;
        return QTest::qWaitFor(
            [&] {
                session = window->currentSession();
                return session && window->isLive(session) && window->pauseAction(FromClient)->isEnabled();
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
        window->sendCommand(session, noop, window.get(), [&](const auto &) { answered = true; });
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
        QVERIFY(window.startProxy());
        QVERIFY(window.isListening());

        EchoServer echo;
        auto client = openClient(
            echo.url(QStringLiteral("/gui?room=7")),
            QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), window.proxyPort()));
        QVERIFY(client);
        client->setOutgoingFrameSize(16); // the long text goes in several frames
        client->sendTextMessage(QStringLiteral("plain text hello, world"));
        client->sendTextMessage(QStringLiteral(R"({"user":{"name":"ada","roles":["admin","dev"]},"n":3})"));
        client->sendBinaryMessage(QByteArray("\x00\x01\x02hello\xff", 9));
        QVERIFY(QTest::qWaitFor([&] { return echo.texts.size() == 2 && echo.binaries.size() == 1; }, WaitMs));
        client->close(QWebSocketProtocol::CloseCodeNormal, QStringLiteral("bye now"));

        // The session appears (the window selects the first one by itself) and reaches its end.
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
        QCOMPARE(root->childCount(), 2); // "n" and "user"
        QTreeWidgetItem *user = nullptr;
        for (int i = 0; i < root->childCount(); ++i)
            if (root->child(i)->text(0) == QLatin1String("user"))
                user = root->child(i);
        QVERIFY(user);
        QCOMPARE(user->childCount(), 2);
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
        window.stopProxy();
        QVERIFY(QTest::qWaitFor([&] { return !window.isListening(); }, WaitMs));
        QVERIFY(QTest::qWaitFor([&] { return window.startProxy(); }, WaitMs));
        QVERIFY(window.isListening());
        window.close();
        QVERIFY(QTest::qWaitFor([&] { return !window.isVisible(); }, WaitMs));
    }

    // (a) Session > Pause client → server holds what the client sends; the pane shows itself with the
    // message and how long it has waited; F8 forwards it to the server.
    void pauseAndForward()
    {
        LiveWindow w;
        QVERIFY(w.open());
        QAction *pause = w.window->pauseAction(FromClient);
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
        w.window->pauseAction(FromClient)->trigger();
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
        w.window->pauseAction(FromClient)->trigger();
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
        QVERIFY(QTest::qWaitFor([&] { return !w.window->pauseAction(FromClient)->isChecked(); }, WaitMs));
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
        QVERIFY(!w.window->isLive(w.session));
        compose->setSession(w.session, true); // as if the window had not noticed yet
        compose->targetBox()->setCurrentIndex(ui::ComposePanel::ToServer);
        compose->editor()->setMessage(quint8(ws::Opcode::Text), "too late");
        compose->send();
        QVERIFY(QTest::qWaitFor(
            [&] { return compose->resultLabel()->text().contains(QLatin1String("has ended")); }, WaitMs));
        QVERIFY(compose->resultLabel()->text().contains(QString::number(w.session)));
    }

    // (f) Tools > Rules: a rule added through the form reaches the hub (and acts on live traffic) and
    // QSettings; an invalid regex is refused with the parser's sentence; reordering and removing work.
    void rulesDialog()
    {
        LiveWindow w;
        QVERIFY(w.open());
        w.window->rulesAction()->trigger();
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

        // An invalid regular expression: the parser's sentence, and the form stays open.
        dialog->addRule();
        form = waitChild<ui::RuleForm>(dialog);
        form->regexEdit()->setText(QStringLiteral("("));
        form->accept();
        QVERIFY2(form->errorLabel()->text().contains(QLatin1String("invalid regular expression '('")),
                 qPrintable(form->errorLabel()->text()));
        QVERIFY(form->isVisible());
        // Fixed, with another action: a second rule, then moved above the first.
        form->regexEdit()->clear();
        form->actionBox()->setCurrentIndex(form->actionBox()->findData(QStringLiteral("delay")));
        form->msBox()->setValue(5);
        form->nameEdit()->setText(QStringLiteral("slow"));
        form->accept();
        QVERIFY(QTest::qWaitFor([&] { return dialog->table()->rowCount() == 2; }, WaitMs));
        dialog->table()->setCurrentCell(1, 0);
        dialog->move(-1);
        QCOMPARE(dialog->table()->item(0, ui::RulesDialog::NameColumn)->text(), QStringLiteral("slow"));
        dialog->removeRule(); // the current one: "slow"
        QCOMPARE(dialog->table()->rowCount(), 1);
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
        w.window->closeSessionAction()->trigger();
        auto *dialog = waitChild<ui::CloseSessionDialog>(w.window.get());
        QVERIFY(dialog);
        dialog->codeBox()->setValue(4321);
        dialog->reasonEdit()->setText(QStringLiteral("from the gui"));
        dialog->peersBox()->setCurrentIndex(ui::CloseSessionDialog::ClientOnly);
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
        w.window->sendCommand(1, {}, w.window.get(), [&](const intercept::CommandResult &r) {
            answered = true;
            result = r;
        });
        QVERIFY(!answered); // asynchronous like the engine's answers
        QVERIFY(QTest::qWaitFor([&] { return answered; }, WaitMs));
        QVERIFY(!result.ok);
        QVERIFY(result.error.contains(QLatin1String("stopped")));
    }
};

QTEST_MAIN(TestGui)
#include "tst_gui.moc"
