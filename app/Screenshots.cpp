#include "Screenshots.h"

#include "ui/MainWindow.h"
#include "ui/MessagesPanel.h"
#include "ui/PayloadView.h"
#include "ui/SessionTableModel.h"

#include <QCoreApplication>
#include <QDir>
#include <QPixmap>
#include <QTabWidget>
#include <QTimer>

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

void save(ui::MainWindow *w, const QString &dir, const QString &name)
{
    const QString file = QDir(dir).filePath(name);
    if (!w->grab().save(file))
        std::fprintf(stderr, "socktap: cannot save %s\n", qPrintable(file));
    else
        std::fprintf(stderr, "socktap: saved %s\n", qPrintable(file));
}

} // namespace

void takeScreenshots(ui::MainWindow *w, const QString &dir)
{
    QDir().mkpath(dir);
    using Step = std::function<void()>;
    const capture::SessionId chat = findSession(w, "/chat");
    const capture::SessionId ticker = findSession(w, "/ticker");
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
        [=] { QCoreApplication::quit(); },
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
