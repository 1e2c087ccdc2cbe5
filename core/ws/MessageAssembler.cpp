#include "MessageAssembler.h"

#include "Masking.h"

#include <cstring>

namespace socktap::ws {

namespace {

constexpr qsizetype KeepCapacity = 1024 * 1024; // buffers larger than this are released between messages

void recycle(QByteArray &buffer)
{
    if (buffer.capacity() > KeepCapacity)
        buffer = QByteArray();
    else
        buffer.resize(0); // keeps the allocation for the next message
}

} // namespace

MessageAssembler::MessageAssembler()
    : MessageAssembler(Options {})
{ }

MessageAssembler::MessageAssembler(Options options)
    : m_options(options)
{ }

void MessageAssembler::enableDeflate(int windowBits, bool noContextTakeover)
{
    m_inflater = std::make_unique<Inflater>(windowBits, noContextTakeover, m_options.maxPayload);
}

const MessageAssembler::Message *MessageAssembler::handle(const FrameParser::Event &event, qint64 now)
{
    switch (event.kind) {
    case FrameParser::Event::Kind::Header:
        return onHeader(event, now);
    case FrameParser::Event::Kind::Payload:
        onPayload(event);
        return nullptr;
    case FrameParser::Event::Kind::FrameEnd:
        if (m_current && (m_current == &m_control || event.header.fin))
            return onFrameEnd(now);
        return nullptr;
    case FrameParser::Event::Kind::NeedMore:
    case FrameParser::Event::Kind::Error:
        return nullptr;
    }
    return nullptr;
}

void MessageAssembler::begin(Partial &p, const FrameHeader &h, qint64 now)
{
    p.message = Message();
    p.message.opcode = h.opcode;
    p.message.firstFrameTime = now;
    p.message.lastFrameTime = now;
    // RFC 7692 6.1: RSV1 on the first frame marks the whole message as compressed.
    p.message.compressed =
        h.rsv1 && m_inflater && !isControl(h.opcode) && h.opcode != quint8(Opcode::Continuation);
    p.frames.clear();
    recycle(p.data);
    recycle(p.wire);
    p.utf8.reset();
    p.active = true;
}

const MessageAssembler::Message *MessageAssembler::onHeader(const FrameParser::Event &event, qint64 now)
{
    const FrameHeader &h = event.header;
    const Message *abandoned = nullptr;
    Partial *p = &m_data;
    if (isControl(h.opcode) || isReservedOpcode(h.opcode)) {
        // 5.5: control frames stand alone, even between the fragments of a data message. A reserved
        // opcode has no known fragmentation rules, so it stands alone too.
        p = &m_control;
        begin(*p, h, now);
    } else if (h.opcode != quint8(Opcode::Continuation)) {
        if (m_data.active) {
            // 5.4: a new data frame inside a fragmented message. The old one will never finish: hand it
            // out as incomplete and start over.
            std::swap(m_data, m_done);
            m_done.message.incomplete = true;
            abandoned = finish(m_done, now);
        }
        begin(*p, h, now);
    } else if (!m_data.active) {
        begin(*p, h, now); // 5.4: continuation of nothing; kept as an orphan so it stays visible
    }
    Message &m = p->message;
    if (p->frames.size() < size_t(m_options.maxFrameInfos))
        p->frames.push_back(FrameInfo::from(h));
    ++m.frameCount;
    m.wireSize += h.wireSize();
    m.violations |= event.violations;
    m_current = p;
    return abandoned;
}

void MessageAssembler::append(Partial &p, const FrameParser::Event &event)
{
    // Unmasked straight into the message buffer: one copy from the wire bytes.
    const FrameHeader &h = event.header;
    const QByteArrayView bytes = event.payload;
    const bool text = p.message.opcode == quint8(Opcode::Text);
    const qsizetype before = p.data.size();
    const qsizetype keep = std::clamp<qsizetype>(m_options.maxPayload - before, 0, bytes.size());
    if (keep > 0) {
        p.data.resize(before + keep);
        if (h.masked)
            applyMask(p.data.data() + before, bytes.data(), keep, h.maskKey, event.payloadOffset);
        else
            std::memcpy(p.data.data() + before, bytes.data(), size_t(keep));
        if (text)
            p.utf8.feed(QByteArrayView(p.data).sliced(before, keep));
    }
    if (keep < bytes.size() && text) {
        // Beyond the cap nothing is kept, but 8.1 still wants the whole message to be valid UTF-8.
        const QByteArrayView rest = bytes.sliced(keep);
        m_scratch.resize(rest.size());
        if (h.masked)
            applyMask(m_scratch.data(), rest.data(), rest.size(), h.maskKey,
                      event.payloadOffset + quint64(keep));
        else
            std::memcpy(m_scratch.data(), rest.data(), size_t(rest.size()));
        p.utf8.feed(m_scratch);
    }
}

void MessageAssembler::onPayload(const FrameParser::Event &event)
{
    if (!m_current)
        return;
    Partial &p = *m_current;
    if (!p.message.compressed) {
        p.message.payloadSize += quint64(event.payload.size());
        append(p, event);
        return;
    }
    const FrameHeader &h = event.header;
    QByteArrayView bytes = event.payload;
    if (h.masked) {
        m_scratch.resize(bytes.size());
        applyMask(m_scratch.data(), bytes.data(), bytes.size(), h.maskKey, event.payloadOffset);
        bytes = m_scratch;
    }
    const qsizetype wireKeep = std::clamp<qsizetype>(m_options.maxPayload - p.wire.size(), 0, bytes.size());
    p.wire.append(bytes.first(wireKeep));
    const qsizetype before = p.data.size();
    if (!m_inflater->feed(bytes, p.data))
        noteInflateFailure(p.message);
    if (p.message.opcode == quint8(Opcode::Text))
        p.utf8.feed(QByteArrayView(p.data).sliced(before));
}

void MessageAssembler::noteInflateFailure(Message &m) const
{
    // A lost window is not the peer's fault (Socktap stopped inflating a bomb): a note, not a violation.
    if (m_inflater->windowLost())
        m.note = QStringLiteral("not inflated: %1").arg(m_inflater->error());
    else
        m.violations |= Violation::InflateFailed;
}

const MessageAssembler::Message *MessageAssembler::onFrameEnd(qint64 now)
{
    Partial &p = *m_current;
    m_current = nullptr;
    return finish(p, now);
}

const MessageAssembler::Message *MessageAssembler::finish(Partial &p, qint64 now)
{
    Message &m = p.message;
    m.lastFrameTime = now;
    if (m.compressed) {
        const qsizetype before = p.data.size();
        if (!m_inflater->finishMessage(p.data) && m.note.isEmpty())
            noteInflateFailure(m);
        if (m.opcode == quint8(Opcode::Text))
            p.utf8.feed(QByteArrayView(p.data).sliced(before));
        m.payloadSize = quint64(m_inflater->messageSize());
        if (m_inflater->overLimit()) {
            m.violations |= Violation::InflatedTooLarge;
            m.note = QStringLiteral("inflates to more than %1 bytes: inflating stopped there")
                         .arg(m_inflater->maxOutput());
        }
        m.wirePayload = p.wire;
    }
    m.truncated = m.payloadSize > quint64(p.data.size());
    // 8.1: a text message is valid UTF-8 as a whole. Undecodable or discarded bytes cannot be judged.
    const bool judged = !m.incomplete
        && !(m.compressed
             && (m.truncated || m.violations.testFlag(Violation::InflateFailed) || !m.note.isEmpty()));
    if (m.opcode == quint8(Opcode::Text) && judged && !p.utf8.isComplete())
        m.violations |= Violation::InvalidUtf8;
    if (m.opcode == quint8(Opcode::Close)) {
        m.close = ClosePayload::parse(p.data);
        m.violations |= m.close.violations;
    }
    m.payload = p.data;
    m.frames = std::span<const FrameInfo>(p.frames);
    p.active = false;
    return &m;
}

const MessageAssembler::Message *MessageAssembler::flushIncomplete(qint64 now)
{
    for (Partial *p : {&m_control, &m_data}) {
        if (p->active) {
            p->message.incomplete = true;
            if (m_current == p)
                m_current = nullptr;
            return finish(*p, now);
        }
    }
    return nullptr;
}

void decodeMessages(QByteArrayView wire, FrameParser::Sender sender, qint64 now,
                    const std::function<void(const MessageAssembler::Message &)> &onMessage)
{
    FrameParser::Options options;
    options.sender = sender;
    FrameParser parser(options);
    MessageAssembler assembler;
    for (;;) {
        const FrameParser::Event ev = parser.next(wire);
        wire = wire.sliced(ev.consumed);
        if (ev.kind == FrameParser::Event::Kind::NeedMore || ev.kind == FrameParser::Event::Kind::Error)
            return;
        if (const auto *m = assembler.handle(ev, now))
            onMessage(*m);
    }
}

} // namespace socktap::ws
