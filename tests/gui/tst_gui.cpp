// The window end to end, offscreen: the engine relays a QWebSocket client's session through the proxy;
// the test selects it and checks what the Handshake, Messages (text, JSON tree, hex, frames) and Close
// inspectors show.
#include "support/Peers.h"
#include "ui/CaptureFeed.h"
#include "ui/CloseView.h"
#include "ui/HandshakeView.h"
#include "ui/MainWindow.h"
#include "ui/MessagesPanel.h"
#include "ui/PayloadView.h"
#include "ui/SessionTableModel.h"
#include "ui/TimelineView.h"

#include <QApplication>
#include <QLineEdit>
#include <QPlainTextEdit>
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

} // namespace

class TestGui final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase() { QNetworkProxyFactory::setUseSystemConfiguration(false); }

    void inspectorsShowTheSession()
    {
        capture::CaptureStore store;
        proxy::ProxyConfig config;
        config.listenPort = 0;
        config.workers = 2;
        ui::MainWindow window(
            store, [&] { return std::make_unique<proxy::ProxyServer>(config, store); }, nullptr);
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

        // Close: code, name, meaning, who closed first.
        window.tabs()->setCurrentIndex(ui::MainWindow::CloseTab);
        const QString close = window.closeView()->toPlainText();
        QVERIFY2(close.contains("1000 Normal Closure"), qPrintable(close));
        QVERIFY(close.contains("The purpose of the connection has been fulfilled."));
        QVERIFY(close.contains("bye now"));
        QVERIFY2(close.contains(QStringLiteral("Closed first by\nclient\n")), qPrintable(close));
        QVERIFY(close.contains(QStringLiteral("Closing handshake\ncompleted"))
                || close.contains(QStringLiteral("Closing handshake\nincomplete")));

        // Timeline: both directions counted.
        window.tabs()->setCurrentIndex(ui::MainWindow::TimelineTab);
        const auto &series = window.timelineView()->series();
        double sent[2] = {0, 0};
        for (int d = 0; d < 2; ++d)
            for (double v : series.messages[d])
                sent[d] += v * series.bucketSeconds;
        QVERIFY(std::lround(sent[0]) >= 4 && std::lround(sent[1]) >= 3);

        // Stop and start again from the window.
        window.stopProxy();
        QVERIFY(QTest::qWaitFor([&] { return !window.isListening(); }, WaitMs));
        QVERIFY(QTest::qWaitFor([&] { return window.startProxy(); }, WaitMs));
        QVERIFY(window.isListening());
        window.close();
        QVERIFY(QTest::qWaitFor([&] { return !window.isVisible(); }, WaitMs));
    }
};

QTEST_MAIN(TestGui)
#include "tst_gui.moc"
