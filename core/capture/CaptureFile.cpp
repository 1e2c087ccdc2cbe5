#include "CaptureFile.h"

#include "NativeFormat.h"

#include <QFile>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

namespace socktap::capture {

namespace {

constexpr qsizetype EagerFlushBytes = 1 << 20;
// A direct file writes in larger steps (one O_DIRECT write per 4 MiB buffer, fewer wake-ups); still at
// least every FlushIntervalMs.
constexpr qsizetype EagerDirectFlushBytes = 4 << 20;
constexpr qsizetype DirectBuffer = 4 << 20; // a multiple of CaptureFile::DirectBlock

QString systemError()
{
    return QString::fromLocal8Bit(std::strerror(errno));
}

} // namespace

std::shared_ptr<CaptureFile> CaptureFile::make(const QString &path, bool removeOnClose, bool header,
                                               QString *error)
{
    // 0600: a capture holds cookies, tokens and message contents (like the CA key, private to the user).
    const int fd = ::open(QFile::encodeName(path).constData(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        *error = QStringLiteral("cannot create %1: %2").arg(path, systemError());
        return nullptr;
    }
    std::shared_ptr<CaptureFile> f(new CaptureFile);
    f->m_path = path;
    f->m_fd = fd;
    f->m_writable = true;
    f->m_removeOnClose = removeOnClose;
    f->m_recycle = header;
    if (header) {
        f->m_pending.parts.push_back(native::headerLine());
        f->m_pending.bytes = f->m_pending.parts.back().size();
    }
    f->m_flusher = std::thread([raw = f.get()] { raw->flusherLoop(); });
    return f;
}

std::shared_ptr<CaptureFile> CaptureFile::createRaw(const QString &path, bool removeOnClose, QString *error)
{
    return make(path, removeOnClose, false, error);
}

std::shared_ptr<CaptureFile> CaptureFile::createDirect(const QString &path, QString *error)
{
    auto f = make(path, false, false, error);
    if (!f)
        return nullptr;
    // Set before the first write: the flusher reads m_direct under m_mutex.
    void *buffer = nullptr;
    const int flags = ::fcntl(f->m_fd, F_GETFL);
    std::lock_guard lock(f->m_mutex);
    if (::posix_memalign(&buffer, DirectBlock, DirectBuffer) == 0 && flags >= 0
        && ::fcntl(f->m_fd, F_SETFL, flags | O_DIRECT) == 0) {
        f->m_aligned = static_cast<char *>(buffer);
        f->m_direct = true;
        // Reads need no alignment: they go through a descriptor of their own, buffered.
        f->m_readFd = ::open(QFile::encodeName(path).constData(), O_RDONLY | O_CLOEXEC);
    } else {
        std::free(buffer); // (tmpfs and some file systems refuse O_DIRECT: buffered writes then)
    }
    return f;
}

std::shared_ptr<CaptureFile> CaptureFile::create(const QString &path, bool removeOnClose, QString *error)
{
    return make(path, removeOnClose, true, error);
}

std::shared_ptr<CaptureFile> CaptureFile::open(const QString &path, QString *error)
{
    const int fd = ::open(QFile::encodeName(path).constData(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *error = QStringLiteral("cannot open %1: %2").arg(path, systemError());
        return nullptr;
    }
    struct stat st
    { };
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        *error = QStringLiteral("cannot open %1: not a regular file").arg(path);
        ::close(fd);
        return nullptr;
    }
    std::shared_ptr<CaptureFile> f(new CaptureFile);
    f->m_path = path;
    f->m_fd = fd;
    f->m_written = quint64(st.st_size);
    return f;
}

CaptureFile::~CaptureFile()
{
    if (m_flusher.joinable()) {
        {
            std::lock_guard lock(m_mutex);
            m_stop = true;
        }
        m_wake.notify_all();
        m_flusher.join();
    }
    if (m_fd >= 0) {
        if (m_direct && m_writeError.isEmpty())
            (void)::ftruncate(m_fd, off_t(m_written)); // the last block's padding goes (never grows a file
                                                         // whose writes failed: zeros past the end are an end)
        ::close(m_fd);
    }
    if (m_readFd >= 0)
        ::close(m_readFd);
    std::free(m_aligned);
    if (m_removeOnClose)
        QFile::remove(m_path);
}

bool CaptureFile::writeOutDirect(const Chunks &chunks)
{
    // Fill the aligned buffer; write it whole when full; at the end write what is there rounded up to a
    // block (zeros after it), keeping the partial block to rewrite with what follows next time.
    const auto writeBlocks = [&](qsizetype bytes) {
        qsizetype done = 0;
        while (done < bytes) {
            const ssize_t n = ::pwrite(m_fd, m_aligned + done, size_t(bytes - done), off_t(m_alignedAt + quint64(done)));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0 || n % DirectBlock != 0)
                return false;
            done += n;
        }
        return true;
    };
    for (const QByteArray &part : chunks.parts) {
        qsizetype at = 0;
        while (at < part.size()) {
            const qsizetype take = std::min(part.size() - at, DirectBuffer - m_alignedUsed);
            std::memcpy(m_aligned + m_alignedUsed, part.constData() + at, size_t(take));
            m_alignedUsed += take;
            at += take;
            if (m_alignedUsed == DirectBuffer) {
                if (!writeBlocks(DirectBuffer))
                    return false;
                m_alignedAt += quint64(DirectBuffer);
                m_alignedUsed = 0;
            }
        }
    }
    if (m_alignedUsed == 0)
        return true;
    const qsizetype whole = m_alignedUsed / DirectBlock * DirectBlock;
    const qsizetype padded = (m_alignedUsed + DirectBlock - 1) / DirectBlock * DirectBlock;
    std::memset(m_aligned + m_alignedUsed, 0, size_t(padded - m_alignedUsed));
    if (!writeBlocks(padded))
        return false;
    // Keep only the partial last block, at the start of the buffer, for the next flush to complete.
    const qsizetype partial = m_alignedUsed - whole;
    if (whole > 0 && partial > 0)
        std::memmove(m_aligned, m_aligned + whole, size_t(partial));
    m_alignedAt += quint64(whole);
    m_alignedUsed = partial;
    return true;
}

bool CaptureFile::writeOut(const Chunks &chunks)
{
    // writev in groups: one system call for many batches.
    std::vector<iovec> iov;
    for (const QByteArray &part : chunks.parts)
        if (!part.isEmpty())
            iov.push_back(iovec {const_cast<char *>(part.constData()), size_t(part.size())});
    size_t first = 0;
    while (first < iov.size()) {
        const int count = int(std::min<size_t>(iov.size() - first, IOV_MAX));
        ssize_t n = ::writev(m_fd, iov.data() + first, count);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        // Skip what was written; a partial write leaves the rest of one vector.
        while (first < iov.size() && size_t(n) >= iov[first].iov_len) {
            n -= ssize_t(iov[first].iov_len);
            ++first;
        }
        if (n > 0) {
            iov[first].iov_base = static_cast<char *>(iov[first].iov_base) + n;
            iov[first].iov_len -= size_t(n);
        }
    }
    return true;
}

qsizetype CaptureFile::eagerBytes() const
{
    return m_direct ? EagerDirectFlushBytes : EagerFlushBytes;
}

void CaptureFile::flusherLoop()
{
    std::unique_lock lock(m_mutex);
    for (;;) {
        m_wake.wait_for(lock, std::chrono::milliseconds(FlushIntervalMs),
                        [&] { return m_stop || m_flushAsked || m_pending.bytes >= eagerBytes(); });
        m_flushAsked = false;
        if (m_pending.parts.empty()) {
            m_drained.notify_all();
            if (m_stop)
                return;
            continue;
        }
        std::swap(m_flushing, m_pending);
        lock.unlock();
        // m_flushing is only changed by this thread, under the lock; readers read it under the lock.
        const bool ok = m_writeError.isEmpty() && (m_direct ? writeOutDirect(m_flushing) : writeOut(m_flushing));
        const QString why = ok ? QString() : systemError();
        lock.lock();
        if (!ok && m_writeError.isEmpty())
            m_writeError = QStringLiteral("cannot write %1: %2").arg(m_path, why);
        m_written += quint64(m_flushing.bytes);
        if (m_recycle)
            for (QByteArray &b : m_flushing.parts)
                m_spare.give(std::move(b));
        m_flushing = Chunks();
        m_drained.notify_all();
    }
}

QByteArray CaptureFile::takeBuffer()
{
    return m_spare.take();
}

quint64 CaptureFile::append(QByteArray lines)
{
    std::unique_lock lock(m_mutex);
    m_drained.wait(lock, [&] { return m_pending.bytes < WriteBacklogLimit || m_stop; });
    const quint64 offset = m_written + quint64(m_flushing.bytes + m_pending.bytes);
    m_pending.bytes += lines.size();
    m_pending.parts.push_back(std::move(lines));
    if (m_pending.bytes >= eagerBytes())
        m_wake.notify_one();
    return offset;
}

quint64 CaptureFile::append(std::vector<QByteArray> parts, std::shared_ptr<const void> keepAlive)
{
    std::unique_lock lock(m_mutex);
    m_drained.wait(lock, [&] { return m_pending.bytes < WriteBacklogLimit || m_stop; });
    const quint64 offset = m_written + quint64(m_flushing.bytes + m_pending.bytes);
    for (QByteArray &part : parts) {
        if (part.isEmpty())
            continue;
        m_pending.bytes += part.size();
        m_pending.parts.push_back(std::move(part));
    }
    if (keepAlive)
        m_pending.keepAlive.push_back(std::move(keepAlive));
    if (m_pending.bytes >= eagerBytes())
        m_wake.notify_one();
    return offset;
}

void CaptureFile::flush()
{
    if (!m_writable)
        return;
    std::unique_lock lock(m_mutex);
    const quint64 target = m_written + quint64(m_flushing.bytes + m_pending.bytes);
    m_flushAsked = true; // (a notify alone would find the flusher's condition false: it would sleep on)
    m_wake.notify_one();
    while (m_written < target && !m_stop) {
        m_flushAsked = true;
        m_wake.notify_one();
        // The flusher takes what is pending on its next wake; waiting on m_drained sees it finish.
        m_drained.wait_for(lock, std::chrono::milliseconds(FlushIntervalMs));
    }
}

quint64 CaptureFile::written() const
{
    std::lock_guard lock(m_mutex);
    return m_written;
}

quint64 CaptureFile::size() const
{
    std::lock_guard lock(m_mutex);
    return m_written + quint64(m_flushing.bytes + m_pending.bytes);
}

void CaptureFile::discardPending()
{
    std::lock_guard lock(m_mutex);
    m_pending = Chunks();
}

QString CaptureFile::writeError() const
{
    std::lock_guard lock(m_mutex);
    return m_writeError;
}

QByteArray CaptureFile::read(quint64 offset, qsizetype length) const
{
    // A range may straddle what is on disk (read by pread) and what is still in memory (being flushed,
    // then pending). Every round makes progress: the disk part up to what was written, or the rest from
    // memory (which starts at m_written, however far the flusher got meanwhile).
    QByteArray out;
    while (out.size() < length) {
        const quint64 from = offset + quint64(out.size());
        quint64 written = 0;
        {
            std::lock_guard lock(m_mutex);
            if (from >= m_written) {
                quint64 at = from - m_written;
                for (const Chunks *chunks : {&m_flushing, &m_pending}) {
                    for (const QByteArray &b : chunks->parts) {
                        if (out.size() >= length)
                            return out;
                        if (at < quint64(b.size())) {
                            out.append(QByteArrayView(b)
                                           .sliced(qsizetype(at))
                                           .first(std::min<qsizetype>(length - out.size(),
                                                                      b.size() - qsizetype(at))));
                            at = 0;
                        } else {
                            at -= quint64(b.size());
                        }
                    }
                }
                return out;
            }
            written = m_written;
        }
        const qsizetype want = qsizetype(std::min<quint64>(quint64(length - out.size()), written - from));
        const qsizetype had = out.size();
        out.resize(had + want);
        const int fd = m_readFd >= 0 ? m_readFd : m_fd; // (an O_DIRECT descriptor wants aligned reads)
        qsizetype got = 0;
        while (got < want) {
            const ssize_t n =
                ::pread(fd, out.data() + had + got, size_t(want - got), off_t(from + quint64(got)));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            got += n;
        }
        out.truncate(had + got);
        if (got < want)
            return out; // the file is shorter than it should be: say so by a short answer
    }
    return out;
}

QByteArray CaptureFile::lineAt(quint64 offset, QString *error) const
{
    QByteArray line;
    qsizetype chunk = 4096;
    for (;;) {
        const QByteArray part = read(offset + quint64(line.size()), chunk);
        const qsizetype nl = part.indexOf('\n');
        if (nl >= 0) {
            line.append(QByteArrayView(part).first(nl));
            return line;
        }
        line.append(part);
        if (part.size() < chunk || line.size() > native::MaxLineBytes) {
            if (error)
                *error = QStringLiteral("%1: no complete line at byte %2").arg(m_path).arg(offset);
            return {};
        }
        chunk = std::min<qsizetype>(chunk * 4, 16 << 20);
    }
}

} // namespace socktap::capture
