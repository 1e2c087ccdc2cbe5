// A captured session's server side, to be served again to a client under test (issue 20): the 101 as
// recorded, the server's messages grouped by the client message each followed, with their delays, and the
// server's Close. MockPlayer plays one connection of it: client messages in, what to send (and when) out.
// Sans-I/O: MockServer carries a player out on a socket.
#pragma once

#include "Comparison.h"
#include "ReplayPlan.h"

#include "core/http/HttpHead.h"
#include "core/ws/PerMessageDeflate.h"

#include <QRegularExpression>

#include <deque>
#include <memory>

namespace socktap::replay {

enum class MockMatch {
    Order, // the n-th client message gets what followed the n-th in the capture, whatever it holds
    Content, // each client message gets what followed the recorded one it equals (ignoring keys, ack ids)
};
enum class MockUnmatched {
    Ignore, // counted and shown, no answer
    Close, // the connection is closed with MockOptions::unmatchedCode
    Fail, // closed with 1008 and the run fails (socktap mock exits 4)
};

struct MockOptions
{
    MockMatch match = MockMatch::Order;
    Timing timing = Timing::Original;
    double speed = 1.0; // Original and Conversation timing: 2 answers twice as fast
    QStringList ignoreJsonKeys; // Content matching: keys whose values may differ, at any depth
    MockUnmatched unmatched = MockUnmatched::Ignore;
    quint16 unmatchedCode = 1008; // MockUnmatched::Close (RFC 6455 7.4.1: policy violation)
    bool keepReceived = false; // keep what the client sent, for a report that shows it (socktap mock --once)
};

// "ignore", "close", "close:4000", "fail" into options; false for anything else (a code an endpoint may
// not send, RFC 6455 7.4, included).
bool setUnmatchedPolicy(const QString &text, MockOptions &options);

struct MockAnswer
{
    quint8 opcode = 0; // Text, Binary, or Close (the server's, with closeCode and payload as its reason)
    QByteArray payload;
    std::optional<quint16> closeCode;
    // After the anchor: the upgrade for the server's first messages, else the client message it followed.
    qint64 offsetUs = 0;
    bool endsTcp = false; // the server ended TCP here without a Close (recorded so)
};

struct MockPlan
{
    capture::SessionId original = 0;
    QString label; // "capture.socktap session 3", as the session records name the mock
    QByteArray path; // as recorded, path and query
    QByteArray subprotocol; // the recorded choice
    http::Headers responseHeaders; // the recorded 101's, but those the handshake recomputes
    bool deflate = false; // the recorded session negotiated permessage-deflate
    std::vector<ComparedMessage> clientMessages; // data messages the client sent, in order
    // answers[k]: what the server sent after the client's k-th data message (answers[0]: before any), in
    // order, its Close or TCP end last when it closed first.
    std::vector<std::vector<MockAnswer>> answers;
    // The client closed first: the server's answer to its Close (none when the server only ended TCP).
    std::optional<MockAnswer> closeAnswer;
    decode::SessionHints hints;
    QStringList notes; // what the mock leaves out, and why
    int serverMessages() const;
};

// A plan for session `id` of a capture, or nullopt with why (no such session, not a WebSocket session, a
// payload the capture no longer holds...).
std::optional<MockPlan> planMock(const capture::CaptureStore &store, capture::SessionId id, QString *error);

// What the client did against the mock, for the console, --json and the exit code.
struct MockReport
{
    int received = 0; // client data messages
    int answered = 0; // ... that had an answer in the capture (or were in order)
    int unanswered = 0; // ... that had none: shown and counted
    int sent = 0; // server data messages sent
    QStringList unansweredText; // the first few, as excerpts
    DirectionComparison client; // what the client sent against what the capture expected
    bool failed = false; // MockUnmatched::Fail was triggered
    // The client sent everything the capture expected and nothing it had no answer for.
    bool matched() const { return client.matched() && unanswered == 0 && !failed; }
};
QJsonObject mockReportJson(const MockReport &report);
QString mockReportText(const MockReport &report);

class MockPlayer
{
public:
    struct Out
    {
        enum class Kind { Message, Close, EndTcp };
        Kind kind = Kind::Message;
        quint8 opcode = 0;
        QByteArray payload; // a message's; a Close's reason
        std::optional<quint16> closeCode;
    };

    MockPlayer(std::shared_ptr<const MockPlan> plan, MockOptions options);

    void start(qint64 nowUs); // the upgrade: the server's first messages are due
    // A client data message; returns a line for the console when it had no answer in the capture.
    QString onClientMessage(quint8 opcode, QByteArrayView payload, qint64 nowUs);
    // The client's Close: what is still due is dropped, the recorded answer is due now.
    void onClientClose(std::optional<quint16> code, qint64 nowUs);
    // When the next send is due (µs on the caller's clock), if anything is queued.
    std::optional<qint64> nextDue() const;
    // What is due at nowUs, in order.
    std::vector<Out> takeDue(qint64 nowUs);
    bool closed() const { return m_closed; } // a Close or TCP end has been handed out
    bool clientClosed() const { return m_clientClosed; }
    // The mock closed by itself (shutting down, a broken frame): nothing more is due.
    void stop()
    {
        m_queue.clear();
        m_closed = true;
    }
    // The report so far; finished, it adds the expected messages that never came.
    MockReport report(bool finished) const;

private:
    struct Queued
    {
        qint64 dueUs = 0;
        Out out;
    };
    // What the client chose afresh where the recorded client message had other values (a Socket.IO ack
    // id, an ignored JSON key's value): the answers to it carry the client's.
    struct Echo
    {
        QByteArray ackFrom, ackTo;
        std::vector<std::pair<QRegularExpression, QString>> keys; // the recorded "key": value -> the client's
    };
    Echo echoOf(QByteArrayView recorded, QByteArrayView received) const;
    // answers[group] from anchorUs on, with echo applied to them.
    void queueGroup(size_t group, qint64 anchorUs, const Echo &echo = {});
    int matchContent(QByteArrayView payload, quint8 opcode);

    std::shared_ptr<const MockPlan> m_plan;
    MockOptions m_options;
    std::deque<Queued> m_queue;
    qint64 m_lastDue = 0; // answers never overtake one another
    std::vector<bool> m_used; // Content: expected messages already matched
    MockReport m_report;
    bool m_closed = false;
    bool m_clientClosed = false;
};

// Socket.IO (Engine.IO 4 over WebSocket, "42" events and "43" acks with an id): where the ack id is in a
// text packet, so a client with fresh ids is matched to the recorded one and its answer carries the id
// the client chose. {start, length} of the digits, or nullopt.
std::optional<std::pair<qsizetype, qsizetype>> socketIoAckId(QByteArrayView packet);

} // namespace socktap::replay
