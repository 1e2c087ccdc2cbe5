#include "SessionInspector.h"

#include "CloseView.h"
#include "ComposePanel.h"
#include "HandshakeView.h"
#include "MessageTableModel.h"
#include "MessagesPanel.h"
#include "TimelineView.h"

#include "core/capture/CaptureStore.h"
#include "core/capture/Clock.h"
#include "core/ws/Frame.h"

#include <QLabel>
#include <QTabWidget>

namespace socktap::ui {

SessionInspector::SessionInspector(capture::CaptureStore &store, const CommandSender &send, QWidget *parent)
    : QStackedWidget(parent)
    , m_tabs(new QTabWidget(this))
    , m_noSession(
          new QLabel(tr("Select a session in the list to see its handshake, messages and close."), this))
    , m_handshake(new HandshakeView(m_tabs))
    , m_messages(new MessagesPanel(store, m_tabs))
    , m_close(new CloseView(m_tabs))
    , m_timeline(new TimelineView(m_tabs))
    , m_compose(new ComposePanel(send, m_tabs))
{
    m_tabs->addTab(m_handshake, tr("Handshake"));
    m_tabs->addTab(m_messages, tr("Messages"));
    m_tabs->addTab(m_close, tr("Close"));
    m_tabs->addTab(m_timeline, tr("Timeline"));
    m_tabs->addTab(m_compose, tr("Compose"));
    // Until a session is picked, this place says so rather than showing empty tables.
    m_noSession->setObjectName(QStringLiteral("noSession"));
    m_noSession->setAlignment(Qt::AlignCenter);
    m_noSession->setWordWrap(true);
    m_noSession->setEnabled(false); // the palette's muted text
    addWidget(m_noSession);
    addWidget(m_tabs);
    // Compose in the session's format: the message list's decoding knows it, and its latest message each way.
    m_compose->setFormatSource([this] { return m_messages->model()->formatName(); },
                               [this, &store](bool fromServer) -> std::optional<ComposePanel::Sample> {
                                   const MessageTableModel *model = m_messages->model();
                                   const auto index = model->latestDecoded(fromServer);
                                   if (!index)
                                       return std::nullopt;
                                   const auto m = store.message(model->sessionId(), *index);
                                   const auto d = model->decodedMessage(*index);
                                   if (!m || !d || !d->decoded())
                                       return std::nullopt;
                                   return ComposePanel::Sample {
                                       m->payload, m->record.opcode == quint8(ws::Opcode::Binary), d->value};
                               });
    connect(m_tabs, &QTabWidget::currentChanged, this, [this](int tab) {
        if (tab == TimelineTab)
            refreshTimeline();
    });
}

void SessionInspector::showSession(const capture::SessionInfo *s, const QList<capture::SessionId> &replays,
                                   bool messagesToo)
{
    m_hasSession = s != nullptr;
    setCurrentWidget(s ? static_cast<QWidget *>(m_tabs) : m_noSession);
    if (!s) {
        m_handshake->clear();
        m_close->clear();
        m_timeline->clear();
        m_messages->setSession(0, 0);
        return;
    }
    m_start = s->upgradedAt ? s->upgradedAt : s->acceptedAt;
    m_end = s->closedAt;
    m_faults = s->faults;
    m_handshake->setSession(*s, replays);
    m_close->setSession(*s);
    if (messagesToo)
        m_messages->setSession(s->id, m_start);
    if (m_tabs->currentIndex() == TimelineTab || messagesToo)
        refreshTimeline();
}

void SessionInspector::appendNew()
{
    m_messages->appendNew();
    if (m_tabs->currentIndex() == TimelineTab && capture::nowMicros() - m_lastTimeline > 500'000)
        refreshTimeline();
}

void SessionInspector::refreshTimeline()
{
    if (!m_hasSession) {
        m_timeline->clear();
        return;
    }
    m_lastTimeline = capture::nowMicros();
    m_timeline->setData(m_messages->model()->records(), m_start, m_end, m_faults);
}

void SessionInspector::setLive(capture::SessionId session, bool live)
{
    m_compose->setSession(session, live);
    m_messages->setLive(live);
}

void SessionInspector::editAndResend(capture::Direction from, quint8 opcode, const QByteArray &payload)
{
    m_compose->prefill(from, opcode, payload);
    m_tabs->setCurrentIndex(ComposeTab);
}

} // namespace socktap::ui
