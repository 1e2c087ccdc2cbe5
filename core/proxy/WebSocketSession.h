// One WebSocket session's relay phase on its worker thread: feeds the sans-I/O relay, writes what it
// forwards, records what it captures, keeps the session's interceptor in step with the rules, publishes
// held messages, runs delay timers, and carries out commands from the window or the console. Owned by the
// ProxyConnection that upgraded; holds no socket of its own and never ends the connection itself.
#pragma once

#include "ProxyConfig.h"
#include "StreamSocket.h"
#include "WebSocketRelay.h"

#include "core/capture/CaptureWriter.h"
#include "core/intercept/Interceptor.h"

#include <QObject>
#include <QTimer>

#include <functional>

namespace socktap::proxy {

class WebSocketSession final : public QObject, private WebSocketRelay::Sink
{
    Q_OBJECT

public:
    using Direction = capture::Direction;

    struct Owner // what the connection provides
    {
        StreamSocket *client = nullptr;
        StreamSocket *upstream = nullptr;
        capture::SessionInfo *session = nullptr; // the connection's record, published by publish()
        std::function<void()> publish;
        std::function<void(Direction from, quint16 code, const QString &why)> failed; // strict mode
        std::function<void(Direction from)> backlogCleared; // nothing of `from` is kept back any more
        std::function<void(Direction from)> closeReceived; // a Close frame from `from` was captured
        // A fault rule's command, carried out by the connection afterMs from now (on its own timer: a
        // reset ends the connection, and this session with it).
        std::function<void(const intercept::SessionCommand &command, int afterMs)> fault;
    };

    WebSocketSession(const ProxyConfig &config, capture::CaptureWriter &capture, Owner owner,
                     std::optional<ws::DeflateParams> deflate, QObject *parent = nullptr);
    ~WebSocketSession() override;

    void received(Direction from, QByteArrayView bytes);
    // Whether reading from `from` may go on: not while too much of it waits behind held messages, nor
    // while a FIN from it waits for them, nor while bytes it sent wait for their decoding turn.
    // A Close (or other message) of Socktap's own still waits for the frame in progress to end.
    bool ownPending() const
    {
        return m_relay.ownPending(Direction::ClientToServer) || m_relay.ownPending(Direction::ServerToClient);
    }
    bool mayRead(Direction from) const
    {
        const int i = capture::directionIndex(from);
        return !m_stalled[i] && m_relay.backlog(from) <= m_config.highWaterNow() && m_untaken[i].isEmpty()
            && !(m_throttle[i] && m_throttle[i]->wakeScheduled); // (a throttle's timer wakes it)
    }
    // Throttle rules: how many bytes may be read from `from` now (-1: no limit; 0: none, and reading is
    // enabled again once there are some), and what was read.
    qsizetype readAllowance(Direction from);
    void readTaken(Direction from, qsizetype bytes);
    // A throttle stopped reading a side that has more to send, and will read it again.
    bool throttleWaiting() const
    {
        return (m_throttle[0] && m_throttle[0]->wakeScheduled)
            || (m_throttle[1] && m_throttle[1]->wakeScheduled);
    }
    // `from` ended its TCP connection (reset: nothing more can be written to it).
    void ended(Direction from, bool reset = false);
    // One turn of the event loop's worth of decoding (see WebSocketRelay::startSlice).
    void startSlice(Direction from) { m_relay.startSlice(from); }
    bool sliceSpent(Direction from) const { return m_relay.sliceSpent(from); }
    intercept::CommandResult command(const intercept::SessionCommand &command);
    // Close frames of Socktap's own towards either peer (strict mode, shutdown), recorded as injected.
    // `immediately`: not waiting for a frame boundary (the connection is being failed or shut down).
    void sendClose(quint16 code, const QByteArray &reason, bool toClient, bool toServer,
                   bool immediately = false, const QString &note = {});
    const WebSocketRelay &relay() const { return m_relay; }
    // The session ended: held messages are forgotten by the window, bytes not yet decoded are dropped.
    void forgetHeld();
    // The session's record says it ended: the scripts' onClose runs, their timers stop.
    void sessionEnded()
    {
        followRules(); // the scripts of now
        m_interceptor.closed(m_owner.session->close, m_owner.session->close.detail);
    }

private:
    void forward(Direction from, QByteArrayView bytes) override;
    void captured(Direction from, const capture::MessageFacts &message) override;
    void fail(Direction from, quint16 code, const QString &why) override;
    void held(const intercept::HeldMessage &message) override;
    void unheld(Direction from, quint64 id) override;
    void delay(Direction from, quint64 id, int ms) override;
    bool canSend(Direction from) const override;
    void fault(const intercept::SessionCommand &command) override;

    void followRules();
    intercept::ScriptSession::Io scriptIo();
    void followThrottles();
    void takeUntaken(Direction from);
    void resumeIfRelieved(Direction from);
    StreamSocket *receiverOf(Direction d) const;
    StreamSocket *senderOf(Direction d) const;

    const ProxyConfig &m_config;
    capture::CaptureWriter &m_capture;
    Owner m_owner;
    intercept::Interceptor m_interceptor;
    quint64 m_rulesGeneration = ~0ull;
    WebSocketRelay m_relay;
    // Bytes the relay did not take yet (its decoding time slice was spent), per direction; offered again
    // on the next turn of the event loop, with reading from that sender paused until they are taken.
    QByteArray m_untaken[2];
    bool m_stalled[2] = {false, false}; // Stall: what that side sends is not read
    QTimer m_stallWatch; // while stalled: has the stalled side's peer left?
    // Bandwidth (throttle rules): a token bucket per direction on what Socktap reads from the sender, so
    // nothing waits in Socktap's memory and TCP slows the sender down, as a slow link would.
    struct ReadThrottle
    {
        qint64 bytesPerSecond = 0;
        double tokens = 0; // bytes that may be read now
        qint64 at = 0; // µs: when tokens was last brought up to date
        bool wakeScheduled = false;
    };
    std::optional<ReadThrottle> m_throttle[2];
    QString m_gone[2]; // per side that ended: why what is sent to it is not delivered
    bool m_goneByReset[2] = {false, false};
};

} // namespace socktap::proxy
