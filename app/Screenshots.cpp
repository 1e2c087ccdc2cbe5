#include "Screenshots.h"

#include "ui/BrowserFeature.h"
#include "ui/CaptureFeed.h"
#include "ui/CaptureStatus.h"
#include "ui/ColumnChooser.h"
#include "ui/ComposePanel.h"
#include "ui/FileMenu.h"
#include "ui/FilesFeature.h"
#include "ui/HeldMessageModel.h"
#include "ui/InterceptFeature.h"
#include "ui/InterceptPane.h"
#include "ui/MainWindow.h"
#include "ui/MessageEditor.h"
#include "ui/MessagesPanel.h"
#include "ui/PayloadView.h"
#include "ui/ProxyFeature.h"
#include "ui/ReplayFeature.h"
#include "ui/RulesDialog.h"
#include "ui/SessionTableModel.h"
#include "ui/SettingsDialog.h"

#include "core/intercept/InterceptHub.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMenu>
#include <QNetworkProxy>
#include <QPixmap>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QWebSocket>
#include <QWebSocketServer>

#include <cstdio>
#include <functional>
#include <memory>

namespace socktap::app {

namespace {

capture::SessionId findSession(ui::MainWindow *w, const QByteArray &path)
{
    for (int row = 0; row < w->sessions()->rowCount(); ++row) {
        if (const auto *s = w->sessions()->session(row); s && s->path == path)
            return s->id;
    }
    return 0;
}

// The newest session at path: after a file is opened, the copy it brought in.
capture::SessionId findLastSession(ui::MainWindow *w, const QByteArray &path)
{
    for (int row = w->sessions()->rowCount() - 1; row >= 0; --row) {
        if (const auto *s = w->sessions()->session(row); s && s->path == path)
            return s->id;
    }
    return 0;
}

// What only Socktap writes into a HAR file, removed: the file then reads as Chrome DevTools writes it.
QJsonValue withoutSocktapFields(const QJsonValue &value)
{
    if (value.isArray()) {
        QJsonArray out;
        for (const QJsonValue &v : value.toArray())
            out.append(withoutSocktapFields(v));
        return out;
    }
    if (!value.isObject())
        return value;
    QJsonObject out;
    const QJsonObject in = value.toObject();
    for (auto it = in.begin(); it != in.end(); ++it)
        if (!it.key().startsWith(QLatin1String("_socktap")))
            out.insert(it.key(), withoutSocktapFields(it.value()));
    return out;
}

void stripHar(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadWrite)) {
        std::fprintf(stderr, "socktap: cannot rewrite %s\n", qPrintable(path));
        return;
    }
    const QJsonValue har = withoutSocktapFields(QJsonDocument::fromJson(f.readAll()).object());
    f.resize(0);
    f.write(QJsonDocument(har.toObject()).toJson());
}

void save(QWidget *w, const QString &dir, const QString &name)
{
    const QString file = QDir(dir).filePath(name);
    if (!w->grab().save(file))
        std::fprintf(stderr, "socktap: cannot save %s\n", qPrintable(file));
    else
        std::fprintf(stderr, "socktap: saved %s\n", qPrintable(file));
}

// The rules the Rules screenshot lists; the first holds the server's quotes for the Intercept one.
const char *const DemoRules = R"({"rules": [
  {"name": "hold quotes", "match": {"direction": "server", "payload": "\"quote\""}, "action": "hold"},
  {"name": "mask tokens", "match": {"direction": "client", "type": "text"}, "action": "regex-replace",
   "pattern": "(\"token\"\\s*:\\s*\")[^\"]*\"", "with": "$1REDACTED\""},
  {"name": "slow acks", "enabled": false, "match": {"path": "/orders", "direction": "server", "payload": "ack"},
   "action": "delay", "ms": 250},
  {"match": {"host": "*.example.com"}, "action": "set-header", "name": "X-Debug", "value": "1"}
]})";

// A live session for the Intercept, Compose and Rules pictures: an order client through the proxy to a
// small server that pushes a quote when greeted and echoes the rest. Both live as long as the window.
struct OrdersScene
{
    QWebSocketServer *server;
    QWebSocket *client;
};

OrdersScene startOrders(ui::MainWindow *w)
{
    auto *server = new QWebSocketServer(QStringLiteral("orders"), QWebSocketServer::NonSecureMode, w);
    server->listen(QHostAddress::LocalHost, 0);
    QObject::connect(server, &QWebSocketServer::newConnection, server, [server] {
        while (QWebSocket *ws = server->nextPendingConnection()) {
            ws->setParent(server);
            QObject::connect(ws, &QWebSocket::textMessageReceived, ws, [ws](const QString &m) {
                ws->sendTextMessage(m.contains(QLatin1String("hello")) ? QStringLiteral(
                                        R"({"type":"quote","symbol":"BTC-USD","bid":64250.5,"ask":64251})")
                                                                       : QStringLiteral(R"({"type":"ack"})"));
            });
        }
    });
    auto *client =
        new QWebSocket(QStringLiteral("http://demo.socktap"), QWebSocketProtocol::VersionLatest, w);
    client->setProxy(
        QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), w->proxy()->proxyPort()));
    client->open(QUrl(QStringLiteral("ws://127.0.0.1:%1/orders").arg(server->serverPort())));
    return {server, client};
}

