#include "BatchJournal.h"

#include "Crc32c.h"
#include "NativeFormat.h"

#include <QFile>

#include <cstring>
#include <unordered_map>
#include <unordered_set>

namespace socktap::capture {

namespace {

constexpr quint32 ChunkMagic = 0x4b4e4843; // "CHNK" read as little-endian
constexpr quint32 ChunkVersion = 2; // 2: messages as BatchMessage structs
constexpr qsizetype ChunkHeaderBytes = 4 + 4 + 8 + 8 + 4;
constexpr qsizetype MagicBytes = sizeof(BatchJournal::Magic) - 1;
// A head larger than this is not one Socktap wrote (a batch holds at most 16k messages).
constexpr quint64 MaxHeadBytes = 256 << 20;
constexpr quint64 MaxPayloadBytes = quint64(2) << 30;

template<typename T>
void put(QByteArray &out, T value)
{
    out.append(reinterpret_cast<const char *>(&value), sizeof value);
}

void putBytes(QByteArray &out, QByteArrayView bytes)
{
    put(out, quint32(bytes.size()));
    out.append(bytes);
}

// Reads fixed-size values from a head, failing (once) past its end.
class Reader
{
public:
    explicit Reader(QByteArrayView bytes)
        : m_bytes(bytes)
    { }
    template<typename T>
    T get()
    {
        T value {};
        if (m_at + qsizetype(sizeof value) > m_bytes.size()) {
            m_ok = false;
            return value;
        }
        std::memcpy(&value, m_bytes.data() + m_at, sizeof value);
        m_at += sizeof value;
        return value;
    }
    QByteArrayView bytes(quint64 n)
    {
        if (!m_ok || n > quint64(m_bytes.size() - m_at)) {
            m_ok = false;
            return {};
        }
        const QByteArrayView out = m_bytes.sliced(m_at, qsizetype(n));
        m_at += qsizetype(n);
        return out;
    }
    bool ok() const { return m_ok; }
    qsizetype position() const { return m_at; }

private:
    QByteArrayView m_bytes;
    qsizetype m_at = 0;
    bool m_ok = true;
};

struct ChunkHeader
{
    quint32 magic = 0;
    quint32 version = 0;
    quint64 headBytes = 0;
    quint64 payloadBytes = 0;
    quint32 crc = 0;
};

// A chunk's head is three parts: the sessions' lines and the message count, the messages exactly as the
// batch holds them (BatchMessage structs, written from the batch's own vector: nothing is encoded per
// message on the relay's thread), and the details. Fields the store filled in (its payload references,
// indexes, file offsets) are ignored by the reader.
QByteArray encodeSessions(const CaptureBatch &batch)
{
    QByteArray out;
    put(out, quint32(batch.sessions.size()));
    for (const SessionInfo &s : batch.sessions) {
        QByteArray line;
        native::appendSession(line, s);
        if (line.endsWith('\n'))
            line.chop(1);
        putBytes(out, line);
    }
    put(out, quint32(batch.messages.size()));
    put(out, quint32(sizeof(BatchMessage)));
    return out;
}

QByteArray encodeDetails(const CaptureBatch &batch)
{
    QByteArray out;
    put(out, quint32(batch.details.size()));
    for (const MessageDetail &d : batch.details) {
        put(out, quint32(d.frames.size()));
        for (const ws::FrameInfo &f : d.frames)
            put(out, f);
        put(out, quint64(d.wirePayloadRef));
        put(out, quint32(d.wirePayloadSize));
        put(out, quint32(d.originalSize));
        put(out, quint64(d.originalRef));
        putBytes(out, d.note.toUtf8());
    }
    return out;
}

// The fixed part of a chunk; `why` set when it is no chunk this Socktap reads (`where` names it).
ChunkHeader parseChunkHeader(QByteArrayView fixed)
{
    Reader r(fixed);
    ChunkHeader h;
    h.magic = r.get<quint32>();
    h.version = r.get<quint32>();
    h.headBytes = r.get<quint64>();
    h.payloadBytes = r.get<quint64>();
    h.crc = r.get<quint32>();
    return h;
}

QString chunkHeaderError(const ChunkHeader &h, const QString &where)
{
    if (h.magic == ChunkMagic && h.version != ChunkVersion)
        return QStringLiteral("%1 is in journal format %2, written by another version of Socktap (this one "
                              "reads format %3)")
            .arg(where)
            .arg(h.version)
            .arg(ChunkVersion);
    if (h.magic != ChunkMagic || h.headBytes > MaxHeadBytes || h.payloadBytes > MaxPayloadBytes)
        return QStringLiteral("damaged %1").arg(where);
    return {};
}

// Streams a journal's chunks: the header of each, its head and (when wanted) its payloads.
class ChunkReader
{
public:
    bool open(const QString &path, QString *error)
    {
        m_file.setFileName(path);
        if (!m_file.open(QIODevice::ReadOnly)) {
            *error = QStringLiteral("cannot open %1: %2").arg(path, m_file.errorString());
            return false;
        }
        if (m_file.read(MagicBytes) != QByteArrayView(BatchJournal::Magic, MagicBytes)) {
            *error = QStringLiteral("%1: not a Socktap crash journal").arg(path);
            return false;
        }
        return true;
    }
    // The next whole chunk, or false at the end (cutOff() says whether the end was a torn chunk) or on a
    // damaged one (error set).
    bool next(ChunkHeader &h, QByteArray &head, QByteArray *payloads, QString *error)
    {
        const qint64 at = m_file.pos();
        if (m_file.atEnd())
            return false;
        const QByteArray fixed = m_file.read(ChunkHeaderBytes);
        if (fixed.size() < ChunkHeaderBytes) {
            m_cutOff = true;
            return false;
        }
        h = parseChunkHeader(fixed);
        if (h.magic == 0 && h.version == 0 && h.headBytes == 0) {
            // The zeros after the last chunk of a journal whose writer died (it writes whole blocks).
            m_file.seek(m_file.size());
            return false;
        }
        if (const QString why = chunkHeaderError(h, QStringLiteral("chunk at byte %1").arg(at));
            !why.isEmpty()) {
            *error = QStringLiteral("%1: %2").arg(m_file.fileName(), why);
            return false;
        }
        const qint64 end = at + ChunkHeaderBytes + qint64(h.headBytes + h.payloadBytes);
        if (end > m_file.size()) {
            m_cutOff = true;
            return false;
        }
        head = m_file.read(qint64(h.headBytes));
        if (crc32c(0, head) != h.crc) {
            *error = QStringLiteral("%1: damaged chunk at byte %2 (checksum)").arg(m_file.fileName()).arg(at);
            return false;
        }
        if (payloads)
            *payloads = m_file.read(qint64(h.payloadBytes));
        else
            m_file.seek(end);
        return true;
    }
    bool cutOff() const { return m_cutOff; }
    quint64 size() const { return quint64(m_file.size()); }
    quint64 position() const { return quint64(m_file.pos()); }

private:
    QFile m_file;
    bool m_cutOff = false;
};

// [offset, offset + length) inside size bytes, without the sum overflowing on a crafted file.
bool within(quint64 offset, quint64 length, qsizetype size)
{
    return offset <= quint64(size) && length <= quint64(size) - offset;
}

QString cutOffWarning(const QString &path)
{
    return QStringLiteral("%1: the last chunk is incomplete (cut off mid-write?); it was ignored, "
                          "everything before it was read")
        .arg(path);
}

} // namespace

BatchJournal::BatchJournal(std::shared_ptr<CaptureFile> file, quint64 maxBytes)
    : m_file(std::move(file))
    , m_maxBytes(maxBytes)
{ }

std::shared_ptr<BatchJournal> BatchJournal::create(const QString &path, quint64 maxBytes, QString *error)
{
    auto file = CaptureFile::createDirect(path, error);
    if (!file)
        return nullptr;
    file->append(QByteArray(Magic, MagicBytes));
    return std::shared_ptr<BatchJournal>(new BatchJournal(std::move(file), maxBytes));
}

std::optional<ChunkPlacement> BatchJournal::append(const BatchPtr &batch)
{
    if (!batch || batch->isEmpty())
        return std::nullopt;
    const QByteArray sessions = encodeSessions(*batch);
    const QByteArray records =
        QByteArray::fromRawData(reinterpret_cast<const char *>(batch->messages.data()),
                                qsizetype(batch->messages.size() * sizeof(BatchMessage)));
    const QByteArray details = encodeDetails(*batch);
    const quint64 headBytes = quint64(sessions.size() + records.size() + details.size());
    QByteArray first; // the chunk header, then the head's first part (small: a line per session)
    put(first, ChunkMagic);
    put(first, ChunkVersion);
    put(first, headBytes);
    put(first, quint64(batch->payloads.size()));
    put(first, crc32c(crc32c(crc32c(0, sessions), records), details));
    first += sessions;
    const quint64 chunkBytes = quint64(ChunkHeaderBytes) + headBytes + quint64(batch->payloads.size());
    std::lock_guard lock(m_mutex);
    if (!m_stopped.isEmpty())
        return std::nullopt;
    if (m_file->size() + chunkBytes > m_maxBytes) {
        m_stopped = QStringLiteral("the crash journal %1 reached the disk budget (--max-capture-disk); "
                                   "what is captured from now on is in memory only")
                        .arg(m_file->path());
        return std::nullopt;
    }
    // One append: a flush between the head and its payloads would put the head on disk alone, padded with
    // zeros that a reader after a crash could take for the payloads. The records and payloads are the
    // batch's own buffers (it is immutable once applied), kept alive until the flusher has written them.
    const quint64 at = m_file->append({first, records, details, batch->payloads}, batch);
    ChunkPlacement placed;
    placed.messages = at + quint64(first.size());
    placed.details = placed.messages + quint64(records.size());
    placed.payloads = at + quint64(ChunkHeaderBytes) + headBytes;
    placed.end = placed.payloads + quint64(batch->payloads.size());
    return placed;
}

void BatchJournal::flush()
{
    m_file->flush();
}

QString BatchJournal::error() const
{
    {
        std::lock_guard lock(m_mutex);
        if (!m_stopped.isEmpty())
            return m_stopped;
    }
    return m_file->writeError();
}

namespace {

// Reads a detail's fields (the layout encodeDetails writes); false past the bytes' end.
bool readDetail(Reader &r, MessageDetail &d, qsizetype headBytes)
{
    const quint32 frames = r.get<quint32>();
    if (!r.ok() || frames > headBytes / sizeof(ws::FrameInfo))
        return false;
    d.frames.clear();
    d.frames.reserve(frames);
    for (quint32 f = 0; f < frames && r.ok(); ++f)
        d.frames.push_back(r.get<ws::FrameInfo>());
    d.wirePayloadRef = r.get<quint64>();
    d.wirePayloadSize = r.get<quint32>();
    d.originalSize = r.get<quint32>();
    d.originalRef = r.get<quint64>();
    d.note = QString::fromUtf8(r.bytes(r.get<quint32>()));
    return r.ok();
}

} // namespace

namespace {

// The details of the chunk read last on this thread, and where each begins: a save or a search reads a
// chunk's messages in turn, and details vary in length, so each would otherwise read and walk them all.
struct DetailCache
{
    std::weak_ptr<const CaptureFile> file; // (not a pointer: another file may come to live at its address)
    quint64 at = 0;
    QByteArray bytes;
    std::vector<qsizetype> starts; // of the details walked so far
    bool broken = false;

