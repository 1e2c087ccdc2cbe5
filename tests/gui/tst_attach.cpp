// The window attached to remote Socktaps (issue 22): two headless Socktaps with --control, each proxying a
// real client to Qt's echo server and recording to its own file; one window (offscreen) attached to both.
// Sessions from both appear with their engine; a pause set from the window holds a message on the remote
// and the Intercept pane's Forward releases it; an injection from the window arrives at the remote's server;
// a link cut mid-traffic comes back with nothing lost or repeated (the window's messages equal the remote's
// own --record file); a wrong token is refused.
#include "core/capture/CaptureStore.h"
#include "core/capture/NativeFile.h"
#include "core/intercept/InterceptHub.h"
#include "core/intercept/ScriptLog.h"
#include "core/proxy/ProxyServer.h"
#include "core/proxy/RemoteEngine.h"
#include "support/CuttableRelay.h"
#include "support/Peers.h"
#include "support/SocktapProcess.h"
#include "ui/AttachFeature.h"
#include "ui/HeldMessageModel.h"
#include "ui/InterceptFeature.h"
#include "ui/InterceptPane.h"
#include "ui/MainWindow.h"
#include "ui/ProxyFeature.h"
#include "ui/SessionTableModel.h"

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDialog>
#include <QMenu>
#include <QMenuBar>
#include <QLineEdit>
#include <QSettings>
#include <QStandardPaths>
#include <QTableView>

using namespace socktap;
using namespace socktap::test;

namespace {

QString controlPort(const QByteArray &err)
{
    const auto m =
        QRegularExpression(QStringLiteral("control on 127\\.0\\.0\\.1:(\\d+)")).match(QString::fromUtf8(err));
    return m.hasMatch() ? m.captured(1) : QString();
}

// "client text" per message of the session at path in store, in order.
QStringList messagesOf(const capture::CaptureStore &store, const QByteArray &path,
                       const QString &engine = QString(), capture::SessionId *found = nullptr)
{
    for (capture::SessionId id : store.sessionIds()) {
        const auto s = store.session(id);
        if (!s || s->path != path || (!engine.isEmpty() && s->engine != engine))
            continue;
        if (found)
            *found = id;
        QStringList out;
        for (quint64 i = 0; i < store.messageCount(id); ++i)
            if (const auto m = store.message(id, i))
                out << QString::fromLatin1(capture::directionName(m->record.direction())) + QLatin1Char(' ')
                        + QString::fromUtf8(m->payload);
        return out;
    }
    return {};
}

} // namespace

