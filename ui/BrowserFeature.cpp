#include "BrowserFeature.h"

#include "MainWindow.h"
#include "ProxyFeature.h"
#include "WindowNotice.h"

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

BrowserFeature::BrowserFeature(MainWindow &window, ProxyFeature &proxy, certs::CertificateAuthority *ca)
    : QObject(&window)
    , m_window(window)
    , m_proxy(proxy)
    , m_ca(ca)
{ }

QWidget *BrowserFeature::buildEmptyPage(QWidget *parent)
{
    // Until something arrives, the list's place says what to do (not a blank table), with the one click
    // that gets a new user there.
    auto *page = new QWidget(parent);
    page->setObjectName(QStringLiteral("emptyPage"));
    auto *title = new QLabel(tr("<h3>No sessions yet</h3>"), page);
    m_emptyBrowser = new QPushButton(tr("Open a browser through Socktap"), page);
    m_emptyBrowser->setObjectName(QStringLiteral("openBrowser"));
    m_emptyBrowser->setDefault(true);
    const auto found = browser::installedBrowsers();
    m_emptyBrowser->setToolTip(found.isEmpty()
                                   ? browser::noBrowserMessage()
                                   : tr("Starts %1 with a throw-away profile").arg(found.front().name));
    connect(m_emptyBrowser, &QPushButton::clicked, this, [this] { openBrowser(); });
    m_emptyHint = new QLabel(page);
    m_emptyHint->setObjectName(QStringLiteral("emptyHint"));
    m_emptyHint->setWordWrap(true);
    m_emptyHint->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_emptyHint->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::LinksAccessibleByMouse);
    // The CA page exists only through the proxy: the link opens it in a browser that goes through it
    // (to fetch the CA for another device, or the PAC file).
    connect(m_emptyHint, &QLabel::linkActivated, this,
            [this](const QString &link) { openBrowser({}, {link}); });
    m_copyAddress = new QPushButton(tr("Copy proxy address"), page);
    m_copyAddress->setObjectName(QStringLiteral("copyProxyAddress"));
    m_copyAddress->setToolTip(tr("host:port, to paste into another client's proxy settings"));
    connect(m_copyAddress, &QPushButton::clicked, this, [this] {
        if (!m_proxy.isListening())
            return;
        QGuiApplication::clipboard()->setText(m_proxy.addressForClients());
        m_window.statusBar()->showMessage(tr("Copied %1").arg(m_proxy.addressForClients()), 5000);
    });
    auto *buttons = new QHBoxLayout;
    buttons->addWidget(m_emptyBrowser);
    buttons->addWidget(m_copyAddress);
    buttons->addStretch(1);
    auto *layout = new QVBoxLayout(page);
    layout->setContentsMargins(12, 12, 12, 12);
    layout->addWidget(title);
    layout->addLayout(buttons);
    layout->addWidget(m_emptyHint);
    layout->addStretch(1);
    return page;
}

void BrowserFeature::updateEmptyPage()
{
    const bool listening = m_proxy.isListening();
    const QString address =
        listening ? m_proxy.addressForClients() : tr("(the proxy is stopped: Capture > Start proxy)");
    m_emptyBrowser->setEnabled(listening);
    m_copyAddress->setEnabled(listening);
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
}

void BrowserFeature::addActions(QMenu *tools)
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

bool BrowserFeature::openBrowser(const QString &id, const QStringList &urls, bool headless,
                                 const QStringList &extraArguments, QString *error)
{
    QString why;
    const auto fail = [&](const QString &message) {
        if (error)
            *error = message;
        warnInWindow(&m_window, tr("Open a browser"), message);
        return false;
    };
    if (!m_proxy.isListening())
        return fail(tr("The proxy is stopped: start it first (Capture > Start proxy)"));
    if (!m_ca)
        return fail(tr("Socktap has no root CA, so a browser could not trust its wss:// certificates"));
    const auto found = browser::findBrowser(id, &why);
    if (!found)
        return fail(why);
    browser::LaunchOptions options;
    options.proxyHost = browser::proxyHostFor(m_proxy.server()->address());
    options.proxyPort = m_proxy.server()->port();
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
        m_window.statusBar()->showMessage(message + tr("; its profile is removed"), 10000);
        launch->deleteLater();
    });
    QString started = tr("%1 started through %2 with a throw-away profile that trusts Socktap's CA")
                          .arg(found->name, m_proxy.addressForClients());
    if (const QByteArray credentials = m_proxy.proxyCredentials(); !credentials.isEmpty())
        started += tr("; beyond loopback it will ask for the proxy credentials: %1")
                       .arg(QString::fromUtf8(credentials));
    m_window.statusBar()->showMessage(started, 30000);
    return true;
}

QList<browser::BrowserLaunch *> BrowserFeature::running() const
{
    QList<browser::BrowserLaunch *> running;
    for (auto *launch : findChildren<browser::BrowserLaunch *>(Qt::FindDirectChildrenOnly))
        if (launch->isRunning())
            running.append(launch);
    return running;
}

} // namespace socktap::ui
