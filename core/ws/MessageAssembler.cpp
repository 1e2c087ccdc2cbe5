#include "MessageAssembler.h"

#include "Masking.h"

#include <cstring>

namespace socktap::ws {

namespace {

constexpr qsizetype KeepCapacity = 1024 * 1024; // buffers larger than this are released between messages
constexpr qsizetype MinGrowth = 16 * 1024;
// RFC 6455 5.5: a control frame carries at most 125 bytes. That much is every connection's own, outside the
// budget: a Close must keep its code however full the budget is.
constexpr qsizetype ControlRoom = 128;

qint64 counted(const QByteArray &buffer, bool control)
{
    return control ? std::max<qint64>(0, buffer.capacity() - ControlRoom) : buffer.capacity();
}

} // namespace

void MessageAssembler::recycle(QByteArray &buffer) const
{
    // Kept for the next message when small, and (under a budget) while the budget is not under pressure:
    // thousands of idle connections must not hold what active ones need.
    const BufferBudget *b = m_options.budget;
    const bool keep = buffer.capacity() <= KeepCapacity && (!b || b->used() < b->limit() / 2);
    if (keep)
        buffer.resize(0);
    else
        buffer = QByteArray();
}

void MessageAssembler::settle()
{
    if (!m_options.budget)
        return;
    qint64 held = 0;
    for (const Partial *p : {&m_data, &m_control, &m_done})
        held += counted(p->data, p == &m_control) + counted(p->wire, p == &m_control);
    if (held != m_accounted) {
        m_options.budget->adjust(held - m_accounted);
        m_accounted = held;
    }
}

qsizetype MessageAssembler::grant(Partial &p, QByteArray &buffer, qsizetype wanted)
{
    if (p.refused)
        return 0;
    const qsizetype free = buffer.capacity() - buffer.size();
    if (wanted <= free)
        return wanted;
    if (&p == &m_control && buffer.size() + wanted <= ControlRoom) {
        buffer.reserve(ControlRoom);
        settle();
        return wanted;
    }
    // Grows geometrically (by at least its size), by what the budget grants.
    qsizetype growth = std::max({wanted - free, buffer.capacity(), MinGrowth});
    if (BufferBudget *b = m_options.budget) {
        growth = qsizetype(b->takeUpTo(growth));
        m_accounted += growth;
    }
    if (growth > 0)
        buffer.reserve(buffer.capacity() + growth);
    settle(); // the allocator's rounding
    const qsizetype granted = std::min(wanted, buffer.capacity() - buffer.size());
    p.refused = granted < wanted;
    return granted;
}

MessageAssembler::MessageAssembler()
    : MessageAssembler(Options {})
{ }

MessageAssembler::MessageAssembler(Options options)
    : m_options(options)
{ }

MessageAssembler::~MessageAssembler()
{
    if (m_options.budget)
        m_options.budget->give(m_accounted);
}

void MessageAssembler::enableDeflate(int windowBits, bool noContextTakeover)
{
    m_inflater =
        std::make_unique<Inflater>(windowBits, noContextTakeover, m_options.maxPayload, m_options.maxInflate);
    m_inflater->setGrant([this](QByteArray &out, qsizetype wanted) {
        return m_inflating ? grant(*m_inflating, out, wanted) : wanted;
    });
}

void MessageAssembler::release()
{
    Partial *p = std::exchange(m_returned, nullptr);
    if (!p || p->active)
        return;
    recycle(p->data);
    recycle(p->wire);
    p->frames.clear();
    settle();
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
    settle();
    p.utf8.reset();
    p.active = true;
    p.refused = false;
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
    const qsizetype keep =
        grant(p, p.data, std::clamp<qsizetype>(m_options.maxPayload - before, 0, bytes.size()));
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
    const qsizetype wireKeep =
        grant(p, p.wire, std::clamp<qsizetype>(m_options.maxPayload - p.wire.size(), 0, bytes.size()));
    p.wire.append(bytes.first(wireKeep));
    const qsizetype before = p.data.size();
    m_inflating = &p;
    if (!m_inflater->feed(bytes, p.data))
        noteInflateFailure(p.message);
    m_inflating = nullptr;
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
        m_inflating = &p;
        if (!m_inflater->finishMessage(p.data) && m.note.isEmpty())
            noteInflateFailure(m);
        m_inflating = nullptr;
        if (m.opcode == quint8(Opcode::Text))
            p.utf8.feed(QByteArrayView(p.data).sliced(before));
        m.payloadSize = quint64(m_inflater->messageSize());
        if (m_inflater->overLimit())
            m.violations |= Violation::InflatedTooLarge;
        if (m_inflater->stopped())
            m.note = QStringLiteral("inflates to more than %1 bytes: inflating stopped there (the size shown "
                                    "is where it stopped)")
                         .arg(std::max(m_options.maxInflate, m_options.maxPayload));
        m.wirePayload = p.wire;
    }
    m.truncated = m.payloadSize > quint64(p.data.size());
    if (p.refused && m.truncated) {
        const QString why =
            QStringLiteral("memory for messages in progress was full (%1 MiB held by all connections): "
                           "%2 of %3 bytes kept")
                .arg(double(m_options.budget ? m_options.budget->used() : 0) / (1 << 20), 0, 'f', 1)
                .arg(p.data.size())
                .arg(m.payloadSize);
        m.note = m.note.isEmpty() ? why : m.note + QStringLiteral("; ") + why;
    }
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
    m_returned = &p;
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