// Forwards the held message whose payload contains `needle`, edited to `payload`.
void forwardEdited(ui::MainWindow *w, const QByteArray &needle, const QByteArray &payload)
{
    for (const auto &h : w->intercept()->hub()->held()) {
        if (!h.payload.contains(needle))
            continue;
        intercept::SessionCommand command;
        command.kind = intercept::SessionCommand::Kind::Release;
        command.from = h.from;
        command.id = h.id;
        command.message = intercept::OutgoingMessage {h.opcode, payload, 1};
        w->proxy()->sendCommand(h.session, command, w, [](const intercept::CommandResult &) {});
        return;
    }
}

} // namespace

void takeScreenshots(ui::MainWindow *w, const QString &dir)
{
    QDir().mkpath(dir);
    using Step = std::function<void()>;
    const capture::SessionId chat = findSession(w, "/chat");
    const capture::SessionId ticker = findSession(w, "/ticker");
    const capture::SessionId socketIo = findSession(w, "/socket.io/?EIO=4&transport=websocket");
    auto orders = std::make_shared<OrdersScene>();
    auto harDir = std::make_shared<QTemporaryDir>();
    const QString har = harDir->filePath(QStringLiteral("demo.har"));
    auto steps = std::make_shared<QList<Step>>(QList<Step> {
        [=] {
            w->selectSession(chat);
            w->tabs()->setCurrentIndex(ui::MainWindow::HandshakeTab);
        },
        [=] { save(w, dir, QStringLiteral("socktap-handshake.png")); },
        [=] {
            w->tabs()->setCurrentIndex(ui::MainWindow::MessagesTab);
            w->messagesPanel()->selectMessage(1); // the JSON subscription: the JSON tab opens by itself
        },
        [=] { save(w, dir, QStringLiteral("socktap-messages-json.png")); },
        // The Socket.IO chat: the Summary column, heartbeats hidden, an emit with its ack.
        [=] {
            w->selectSession(socketIo);
            w->messagesPanel()->hideChatterBox()->setChecked(true);
            w->messagesPanel()->selectMessage(4); // the "chat" emit (after open, connect x2, welcome)
        },
        [=] { save(w, dir, QStringLiteral("socktap-decoded.png")); },
        [=] {
            w->messagesPanel()->hideChatterBox()->setChecked(false);
            w->selectSession(chat); // the tour goes on with the chat session's messages
        },
        // The same at 1920x1080, with every column of the session list that fits switched on.
        [=] {
            w->resize(1920, 1080);
            for (int c : {ui::SessionTableModel::Started, ui::SessionTableModel::Duration})
                w->sessionView()->setColumnHidden(c, false);
        },
        [=] { save(w, dir, QStringLiteral("socktap-1920.png")); },
        [=] {
            for (int c : {ui::SessionTableModel::Started, ui::SessionTableModel::Duration})
                w->sessionView()->setColumnHidden(c, true);
            w->resize(1280, 800);
        },
        // Right-click menus (grabbed as widgets: an offscreen screen has no pointer to open them with).
        [=] {
            std::unique_ptr<QMenu> sessionMenu(w->sessionContextMenu());
            sessionMenu->adjustSize();
            save(sessionMenu.get(), dir, QStringLiteral("socktap-menu-session.png"));
            std::unique_ptr<QMenu> messageMenu(w->messagesPanel()->contextMenu());
            messageMenu->adjustSize();
            save(messageMenu.get(), dir, QStringLiteral("socktap-menu-message.png"));
            std::unique_ptr<QMenu> columns(w->sessionColumns()->menu());
            columns->adjustSize();
            save(columns.get(), dir, QStringLiteral("socktap-menu-columns.png"));
        },
        [=] {
            auto *settings =
                new ui::SettingsDialog(w->proxy()->currentSettings(), QStringLiteral("Socktap Root CA"), w);
            settings->setAttribute(Qt::WA_DeleteOnClose);
            settings->show();
        },
        [=] {
            if (auto *settings = w->findChild<ui::SettingsDialog *>()) {
                save(settings, dir, QStringLiteral("socktap-settings.png"));
                settings->close();
            }
        },
        [=] {
            w->messagesPanel()->selectMessage(2); // the binary message
            w->messagesPanel()->payload()->tabs()->setCurrentIndex(ui::PayloadView::HexTab);
        },
        [=] { save(w, dir, QStringLiteral("socktap-messages-hex.png")); },
        [=] {
            w->messagesPanel()->selectMessage(3); // the fragmented one
            w->messagesPanel()->payload()->tabs()->setCurrentIndex(ui::PayloadView::FramesTab);
        },
        [=] { save(w, dir, QStringLiteral("socktap-messages-frames.png")); },
        [=] { w->tabs()->setCurrentIndex(ui::MainWindow::CloseTab); },
        [=] { save(w, dir, QStringLiteral("socktap-close.png")); },
        [=] {
            w->selectSession(ticker);
            w->tabs()->setCurrentIndex(ui::MainWindow::CloseTab);
        },
        [=] { save(w, dir, QStringLiteral("socktap-close-abnormal.png")); },
        [=] { w->tabs()->setCurrentIndex(ui::MainWindow::TimelineTab); },
        [=] { save(w, dir, QStringLiteral("socktap-timeline.png")); },
        // Acting on live traffic: a paused direction and a hold rule fill the Intercept pane.
        [=] {
            QString error;
            if (auto rules = intercept::RuleSet::fromJson(DemoRules, &error))
                w->intercept()->hub()->setRules(std::move(*rules));
            else
                std::fprintf(stderr, "socktap: demo rules: %s\n", qPrintable(error));
            *orders = startOrders(w);
        },
        [] {},
        [=] {
            w->feed()->refresh();
            w->selectSession(findSession(w, "/orders"));
            w->tabs()->setCurrentIndex(ui::MainWindow::MessagesTab);
            orders->client->sendTextMessage(QStringLiteral(R"({"type":"hello","user":"ada"})"));
        },
        [=] { w->intercept()->pauseAction(capture::Direction::ClientToServer)->trigger(); },
        [=] {
            orders->client->sendTextMessage(QStringLiteral(
                R"({"type":"order","side":"buy","symbol":"BTC-USD","qty":0.25,"limit":64000,"token":"eyJhbGciOi"})"));
            orders->client->sendTextMessage(
                QStringLiteral(R"({"type":"order","side":"sell","symbol":"ETH-USD","qty":3})"));
        },
        [=] {
            forwardEdited(w, R"("side":"buy")",
                          R"({"type":"order","side":"buy","symbol":"BTC-USD","qty":2.5,"limit":64000})");
        },
        [=] { orders->client->sendTextMessage(QStringLiteral(R"({"type":"cancel","id":4711})")); },
        [=] {
            w->feed()->refresh();
            ui::MessagesPanel *messages = w->messagesPanel();
            for (int row = 0; row < messages->model()->rowCount(); ++row) {
                if (messages->model()->record(row).has(capture::MessageFlag::Edited))
                    messages->selectMessage(messages->model()->messageIndex(row));
            }
            messages->payload()->tabs()->setCurrentIndex(ui::PayloadView::OriginalTab);
            w->interceptPane()->view()->selectRow(0);
        },
        [=] { save(w, dir, QStringLiteral("socktap-intercept.png")); },
        [=] {
            ui::ComposePanel *compose = w->composePanel();
            w->tabs()->setCurrentIndex(ui::MainWindow::ComposeTab);
            compose->prefill(
                capture::Direction::ServerToClient, 1,
                R"({"type":"notice","text":"Trading pauses at 22:00 UTC for maintenance","level":"warn"})");
            compose->send();
        },
        [=] { save(w, dir, QStringLiteral("socktap-compose.png")); },
        [=] {
            w->intercept()->rulesAction()->trigger();
            if (auto *rules = w->findChild<ui::RulesDialog *>())
                rules->table()->selectRow(1);
        },
        [=] {
            if (auto *rules = w->findChild<ui::RulesDialog *>()) {
                save(rules, dir, QStringLiteral("socktap-rules.png"));
                rules->reject();
            }
            w->interceptPane()->forwardAll(); // leave nothing held: the window closes cleanly
        },
        // Session logs: the demo's sessions exported as HAR, made to look like Chrome's (no frames), and
        // opened again: the copies' frames are unknown.
        [=] { w->files()->exportHarTo(har, {}); },
        [=] {
            stripHar(har);
            w->interceptPane()->hide();
            w->files()->openCaptureFile(har);
        },
        [=] {
            w->selectSession(findLastSession(w, "/chat"));
            w->tabs()->setCurrentIndex(ui::MainWindow::MessagesTab);
            w->messagesPanel()->selectMessage(1);
            w->messagesPanel()->payload()->tabs()->setCurrentIndex(ui::PayloadView::FramesTab);
        },
        [=] { save(w, dir, QStringLiteral("socktap-open-capture.png")); },
        [=, keep = harDir] {
            Q_UNUSED(keep); // the exported HAR file lives until the end
            QCoreApplication::quit();
        },
    });
    // One step per event-loop turn (with time to paint), so each view is laid out before it is grabbed.
    auto next = std::make_shared<std::function<void()>>();
    *next = [steps, next] {
        if (steps->isEmpty())
            return;
        steps->takeFirst()();
        QTimer::singleShot(250, *next);
    };
    (*next)();
}

} // namespace socktap::app
