#include "SettingsDialog.h"
#include "UserSettings.h"

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPalette>
#include <QSettings>
#include <QSpinBox>
#include <QStyle>
#include <QStyleFactory>
#include <QVBoxLayout>

namespace socktap::ui {

namespace {


QPalette darkPalette()
{
    QPalette p;
    p.setColor(QPalette::Window, QColor(0x2b, 0x2b, 0x2b));
    p.setColor(QPalette::WindowText, QColor(0xe0, 0xe0, 0xe0));
    p.setColor(QPalette::Base, QColor(0x1e, 0x1e, 0x1e));
    p.setColor(QPalette::AlternateBase, QColor(0x26, 0x26, 0x26));
    p.setColor(QPalette::Text, QColor(0xe0, 0xe0, 0xe0));
    p.setColor(QPalette::Button, QColor(0x35, 0x35, 0x35));
    p.setColor(QPalette::ButtonText, QColor(0xe0, 0xe0, 0xe0));
    p.setColor(QPalette::ToolTipBase, QColor(0x35, 0x35, 0x35));
    p.setColor(QPalette::ToolTipText, QColor(0xe0, 0xe0, 0xe0));
    p.setColor(QPalette::Highlight, QColor(0x2f, 0x65, 0xca));
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Link, QColor(0x6c, 0xa8, 0xff));
    p.setColor(QPalette::Mid, QColor(0x55, 0x55, 0x55));
    p.setColor(QPalette::PlaceholderText, QColor(0x90, 0x90, 0x90));
    for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
        p.setColor(QPalette::Disabled, role, QColor(0x80, 0x80, 0x80));
    return p;
}

const char *themeName(Theme theme)
{
    return theme == Theme::Dark ? "dark" : theme == Theme::Light ? "light" : "system";
}

} // namespace

Theme themeFromName(const QString &name)
{
    return name == u"dark" ? Theme::Dark : name == u"light" ? Theme::Light : Theme::System;
}

void applyTheme(Theme theme)
{
    // The desktop's look, remembered before the first change so "System" can bring it back.
    static const QString systemStyle = QApplication::style()->name();
    static const QPalette systemPalette = QApplication::palette();
    switch (theme) {
    case Theme::System:
        QApplication::setStyle(QStyleFactory::create(systemStyle));
        QApplication::setPalette(systemPalette);
        return;
    case Theme::Light:
        QApplication::setStyle(QStringLiteral("Fusion"));
        QApplication::setPalette(QApplication::style()->standardPalette());
        return;
    case Theme::Dark:
        QApplication::setStyle(QStringLiteral("Fusion"));
        QApplication::setPalette(darkPalette());
        return;
    }
}

WindowSettings WindowSettings::from(const proxy::ProxyConfig &config, quint64 memoryBudget, Theme theme)
{
    WindowSettings s;
    s.listenAddress = config.listenAddress;
    s.listenPort = config.listenPort;
    s.verifyUpstream = !config.insecureUpstream;
    s.insecureHosts = config.insecureUpstreamHosts;
    s.upstreamCaFiles = config.upstreamCaFiles;
    s.memoryBudget = memoryBudget;
    s.maxMessageCapture = config.maxMessageCapture;
    s.theme = theme;
    return s;
}

void WindowSettings::applyTo(proxy::ProxyConfig &config) const
{
    config.listenAddress = listenAddress;
    config.listenPort = listenPort;
    config.insecureUpstream = !verifyUpstream;
    config.insecureUpstreamHosts = insecureHosts;
    config.upstreamCaFiles = upstreamCaFiles;
    config.maxMessageCapture = maxMessageCapture;
}

void WindowSettings::save() const
{
    QSettings s = userSettings();
    s.beginGroup(QStringLiteral("settings"));
    s.setValue(QStringLiteral("listenAddress"), listenAddress.toString());
    s.setValue(QStringLiteral("listenPort"), listenPort);
    s.setValue(QStringLiteral("verifyUpstream"), verifyUpstream);
    s.setValue(QStringLiteral("insecureHosts"), insecureHosts);
    s.setValue(QStringLiteral("upstreamCaFiles"), upstreamCaFiles);
    s.setValue(QStringLiteral("memoryBudget"), memoryBudget);
    s.setValue(QStringLiteral("maxMessageCapture"), qint64(maxMessageCapture));
    s.setValue(QStringLiteral("theme"), QString::fromLatin1(themeName(theme)));
}

