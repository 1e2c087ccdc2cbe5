#include "NativeFile.h"

#include "BatchJournal.h"
#include "Har.h"
#include "NativeFormat.h"

#include <QFile>
#include <QSaveFile>

#include <unordered_map>

namespace socktap::capture {

namespace {

constexpr qsizetype ReadChunk = 8 << 20;
constexpr size_t BatchMessages = 16384;
constexpr qsizetype BatchBytes = 8 << 20;

// Builds store batches from decoded records, renumbering sessions when asked.
class Loader
{
public:
    Loader(CaptureStore &store, quint8 file, bool keepIds)
        : m_store(store)
        , m_file(file)
        , m_keepIds(keepIds)
    {
        startBatch();
    }

    bool session(SessionInfo info, quint64 offset, QString *error)
    {
        const SessionId inFile = info.id;
        auto [it, inserted] = m_ids.try_emplace(inFile, 0);
        if (inserted) {
            if (m_keepIds) {
                it->second = inFile;
                m_store.reserveSessionIds(inFile + 1);
            } else {
                it->second = m_store.newSessionId();
            }
            m_result.sessionIds.push_back(it->second);
            ++m_result.sessions;
        }
        info.id = it->second;
        info.openWhenSaved = info.state == SessionState::Connecting || info.state == SessionState::Open
            || info.state == SessionState::Closing;
        // A replay's link to its original is the original's id: renumbered with it when the original is in
        // the same file (it always comes first: a replay's session starts later).
        if (const SessionId original = info.replayOf(); original && !m_keepIds) {
            if (const auto o = m_ids.find(original); o != m_ids.end())
                info.request.headers.set(ReplayOfHeader, QByteArray::number(o->second));
        }
        m_batch->sessions.push_back(std::move(info));
        m_batch->sessionOffsets.push_back(offset);
        m_batch->sessionIdsInFile.push_back(inFile);
        Q_UNUSED(error);
        return true;
    }

    bool message(const native::DecodedMessage &m, quint64 offset, QString *error)
    {
        const auto it = m_ids.find(m.session);
        if (it == m_ids.end()) {
            *error = QStringLiteral("field 'session': message for session %1 before that session's record")
                         .arg(m.session);
            return false;
        }
        CaptureBatch &b = *m_batch;
        const bool detail =
            !m.frames.empty() || !m.wirePayload.isEmpty() || !m.original.isEmpty() || !m.note.isEmpty();
        b.add(it->second, m.record, m.payload, m.wirePayload, m.original, m.note, m.frames, detail)
            .fileOffset = offset;
        ++m_result.messages;
        if (b.messages.size() >= BatchMessages || b.payloads.size() >= BatchBytes)
            flush();
        return true;
    }

    void flush()
    {
        if (m_batch->isEmpty())
            return;
        m_store.apply(std::exchange(m_batch, nullptr));
        startBatch();
    }

    OpenResult &result() { return m_result; }

private:
    void startBatch()
    {
        m_batch = std::make_shared<CaptureBatch>();
        m_batch->file = m_file;
    }

