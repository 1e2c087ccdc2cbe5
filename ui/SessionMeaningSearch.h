// The session filter's search by meaning: with "event:chat", "method:getUser", "topic:sensors/#" or a JSON
// path in the filter box, the session list keeps the sessions that have a message matching it. Every
// WebSocket session is decoded in its format, in capture order, 20 ms at a time from the event loop (the
// list fills in as sessions match), and keeps being followed while messages arrive.
#pragma once

#include "core/capture/CaptureTypes.h"
#include "core/decode/DecodedQuery.h"
#include "core/decode/SessionDecoder.h"

#include <QObject>
#include <QSet>
#include <QTimer>

#include <functional>
#include <map>
#include <memory>
#include <optional>

namespace socktap::capture {
class CaptureStore;
}

namespace socktap::ui {

class SessionMeaningSearch final : public QObject
{
    Q_OBJECT

public:
    SessionMeaningSearch(capture::CaptureStore &store, QObject *parent = nullptr);

    // nullopt: no search (nothing runs).
    void setQuery(std::optional<decode::DecodedQuery> query);
    bool active() const { return m_query.has_value(); }
    // The session's format changed (Session > Decode as): decoded again from its start.
    void forget(capture::SessionId session);
    // Every session decodes differently (a new protobuf schema): all decoded again.
    void forgetAll();
    // The format a session is decoded as when the user chose one (Session > Decode as).
    void setFormatChoice(std::function<QString(capture::SessionId)> choice) { m_choice = std::move(choice); }
    const QSet<capture::SessionId> &matches() const { return m_matches; }
    // Every message captured so far has been looked at.
    bool caughtUp() const { return m_caughtUp; }

signals:
    void matchesChanged();

private:
    struct Scan
    {
        std::unique_ptr<decode::SessionDecoder> decoder;
        quint64 next = 0; // the next message index to decode
    };
    void step();
    // What was decoded is gone: decode from the start (matchesChanged: a match was dropped).
    void searchAgain(bool matchesChanged);

    capture::CaptureStore &m_store;
    std::optional<decode::DecodedQuery> m_query;
    std::function<QString(capture::SessionId)> m_choice;
    std::map<capture::SessionId, Scan> m_scans;
    QSet<capture::SessionId> m_matches;
    QTimer m_timer;
    bool m_caughtUp = true;
};

} // namespace socktap::ui
