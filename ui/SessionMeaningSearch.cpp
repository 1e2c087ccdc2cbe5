#include "SessionMeaningSearch.h"

#include "core/capture/CaptureStore.h"
#include "core/decode/FormatRegistry.h"
#include "core/ws/Frame.h"

#include <QElapsedTimer>

#include <algorithm>

namespace socktap::ui {

namespace {

constexpr int SliceMs = 20; // decoding per turn of the event loop: the window stays responsive
constexpr int FollowMs = 250; // caught up: how often new messages are looked at

} // namespace

SessionMeaningSearch::SessionMeaningSearch(capture::CaptureStore &store, QObject *parent)
    : QObject(parent)
    , m_store(store)
{
    connect(&m_timer, &QTimer::timeout, this, &SessionMeaningSearch::step);
}

void SessionMeaningSearch::setQuery(std::optional<decode::DecodedQuery> query)
{
    const bool had = !m_matches.isEmpty();
    m_query = std::move(query);
    m_scans.clear();
    m_matches.clear();
    m_caughtUp = !m_query;
    if (!m_query) {
        m_timer.stop();
    } else {
        m_timer.start(0);
    }
    if (had || m_query)
        emit matchesChanged();
}

void SessionMeaningSearch::forget(capture::SessionId session)
{
    m_scans.erase(session);
    searchAgain(m_matches.remove(session));
}

void SessionMeaningSearch::forgetAll()
{
    m_scans.clear();
    const bool had = !m_matches.isEmpty();
    m_matches.clear();
    searchAgain(had);
}

void SessionMeaningSearch::searchAgain(bool matchesChanged)
{
    if (!m_query)
        return;
    m_caughtUp = false;
    m_timer.start(0);
    if (matchesChanged)
        emit this->matchesChanged();
}

void SessionMeaningSearch::step()
{
    if (!m_query)
        return;
    QElapsedTimer clock;
    clock.start();
    bool changed = false;
    bool done = true;
    const std::vector<capture::SessionId> ids = m_store.sessionIds();
    for (const capture::SessionId id : ids) {
        if (clock.elapsed() >= SliceMs) {
            done = false;
            break;
        }
        if (m_matches.contains(id))
            continue;
        const auto info = m_store.session(id);
        if (!info || info->kind != capture::SessionKind::WebSocket)
            continue;
        Scan &scan = m_scans[id];
        if (!scan.decoder)
            scan.decoder = std::make_unique<decode::SessionDecoder>(
                decode::FormatRegistry::current(), decode::SessionHints {info->subprotocol, info->path},
                m_choice ? m_choice(id) : QString());
        const quint64 count = m_store.messageCount(id);
        scan.next = std::max(scan.next, m_store.firstRetainedMessage(id));
        for (; scan.next < count; ++scan.next) {
            if (clock.elapsed() >= SliceMs) {
                done = false;
                break;
            }
            const auto m = m_store.message(id, scan.next);
            const bool data = m
                && (m->record.opcode == quint8(ws::Opcode::Text)
                    || m->record.opcode == quint8(ws::Opcode::Binary));
            // A cut or evicted payload is not decoded (a stream format would lose its place on it).
            if (!data || m->payloadEvicted || m->record.has(capture::MessageFlag::Truncated))
                continue;
            const decode::Decoded d =
                scan.decoder->decode(scan.next,
                                     {m->payload, m->record.opcode == quint8(ws::Opcode::Binary),
                                      m->record.direction() == capture::Direction::ServerToClient},
                                     m->record.time);
            if (m_query->matches(d)) {
                m_matches.insert(id);
                changed = true;
                break;
            }
        }
        if (m_matches.contains(id))
            m_scans.erase(id); // a match is kept; its decoder and state are not needed any more
        if (!done)
            break;
    }
    // Sessions gone from the capture (cleared, evicted) leave their decoders behind otherwise.
    if (done && m_scans.size() > ids.size())
        std::erase_if(m_scans, [&](const auto &scan) {
            return !std::binary_search(ids.begin(), ids.end(), scan.first);
        });
    m_caughtUp = done;
    // Until caught up, at once again; then a look at what arrived now and then.
    m_timer.start(done ? FollowMs : 0);
    if (changed)
        emit matchesChanged();
}

} // namespace socktap::ui
