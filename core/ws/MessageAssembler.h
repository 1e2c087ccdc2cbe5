// Turns one direction's frame events into messages: joins fragments, passes control frames interleaved
// inside a fragmented message (RFC 6455 5.4), unmasks, inflates permessage-deflate, validates UTF-8 across
// fragment boundaries and parses Close payloads. Bounded: payload kept up to a cap, the rest counted.
// Sans-I/O: time comes in as an argument; knows nothing of sockets or sessions.
#pragma once

#include "BufferBudget.h"
#include "ClosePayload.h"
#include "FrameParser.h"
#include "Inflater.h"
#include "Utf8Validator.h"

#include <functional>
#include <memory>
#include <span>
#include <vector>

namespace socktap::ws {

class MessageAssembler
{
public:
    struct Options
    {
        qsizetype maxPayload = 64 * 1024 * 1024; // decoded bytes kept per message
        // Inflating a compressed message stops past this many bytes (a bomb; see Inflater); at least
        // maxPayload. Below it, what is not kept is still inflated, so later messages decode.
        qsizetype maxInflate = 64 * 1024 * 1024;
        qsizetype maxFrameInfos = 4096; // frame records kept per message
        // Shared by every assembler: their buffers grow only by what it grants. None: no common bound.
        BufferBudget *budget = nullptr;
    };

    struct Message
    {
        quint8 opcode = 0; // Text, Binary, Close, Ping, Pong, a reserved one, or Continuation (orphan)
        QByteArrayView payload; // decoded (unmasked, inflated), at most maxPayload bytes
        QByteArrayView wirePayload; // unmasked wire payload when it differs (compressed), else empty
        quint64 payloadSize = 0; // full decoded size, even beyond the cap
        quint64 wireSize = 0; // all frames, headers included
        quint64 frameCount = 0;
        std::span<const FrameInfo> frames; // the first maxFrameInfos frames
        bool compressed = false;
        bool truncated = false; // payloadSize > payload.size()
        bool incomplete = false; // the message never got its final frame
        Violations violations;
        qint64 firstFrameTime = 0; // as passed to handle()
        qint64 lastFrameTime = 0;
        ClosePayload close; // for Close
        QString note; // why a compressed message was not (wholly) inflated

        bool isControl() const { return ws::isControl(opcode); }
    };

    explicit MessageAssembler(Options options);
    MessageAssembler();
    ~MessageAssembler();
    MessageAssembler(const MessageAssembler &) = delete;
    MessageAssembler &operator=(const MessageAssembler &) = delete;

    // Messages from this peer are permessage-deflate compressed with these parameters (RFC 7692 7.2.2).
    void enableDeflate(int windowBits, bool noContextTakeover);

    // Feed every event of the direction's FrameParser. Returns a message when one completes (or when a
    // broken sequence abandons one); it stays valid until the next call.
    const Message *handle(const FrameParser::Event &event, qint64 now);
    // The data message in progress, if any, marked incomplete: for a connection that ends mid-message.
    const Message *flushIncomplete(qint64 now);
    // The caller is done with the message last returned: its buffers go back (to the budget) now rather
    // than when the next message starts, which on an idle connection may be never.
    void release();
    // Whether the message in progress is compressed (its payload costs inflating), and the bytes inflated
    // so far over the assembler's life: a caller bounds the decoding work it does at a time with these.
    bool inflating() const { return m_current && m_current->message.compressed; }
    // The budget refused the message in progress room: it is being counted, no longer kept.
    bool refusing() const { return m_current && m_current->refused; }
    quint64 inflatedBytes() const { return m_inflater ? m_inflater->totalInflated() : 0; }

private:
    struct Partial
    {
        Message message;
        std::vector<FrameInfo> frames;
        QByteArray data;
        QByteArray wire;
        Utf8Validator utf8;
        bool active = false;
        bool refused = false; // the budget refused room: nothing more of this message is kept (no holes)
    };

    const Message *onHeader(const FrameParser::Event &event, qint64 now);
    void onPayload(const FrameParser::Event &event);
    const Message *onFrameEnd(qint64 now);
    const Message *finish(Partial &p, qint64 now);
    void begin(Partial &p, const FrameHeader &h, qint64 now);
    void append(Partial &p, const FrameParser::Event &event);
    void noteInflateFailure(Message &m) const;
    qsizetype grant(Partial &p, QByteArray &buffer, qsizetype wanted);
    void recycle(QByteArray &buffer) const;
    void settle();

    Options m_options;
    std::unique_ptr<Inflater> m_inflater;
    Partial m_data; // the (possibly fragmented) data message
    Partial m_control; // a control frame, or a reserved-opcode frame
    Partial *m_current = nullptr; // the message the current frame belongs to
    Partial m_done; // the message last returned, when it had to be moved out of m_data
    Partial *m_returned = nullptr; // the message last returned
    Partial *m_inflating = nullptr; // the message the inflater is writing into
    QByteArray m_scratch;
    qint64 m_accounted = 0; // bytes of buffer capacity taken from the budget
};

// Parses whole wire bytes from one sender and hands each message out (for frames Socktap writes itself,
// and for tests and benchmarks). The relay does not use it: it streams.
void decodeMessages(QByteArrayView wire, FrameParser::Sender sender, qint64 now,
                    const std::function<void(const MessageAssembler::Message &)> &onMessage);

} // namespace socktap::ws
