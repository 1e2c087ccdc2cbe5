// Session > Serve as mock (and the session list's context menu): the selected WebSocket session's server
// side answers, from now on, the upgrades to its URL that come through Socktap, instead of the server
// (issue 20: test a client against a recorded server with no backend running). The session is saved to a
// capture in the cache directory and a mock rule naming it goes first in the rules, so the user sees it
// in Tools > Rules and turns it off there. The window's mock rules are served by its MockHost; what a
// client sends that the capture has no answer for shows in the status bar.
#pragma once

#include "core/capture/CaptureStore.h"
#include "core/intercept/InterceptHub.h"
#include "core/replay/MockHost.h"

#include <QObject>

class QAction;

namespace socktap::ui {

class MainWindow;

class MockFeature final : public QObject
{
    Q_OBJECT

public:
    MockFeature(MainWindow &window, capture::CaptureStore &store,
                std::shared_ptr<intercept::InterceptHub> hub);

    QAction *serveAction() const { return m_serve; }
    void update(capture::SessionId current);
    // Serves session id as a mock of its own URL; false with why (not an upgraded WebSocket session, its
    // payloads are not all kept, the capture cannot be written). The rule's number in *rule.
    bool serveAsMock(capture::SessionId id, QString *why, int *rule = nullptr);
    replay::MockHost &host() { return m_host; }

private:
    void serveCurrent();

    MainWindow &m_window;
    capture::CaptureStore &m_store;
    std::shared_ptr<intercept::InterceptHub> m_hub;
    replay::MockHost m_host;
    QAction *m_serve;
    capture::SessionId m_current = 0;
};

} // namespace socktap::ui
