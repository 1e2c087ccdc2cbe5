// HAR 1.2 (HTTP Archive) export and import of captured sessions.
//
// Export writes what Chrome DevTools writes, so Chrome, HTTP Toolkit and HAR viewers open it: one entry per
// WebSocket session (its handshake as request and response, `_resourceType: "websocket"`, the data messages
// in `_webSocketMessages`) and per plain HTTP exchange. What only Socktap knows (frames, masks, wire sizes,
// close codes, control frames, TLS facts) goes into underscore-prefixed fields other readers ignore:
// `_socktap` on entries and messages, `_socktapControlFrames` on entries. Entries are streamed one by one and
// messages one by one inside them, so memory stays bounded however large the capture.
//
// Import reads HAR files from Chrome DevTools, mitmproxy (`--set hardump=FILE`), HTTP Toolkit and Socktap
// itself (any other HAR as plain "har"): WebSocket entries become WebSocket sessions with their messages,
// other http(s) entries HTTP sessions. What a HAR cannot carry (frames, masks, wire sizes) is left unknown,
// never invented: frameCount 0, wireSize 0 and a note on every such message.
#pragma once

#include "CaptureStore.h"

#include <QIODevice>

#include <functional>
#include <optional>

namespace socktap::capture {

// Called after each entry (and every few thousand messages inside one) with work units done and in all
// (one per session plus one per message); returning false cancels the export.
using HarProgress = std::function<bool(quint64 done, quint64 total)>;

// Writes sessions (all of them when empty, in id order) as a HAR 1.2 log. Opaque tunnels are skipped: a
// HAR entry is an HTTP request and response, and a tunnel has neither (only a CONNECT and byte counts).
// Sessions or messages the store no longer holds are skipped and counted in the entry's `_socktap`.
// Returns false with *error set when writing fails ("cancelled" when progress said stop); out then holds a
// partial file, which the caller discards.
bool writeHar(const CaptureStore &store, const std::vector<SessionId> &sessions, QIODevice &out,
              QString *error, const HarProgress &progress = {});

struct HarImportResult
{
    quint64 sessions = 0;
    quint64 messages = 0;
    QString dialect; // "chrome", "mitmproxy", "httptoolkit", "socktap" or "har", from log.creator.name
    QStringList warnings; // entries and messages skipped, and why ("entry 4: skipped: ...")
};

// Adds the sessions of a HAR file to the store, all or nothing: on error nothing is added and *error says
// where ("capture.har: entry 3: field 'request.url': expected a string, found a number"; entries are counted
// from 1). fileName only labels the messages.
std::optional<HarImportResult> importHar(const QByteArray &json, const QString &fileName, CaptureStore &store,
                                         QString *error);
std::optional<HarImportResult> importHar(QIODevice &in, const QString &fileName, CaptureStore &store,
                                         QString *error);

} // namespace socktap::capture
