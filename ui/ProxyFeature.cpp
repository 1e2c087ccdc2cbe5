#include "ProxyFeature.h"

#include "MainWindow.h"
#include "WindowNotice.h"

#include "AttachFeature.h"

#include "certs/CertificateAuthority.h"
#include "core/browser/BrowserLauncher.h"
#include "core/proxy/RemoteEngine.h"
#include "core/proxy/TlsSession.h"

#include <QAction>
#include <QFile>
#include <QFileDialog>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>
#include <QStatusBar>
#include <QToolButton>

#include <cstdio>

namespace socktap::ui {

ProxyFeature::ProxyFeature(MainWindow &window, capture::CaptureStore &store, ServerFactory makeServer,
                           certs::CertificateAuthority *ca)
    : QObject(&window)
    , m_window(window)
    , m_store(store)
    , m_makeServer(std::move(makeServer))
    , m_ca(ca)
    , m_listening(new QLabel(&window))
    , m_toggle(new QToolButton(&window))
    , m_startStop(new QAction(tr("&Start proxy"), this))
{
    // Never squeezed out by the counters on the right: where the proxy listens is the first thing to know.
    m_listening->setMinimumWidth(m_listening->fontMetrics().horizontalAdvance(tr("Proxy on 127.0.0.1:65535"))
                                 + 8);
    m_toggle->setAutoRaise(true);
    m_startStop->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    connect(m_startStop, &QAction::triggered, this, [this] {
        if (isListening())
            stopProxy();
        else
            startProxy();
    });
    connect(m_toggle, &QToolButton::clicked, m_startStop, &QAction::trigger);
    updateListening();
}

ProxyFeature::~ProxyFeature() = default;

void ProxyFeature::addStatusWidgets(QStatusBar *bar)
{
    bar->addWidget(m_listening);
    bar->addWidget(m_toggle);
}

void ProxyFeature::addToolsActions(QMenu *tools)
{
    tools->addAction(tr("&Export CA certificate…"), this, &ProxyFeature::exportCa)
        ->setEnabled(m_ca != nullptr);
    tools->addAction(tr("&Settings…"), this, &ProxyFeature::showSettings);
}

bool ProxyFeature::startProxy()
{
    if (m_server || m_stopping)
        return isListening();
    m_server = m_makeServer();
    QString error;
    if (!m_server->start(&error)) {
        m_server.reset();
        m_lastStartError = error;
        // In the proxy's own label, not a temporary message: QStatusBar drew that over the label and the
        // Start button ("Proxy stopped … Start" across the error).
        updateListening();
        return false;
    }
    m_lastStartError.clear();
    // Said on stderr too, as headless does: whoever started the window from a terminal (or a test that
    // asked for port 0) learns the port actually bound.
    std::fprintf(stderr, "socktap: listening on %s\n", qPrintable(m_server->endpoint()));
    connect(m_server.get(), &proxy::ProxyServer::acceptTrouble, this,
            [this](const QString &why) { m_window.statusBar()->showMessage(why); });
    connect(m_server.get(), &proxy::ProxyServer::acceptRecovered, this,
            [this] { m_window.statusBar()->showMessage(tr("Accepting new clients again"), 10000); });
    updateListening();
    return true;
}

void ProxyFeature::stopProxy()
{
    if (!m_server || m_stopping)
        return;
    m_stopping = true;
    m_listening->setText(tr("Stopping…"));
    connect(m_server.get(), &proxy::ProxyServer::stopped, this, [this] {
        // Deleted later: we are inside its signal.
        m_server.release()->deleteLater();
        m_stopping = false;
        updateListening();
        emit stopped();
    });
    m_server->stop();
}

void ProxyFeature::stopThen(QObject *context, std::function<void()> then)
{
    if (!m_server) {
        QMetaObject::invokeMethod(context, std::move(then), Qt::QueuedConnection);
        return;
    }
    connect(m_server.get(), &proxy::ProxyServer::stopped, context, std::move(then), Qt::QueuedConnection);
    stopProxy();
}

bool ProxyFeature::isListening() const
{
    return m_server && m_server->isListening() && !m_stopping;
}

quint16 ProxyFeature::proxyPort() const
{
    return m_server ? m_server->port() : 0;
}

QString ProxyFeature::addressForClients() const
{
    if (!m_server)
        return {};
    return QStringLiteral("%1:%2").arg(browser::proxyHostFor(m_server->address())).arg(m_server->port());
}

const QByteArray ProxyFeature::proxyCredentials() const
{
    return m_config ? m_config->proxyCredentials : QByteArray();
}

QString ProxyFeature::listeningText() const
{
    return m_listening->text();
}

void ProxyFeature::updateListening()
{
    if (isListening()) {
        m_listening->setText(tr("Proxy on %1").arg(m_server->endpoint()));
        m_listening->setToolTip({});
        m_toggle->setText(tr("Stop"));
        m_startStop->setText(tr("&Stop proxy"));
    } else {
        m_listening->setText(m_lastStartError.isEmpty() ? tr("Proxy stopped")
                                                        : tr("Proxy stopped: %1").arg(m_lastStartError));
        m_listening->setToolTip(m_lastStartError);
        m_toggle->setText(tr("Start"));
        m_startStop->setText(tr("&Start proxy"));
    }
    emit listeningChanged();
}

bool ProxyFeature::isLive(capture::SessionId id) const
{
    if (const proxy::RemoteEngine *remote = m_remotes ? m_remotes->engineOf(id) : nullptr)
        return remote->isLive(id);
    return id && m_server && !m_stopping && m_server->isLive(id);
}

void ProxyFeature::sendCommand(capture::SessionId id, const intercept::SessionCommand &command,
                               QObject *context, CommandDone done)
{
    // One call for every engine: the panels never ask where a session lives.
    if (proxy::RemoteEngine *remote = m_remotes ? m_remotes->engineOf(id) : nullptr)
        return remote->command(id, command, context, std::move(done));
    if (!m_server || m_stopping) {
        // Answered later all the same, so callers have one path.
        QMetaObject::invokeMethod(
            context,
            [done = std::move(done)] { done(intercept::CommandResult::failure(tr("the proxy is stopped"))); },
            Qt::QueuedConnection);
        return;
    }
    m_server->command(id, command, context, std::move(done));
}

void ProxyFeature::exportCa()
{
    if (!m_ca)
        return;
    const QString file = QFileDialog::getSaveFileName(
        &m_window, tr("Export the Socktap CA certificate"), QStringLiteral("socktap-ca.pem"),
        tr("PEM certificate (*.pem *.crt);;DER certificate (*.cer *.der)"));
    if (file.isEmpty())
        return;
    const bool der = file.endsWith(QLatin1String(".cer")) || file.endsWith(QLatin1String(".der"));
    QFile out(file);
    if (!out.open(QIODevice::WriteOnly | QIODevice::Truncate)
        || out.write(der ? m_ca->certificateDer() : m_ca->certificatePem()) < 0) {
        QMessageBox::warning(&m_window, tr("Export CA certificate"),
                             tr("Cannot write %1: %2").arg(file, out.errorString()));
        return;
    }
    QMessageBox::information(
        &m_window, tr("Export CA certificate"),
        tr("<p>Wrote the certificate (never the key) of <b>%1</b> to %2.</p>"
           "<p>SHA-256 fingerprint:<br><tt>%3</tt></p>"
           "<p>To inspect wss:// traffic, make the browser trust it: Chromium on Linux "
           "<tt>certutil -d sql:$HOME/.pki/nssdb -A -t \"C,,\" -n \"Socktap Root CA\" -i %2</tt>; "
           "Firefox: Settings, Certificates, Authorities, Import. docs/certificates.md has every "
           "browser and OS, and how to remove it.</p>")
            .arg(m_ca->commonName().toHtmlEscaped(), file.toHtmlEscaped(), m_ca->fingerprintSha256()));
}

void ProxyFeature::showSettings()
{
    SettingsDialog dialog(currentSettings(), m_ca ? m_ca->commonName() : QString(), &m_window);
    if (dialog.exec() != QDialog::Accepted)
        return;
    if (const auto chosen = dialog.settings())
        settingsChosen(*chosen);
}

void ProxyFeature::settingsChosen(const WindowSettings &settings)
{
    // Saved as they end up running: a new address that could not be had is not kept for the next start.
    if (!applySettings(settings)) {
        currentSettings().save();
        return;
    }
    auto *once = new QObject(this);
    connect(this, &ProxyFeature::proxyRestarted, once, [this, once] {
        currentSettings().save();
        once->deleteLater();
    });
}

void ProxyFeature::setEditableConfig(proxy::ProxyConfig *config, Theme theme, bool credentialsGenerated)
{
    m_config = config;
    m_theme = theme;
    m_generatedCredentials = credentialsGenerated;
}

WindowSettings ProxyFeature::currentSettings() const
{
    proxy::ProxyConfig shown;
    if (m_config)
        shown = *m_config;
    else if (m_server) {
        shown.listenAddress = m_server->address();
        shown.listenPort = m_server->port();
    }
    return WindowSettings::from(shown, m_store.stats().memoryLimit, m_theme);
}

bool ProxyFeature::applySettings(const WindowSettings &requested)
{
    const WindowSettings before = currentSettings();
    WindowSettings settings = requested;
    m_store.setMemoryLimit(settings.memoryBudget);
    emit budgetChanged();
    if (settings.theme != m_theme) {
        applyTheme(settings.theme);
        m_theme = settings.theme;
    }
    if (!m_config)
        return false;
    if (settings.upstreamCaFiles != before.upstreamCaFiles && !updateTrustedCas(settings.upstreamCaFiles))
        settings.upstreamCaFiles = before.upstreamCaFiles; // said why; the rest still applies
    settings.applyTo(*m_config);
    if (before.listenAddress != settings.listenAddress)
        guardListener();
    const bool proxyChanged = before.listenAddress != settings.listenAddress
        || before.listenPort != settings.listenPort || before.verifyUpstream != settings.verifyUpstream
        || before.insecureHosts != settings.insecureHosts
        || before.maxMessageCapture != settings.maxMessageCapture
        || before.upstreamCaFiles != settings.upstreamCaFiles;
    // Stopped by the user (or stopping): the next start uses the new settings. Not started because the
    // old address failed: start now.
    if (!proxyChanged || m_stopping || (!m_server && m_lastStartError.isEmpty()))
        return false;
    restartProxy(before);
    return true;
}

bool ProxyFeature::updateTrustedCas(const QStringList &files)
{
    // The engine verifies servers with the contexts it starts with: new ones, read now so that a bad file
    // is said before anything restarts.
    if (!m_ca)
        return false;
    QString error;
    auto contexts = std::make_shared<proxy::TlsContexts>(m_ca, files, &error);
    if (!contexts->isValid()) {
        warnInWindow(&m_window, tr("Settings"), tr("The CA files were not changed: %1").arg(error));
        return false;
    }
    m_config->tls = std::move(contexts);
    return true;
}

void ProxyFeature::guardListener()
{
    // Beyond loopback, proxy use needs credentials (generated unless given); back on loopback, generated
    // ones are dropped again.
    if (m_config->listenAddress.isLoopback() && m_generatedCredentials) {
        m_config->proxyCredentials.clear();
        m_generatedCredentials = false;
    }
    const bool had = !m_config->proxyCredentials.isEmpty();
    m_exposureWarning = proxy::requireCredentialsBeyondLoopback(*m_config);
    m_generatedCredentials = m_generatedCredentials || (!had && !m_config->proxyCredentials.isEmpty());
    if (m_exposureWarning.isEmpty())
        return;
    warnInWindow(&m_window, tr("Settings"), m_exposureWarning);
}

void ProxyFeature::restartProxy(const WindowSettings &before)
{
    // Same address, any free port: stay on the port clients (and launched browsers) already use.
    const quint16 configured = m_config->listenPort;
    const quint16 keepPort = m_server && configured == 0 && before.listenPort == 0
            && before.listenAddress == m_config->listenAddress
        ? m_server->port()
        : 0;
    // The engine reads its configuration when it starts: stop (open sessions get 1001), start again.
    stopThen(this, [this, before, configured, keepPort] {
        if (keepPort)
            m_config->listenPort = keepPort;
        const bool started = startProxy();
        m_config->listenPort = configured;
        if (started) {
            m_window.statusBar()->showMessage(
                tr("Proxy restarted on %1 with the new settings").arg(addressForClients()), 10000);
            emit proxyRestarted(true, QString());
            return;
        }
        const QString why = m_lastStartError;
        before.applyTo(*m_config); // back to what worked
        guardListener();
        startProxy();
        const QString message = tr("%1. Socktap is back on %2:%3.")
                                    .arg(why, before.listenAddress.toString())
                                    .arg(before.listenPort);
        warnInWindow(&m_window, tr("Settings"), message);
        emit proxyRestarted(false, why);
    });
}

} // namespace socktap::ui
