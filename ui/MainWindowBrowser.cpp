// The main window's way in for a new user: the empty page with "Open a browser through Socktap", and
// Tools > Open <browser>, each starting a browser whose throw-away profile uses this window's proxy and
// trusts Socktap's CA (core/browser).
#include "MainWindow.h"

#include "certs/CertificateAuthority.h"
#include "core/browser/BrowserLauncher.h"

#include <QClipboard>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QStackedWidget>
#include <QStatusBar>
#include <QVBoxLayout>

namespace socktap::ui {

void MainWindow::buildEmptyPage(QWidget *parent)
{
    // Until something arrives, the list's place says what to do (not a blank table), with the one click
    // that gets a new user there.
    m_emptyPage = new QWidget(parent);
    m_emptyPage->setObjectName(QStringLiteral("emptyPage"));
    auto *title = new QLabel(tr("<h3>No sessions yet</h3>"), m_emptyPage);
    m_emptyBrowser = new QPushButton(tr("Open a browser through Socktap"), m_emptyPage);
    m_emptyBrowser->setObjectName(QStringLiteral("openBrowser"));
    m_emptyBrowser->setDefault(true);
    const auto found = browser::installedBrowsers();
    m_emptyBrowser->setToolTip(found.isEmpty()
                                   ? browser::noBrowserMessage()
                                   : tr("Starts %1 with a throw-away profile").arg(found.front().name));
    connect(m_emptyBrowser, &QPushButton::clicked, this, [this] { openBrowser(); });
    m_emptyHint = new QLabel(m_emptyPage);
    m_emptyHint->setObjectName(QStringLiteral("emptyHint"));
    m_emptyHint->setWordWrap(true);
    m_emptyHint->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_emptyHint->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::LinksAccessibleByMouse);
    // The CA page exists only through the proxy: the link opens it in a browser that goes through it
    // (to fetch the CA for another device, or the PAC file).
    connect(m_emptyHint, &QLabel::linkActivated, this,
            [this](const QString &link) { openBrowser({}, {link}); });
    m_copyAddress = new QPushButton(tr("Copy proxy address"), m_emptyPage);
    m_copyAddress->setObjectName(QStringLiteral("copyProxyAddress"));
    m_copyAddress->setToolTip(tr("host:port, to paste into another client's proxy settings"));
    connect(m_copyAddress, &QPushButton::clicked, this, [this] {
        if (!isListening())
            return;
        QGuiApplication::clipboard()->setText(proxyAddressForClients());
        statusBar()->showMessage(tr("Copied %1").arg(proxyAddressForClients()), 5000);
    });
    auto *buttons = new QHBoxLayout;
    buttons->addWidget(m_emptyBrowser);
    buttons->addWidget(m_copyAddress);
    buttons->addStretch(1);
    auto *layout = new QVBoxLayout(m_emptyPage);
    layout->setContentsMargins(12, 12, 12, 12);
    layout->addWidget(title);
    layout->addLayout(buttons);
    layout->addWidget(m_emptyHint);
    layout->addStretch(1);
    static_cast<QStackedWidget *>(parent)->addWidget(m_emptyPage);
}

void MainWindow::addBrowserActions(QMenu *tools)
{
    const auto found = browser::installedBrowsers();
    if (found.isEmpty()) {
        // Still there, so the user learns what to install.
        tools->addAction(tr("Open a &browser through Socktap"), this, [this] { openBrowser(); });
        return;
    }
    bool first = true;
    for (const browser::Browser &b : found) {
        QAction *open = tools->addAction(tr("Open %1 through Socktap").arg(b.name), this,
                                         [this, id = b.id] { openBrowser(id); });
        open->setToolTip(
            tr("A throw-away %1 profile that uses this proxy and trusts Socktap's CA; removed when "
               "the browser closes")
                .arg(b.name));
        if (first)
            open->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_B));
        first = false;
    }
}

QString MainWindow::proxyAddressForClients() const
{
    return QStringLiteral("%1:%2").arg(browser::proxyHostFor(m_server->address())).arg(m_server->port());
}

bool MainWindow::openBrowser(const QString &id, const QStringList &urls, bool headless,
                             const QStringList &extraArguments, QString *error)
{
    QString why;
    const auto fail = [&](const QString &message) {
        if (error)
            *error = message;
        warn(tr("Open a browser"), message);
        return false;
    };
    if (!isListening())
        return fail(tr("The proxy is stopped: start it first (Capture > Start proxy)"));
    if (!m_ca)
        return fail(tr("Socktap has no root CA, so a browser could not trust its wss:// certificates"));
    const auto found = browser::findBrowser(id, &why);
    if (!found)
        return fail(why);
    browser::LaunchOptions options;
    options.proxyHost = browser::proxyHostFor(m_server->address());
    options.proxyPort = m_server->port();
    options.caPem = m_ca->certificatePem();
    options.urls = urls;
    options.headless = headless;
    options.extraArguments = extraArguments;
    auto *launch = new browser::BrowserLaunch(*found, options, this);
    if (!launch->start(&why)) {
        delete launch;
        return fail(why);
    }
    connect(launch, &browser::BrowserLaunch::finished, this, [this, launch](int, const QString &message) {
        statusBar()->showMessage(message + tr("; its profile is removed"), 10000);
        launch->deleteLater();
    });
    QString started = tr("%1 started through %2 with a throw-away profile that trusts Socktap's CA")
                          .arg(found->name, proxyAddressForClients());
    if (m_config && !m_config->proxyCredentials.isEmpty())
        started += tr("; beyond loopback it will ask for the proxy credentials: %1")
                       .arg(QString::fromUtf8(m_config->proxyCredentials));
    statusBar()->showMessage(started, 30000);
    return true;
}

QList<browser::BrowserLaunch *> MainWindow::browsers() const
{
    QList<browser::BrowserLaunch *> running;
    for (auto *launch : findChildren<browser::BrowserLaunch *>(Qt::FindDirectChildrenOnly))
        if (launch->isRunning())
            running.append(launch);
    return running;
}

} // namespace socktap::ui