WindowSettings WindowSettings::restore(WindowSettings w, const QStringList &given)
{
    QSettings s = userSettings();
    s.beginGroup(QStringLiteral("settings"));
    const auto saved = [&](const char *key) { return s.contains(QString::fromLatin1(key)); };
    if (!given.contains(QStringLiteral("listen")) && saved("listenAddress")) {
        QHostAddress address;
        if (address.setAddress(s.value(QStringLiteral("listenAddress")).toString()))
            w.listenAddress = address;
        w.listenPort = quint16(s.value(QStringLiteral("listenPort"), w.listenPort).toUInt());
    }
    if (!given.contains(QStringLiteral("insecure-upstream"))
        && !given.contains(QStringLiteral("insecure-upstream-host")) && saved("verifyUpstream")) {
        w.verifyUpstream = s.value(QStringLiteral("verifyUpstream")).toBool();
        w.insecureHosts = s.value(QStringLiteral("insecureHosts")).toStringList();
    }
    if (!given.contains(QStringLiteral("upstream-ca")) && saved("upstreamCaFiles"))
        w.upstreamCaFiles = s.value(QStringLiteral("upstreamCaFiles")).toStringList();
    if (!given.contains(QStringLiteral("max-capture-memory")) && saved("memoryBudget"))
        w.memoryBudget =
            std::max<quint64>(16ull << 20, s.value(QStringLiteral("memoryBudget")).toULongLong());
    if (!given.contains(QStringLiteral("max-message-capture")) && saved("maxMessageCapture"))
        w.maxMessageCapture = qsizetype(s.value(QStringLiteral("maxMessageCapture")).toLongLong());
    if (saved("theme"))
        w.theme = themeFromName(s.value(QStringLiteral("theme")).toString());
    return w;
}

