#include "ConsoleSink.h"

#include "core/capture/JsonFormat.h"
#include "core/capture/TextFormat.h"

#include <QJsonDocument>
#include <QPointer>

namespace socktap::app {

using namespace capture;

ConsoleSink::ConsoleSink(CaptureStore &store, Format format, FILE *out, QObject *parent)
    : QObject(parent)
    , m_store(store)
    , m_format(format)
    , m_out(out)
{
    QPointer<ConsoleSink> self(this);
    m_subscription = store.subscribe([self] {
        // Called on a worker thread: hop to ours.
        if (self)
            QMetaObject::invokeMethod(self.data(), &ConsoleSink::drain, Qt::QueuedConnection);
    });
}

ConsoleSink::~ConsoleSink()
{
    m_store.unsubscribe(m_subscription);
}

void ConsoleSink::write(const QByteArray &line)
{
    std::fwrite(line.constData(), 1, size_t(line.size()), m_out);
    std::fputc('\n', m_out);
}

void ConsoleSink::drain()
{
    const auto batches = m_subscription->take();
    const quint64 dropped = m_subscription->droppedBatches();
    if (dropped > m_reportedDrops) {
        // The capture itself is complete; only this console view fell behind. Say so, never silently.
        std::fprintf(stderr,
                     "socktap: %llu capture batches were not printed because the console could not keep up; "
                     "the capture itself is complete\n",
                     static_cast<unsigned long long>(dropped - m_reportedDrops));
        m_reportedDrops = dropped;
    }
    for (const BatchPtr &batch : batches) {
        // New sessions first, then messages, then sessions that ended: the order things happened in.
        for (const SessionInfo &s : batch->sessions) {
            if (m_printed.contains(s.id))
                continue;
            // A session that opened and closed within one batch still gets its "open" line first.
            SessionInfo opened = s;
            if (s.kind != SessionKind::Http && s.upgradedAt && s.state == SessionState::Closed)
                opened.state = SessionState::Open;
            if (opened.state == SessionState::Open || opened.state == SessionState::Closing
                || opened.state == SessionState::Connecting)
                printSession(opened);
        }
        for (const BatchMessage &m : batch->messages)
            printMessage(*batch, m);
        for (const SessionInfo &s : batch->sessions) {
            const auto it = m_printed.find(s.id);
            if (it == m_printed.end() || it->second != s.state)
                printSession(s);
        }
    }
    std::fflush(m_out);
}

void ConsoleSink::printSession(const SessionInfo &s)
{
    const auto it = m_printed.find(s.id);
    const std::optional<SessionState> previous =
        it == m_printed.end() ? std::nullopt : std::optional(it->second);
    if (m_format == Format::Json) {
        if (previous != s.state && s.state != SessionState::Connecting) {
            QJsonObject o = sessionToJson(s);
            o["event"] = stateName(s.state);
            write(QJsonDocument(o).toJson(QJsonDocument::Compact));
        }
    } else {
        const QString line = sessionLine(s, previous);
        if (!line.isEmpty())
            write(line.toUtf8());
    }
    m_printed[s.id] = s.state;
    if (m_printed.size() > 100'000) {
        // Keep the map bounded: forget sessions that ended.
        std::erase_if(m_printed, [](const auto &entry) {
            return entry.second == SessionState::Closed || entry.second == SessionState::Failed
                || entry.second == SessionState::Rejected;
        });
    }
}

void ConsoleSink::printMessage(const CaptureBatch &batch, const BatchMessage &m)
{
    const QByteArrayView payload = batch.payload(m);
    const MessageDetail *detail = batch.detail(m);
    const QString note = detail ? detail->note : QString();
    if (m_format == Format::Json) {
        const QByteArrayView original = detail
            ? QByteArrayView(batch.payloads).sliced(qsizetype(detail->originalRef), detail->originalSize)
            : QByteArrayView();
        write(QJsonDocument(messageToJson(m.session, m.index, m.record, payload, false, note, original))
                  .toJson(QJsonDocument::Compact));
    } else {
        write(messageLine(m.session, m.record, payload, false, note).toUtf8());
    }
}

} // namespace socktap::app
