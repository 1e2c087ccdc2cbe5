#include "ConsoleSink.h"

#include "core/capture/JsonFormat.h"
#include "core/capture/TextFormat.h"
#include "core/decode/JsonValue.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QPointer>

namespace socktap::app {

using namespace capture;

ConsoleSink::ConsoleSink(CaptureStore &store, Format format, const QString &decode, FILE *out,
                         QObject *parent)
    : QObject(parent)
    , m_store(store)
    , m_format(format)
    , m_decode(decode)
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
            // Not yet printed as open (a CONNECT session is first seen connecting): its open line goes
            // before its first message.
            const auto it = m_printed.find(s.id);
            if (it != m_printed.end() && it->second != SessionState::Connecting)
                continue;
            // A session that opened and began closing (or closed) within one batch still gets its "open"
            // event first, with the upgrade's time; its closing and closed events follow its messages.
            if (s.kind != SessionKind::Http && s.upgradedAt && s.state != SessionState::Connecting)
                printSession(openedSnapshot(s));
            else if (s.state == SessionState::Open || s.state == SessionState::Connecting)
                printSession(s);
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
    // Losses as they happen, at most once a second so a flood of evictions cannot flood stderr.
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    if (now - m_lastLossReport >= 1000) {
        m_lastLossReport = now;
        reportLosses(false);
    }
}

void ConsoleSink::printStore()
{
    for (const SessionId id : m_store.sessionIds()) {
        const auto s = m_store.session(id);
        if (!s)
            continue;
        // Its open line first (with the upgrade's time), then its messages, then how it ended (if it did).
        printSession(s->kind != SessionKind::Http && s->upgradedAt ? openedSnapshot(*s) : *s);
        const quint64 count = m_store.messageCount(id);
        for (quint64 i = m_store.firstRetainedMessage(id); i < count; ++i) {
            const auto m = m_store.message(id, i);
            if (!m)
                continue;
            printOne(id, i, m->record, m->payload, m->payloadEvicted, m->note, m->original);
        }
        printSession(*s);
    }
    std::fflush(m_out);
}

void ConsoleSink::reportLosses(bool summary)
{
    const CaptureStore::Stats now = m_store.stats();
    const auto say = [](const char *format, auto... args) { std::fprintf(stderr, format, args...); };
    using ull = unsigned long long;
    if (now.evictedPayloads > m_reported.evictedPayloads)
        say("socktap: %llu message payloads (%.1f MiB) left memory under --max-capture-memory and are gone "
            "(no capture file to read them back from)\n",
            ull(now.evictedPayloads - m_reported.evictedPayloads),
            double(now.evictedPayloadBytes - m_reported.evictedPayloadBytes) / (1 << 20));
    if (now.evictedRecords > m_reported.evictedRecords)
        say("socktap: %llu message records dropped under --max-capture-memory\n",
            ull(now.evictedRecords - m_reported.evictedRecords));
    if (now.evictedSessions > m_reported.evictedSessions)
        say("socktap: %llu finished sessions dropped under the capture budgets\n",
            ull(now.evictedSessions - m_reported.evictedSessions));
    if (m_truncated > m_reportedTruncated)
        say("socktap: %s longer than --max-message-capture; only their first bytes were kept (flagged "
            "truncated)\n",
            qPrintable(counted(m_truncated - m_reportedTruncated, "message")));
    if (summary && !m_hiddenHttp.empty())
        say("socktap: %llu HTTP requests and tunnels are in the capture, not printed (--show-http prints "
            "them)\n",
            ull(m_hiddenHttp.size()));
    if (summary && now.payloadsOnDisk)
        say("socktap: %llu payloads (%.1f MiB) past the memory budget were kept in the capture file only\n",
            ull(now.payloadsOnDisk), double(now.payloadBytesOnDisk) / (1 << 20));
    m_reported = now;
    m_reportedTruncated = m_truncated;
}

void ConsoleSink::printSession(const SessionInfo &s)
{
    if (!m_showHttp && s.kind != SessionKind::WebSocket) {
        // A browser's own traffic (updates, accounts, safe browsing) would bury the WebSocket sessions.
        m_hiddenHttp.insert(s.id);
        return;
    }
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
            write((clockTime(eventTime(s)) + QLatin1Char(' ') + line).toUtf8());
    }
    m_printed[s.id] = s.state;
    if (s.state == SessionState::Closed || s.state == SessionState::Failed
        || s.state == SessionState::Rejected)
        m_decoders.erase(s.id); // its messages are all printed
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
    if (m.record.has(MessageFlag::Truncated))
        ++m_truncated;
    const QByteArrayView payload = batch.payload(m);
    const MessageDetail *detail = batch.detail(m);
    const QString note = detail ? detail->note : QString();
    const QByteArrayView original = detail && m_format == Format::Json
        ? QByteArrayView(batch.payloads).sliced(qsizetype(detail->originalRef), detail->originalSize)
        : QByteArrayView();
    printOne(m.session, m.index, m.record, payload, false, note, original);
}

decode::SessionDecoder *ConsoleSink::decoderFor(SessionId session)
{
    if (m_decode == QLatin1String("off"))
        return nullptr;
    auto &decoder = m_decoders[session];
    if (!decoder) {
        decode::SessionHints hints;
        if (const auto info = m_store.session(session)) {
            hints.subprotocol = info->subprotocol;
            hints.path = info->path;
        }
        decoder = std::make_unique<decode::SessionDecoder>(decode::FormatRegistry::current(), hints,
                                                           m_decode == QLatin1String("auto") ? QString()
                                                                                             : m_decode);
    }
    return decoder.get();
}

void ConsoleSink::printOne(SessionId session, quint64 index, const MessageRecord &record,
                           QByteArrayView payload, bool payloadEvicted, const QString &note,
                           QByteArrayView original)
{
    // Only data messages carry an application's protocol; a truncated or evicted payload is not decoded
    // (a decoder would misread a cut message, and the state of a stream format would go wrong).
    const bool data =
        record.opcode == quint8(ws::Opcode::Text) || record.opcode == quint8(ws::Opcode::Binary);
    std::optional<decode::Decoded> decoded;
    decode::SessionDecoder *decoder =
        data && !payloadEvicted && !record.has(MessageFlag::Truncated) ? decoderFor(session) : nullptr;
    if (decoder)
        decoded = decoder->decode(index,
                                  {payload, record.opcode == quint8(ws::Opcode::Binary),
                                   record.direction() == Direction::ServerToClient},
                                  record.time);
    if (m_format == Format::Json) {
        QJsonObject o = messageToJson(session, index, record, payload, payloadEvicted, note, original);
        if (decoded && (decoded->decoded() || !decoded->error.isEmpty())) {
            const auto pair = decoder->pairOf(index);
            o["decoded"] = decode::decodedToJson(*decoded, pair ? std::optional(pair->index) : std::nullopt,
                                                 pair ? pair->micros : 0);
        }
        write(QJsonDocument(o).toJson(QJsonDocument::Compact));
        return;
    }
    QString meaning;
    if (decoded && decoded->decoded() && decoded->format != QLatin1String("json")) {
        meaning = decoded->format + QStringLiteral(": ") + decoded->summary;
        // An answer says how long it took; the request's line is printed before its answer exists.
        if (const auto pair = decoder->pairOf(index); pair && pair->index < index)
            meaning += QStringLiteral(" (%1 after its request)").arg(duration(pair->micros));
    }
    write((clockTime(record.time) + QLatin1Char(' ')
           + messageLine(session, record, payload, payloadEvicted, note, meaning))
              .toUtf8());
}

} // namespace socktap::app