class TestAttach final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QNetworkProxyFactory::setUseSystemConfiguration(false);
        QStandardPaths::setTestModeEnabled(true);
        QSettings(QStringLiteral("socktap"), QStringLiteral("socktap")).clear();
    }

    void windowWatchesAndActsOnTwoRemotes()
    {
        QTemporaryDir home;
        EchoServer echo;
        Socktap a, b;
        a.useHome(home.path());
        b.useHome(home.path());
        const QString recordA = home.filePath(QStringLiteral("a.socktap"));
        QVERIFY(a.start({"--headless", "--quiet", "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0",
                         "--control-token", "alpha", "--record", recordA}));
        // b holds what its own rules file says (headless: for a window attached through --control).
        const QString rulesB = home.filePath(QStringLiteral("hold.json"));
        QFile rules(rulesB);
        QVERIFY(rules.open(QIODevice::WriteOnly));
        rules.write(R"({"rules": [{"name": "gate", "match": {"direction": "client", "payload": "hold me"},
                                   "action": "hold"}]})");
        rules.close();
        QVERIFY(b.start({"--headless", "--quiet", "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0",
                         "--control-token", "beta", "--rules", rulesB}));
        QVERIFY(a.waitError("control on") && b.waitError("control on"));
        const QString caFile = home.filePath(QStringLiteral("remote-ca.pem"));
        QProcess exporter;
        exporter.setProcessEnvironment(a.process.processEnvironment());
        exporter.start(QStringLiteral(SOCKTAP_BINARY), {"ca", "export", caFile});
        QVERIFY(exporter.waitForFinished(WaitMs) && exporter.exitCode() == 0);

        capture::CaptureStore store;
        proxy::ProxyConfig config;
        config.listenPort = 0;
        auto hub = std::make_shared<intercept::InterceptHub>();
        ui::MainWindow window(
            store, [&] { return std::make_unique<proxy::ProxyServer>(config, store); }, nullptr, hub);
        window.show();
        ui::AttachFeature &attach = *window.attachments();
        // Remote a through a relay the test cuts later; b directly.
        CuttableRelay relay(quint16(controlPort(a.err).toUInt()));
        const QString targetA = QStringLiteral("127.0.0.1:%1").arg(relay.server.serverPort());
        const QString targetB = QStringLiteral("127.0.0.1:") + controlPort(b.err);
        QString error;
        proxy::RemoteEngine *engineA = attach.attach(targetA, QStringLiteral("alpha"), caFile, &error);
        proxy::RemoteEngine *engineB = attach.attach(targetB, QStringLiteral("beta"), caFile, &error);
        QVERIFY2(engineA && engineB, qPrintable(error));
        QVERIFY(!attach.attach(targetB, QStringLiteral("beta"), caFile, &error)); // once each
        proxy::RemoteEngine *wrong = attach.attach(QStringLiteral("127.0.0.1:") + controlPort(b.err) + "",
                                                   QStringLiteral("nope"), caFile, &error);
        QVERIFY(!wrong); // (the same address: refused before the link)
        QVERIFY(QTest::qWaitFor(
            [&] {
                return engineA->state() == proxy::RemoteEngine::State::Attached
                    && engineB->state() == proxy::RemoteEngine::State::Attached;
            },
            WaitMs));

        auto viaA = openClient(echo.url(QStringLiteral("/via-a")),
                               QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), a.port));
        auto viaB = openClient(echo.url(QStringLiteral("/via-b")),
                               QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), b.port));
        QVERIFY(viaA && viaB);
        QStringList echoedA, echoedB;
        connect(viaA.get(), &QWebSocket::textMessageReceived, this, [&](const QString &m) { echoedA << m; });
        connect(viaB.get(), &QWebSocket::textMessageReceived, this, [&](const QString &m) { echoedB << m; });
        viaA->sendTextMessage(QStringLiteral("hello from a"));
        viaB->sendTextMessage(QStringLiteral("hello from b"));

        // Both sessions in the list, each with its engine, with ids of the window's own.
        capture::SessionId idA = 0, idB = 0;
        QVERIFY(QTest::qWaitFor(
            [&] {
                return messagesOf(store, "/via-a", targetA, &idA).size() == 2
                    && messagesOf(store, "/via-b", targetB, &idB).size() == 2;
            },
            WaitMs));
        QVERIFY(idA != idB);
        QCOMPARE(attach.engineOf(idA), engineA);
        QCOMPARE(attach.engineOf(idB), engineB);
        QTableView *list = window.sessionView();
        QVERIFY(!list->isColumnHidden(ui::SessionTableModel::Engine));
        QStringList engines;
        for (int row = 0; row < list->model()->rowCount(); ++row)
            engines << list->model()->index(row, ui::SessionTableModel::Engine).data().toString();
        QVERIFY2(engines.contains(targetA) && engines.contains(targetB), qPrintable(engines.join(", ")));
        // The filter box matches the engine.
        window.sessionFilterBox()->setText(targetB);
        QTRY_COMPARE_WITH_TIMEOUT(list->model()->rowCount(), 1, WaitMs);
        QCOMPARE(list->model()->index(0, ui::SessionTableModel::Engine).data().toString(), targetB);
        window.sessionFilterBox()->clear();
        QTRY_COMPARE_WITH_TIMEOUT(list->model()->rowCount(), 2, WaitMs);

        // A breakpoint from the window: Session > Pause client → server on a's session holds the next
        // message on a (its server does not see it), listed in the window's Intercept pane.
        QVERIFY(window.selectSession(idA));
        QAction *pause = window.intercept()->pauseAction(capture::Direction::ClientToServer);
        QVERIFY(QTest::qWaitFor([&] { return pause->isEnabled(); }, WaitMs));
        pause->trigger();
        QVERIFY(pause->isChecked());
        // (checked at once, as locally; in effect once the remote has answered, a link's latency later)
        QVERIFY(QTest::qWaitFor([&] { return engineA->pendingRequests() == 0; }, WaitMs));
        viaA->sendTextMessage(QStringLiteral("held on a"));
        ui::InterceptPane *pane = window.interceptPane();
        QVERIFY(QTest::qWaitFor([&] { return pane->model()->rowCount() == 1; }, WaitMs));
        QCOMPARE(pane->model()->message(0).session, idA);
        QCOMPARE(pane->model()->message(0).payload, QByteArray("held on a"));
        QTest::qWait(300);
        QVERIFY(!echo.texts.contains(QStringLiteral("held on a")));
        QCOMPARE(echoedA, QStringList {QStringLiteral("hello from a")});
        // Forward releases it on the remote: the server gets it and echoes it.
        pane->view()->selectRow(0);
        pane->forwardSelected();
        QVERIFY(QTest::qWaitFor([&] { return echoedA.contains(QStringLiteral("held on a")); }, WaitMs));
        QVERIFY(QTest::qWaitFor([&] { return pane->model()->rowCount() == 0; }, WaitMs));
        // (the pause stays until resumed, as locally)
        pause->trigger();
        QVERIFY(QTest::qWaitFor([&] { return !pause->isChecked(); }, WaitMs));

        // An injection from the window into b's session reaches b's server, which echoes it to the client.
        intercept::SessionCommand inject;
        inject.kind = intercept::SessionCommand::Kind::Send;
        inject.from = capture::Direction::ClientToServer;
        inject.message = intercept::OutgoingMessage {1, QByteArray("injected by the window"), 1};
        std::optional<intercept::CommandResult> answer;
        window.proxy()->sendCommand(idB, inject, this,
                                    [&](const intercept::CommandResult &r) { answer = r; });
        QVERIFY(QTest::qWaitFor([&] { return answer.has_value(); }, WaitMs));
        QVERIFY2(answer->ok, qPrintable(answer->error));
        QVERIFY(QTest::qWaitFor([&] { return echoedB.contains(QStringLiteral("injected by the window")); },
                                WaitMs));
        QVERIFY(echo.texts.contains(QStringLiteral("injected by the window")));

        // b's own hold rule holds a message for the window, which forwards it.
        viaB->sendTextMessage(QStringLiteral("hold me, b"));
        QVERIFY(QTest::qWaitFor([&] { return pane->model()->rowCount() == 1; }, WaitMs));
        QCOMPARE(pane->model()->message(0).session, idB);
        QVERIFY(pane->model()->message(0).note.contains(QStringLiteral("gate")));
        QVERIFY(!echo.texts.contains(QStringLiteral("hold me, b")));
        if (const QString dir = qEnvironmentVariable("SOCKTAP_SCREENSHOTS"); !dir.isEmpty()) {
            // docs/socktap-attach.png: two engines in the list, b's held message in the pane.
            window.resize(1440, 820);
            pane->show();
            QVERIFY(window.selectSession(idB));
            QTest::qWait(1200); // (the counters and the pane's clock tick once)
            QVERIFY(window.grab().save(dir + QStringLiteral("/socktap-attach.png")));
            // The dialog, as File > Attach opens it: the last address filled in.
            for (QAction *action : window.menuBar()->actions().first()->menu()->actions())
                if (action->text().startsWith(QStringLiteral("Attach to")))
                    action->trigger();
            QDialog *dialog = nullptr;
            QVERIFY(QTest::qWaitFor(
                [&] {
                    for (QWidget *w : QApplication::topLevelWidgets())
                        if (auto *d = qobject_cast<QDialog *>(w); d && d->isVisible())
                            dialog = d;
                    return dialog != nullptr;
                },
                WaitMs));
            QCOMPARE(dialog->findChild<QComboBox *>(QStringLiteral("attachTarget"))->currentText(), targetB);
            QTest::qWait(100);
            QVERIFY(dialog->grab().save(dir + QStringLiteral("/socktap-attach-dialog.png")));
            dialog->reject();
        }
        pane->view()->selectRow(0);
        pane->forwardSelected();
        QVERIFY(QTest::qWaitFor([&] { return echoedB.contains(QStringLiteral("hold me, b")); }, WaitMs));

        // Rules from the window's Tools > Rules go to every attached engine: a drop rule there drops on b.
        auto dropRule = intercept::RuleSet::fromJson(
            R"({"rules": [{"match": {"direction": "client", "payload": "drop me"}, "action": "drop"}]})",
            &error);
        QVERIFY2(dropRule, qPrintable(error));
        window.intercept()->hub()->setRules(*dropRule);
        attach.pushRules();
        QVERIFY(QTest::qWaitFor([&] { return engineB->pendingRequests() == 0; }, WaitMs));
        viaB->sendTextMessage(QStringLiteral("drop me, b"));
        viaB->sendTextMessage(QStringLiteral("after the drop"));
        QVERIFY(QTest::qWaitFor([&] { return echoedB.contains(QStringLiteral("after the drop")); }, WaitMs));
        QVERIFY(!echo.texts.contains(QStringLiteral("drop me, b")));

        // Scripts from Tools > Scripts run on the attached engines too; what they log comes back to the
        // window's console, named by the engine and with the window's session id.
        intercept::ScriptSet scripts;
        intercept::Script upper;
        upper.name = QStringLiteral("upper.js");
        upper.path = QStringLiteral("/somewhere/upper.js");
        upper.source = QStringLiteral(R"(function onClientMessage(message, session) {
            if (message.type !== "text" || !message.text.startsWith("upper")) return;
            console.log("upper-cased " + message.text);
            return message.text.toUpperCase();
        })");
        scripts.scripts.push_back(upper);
        const quint64 logBefore = intercept::ScriptLog::instance().lastSeq();
        window.intercept()->hub()->setScripts(scripts);
        attach.pushScripts();
        QVERIFY(QTest::qWaitFor([&] { return engineB->pendingRequests() == 0; }, WaitMs));
        viaB->sendTextMessage(QStringLiteral("upper me"));
        QVERIFY(QTest::qWaitFor([&] { return echoedB.contains(QStringLiteral("UPPER ME")); }, WaitMs));
        bool logged = false;
        QVERIFY(QTest::qWaitFor(
            [&] {
                for (const intercept::ScriptLogLine &line : intercept::ScriptLog::instance().since(logBefore))
                    logged = logged
                        || (line.text == QStringLiteral("upper-cased upper me") && line.session == idB
                            && line.script == targetB + QStringLiteral(" upper.js"));
                return logged;
            },
            WaitMs));
        window.intercept()->hub()->setScripts({});
        attach.pushScripts();

        // The link to a cut twice while a's client talks: the window comes back from the last byte it had.
        for (int round = 0; round < 2; ++round) {
            for (int i = 0; i < 20; ++i)
                viaA->sendTextMessage(QStringLiteral("round %1 #%2").arg(round).arg(i));
            QTest::qWait(20);
            relay.cut();
            QVERIFY(QTest::qWaitFor([&] { return relay.accepted == round + 2; }, WaitMs));
        }
        // a's own record file and the window agree, message for message.
        QVERIFY(QTest::qWaitFor([&] { return echoedA.size() == 42; }, WaitMs));
        viaA->close();
        QVERIFY(QTest::qWaitFor(
            [&] {
                const auto s = store.session(idA);
                return s && s->state == capture::SessionState::Closed;
            },
            3 * WaitMs));
        // A command for a session that ended is answered by the remote.
        answer.reset();
        window.proxy()->sendCommand(idA, inject, this,
                                    [&](const intercept::CommandResult &r) { answer = r; });
        QVERIFY(QTest::qWaitFor([&] { return answer.has_value(); }, WaitMs));
        QVERIFY(!answer->ok);
        QVERIFY(!window.proxy()->isLive(idA));
        QVERIFY(a.stop());
        capture::CaptureStore recorded;
        QVERIFY2(capture::openCapture(recordA, recorded, &error), qPrintable(error));
        const QStringList remote = messagesOf(recorded, "/via-a");
        QCOMPARE(remote.size(), 86); // 2 + the held one and its echo + 2 x 20 x 2 + the Close each way
        QCOMPARE(messagesOf(store, "/via-a", targetA), remote);
        QVERIFY(relay.accepted >= 3);

        // A wrong token: the link is refused and not tried again.
        attach.detach(engineB);
        proxy::RemoteEngine *refused = attach.attach(targetB, QStringLiteral("not beta"), caFile, &error);
        QVERIFY2(refused, qPrintable(error));
        QVERIFY(
            QTest::qWaitFor([&] { return refused->state() == proxy::RemoteEngine::State::Refused; }, WaitMs));
        QVERIFY(refused->stateText().contains(QStringLiteral("wrong token")));
        // While detached, b's open session shows as last seen; attached again (the right token), b's stream
        // goes on where it stopped: the same session, its new message once, nothing listed twice.
        attach.detach(refused);
        QVERIFY(store.session(idB)->openWhenSaved);
        viaB->sendTextMessage(QStringLiteral("while detached"));
        QVERIFY(QTest::qWaitFor([&] { return echoedB.contains(QStringLiteral("while detached")); }, WaitMs));
        const int messagesB = messagesOf(store, "/via-b", targetB).size();
        proxy::RemoteEngine *again = attach.attach(targetB, QStringLiteral("beta"), caFile, &error);
        QVERIFY2(again, qPrintable(error));
        QVERIFY(QTest::qWaitFor([&] { return messagesOf(store, "/via-b", targetB).size() == messagesB + 2; },
                                WaitMs));
        int sessionsB = 0;
        for (capture::SessionId id : store.sessionIds())
            sessionsB += store.session(id)->engine == targetB;
        QCOMPARE(sessionsB, 1);
        QVERIFY(!store.session(idB)->openWhenSaved);
        QVERIFY(messagesOf(store, "/via-b", targetB).contains(QStringLiteral("client while detached")));

        // b restarts on the same address (a service restarted): the window reads its new run from the
        // start, as new sessions, and sends it again the rules it had sent b (the drop rule).
        viaB.reset();
        QVERIFY(b.stop());
        QVERIFY(QTest::qWaitFor([&] { return again->state() != proxy::RemoteEngine::State::Attached; }, WaitMs));
        Socktap b2;
        b2.useHome(home.path());
        QVERIFY(b2.start({"--headless", "--quiet", "--listen", "127.0.0.1:0", "--control", targetB,
                          "--control-token", "beta"}));
        QVERIFY2(QTest::qWaitFor([&] { return again->state() == proxy::RemoteEngine::State::Attached; }, 3 * WaitMs),
                 qPrintable(again->stateText()));
        QVERIFY(QTest::qWaitFor([&] { return again->pendingRequests() == 0; }, WaitMs));
        auto viaB2 = openClient(echo.url(QStringLiteral("/via-b2")),
                                QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), b2.port));
        QVERIFY(viaB2);
        viaB2->sendTextMessage(QStringLiteral("drop me, b2"));
        viaB2->sendTextMessage(QStringLiteral("after the restart"));
        capture::SessionId idB2 = 0;
        QVERIFY(QTest::qWaitFor(
            [&] {
                return messagesOf(store, "/via-b2", targetB, &idB2).contains(QStringLiteral("server after the restart"));
            },
            WaitMs));
        QVERIFY(idB2 != idB && attach.engineOf(idB2) == again);
        QVERIFY(echo.texts.contains(QStringLiteral("after the restart")));
        QVERIFY(!echo.texts.contains(QStringLiteral("drop me, b2")));
        viaB2.reset();
        QVERIFY(b2.stop());
    }
};

QTEST_MAIN(TestAttach)
#include "tst_attach.moc"