    // Detail `index` of the chunk whose details are at `at`, or false.
    bool find(const std::shared_ptr<const CaptureFile> &f, const ChunkPlacement &chunk, quint32 index,
              MessageDetail &out)
    {
        if (file.lock() != f || at != chunk.details) {
            file = f;
            at = chunk.details;
            bytes = f->read(chunk.details, qsizetype(chunk.payloads - chunk.details));
            starts.clear();
            broken = bytes.size() != qsizetype(chunk.payloads - chunk.details);
        }
        Reader count(bytes);
        if (broken || index >= count.get<quint32>() || !count.ok())
            return false;
        if (starts.empty())
            starts.push_back(4);
        while (starts.size() <= index) { // walk on from the last one known
            Reader r(QByteArrayView(bytes).sliced(starts.back()));
            MessageDetail skipped;
            if (!readDetail(r, skipped, bytes.size()))
                return false;
            starts.push_back(starts.back() + r.position());
        }
        Reader r(QByteArrayView(bytes).sliced(starts[index]));
        return readDetail(r, out, bytes.size());
    }
};

} // namespace

std::optional<native::DecodedMessage> readJournaled(const std::shared_ptr<const CaptureFile> &journal,
                                                    const ChunkPlacement &chunk, quint32 position,
                                                    bool withDetail)
{
    const CaptureFile &file = *journal;
    const quint64 at = chunk.messages + quint64(position) * sizeof(BatchMessage);
    if (at + sizeof(BatchMessage) > chunk.details || chunk.details > chunk.payloads
        || chunk.payloads > chunk.end)
        return std::nullopt;
    const QByteArray raw = file.read(at, sizeof(BatchMessage));
    if (raw.size() != qsizetype(sizeof(BatchMessage)))
        return std::nullopt;
    BatchMessage m;
    std::memcpy(&m, raw.data(), sizeof m);
    const quint64 payloadBytes = chunk.end - chunk.payloads;
    const auto bytes = [&](quint64 offset, quint32 size, QByteArray &out) {
        if (!within(offset, size, qsizetype(payloadBytes)))
            return false;
        out = size ? file.read(chunk.payloads + offset, size) : QByteArray();
        return out.size() == qsizetype(size);
    };
    native::DecodedMessage out;
    out.session = m.session;
    out.record = m.record;
    if (!bytes(m.batchOffset, m.record.capturedSize, out.payload))
        return std::nullopt;
    if (m.batchDetail >= 0 && withDetail) {
        thread_local DetailCache details;
        MessageDetail d;
        if (!details.find(journal, chunk, quint32(m.batchDetail), d))
            return std::nullopt;
        if (!bytes(d.wirePayloadRef, d.wirePayloadSize, out.wirePayload)
            || !bytes(d.originalRef, d.originalSize, out.original))
            return std::nullopt;
        out.frames = std::move(d.frames);
        out.note = std::move(d.note);
    }
    return out;
}

std::optional<JournalSummary> summarizeJournal(const QString &path, QString *error)
{
    ChunkReader reader;
    if (!reader.open(path, error))
        return std::nullopt;
    JournalSummary summary;
    summary.bytes = reader.size();
    std::unordered_set<quint64> sessions;
    ChunkHeader h;
    QByteArray head;
    QString why;
    while (reader.next(h, head, nullptr, &why)) {
        Reader r(head);
        const quint32 n = r.get<quint32>();
        for (quint32 i = 0; i < n && r.ok(); ++i) {
            QString lineError;
            const auto record = native::decodeLine(r.bytes(r.get<quint32>()), &lineError);
            if (const auto *info = record ? std::get_if<SessionInfo>(&*record) : nullptr)
                sessions.insert(info->id);
        }
        summary.messages += r.get<quint32>();
    }
    summary.damage = why; // what came before the damage still counts: it can be opened
    summary.sessions = sessions.size();
    summary.cutOff = reader.cutOff();
    return summary;
}

JournalApplier::JournalApplier(CaptureStore &store, const OpenOptions &options)
    : m_store(store)
    , m_options(options)
{ }

SessionId JournalApplier::journalId(SessionId stored) const
{
    const auto it = m_journalIds.find(stored);
    return it == m_journalIds.end() ? 0 : it->second;
}

SessionId JournalApplier::storedId(SessionId journal) const
{
    const auto it = m_ids.find(journal);
    return it == m_ids.end() ? 0 : it->second;
}

QString JournalApplier::apply(QByteArray head, QByteArray payloads)
{
    auto batch = std::make_shared<CaptureBatch>();
    Reader r(head);
    const quint32 sessions = r.get<quint32>();
    for (quint32 i = 0; i < sessions && r.ok(); ++i) {
        const QByteArrayView line = r.bytes(r.get<quint32>());
        QString lineError;
        auto record = native::decodeLine(line, &lineError);
        auto *info = record ? std::get_if<SessionInfo>(&*record) : nullptr;
        if (!info)
            return lineError.isEmpty() ? QStringLiteral("not a session record") : lineError;
        auto [it, inserted] = m_ids.try_emplace(info->id, 0);
        if (inserted) {
            if (m_options.keepIds) {
                it->second = info->id;
                m_store.reserveSessionIds(info->id + 1);
            } else {
                it->second = m_store.newSessionId();
            }
            m_result.sessionIds.push_back(it->second);
            m_journalIds.emplace(it->second, info->id);
            ++m_result.sessions;
        }
        if (const SessionId original = info->replayOf(); original && !m_options.keepIds)
            if (const auto o = m_ids.find(original); o != m_ids.end())
                info->request.headers.set(ReplayOfHeader, QByteArray::number(o->second));
        info->id = it->second;
        if (!m_options.engine.isEmpty())
            info->engine = m_options.engine;
        // A remote's stream (an engine named) is live: its sessions are in the state the remote says now.
        info->openWhenSaved = m_options.engine.isEmpty()
            && (info->state == SessionState::Connecting || info->state == SessionState::Open
                || info->state == SessionState::Closing);
        batch->sessions.push_back(std::move(*info));
    }
    const quint32 messages = r.get<quint32>();
    const quint32 recordBytes = r.get<quint32>();
    if (r.ok() && recordBytes != sizeof(BatchMessage))
        return QStringLiteral("its messages are %1-byte records, this Socktap reads %2-byte ones (written by "
                              "another version)")
            .arg(recordBytes)
            .arg(sizeof(BatchMessage));
    const QByteArrayView raw = r.bytes(quint64(messages) * sizeof(BatchMessage));
    for (quint32 i = 0; i < messages && r.ok(); ++i) {
        BatchMessage m;
        std::memcpy(&m, raw.data() + qsizetype(i) * qsizetype(sizeof m), sizeof m);
        // Where the writing store put it is that store's business: the chunk says where it is.
        m.index = 0;
        m.fileOffset = 0;
        m.record.payloadRef = m.batchOffset;
        m.record.detail = 0;
        m.record.file = 0;
        m.record.fileOffset = 0;
        const auto it = m_ids.find(m.session);
        if (it == m_ids.end())
            return QStringLiteral("a message for session %1 before that session").arg(m.session);
        m.session = it->second;
        if (!within(m.batchOffset, m.record.capturedSize, payloads.size()))
            return QStringLiteral("a payload beyond the chunk's bytes");
        batch->messages.push_back(m);
    }
    const quint32 details = r.get<quint32>();
    for (quint32 i = 0; i < details && r.ok(); ++i) {
        MessageDetail d;
        if (!readDetail(r, d, head.size()))
            return QStringLiteral("a detail beyond the chunk's head");
        if (!within(d.wirePayloadRef, d.wirePayloadSize, payloads.size())
            || !within(d.originalRef, d.originalSize, payloads.size()))
            return QStringLiteral("a detail beyond the chunk's bytes");
        batch->details.push_back(std::move(d));
    }
    if (!r.ok())
        return QStringLiteral("its head ends early");
    for (const BatchMessage &m : batch->messages)
        if (m.batchDetail < -1 || m.batchDetail >= qint32(batch->details.size()))
            return QStringLiteral("a message's detail is missing");
    m_result.messages += batch->messages.size();
    batch->payloads = std::move(payloads);
    m_store.apply(std::move(batch));
    return {};
}

std::optional<OpenResult> openJournal(const QString &path, CaptureStore &store, QString *error,
                                      const OpenOptions &options)
{
    ChunkReader reader;
    if (!reader.open(path, error))
        return std::nullopt;
    JournalApplier applier(store, options);
    ChunkHeader h;
    QByteArray head;
    QByteArray payloads;
    QString why;
    while (reader.next(h, head, &payloads, &why)) {
        // What came before a damaged chunk is kept (applied already) and the damage said, as for a torn end.
        if (const QString damage = applier.apply(std::move(head), std::exchange(payloads, QByteArray()));
            !damage.isEmpty()) {
            OpenResult result = applier.result();
            result.warnings << QStringLiteral(
                                   "%1: damaged chunk ending at byte %2: %3; everything before it was read")
                                   .arg(path)
                                   .arg(reader.position())
                                   .arg(damage);
            return result;
        }
        if (options.progress && !options.progress(reader.position(), reader.size())) {
            *error = QStringLiteral("cancelled");
            return std::nullopt;
        }
    }
    OpenResult result = applier.result();
    if (!why.isEmpty())
        result.warnings << why + QStringLiteral("; everything before it was read");
    if (reader.cutOff())
        result.warnings << cutOffWarning(path);
    return result;
}

JournalStream::JournalStream(CaptureStore &store, const OpenOptions &options)
    : m_applier(store, options)
{ }

bool JournalStream::feed(QByteArrayView bytes, QString *error)
{
    if (!m_error.isEmpty()) {
        *error = m_error;
        return false;
    }
    m_pending.append(bytes);
    qsizetype at = 0;
    const auto fail = [&](const QString &why) {
        m_error = why;
        *error = why;
        return false;
    };
    if (!m_sawMagic) {
        if (m_pending.size() < MagicBytes)
            return true;
        if (QByteArrayView(m_pending).first(MagicBytes) != QByteArrayView(BatchJournal::Magic, MagicBytes))
            return fail(QStringLiteral("not a Socktap crash journal"));
        m_sawMagic = true;
        at = MagicBytes;
        m_consumed = MagicBytes;
    }
    while (m_pending.size() - at >= ChunkHeaderBytes) {
        const ChunkHeader h = parseChunkHeader(QByteArrayView(m_pending).sliced(at, ChunkHeaderBytes));
        if (const QString why = chunkHeaderError(h, QStringLiteral("chunk at byte %1").arg(m_consumed));
            !why.isEmpty())
            return fail(why);
        const qsizetype whole = ChunkHeaderBytes + qsizetype(h.headBytes + h.payloadBytes);
        if (m_pending.size() - at < whole)
            break; // the rest of it is still to come
        QByteArray head = m_pending.sliced(at + ChunkHeaderBytes, qsizetype(h.headBytes));
        if (crc32c(0, head) != h.crc)
            return fail(QStringLiteral("damaged chunk at byte %1 (checksum)").arg(m_consumed));
        QByteArray payloads =
            m_pending.sliced(at + ChunkHeaderBytes + qsizetype(h.headBytes), qsizetype(h.payloadBytes));
        if (const QString damage = m_applier.apply(std::move(head), std::move(payloads)); !damage.isEmpty())
            return fail(QStringLiteral("damaged chunk at byte %1: %2").arg(m_consumed).arg(damage));
        at += whole;
        m_consumed += quint64(whole);
    }
    m_pending.remove(0, at);
    return true;
}

} // namespace socktap::capture
