#include "MockFeature.h"

#include "MainWindow.h"

#include "core/capture/NativeFile.h"
#include "core/replay/MockPlan.h"

#include <QAction>
#include <QDateTime>
#include <QDir>
#include <QMessageBox>
#include <QStandardPaths>
#include <QStatusBar>

namespace socktap::ui {

MockFeature::MockFeature(MainWindow &window, capture::CaptureStore &store,
                         std::shared_ptr<intercept::InterceptHub> hub)
    : QObject(&window)
    , m_window(window)
    , m_store(store)
    , m_hub(std::move(hub))
{
    m_serve = new QAction(tr("Serve as &mock…"), this);
    m_serve->setToolTip(tr("Answer this session's URL from the capture instead of the server"));
    m_serve->setEnabled(false);
    connect(m_serve, &QAction::triggered, this, &MockFeature::serveCurrent);
    connect(&m_host, &replay::MockHost::unanswered, this, [this](quint64 session, const QString &line) {
        m_window.statusBar()->showMessage(tr("Mock, session %1: %2").arg(session).arg(line), 10'000);
    });
    connect(&m_host, &replay::MockHost::cannotServe, this, [this](const QString &why) {
        m_window.statusBar()->showMessage(tr("Cannot serve %1").arg(why), 10'000);
    });
    if (m_hub)
        m_host.attach(m_hub); // (after the connections: the saved rules' mocks are served now)
}

void MockFeature::update(capture::SessionId current)
{
    m_current = current;
    const auto s = current ? m_store.session(current) : std::nullopt;
    m_serve->setEnabled(m_hub && s && s->kind == capture::SessionKind::WebSocket
                        && s->response.status == 101);
}

bool MockFeature::serveAsMock(capture::SessionId id, QString *why, int *ruleNumber)
{
    const auto session = m_store.session(id);
    if (!m_hub || !session) {
        *why = tr("there is no such session");
        return false;
    }
    // What cannot be played is said now, not at the client's first upgrade.
    if (!replay::planMock(m_store, id, why))
        return false;
    const QString dir =
        QStandardPaths::writableLocation(QStandardPaths::CacheLocation) + QStringLiteral("/mocks");
    QDir().mkpath(dir);
    const QString file = QStringLiteral("%1/session-%2-%3.socktap")
                             .arg(dir)
                             .arg(id)
                             .arg(QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss")));
    if (!capture::saveNative(m_store, {id}, file, why))
        return false;
    intercept::Rule rule;
    rule.name = tr("mock of session %1").arg(id);
    rule.action = intercept::Action::Mock;
    rule.match.host = QString::fromLatin1(session->host);
    // The path without its query: a client that reconnects with a fresh token still meets the mock.
    const QByteArray path = session->path.left(session->path.indexOf('?'));
    rule.match.path = QString::fromLatin1(path) + QLatin1Char('*');
    rule.mockFile = file;
    intercept::RuleSet rules = *m_hub->rules();
    rules.rules.insert(rules.rules.begin(), rule);
    m_hub->setRules(std::move(rules));
    const auto served = m_hub->mock(session->host, session->path);
    if (!served || !served->route.port) {
        *why = served ? served->route.error : tr("the rule did not take");
        return false;
    }
    if (ruleNumber)
        *ruleNumber = 1;
    return true;
}

void MockFeature::serveCurrent()
{
    QString why;
    const auto session = m_store.session(m_current);
    if (!serveAsMock(m_current, &why)) {
        QMessageBox::warning(&m_window, tr("Serve as mock"),
                             tr("Session %1 cannot be served: %2").arg(m_current).arg(why));
        return;
    }
    QMessageBox::information(
        &m_window, tr("Serve as mock"),
        tr("Upgrades through Socktap to %1 are now answered from session %2, as its server answered "
           "then, and recorded as mocked sessions.\n\nRule 1, \"mock of session %2\", in Tools > Rules does "
           "this: turn it off there to reach the server again.")
            .arg(QString::fromLatin1(session->url()))
            .arg(m_current));
}

} // namespace socktap::ui
