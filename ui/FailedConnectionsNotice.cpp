#include "FailedConnectionsNotice.h"

namespace socktap::ui {

FailedConnectionsNotice::FailedConnectionsNotice(const capture::CaptureStore &store, QWidget *parent)
    : QLabel(parent)
    , m_store(store)
{
    setObjectName(QStringLiteral("failedConnections"));
    setTextFormat(Qt::RichText);
    setWordWrap(true);
    connect(this, &QLabel::linkActivated, this, &FailedConnectionsNotice::showRequested);
    hide();
}

void FailedConnectionsNotice::update(const QList<capture::SessionId> &ids)
{
    bool changed = false;
    for (const capture::SessionId id : ids) {
        const auto s = m_store.session(id);
        // Only what the default list hides: a failed WebSocket session is listed anyway.
        if (!s || s->kind == capture::SessionKind::WebSocket || s->state != capture::SessionState::Failed
            || m_failed.contains(id))
            continue;
        m_failed.insert(id);
        m_latest = s->error.isEmpty() ? QString::fromLatin1(s->url()) : s->error;
        changed = true;
    }
    if (changed)
        refresh();
}

void FailedConnectionsNotice::setShown(bool shown)
{
    m_shown = shown;
    refresh();
}

void FailedConnectionsNotice::clear()
{
    m_failed.clear();
    m_latest.clear();
    refresh();
}

void FailedConnectionsNotice::refresh()
{
    setVisible(!m_failed.isEmpty() && !m_shown);
    if (m_failed.isEmpty())
        return;
    const int n = int(m_failed.size());
    setText((n == 1 ? tr("<span style='color:#e65100'>⚠ 1 connection failed</span>: %2 — <a href='show'>show "
                         "it</a>")
                    : tr("<span style='color:#e65100'>⚠ %1 connections failed</span>: %2 (the latest) — "
                         "<a href='show'>show them</a>"))
                .arg(n)
                .arg(m_latest.toHtmlEscaped()));
    setToolTip(tr("Connections that failed before they became WebSocket sessions (a server that is down, a "
                  "certificate rejected) are listed with HTTP and tunnels, which the list hides by default."));
}

} // namespace socktap::ui
