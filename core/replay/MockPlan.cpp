#include "MockPlan.h"

#include "core/capture/TextFormat.h"
#include "core/ws/CloseCode.h"
#include "core/ws/ClosePayload.h"
#include "core/ws/Frame.h"

#include <QJsonArray>

#include <algorithm>

namespace socktap::replay {

namespace {

constexpr int KeptUnansweredLines = 20;

// The 101's fields the mock's own handshake computes (RFC 6455 4.2.2) or that frame a body (there is none).
bool recomputed(QByteArrayView name)
{
    static const char *const Names[] = {
        "sec-websocket-accept", "sec-websocket-protocol", "sec-websocket-extensions", "upgrade",
        "connection",           "content-length",         "transfer-encoding"};
    for (const char *n : Names)
        if (name.compare(QByteArrayView(n), Qt::CaseInsensitive) == 0)
            return true;
    return false;
}

MockAnswer closeAnswer(const capture::MessageView &m, qint64 offsetUs)
{
    const ws::ClosePayload close = ws::ClosePayload::parse(m.payload);
    return {quint8(ws::Opcode::Close), close.reason, close.code, offsetUs, false};
}

QString excerpt(QByteArrayView payload, quint8 opcode)
{
    if (opcode != quint8(ws::Opcode::Text))
        return QStringLiteral("%1 binary bytes").arg(payload.size());
    const QString text = QString::fromUtf8(payload.first(std::min<qsizetype>(payload.size(), 80)));
    return QLatin1Char('"') + text + (payload.size() > 80 ? QStringLiteral("...\"") : QStringLiteral("\""));
}

// The packet with its Socket.IO ack id taken out, so that fresh ids compare equal.
QByteArray withoutAckId(const QByteArray &packet)
{
    const auto at = socketIoAckId(packet);
    return at ? QByteArray(packet).remove(at->first, at->second) : packet;
}

} // namespace

std::optional<std::pair<qsizetype, qsizetype>> socketIoAckId(QByteArrayView p)
{
    // Engine.IO 4 message '4', then a Socket.IO packet: type, [attachments '-'], [namespace ','], [id],
    // payload. Only events and acks carry an id (socket.io-protocol v5).
    if (p.size() < 4 || p[0] != '4' || !(p[1] == '2' || p[1] == '3' || p[1] == '5' || p[1] == '6'))
        return std::nullopt;
    qsizetype i = 2;
    if (p[1] == '5' || p[1] == '6') {
        while (i < p.size() && p[i] >= '0' && p[i] <= '9')
            ++i;
        if (i >= p.size() || p[i] != '-')
            return std::nullopt;
        ++i;
    }
    if (i < p.size() && p[i] == '/') {
        const qsizetype comma = p.indexOf(',', i);
        const qsizetype bracket = p.indexOf('[', i);
        if (comma < 0 || (bracket >= 0 && bracket < comma))
            return std::nullopt; // a namespace without a payload
        i = comma + 1;
    }
    const qsizetype start = i;
    while (i < p.size() && p[i] >= '0' && p[i] <= '9')
        ++i;
    if (i == start || i >= p.size() || p[i] != '[')
        return std::nullopt;
    return std::pair {start, i - start};
}

bool setUnmatchedPolicy(const QString &text, MockOptions &options)
{
    if (text == u"ignore" || text == u"fail" || text == u"close") {
        options.unmatched = text == u"ignore" ? MockUnmatched::Ignore
            : text == u"fail"                 ? MockUnmatched::Fail
                                              : MockUnmatched::Close;
        return true;
    }
    if (!text.startsWith(u"close:"))
        return false;
    bool ok = false;
    const uint code = text.mid(6).toUInt(&ok);
    if (!ok || code > 0xffff || !ws::isValidOnWire(quint16(code)))
        return false;
    options.unmatched = MockUnmatched::Close;
    options.unmatchedCode = quint16(code);
    return true;
}

int MockPlan::serverMessages() const
{
    int n = 0;
    for (const auto &group : answers)
        n += int(
            std::count_if(group.begin(), group.end(), [](const MockAnswer &a) { return isData(a.opcode); }));
    return n;
}

std::optional<MockPlan> planMock(const capture::CaptureStore &store, capture::SessionId id, QString *error)
{
    const auto fail = [&](const QString &why) -> std::optional<MockPlan> {
        if (error)
            *error = QStringLiteral("session %1 cannot be served as a mock: %2").arg(id).arg(why);
        return std::nullopt;
    };
    const auto session = store.session(id);
    if (!session)
        return fail(QStringLiteral("the capture has no such session"));
    if (session->kind != capture::SessionKind::WebSocket || session->response.status != 101)
        return fail(QStringLiteral("it is not an upgraded WebSocket session"));
    if (store.firstRetainedMessage(id) > 0)
        return fail(QStringLiteral("its first %1 messages were evicted from the capture")
                        .arg(store.firstRetainedMessage(id)));

    MockPlan plan;
    plan.original = id;
    plan.path = session->path;
    plan.subprotocol = session->subprotocol;
    plan.deflate = session->deflate.has_value();
    plan.hints = {session->subprotocol, session->path};
    for (const http::HeaderField &f : session->response.headers.fields())
        if (!recomputed(f.name))
            plan.responseHeaders.append(f.name, f.value);
    plan.answers.emplace_back();

    const bool serverClosedFirst = session->close.firstCloser == capture::Direction::ServerToClient;
    qint64 anchor = session->upgradedAt;
    qint64 clientCloseAt = 0;
    int pings = 0;
    bool serverClosed = false;
    const quint64 count = store.messageCount(id);
    for (quint64 i = 0; i < count; ++i) {
        const auto m = store.message(id, i);
        if (!m)
            return fail(QStringLiteral("message %1 is no longer in the capture").arg(i + 1));
        const capture::MessageRecord &r = m->record;
        const bool fromClient = r.direction() == capture::Direction::ClientToServer;
        // The first Close toward the server, the client's or one Socktap sent for it: the server's Close
        // after it is its answer, timed from it.
        if (fromClient && r.opcode == quint8(ws::Opcode::Close) && !clientCloseAt && !serverClosedFirst)
            clientCloseAt = r.time;
        if (!sentByPeer(r))
            continue;
        if (isData(r.opcode) && (m->payloadEvicted || r.payloadSize > quint64(m->payload.size())))
            return fail(QStringLiteral("the payload of message %1 (%2 bytes) is not wholly in the capture")
                            .arg(i + 1)
                            .arg(r.payloadSize));
        if (fromClient) {
            if (r.opcode == quint8(ws::Opcode::Close) && !clientCloseAt)
                clientCloseAt = r.time;
            if (!isData(r.opcode) || clientCloseAt)
                continue;
            ComparedMessage c;
            c.opcode = r.opcode;
            c.payload = m->payload;
            c.payloadSize = r.payloadSize;
            plan.clientMessages.push_back(std::move(c));
            plan.answers.emplace_back();
            anchor = r.time;
            continue;
        }
        if (serverClosed)
            continue;
        if (isData(r.opcode)) {
            // An edited server message: the server wrote the original, which is what a mock of it sends.
            const bool edited = r.has(capture::MessageFlag::Edited) && !m->original.isEmpty();
            plan.answers.back().push_back({r.opcode, edited ? m->original : m->payload, std::nullopt,
                                           std::max<qint64>(0, r.time - anchor)});
        } else if (r.opcode == quint8(ws::Opcode::Close)) {
            serverClosed = true;
            if (serverClosedFirst)
                plan.answers.back().push_back(closeAnswer(*m, std::max<qint64>(0, r.time - anchor)));
            else
                plan.closeAnswer = closeAnswer(*m, std::max<qint64>(0, r.time - clientCloseAt));
        } else if (r.opcode == quint8(ws::Opcode::Ping)) {
            ++pings;
        }
    }
    if (!serverClosed && session->close.end == capture::EndReason::ServerEof && session->close.tcpEndTime) {
        MockAnswer end;
        end.endsTcp = true;
        end.offsetUs =
            std::max<qint64>(0, session->close.tcpEndTime - (clientCloseAt ? clientCloseAt : anchor));
        if (clientCloseAt)
            plan.closeAnswer = end;
        else
            plan.answers.back().push_back(end);
    }
    if (pings)
        plan.notes.append(QStringLiteral("the server's %1 are not sent (pings depend on timing; the mock "
                                         "answers the client's pings)")
                              .arg(capture::counted(pings, "ping")));
    if (plan.clientMessages.empty() && plan.serverMessages() == 0)
        return fail(QStringLiteral("neither side sent a message"));
    return plan;
}

MockPlayer::MockPlayer(std::shared_ptr<const MockPlan> plan, MockOptions options)
    : m_plan(std::move(plan))
    , m_options(std::move(options))
    , m_used(m_plan->clientMessages.size(), false)
{ }

void MockPlayer::start(qint64 nowUs)
{
    m_lastDue = nowUs;
    queueGroup(0, nowUs);
}

MockPlayer::Echo MockPlayer::echoOf(QByteArrayView recorded, QByteArrayView received) const
{
    Echo echo;
    const auto mine = socketIoAckId(received);
    const auto theirs = socketIoAckId(recorded);
    if (mine && theirs) {
        echo.ackFrom = recorded.sliced(theirs->first, theirs->second).toByteArray();
        echo.ackTo = received.sliced(mine->first, mine->second).toByteArray();
    }
    // An ignored key ("id") whose value the client chose afresh: found as text, so the answer keeps its
    // bytes but for the value (re-serialising it would reorder its keys).
    static const QString Value =
        QStringLiteral(R"re(\s*:\s*("(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*|true|false|null))re");
    const QString a = QString::fromUtf8(recorded), b = QString::fromUtf8(received);
    for (const QString &key : m_options.ignoreJsonKeys) {
        const QString name = QLatin1Char('"') + QRegularExpression::escape(key) + QLatin1Char('"');
        const QRegularExpression find(name + Value);
        const auto x = find.match(a), y = find.match(b);
        if (!x.hasMatch() || !y.hasMatch() || x.captured(1) == y.captured(1))
            continue;
        echo.keys.emplace_back(QRegularExpression(QStringLiteral(R"re((%1\s*:\s*)(%2)(?=\s*[,}\]]))re")
                                                      .arg(name, QRegularExpression::escape(x.captured(1)))),
                               y.captured(1));
    }
    return echo;
}

void MockPlayer::queueGroup(size_t group, qint64 anchorUs, const Echo &echo)
{
    if (group >= m_plan->answers.size())
        return;
    const std::vector<MockAnswer> &answers = m_plan->answers[group];
    for (const MockAnswer &a : answers) {
        qint64 offset = 0;
        if (m_options.timing == Timing::Original)
            offset = a.offsetUs;
        else if (m_options.timing == Timing::Conversation)
            offset = a.offsetUs - answers.front().offsetUs; // its thinking time dropped, its pace kept
        const qint64 due = std::max(anchorUs + qint64(double(offset) / m_options.speed), m_lastDue);
        m_lastDue = due;
        Out out;
        out.kind = a.endsTcp                        ? Out::Kind::EndTcp
            : a.opcode == quint8(ws::Opcode::Close) ? Out::Kind::Close
                                                    : Out::Kind::Message;
        out.opcode = a.opcode;
        out.payload = a.payload;
        out.closeCode = a.closeCode;
        // The client chose a fresh Socket.IO ack id: the answer to it carries that id (an ack, "43").
        if (!echo.ackFrom.isEmpty() && out.kind == Out::Kind::Message && out.payload.startsWith("43")) {
            if (const auto at = socketIoAckId(out.payload);
                at && out.payload.mid(at->first, at->second) == echo.ackFrom)
                out.payload.replace(at->first, at->second, echo.ackTo);
        }
        if (!echo.keys.empty() && out.kind == Out::Kind::Message && out.opcode == quint8(ws::Opcode::Text)) {
            QString text = QString::fromUtf8(out.payload);
            for (const auto &[pattern, value] : echo.keys) {
                // Spliced by offsets, not as a replacement template: the value may hold backslashes.
                if (const QRegularExpressionMatch m = pattern.match(text); m.hasMatch())
                    text.replace(m.capturedStart(2), m.capturedLength(2), value);
            }
            out.payload = text.toUtf8();
        }
        m_queue.push_back({due, std::move(out)});
    }
}

int MockPlayer::matchContent(QByteArrayView payload, quint8 opcode)
{
    const QByteArray received = withoutAckId(payload.toByteArray());
    const CompareOptions compare {m_options.ignoreJsonKeys, std::nullopt};
    for (size_t j = 0; j < m_plan->clientMessages.size(); ++j) {
        const ComparedMessage &expected = m_plan->clientMessages[j];
        if (m_used[j] || expected.opcode != opcode)
            continue;
        if (payloadDifferences(opcode, withoutAckId(expected.payload), received, compare).isEmpty())
            return int(j);
    }
    return -1;
}

QString MockPlayer::onClientMessage(quint8 opcode, QByteArrayView payload, qint64 nowUs)
{
    if (m_clientClosed || m_closed)
        return {};
    const int index = m_report.received++;
    ComparedMessage got;
    got.opcode = opcode;
    got.payloadSize = quint64(payload.size());
    if (m_options.keepReceived)
        got.payload = payload.toByteArray();
    const bool keep = m_options.keepReceived;
    int expected = -1;
    if (m_options.match == MockMatch::Order) {
        if (size_t(index) < m_plan->clientMessages.size()) {
            expected = index;
            got.payload = payload.toByteArray(); // compared, then dropped unless kept
            MessagePair pair = comparePair(m_plan->clientMessages[size_t(index)], got,
                                           {m_options.ignoreJsonKeys, std::nullopt});
            pair.originalIndex = pair.replayIndex = index;
            if (!keep)
                pair.replay->payload.clear();
            m_report.client.add(std::move(pair), keep);
            if (!keep)
                got.payload.clear();
            queueGroup(size_t(index) + 1, nowUs);
        }
    } else {
        expected = matchContent(payload, opcode);
        if (expected >= 0) {
            m_used[size_t(expected)] = true;
            MessagePair pair;
            pair.original = m_plan->clientMessages[size_t(expected)];
            pair.replay = got;
            pair.originalIndex = expected;
            pair.replayIndex = index;
            m_report.client.add(std::move(pair), keep);
            queueGroup(size_t(expected) + 1, nowUs,
                       echoOf(m_plan->clientMessages[size_t(expected)].payload, payload));
        }
    }
    if (expected >= 0) {
        ++m_report.answered;
        return {};
    }
    ++m_report.unanswered;
    MessagePair extra;
    extra.verdict = MessagePair::Verdict::Extra;
    extra.replay = got;
    extra.replayIndex = index;
    m_report.client.add(std::move(extra), keep);
    const QString line = QStringLiteral("client message %1 has no answer in the capture: %2")
                             .arg(index + 1)
                             .arg(excerpt(payload, opcode));
    if (m_report.unansweredText.size() < KeptUnansweredLines)
        m_report.unansweredText.append(line);
    if (m_options.unmatched != MockUnmatched::Ignore) {
        m_report.failed = m_options.unmatched == MockUnmatched::Fail;
        m_queue.clear();
        Out close;
        close.kind = Out::Kind::Close;
        close.opcode = quint8(ws::Opcode::Close);
        close.closeCode =
            m_options.unmatched == MockUnmatched::Fail ? quint16(1008) : m_options.unmatchedCode;
        close.payload =
            QStringLiteral("socktap mock: no answer for client message %1").arg(index + 1).toUtf8();
        m_queue.push_back({nowUs, std::move(close)});
    }
    return line;
}

void MockPlayer::onClientClose(std::optional<quint16> code, qint64 nowUs)
{
    if (m_clientClosed)
        return;
    m_clientClosed = true;
    if (m_closed)
        return; // the mock's Close went first: the client's is its answer
    m_queue.clear();
    Out out;
    out.kind = Out::Kind::Close;
    out.opcode = quint8(ws::Opcode::Close);
    qint64 offset = 0;
    if (m_plan->closeAnswer) {
        const MockAnswer &a = *m_plan->closeAnswer;
        out.kind = a.endsTcp ? Out::Kind::EndTcp : Out::Kind::Close;
        out.closeCode = a.closeCode;
        out.payload = a.payload;
        offset = m_options.timing == Timing::Original ? qint64(double(a.offsetUs) / m_options.speed) : 0;
    } else {
        out.closeCode = code; // RFC 6455 5.5.1: an endpoint typically echoes the code it received
    }
    m_queue.push_back({nowUs + offset, std::move(out)});
}

std::optional<qint64> MockPlayer::nextDue() const
{
    if (m_queue.empty() || m_closed)
        return std::nullopt;
    return m_queue.front().dueUs;
}

std::vector<MockPlayer::Out> MockPlayer::takeDue(qint64 nowUs)
{
    std::vector<Out> due;
    while (!m_closed && !m_queue.empty() && m_queue.front().dueUs <= nowUs) {
        Out out = std::move(m_queue.front().out);
        m_queue.pop_front();
        if (out.kind == Out::Kind::Message)
            ++m_report.sent;
        else
            m_closed = true; // nothing follows a Close or the end of TCP
        due.push_back(std::move(out));
    }
    if (m_closed)
        m_queue.clear();
    return due;
}

MockReport MockPlayer::report(bool finished) const
{
    MockReport r = m_report;
    if (!finished)
        return r;
    for (size_t j = 0; j < m_plan->clientMessages.size(); ++j) {
        const bool came = m_options.match == MockMatch::Order ? j < size_t(r.received) : bool(m_used[j]);
        if (came)
            continue;
        MessagePair missing;
        missing.verdict = MessagePair::Verdict::Missing;
        missing.original = m_plan->clientMessages[j];
        missing.originalIndex = int(j);
        r.client.add(std::move(missing), m_options.keepReceived);
    }
    return r;
}

QJsonObject mockReportJson(const MockReport &r)
{
    return QJsonObject {{"received", r.received},
                        {"answered", r.answered},
                        {"unanswered", r.unanswered},
                        {"sent", r.sent},
                        {"failed", r.failed},
                        {"matched", r.matched()},
                        {"unansweredMessages", QJsonArray::fromStringList(r.unansweredText)},
                        {"client", directionJson(r.client)}};
}

QString mockReportText(const MockReport &r)
{
    QString out = directionText(QStringLiteral("client -> mock"), r.client);
    for (const QString &line : r.unansweredText)
        out += QStringLiteral("  %1\n").arg(line);
    out += QStringLiteral("verdict: %1: %2 received (%3 answered, %4 without an answer), %5 sent\n")
               .arg(r.matched() ? QStringLiteral("EQUAL") : QStringLiteral("DIFFERENT"))
               .arg(r.received)
               .arg(r.answered)
               .arg(r.unanswered)
               .arg(r.sent);
    return out;
}

} // namespace socktap::replay
