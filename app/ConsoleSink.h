// Headless output: follows the capture live and prints one line per session event and message (or one
// JSON object per line with --json) to stdout. Status and warnings go to stderr, so stdout stays parseable.
#pragma once

#include "core/capture/CaptureStore.h"
#include "core/decode/SessionDecoder.h"

#include <QObject>

#include <set>

#include <cstdio>
#include <unordered_map>

namespace socktap::app {

class ConsoleSink final : public QObject
{
    Q_OBJECT

public:
    enum class Format { Text, Json };

    // `decode`: "auto", "off", or a format name for every session (socktap --decode).
    ConsoleSink(capture::CaptureStore &store, Format format, const QString &decode = QStringLiteral("auto"),
                FILE *out = stdout, QObject *parent = nullptr);
    ~ConsoleSink() override;

    // Whether plain HTTP requests and tunnels (opaque or failed CONNECTs) are printed; WebSocket sessions
    // always are. Hidden ones stay in the capture and are counted in the summary at exit.
    void setShowHttp(bool on) { m_showHttp = on; }
    // Prints everything captured so far that has not been printed.
    void drain();
    // Prints a whole store (an opened capture): each session's open line, its messages, its end.
    void printStore();
    // To stderr: what the capture lost or cut since the last report (evicted payloads, dropped sessions,
    // truncated messages); with summary, the totals and where the payloads past the budget are.
    void reportLosses(bool summary);

private:
    void printSession(const capture::SessionInfo &info);
    void printMessage(const capture::CaptureBatch &batch, const capture::BatchMessage &m);
    void write(const QByteArray &line);
    // One message in both renderings, decoded when --decode is not off.
    void printOne(capture::SessionId session, quint64 index, const capture::MessageRecord &record,
                  QByteArrayView payload, bool payloadEvicted, const QString &note, QByteArrayView original);
    decode::SessionDecoder *decoderFor(capture::SessionId session);

    capture::CaptureStore &m_store;
    Format m_format;
    QString m_decode;
    std::unordered_map<capture::SessionId, std::unique_ptr<decode::SessionDecoder>> m_decoders;
    FILE *m_out;
    std::shared_ptr<capture::CaptureStore::Subscription> m_subscription;
    std::unordered_map<capture::SessionId, capture::SessionState> m_printed;
    quint64 m_reportedDrops = 0;
    quint64 m_truncated = 0; // messages printed with the Truncated flag
    bool m_showHttp = true;
    std::set<capture::SessionId> m_hiddenHttp; // HTTP requests and tunnels not printed
    quint64 m_reportedTruncated = 0;
    capture::CaptureStore::Stats m_reported; // what reportLosses said last
    qint64 m_lastLossReport = 0;
};

} // namespace socktap::app
