// The relay of one WebSocket session, sans I/O: bytes that arrived from either peer go in; bytes to
// forward, decoded messages and (in strict mode) the decision to fail the connection come out through a
// Sink. Forwards byte for byte what it was given (same fragmentation, masks, RSV bits) and decodes on the
// side. Tracks the closing handshake. Holds no socket.
//
// Theory (RFC 6455 7.1.7): an endpoint that receives a rule-breaking frame fails the connection.
// Practice: a debugging proxy is not the endpoint. By default it forwards the frame and records the rule
// broken, so the user sees how the real peer reacts; Options::strict makes it act as the RFC endpoint.
#pragma once

#include "core/capture/CaptureTypes.h"
#include "core/ws/FrameParser.h"
#include "core/ws/MessageAssembler.h"

namespace socktap::proxy {

class WebSocketRelay
{
public:
    using Direction = capture::Direction;

    class Sink
    {
    public:
        virtual ~Sink() = default;
        // Bytes that came from `from`, to be written to the other peer unchanged.
        virtual void forward(Direction from, QByteArrayView bytes) = 0;
        virtual void captured(Direction from, const ws::MessageAssembler::Message &message) = 0;
        // Strict mode: `from` broke a rule; fail the connection with code (RFC 6455 7.1.7).
        virtual void fail(Direction from, quint16 code, const QString &why) = 0;
    };

    struct Options
    {
        bool strict = false;
        qsizetype maxPayload = 64 * 1024 * 1024;
        std::optional<ws::DeflateParams> deflate;
    };

    WebSocketRelay(Options options, Sink &sink);

    void received(Direction from, QByteArrayView bytes, qint64 now);
    // `from` ended its TCP stream: a message in progress is captured, marked incomplete.
    void ended(Direction from, qint64 now);

    const capture::CloseInfo &close() const { return m_close; }
    ws::Violations violations() const { return m_violations; }
    QString firstViolation() const { return m_firstViolation; }
    bool failed() const { return m_failed; }
    bool decoding(Direction from) const { return !side(from).undecodable; }

private:
    struct Side
    {
        ws::FrameParser parser;
        ws::MessageAssembler assembler;
        bool undecodable = false; // the parser hit a fatal error; bytes still pass through
    };

    Side &side(Direction d) { return d == Direction::ClientToServer ? m_client : m_server; }
    const Side &side(Direction d) const { return d == Direction::ClientToServer ? m_client : m_server; }
    void noteViolations(Direction from, ws::Violations v);
    void noteMessage(Direction from, const ws::MessageAssembler::Message &m, qint64 now);
    bool failIfStrict(Direction from, ws::Violations v, QByteArrayView forwardable);

    Options m_options;
    Sink &m_sink;
    Side m_client;
    Side m_server;
    capture::CloseInfo m_close;
    ws::Violations m_violations;
    QString m_firstViolation;
    bool m_failed = false;
};

} // namespace socktap::proxy