    CaptureStore &m_store;
    quint8 m_file;
    bool m_keepIds;
    std::shared_ptr<CaptureBatch> m_batch;
    std::unordered_map<SessionId, SessionId> m_ids; // in file -> in store
    OpenResult m_result;
};

} // namespace

CaptureFileKind sniffCaptureFile(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return CaptureFileKind::Unknown;
    const QByteArray head = f.read(4096);
    if (head.startsWith(BatchJournal::Magic))
        return CaptureFileKind::Journal;
    if ((head.startsWith(R"({"format":")") && head.contains(native::FormatName))
        || head.startsWith(R"({"type":"message")") || head.contains(R"("type":"session")"))
        return CaptureFileKind::Native; // (a native file without its header gets the native reader's error)
    // Any other JSON object is taken for a HAR file, so that one without "log" gets the HAR reader's
    // precise error rather than a guess.
    if (head.trimmed().startsWith('{'))
        return CaptureFileKind::Har;
    return CaptureFileKind::Unknown;
}

std::optional<OpenResult> openNative(const QString &path, CaptureStore &store, QString *error,
                                     const OpenOptions &options)
{
    auto file = CaptureFile::open(path, error);
    if (!file)
        return std::nullopt;
    const quint64 total = file->size();
    const quint8 index = store.addFile(file);
    if (!index) {
        *error = QStringLiteral("%1: too many capture files open at once").arg(path);
        return std::nullopt;
    }
    Loader loader(store, index, options.keepIds);
    quint64 offset = 0; // of the next unread byte
    quint64 lineNumber = 0;
    QByteArray carry; // a line split across chunks
    quint64 carryOffset = 0;
    const auto fail = [&](const QString &why) {
        loader.flush();
        *error = QStringLiteral("%1: line %2: %3").arg(path).arg(lineNumber).arg(why);
        return std::nullopt;
    };
    while (offset < total) {
        const QByteArray chunk = file->read(offset, ReadChunk);
        if (chunk.isEmpty())
            break;
        qsizetype start = 0;
        for (;;) {
            const qsizetype nl = chunk.indexOf('\n', start);
            if (nl < 0)
                break;
            QByteArrayView line = QByteArrayView(chunk).sliced(start, nl - start);
            quint64 lineOffset = offset + quint64(start);
            if (!carry.isEmpty()) {
                carry.append(line);
                line = carry;
                lineOffset = carryOffset;
            }
            ++lineNumber;
            QString why;
            if (lineNumber == 1 && !line.startsWith(R"({"format")"))
                return fail(QStringLiteral("not a Socktap capture: the first line must name the format "
                                           "({\"format\":\"socktap-capture\",\"version\":1})"));
            auto record = native::decodeLine(line, &why);
            if (!record)
                return fail(why);
            if (auto *s = std::get_if<SessionInfo>(&*record)) {
                if (!loader.session(std::move(*s), lineOffset, &why))
                    return fail(why);
            } else if (auto *m = std::get_if<native::DecodedMessage>(&*record)) {
                if (!loader.message(*m, lineOffset, &why))
                    return fail(why);
            } else if (lineNumber != 1) {
                return fail(QStringLiteral("a second format line"));
            }
            carry.clear();
            start = nl + 1;
        }
        if (start < chunk.size()) {
            if (carry.isEmpty())
                carryOffset = offset + quint64(start);
            carry.append(QByteArrayView(chunk).sliced(start));
            if (carry.size() > native::MaxLineBytes) {
                ++lineNumber;
                return fail(QStringLiteral("line longer than %1 MiB").arg(native::MaxLineBytes >> 20));
            }
        }
        offset += quint64(chunk.size());
        if (options.progress && !options.progress(offset, total)) {
            loader.flush();
            *error = QStringLiteral("cancelled");
            return std::nullopt;
        }
    }
    loader.flush();
    if (lineNumber == 0) {
        *error = QStringLiteral("%1: empty file, not a Socktap capture").arg(path);
        return std::nullopt;
    }
    OpenResult result = std::move(loader.result());
    if (!carry.isEmpty())
        // What a crash mid-write leaves: everything before it is whole.
        result.warnings << QStringLiteral("%1: line %2 is incomplete (%3 bytes, cut off mid-write?); it was "
                                          "ignored, everything before it was read")
                               .arg(path)
                               .arg(lineNumber + 1)
                               .arg(carry.size());
    return result;
}

std::optional<OpenResult> openCapture(const QString &path, CaptureStore &store, QString *error,
                                      const OpenOptions &options)
{
    switch (sniffCaptureFile(path)) {
    case CaptureFileKind::Native:
        return openNative(path, store, error, options);
    case CaptureFileKind::Journal:
        return openJournal(path, store, error, options);
    case CaptureFileKind::Har: {
        QFile f(path);
        if (!f.open(QIODevice::ReadOnly)) {
            *error = QStringLiteral("cannot open %1: %2").arg(path, f.errorString());
            return std::nullopt;
        }
        const std::vector<SessionId> before = store.sessionIds();
        const auto har = importHar(f, path, store, error);
        if (!har)
            return std::nullopt;
        OpenResult result;
        result.sessions = har->sessions;
        result.messages = har->messages;
        result.warnings = har->warnings;
        for (const SessionId id : store.sessionIds())
            if (!std::binary_search(before.begin(), before.end(), id))
                result.sessionIds.push_back(id);
        return result;
    }
    case CaptureFileKind::Unknown:
        break;
    }
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        *error = QStringLiteral("cannot open %1: %2").arg(path, f.errorString());
    else if (f.size() == 0)
        *error = QStringLiteral("%1: empty file, not a Socktap capture or a HAR file").arg(path);
    else
        *error =
            QStringLiteral("%1: neither a Socktap capture (JSON Lines starting with "
                           "{\"format\":\"socktap-capture\"...}) nor a HAR file (JSON with a \"log\" object)")
                .arg(path);
    return std::nullopt;
}

namespace {

// A record that has no line in any file (live traffic without --record, a HAR import), encoded from the
// store: the session's latest state, or one message.
QByteArray encoded(const CaptureStore &store, const CaptureStore::LineRef &ref, SaveReport &report)
{
    QByteArray line;
    if (ref.isSession) {
        if (const auto s = store.session(ref.session))
            native::appendSession(line, *s);
    } else if (const auto m = store.message(ref.session, ref.index)) {
        native::MessageParts parts;
        parts.session = ref.session;
        parts.record = m->record;
        parts.payload = m->payload;
        parts.wirePayload = m->wirePayload;
        parts.original = m->original;
        parts.note = m->note;
        parts.frames = m->frames;
        if (m->payloadEvicted) {
            // Gone under the budgets before the save: say so in the file rather than write a wrong size.
            parts.record.capturedSize = 0;
            parts.record.flags |= MessageFlag::Truncated;
            ++report.payloadsMissing;
        }
        native::appendMessage(line, parts);
    }
    line.chop(1); // the newline, added back by the caller
    return line;
}

} // namespace

bool writeWholeFile(const QString &path, QString *error,
                    const std::function<bool(QIODevice &out, QString *error)> &write)
{
    QSaveFile out(path);
    if (!out.open(QIODevice::WriteOnly)) {
        *error = QStringLiteral("cannot write %1: %2").arg(path, out.errorString());
        return false;
    }
    if (!write(out, error)) {
        out.cancelWriting();
        return false;
    }
    if (!out.commit()) {
        *error = QStringLiteral("cannot write %1: %2").arg(path, out.errorString());
        return false;
    }
    return true;
}

bool saveNative(const CaptureStore &store, const std::vector<SessionId> &sessions, const QString &path,
                QString *error, const Progress &progress, SaveReport *report)
{
    SaveReport ignored;
    SaveReport &r = report ? *report : ignored;
    const std::vector<CaptureStore::LineRef> lines = store.lines(sessions);
    return writeWholeFile(path, error, [&](QIODevice &out, QString *why) {
        out.write(native::headerLine());
        std::shared_ptr<CaptureFile> file;
        quint8 fileIndex = 0;
        for (size_t i = 0; i < lines.size(); ++i) {
            const CaptureStore::LineRef &ref = lines[i];
            if (ref.file != fileIndex) {
                fileIndex = ref.file;
                file = store.file(ref.file);
            }
            QByteArray line =
                ref.file ? (file ? file->lineAt(ref.offset) : QByteArray()) : encoded(store, ref, r);
            if (line.isEmpty()) {
                // Evicted while the save ran, or its file failed: the rest is still worth having.
                ++r.skipped;
                continue;
            }
            ++r.records;
            if (ref.idInFile != ref.session)
                line = native::withSessionId(line, ref.session);
            line.append('\n');
            out.write(line);
            if (progress && i % 4096 == 0 && !progress(i, lines.size())) {
                *why = QStringLiteral("cancelled");
                return false;
            }
        }
        return true;
    });
}

} // namespace socktap::capture
