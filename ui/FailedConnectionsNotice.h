// Under the session list: "2 connections failed: connection refused by 127.0.0.1:9199 — show them". A
// connection that failed before it became a WebSocket (a CONNECT to a server that is down, a certificate
// rejected) is listed as a tunnel or an HTTP exchange, which the list hides by default with a browser's
// background noise; this line makes sure it does not vanish. One click shows them.
#pragma once

#include "core/capture/CaptureStore.h"

#include <QLabel>
#include <QSet>

namespace socktap::ui {

class FailedConnectionsNotice final : public QLabel
{
    Q_OBJECT

public:
    FailedConnectionsNotice(const capture::CaptureStore &store, QWidget *parent = nullptr);
    // Sessions created or changed (CaptureFeed::sessionsChanged).
    void update(const QList<capture::SessionId> &ids);
    // Whether the list shows them already (then the line is not needed).
    void setShown(bool shown);
    int count() const { return int(m_failed.size()); }
    void clear();

signals:
    void showRequested();

private:
    void refresh();

    const capture::CaptureStore &m_store;
    QSet<capture::SessionId> m_failed;
    QString m_latest;
    bool m_shown = false;
};

} // namespace socktap::ui
