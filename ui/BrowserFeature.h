// The window's way in for a new user: the page the session list shows while it is empty ("Open a browser
// through Socktap", the proxy's address to copy, where the CA is), and Tools > Open <browser>, each starting
// a browser whose throw-away profile uses the window's proxy and trusts Socktap's CA (core/browser).
#pragma once

#include <QList>
#include <QObject>
#include <QStringList>

class QLabel;
class QMenu;
class QPushButton;
class QWidget;

namespace socktap::certs {
class CertificateAuthority;
}
namespace socktap::browser {
class BrowserLaunch;
}

namespace socktap::ui {

class MainWindow;
class ProxyFeature;

class BrowserFeature final : public QObject
{
    Q_OBJECT

public:
    BrowserFeature(MainWindow &window, ProxyFeature &proxy, certs::CertificateAuthority *ca);

    // The empty list's page, and its text for the proxy's state now.
    QWidget *buildEmptyPage(QWidget *parent);
    void updateEmptyPage();
    void addActions(QMenu *tools);

    // A browser through the window's proxy with a throw-away profile that trusts the CA: id empty for the
    // first installed. It runs until the user closes it or the window closes (its profile removed either
    // way). False with *error (also shown) when none is found or it cannot start.
    bool openBrowser(const QString &id = {}, const QStringList &urls = {}, bool headless = false,
                     const QStringList &extraArguments = {}, QString *error = nullptr);
    // The browsers started from this window that are still running.
    QList<browser::BrowserLaunch *> running() const;

    QLabel *emptyHint() const { return m_emptyHint; }
    QPushButton *emptyBrowserButton() const { return m_emptyBrowser; }
    QPushButton *copyProxyAddressButton() const { return m_copyAddress; }

private:
    MainWindow &m_window;
    ProxyFeature &m_proxy;
    certs::CertificateAuthority *m_ca;
    QLabel *m_emptyHint = nullptr;
    QPushButton *m_emptyBrowser = nullptr;
    QPushButton *m_copyAddress = nullptr;
};

} // namespace socktap::ui
