// Tools > Settings: where the proxy listens, whether servers' certificates are verified (all, or all but
// some hosts), the capture's limits and the theme. Applied at once (the proxy restarts on a new address,
// and goes back to the old one, saying why, when the new one cannot be had) and kept for the next start,
// where the command line's own options win.
#pragma once

#include "core/proxy/ProxyConfig.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QLineEdit;
class QSpinBox;

namespace socktap::ui {

enum class Theme { System, Light, Dark };
// Fusion with a light or dark palette, or the desktop's own look back.
void applyTheme(Theme theme);
Theme themeFromName(const QString &name);

struct WindowSettings
{
    QHostAddress listenAddress {QHostAddress::LocalHost};
    quint16 listenPort = 8080;
    bool verifyUpstream = true;
    QStringList insecureHosts; // verified except these host patterns
    QStringList upstreamCaFiles; // CAs trusted for servers besides the system's (--upstream-ca)
    quint64 memoryBudget = 1ull << 30;
    qsizetype maxMessageCapture = 64 << 20;
    Theme theme = Theme::System;

    static WindowSettings from(const proxy::ProxyConfig &config, quint64 memoryBudget, Theme theme);
    void applyTo(proxy::ProxyConfig &config) const;
    // ~/.config/socktap/socktap.conf, [settings].
    void save() const;
    // The saved settings over these, except what the command line set (its option names, as
    // QCommandLineParser::optionNames gives them).
    static WindowSettings restore(WindowSettings defaults, const QStringList &givenOnCommandLine);
};

class SettingsDialog final : public QDialog
{
    Q_OBJECT

public:
    SettingsDialog(const WindowSettings &current, const QString &caName, QWidget *parent = nullptr);
    // What the dialog holds now; nullopt (and the reason) while something is not valid.
    std::optional<WindowSettings> settings(QString *error = nullptr) const;

    // For tests.
    QLineEdit *addressEdit() const { return m_address; }
    QSpinBox *portBox() const { return m_port; }
    QCheckBox *verifyBox() const { return m_verify; }
    QLineEdit *insecureHostsEdit() const { return m_insecure; }
    QLineEdit *upstreamCaEdit() const { return m_upstreamCa; }
    QSpinBox *memoryBox() const { return m_memory; }
    QSpinBox *messageCapBox() const { return m_messageCap; }
    QComboBox *themeBox() const { return m_theme; }

    void accept() override;

private:
    QLineEdit *m_address;
    QSpinBox *m_port;
    QCheckBox *m_verify;
    QLineEdit *m_insecure;
    QLineEdit *m_upstreamCa;
    QSpinBox *m_memory;
    QSpinBox *m_messageCap;
    QComboBox *m_theme;
};

} // namespace socktap::ui