SettingsDialog::SettingsDialog(const WindowSettings &current, const QString &caName, QWidget *parent)
    : QDialog(parent)
{
    setWindowTitle(tr("Settings"));
    m_address = new QLineEdit(current.listenAddress.toString(), this);
    m_address->setToolTip(tr("127.0.0.1 (this machine only, the safe default), ::1, or 0.0.0.0 for every "
                             "interface (clients must then authenticate)"));
    m_port = new QSpinBox(this);
    m_port->setRange(0, 65535);
    m_port->setValue(current.listenPort);
    m_port->setSpecialValueText(tr("any free port"));
    auto *listen = new QHBoxLayout;
    listen->addWidget(m_address, 1);
    listen->addWidget(new QLabel(tr("port"), this));
    listen->addWidget(m_port);

    m_verify = new QCheckBox(tr("Verify servers' certificates (recommended)"), this);
    m_verify->setChecked(current.verifyUpstream);
    m_insecure = new QLineEdit(current.insecureHosts.join(QStringLiteral(", ")), this);
    m_insecure->setPlaceholderText(tr("e.g. *.test, staging.internal"));
    m_insecure->setToolTip(tr("Hosts whose certificates are not verified (self-signed test servers)"));
    connect(m_verify, &QCheckBox::toggled, m_insecure, &QWidget::setEnabled);
    m_insecure->setEnabled(current.verifyUpstream);
    m_upstreamCa = new QLineEdit(current.upstreamCaFiles.join(QStringLiteral(", ")), this);
    m_upstreamCa->setPlaceholderText(tr("e.g. /etc/ssl/dev-ca.pem (PEM, several separated by commas)"));
    m_upstreamCa->setToolTip(tr("CA certificates trusted for servers besides the system's, as --upstream-ca: "
                                "a test server's own CA, a company CA"));

    m_memory = new QSpinBox(this);
    m_memory->setRange(16, 1 << 20);
    m_memory->setSuffix(tr(" MiB"));
    m_memory->setValue(int(current.memoryBudget >> 20));
    m_memory->setToolTip(tr("Past it, payloads spill to disk (or the oldest are evicted, saying so)"));
    m_messageCap = new QSpinBox(this);
    m_messageCap->setRange(1, 4095);
    m_messageCap->setSuffix(tr(" MiB"));
    m_messageCap->setValue(int(std::max<qsizetype>(1, current.maxMessageCapture >> 20)));
    m_messageCap->setToolTip(tr("Larger messages are relayed whole and captured in part"));

    m_theme = new QComboBox(this);
    m_theme->addItem(tr("System"), QStringLiteral("system"));
    m_theme->addItem(tr("Light"), QStringLiteral("light"));
    m_theme->addItem(tr("Dark"), QStringLiteral("dark"));
    m_theme->setCurrentIndex(m_theme->findData(QString::fromLatin1(themeName(current.theme))));

    auto *proxyBox = new QGroupBox(tr("Proxy"), this);
    auto *proxyForm = new QFormLayout(proxyBox);
    proxyForm->addRow(tr("Listen on"), listen);
    proxyForm->addRow(m_verify);
    proxyForm->addRow(tr("Except hosts"), m_insecure);
    proxyForm->addRow(tr("Also trust CAs"), m_upstreamCa);
    proxyForm->addRow(tr("Root CA"), new QLabel(caName.isEmpty() ? tr("none") : caName, this));
    auto *captureBox = new QGroupBox(tr("Capture"), this);
    auto *captureForm = new QFormLayout(captureBox);
    captureForm->addRow(tr("Memory budget"), m_memory);
    captureForm->addRow(tr("Largest message kept whole"), m_messageCap);
    auto *lookBox = new QGroupBox(tr("Appearance"), this);
    auto *lookForm = new QFormLayout(lookBox);
    lookForm->addRow(tr("Theme"), m_theme);
    auto *note =
        new QLabel(tr("A change to the proxy restarts it (open sessions get 1001 Going Away). Kept for "
                      "the next start; options given on the command line win there."),
                   this);
    note->setWordWrap(true);
    note->setEnabled(false);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &SettingsDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(proxyBox);
    layout->addWidget(captureBox);
    layout->addWidget(lookBox);
    layout->addWidget(note);
    layout->addWidget(buttons);
}

std::optional<WindowSettings> SettingsDialog::settings(QString *error) const
{
    WindowSettings s;
    const QString address = m_address->text().trimmed();
    if (address == u"localhost")
        s.listenAddress = QHostAddress::LocalHost;
    else if (!s.listenAddress.setAddress(address)) {
        if (error)
            *error = tr("'%1' is not an IP address (127.0.0.1, ::1, 0.0.0.0...)").arg(address);
        return std::nullopt;
    }
    s.listenPort = quint16(m_port->value());
    s.verifyUpstream = m_verify->isChecked();
    for (const QString &host : m_insecure->text().split(QLatin1Char(','), Qt::SkipEmptyParts))
        if (!host.trimmed().isEmpty())
            s.insecureHosts.append(host.trimmed());
    for (const QString &part : m_upstreamCa->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        const QString file = part.trimmed();
        if (file.isEmpty())
            continue;
        if (!QFileInfo(file).isFile()) {
            if (error)
                *error = tr("CA file %1: no such file").arg(file);
            return std::nullopt;
        }
        s.upstreamCaFiles.append(file);
    }
    s.memoryBudget = quint64(m_memory->value()) << 20;
    s.maxMessageCapture = qsizetype(m_messageCap->value()) << 20;
    s.theme = themeFromName(m_theme->currentData().toString());
    return s;
}

void SettingsDialog::accept()
{
    QString error;
    if (!settings(&error)) {
        QMessageBox::warning(this, windowTitle(), error);
        m_address->setFocus();
        return;
    }
    QDialog::accept();
}

} // namespace socktap::ui
