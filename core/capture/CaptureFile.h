// A native capture file on disk: either the live journal the store appends to (--record FILE, or a
// temporary file in the cache directory) or a file opened for reading. The store keeps, for every record,
// the offset of its line here, so payloads that leave memory stay readable and "save" can copy lines.
//
// Appends land in memory and a flusher thread writes them out at least every 100 ms (so kill -9 loses at
// most the last moments) and sooner when much is pending; a writer that outruns the disk waits
// (backpressure) once WriteBacklogLimit bytes are pending, so memory stays bounded.
#pragma once

#include "RecyclingPool.h"

#include <QByteArray>
#include <QString>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace socktap::capture {

class CaptureFile
{
public:
    static constexpr qsizetype WriteBacklogLimit = 64 << 20;
    static constexpr int FlushIntervalMs = 100;

    // Creates (truncates) path and writes the format's header line. removeOnClose: a temporary journal.
    static std::shared_ptr<CaptureFile> create(const QString &path, bool removeOnClose, QString *error);
    // Creates a file for raw bytes (no header line): a payload spill segment.
    static std::shared_ptr<CaptureFile> createRaw(const QString &path, bool removeOnClose, QString *error);
    // A raw file written around the page cache (O_DIRECT, where the file system allows it): the crash
    // journal writes every byte of traffic once and reads back only what is looked at (payloads that left
    // memory, through a buffered descriptor of its own), and filling the page cache with every byte cost
    // more CPU than the relay itself (first-touch page allocation, reclaim,
    // writeback). The bytes go through a reused aligned buffer; the last partial block is written padded
    // with zeros and rewritten at the next flush, and the padding is cut when the file is closed (after a
    // crash, up to a block of zeros may follow the last byte: readers stop at it).
    static std::shared_ptr<CaptureFile> createDirect(const QString &path, QString *error);
    static constexpr qsizetype DirectBlock = 4096;
    // Opens an existing file read-only.
    static std::shared_ptr<CaptureFile> open(const QString &path, QString *error);
    ~CaptureFile();
    CaptureFile(const CaptureFile &) = delete;
    CaptureFile &operator=(const CaptureFile &) = delete;

    QString path() const { return m_path; }
    bool isWritable() const { return m_writable; }
    bool removesOnClose() const { return m_removeOnClose; }
    // Keeps a temporary journal on disk after all (the user saved it under this name, or asked to).
    void keep() { m_removeOnClose = false; }

    // Appends whole lines (taken over, not copied); returns the offset of the first byte. Thread-safe;
    // may wait for the disk.
    quint64 append(QByteArray lines);
    // Parts that reach the disk in the same flush (a head and its payloads). Parts may point into memory
    // that keepAlive owns (QByteArray::fromRawData): it is held until they are written, so a caller's
    // buffers go to disk without being copied first.
    quint64 append(std::vector<QByteArray> parts, std::shared_ptr<const void> keepAlive = {});
    // An empty buffer with room, from those already written out: a journal appends hundreds of MB a
    // second, and fresh allocations would make the kernel zero every page of them first.
    QByteArray takeBuffer();
    // Writes everything appended so far to the kernel now.
    void flush();
    quint64 size() const; // bytes appended (written or pending)
    quint64 written() const; // bytes handed to the kernel (the rest is pending in memory)

    // The line starting at offset, without its newline; empty with error set if it cannot be read.
    QByteArray lineAt(quint64 offset, QString *error = nullptr) const;
    // Raw bytes [offset, offset + length): for readers streaming the file.
    QByteArray read(quint64 offset, qsizetype length) const;

    QString writeError() const; // the first write failure (disk full...), or empty
    // Forgets what is not yet written: for a temporary file about to be removed.
    void discardPending();

private:
    // Buffers in order: appended batches are kept as they came, so no byte is copied before write().
    struct Chunks
    {
        std::vector<QByteArray> parts;
        std::vector<std::shared_ptr<const void>> keepAlive; // owners of raw parts, until written
        qsizetype bytes = 0;
    };

    CaptureFile() = default;
    static std::shared_ptr<CaptureFile> make(const QString &path, bool removeOnClose, bool header,
                                             QString *error);
    void flusherLoop();
    qsizetype eagerBytes() const; // pending bytes that wake the flusher before its interval
    bool writeOut(const Chunks &chunks);
    bool writeOutDirect(const Chunks &chunks);

    QString m_path;
    int m_fd = -1;
    int m_readFd = -1; // a direct file's buffered descriptor for read()
    bool m_writable = false;
    bool m_removeOnClose = false;
    bool m_recycle = false; // keep written buffers for takeBuffer() (a journal; a spill never asks)
    bool m_direct = false; // O_DIRECT: writes go through m_aligned, block by block
    char *m_aligned = nullptr; // DirectBuffer bytes, DirectBlock-aligned (the flusher's)
    qsizetype m_alignedUsed = 0; // bytes in m_aligned not yet written whole (the last partial block)
    quint64 m_alignedAt = 0; // the file offset m_aligned starts at (a multiple of DirectBlock)

    mutable std::mutex m_mutex;
    std::condition_variable m_wake; // the flusher: work to do, or stop
    std::condition_variable m_drained; // writers waiting for room, and flush()
    Chunks m_pending; // appended, not yet handed to the flusher
    Chunks m_flushing; // being written by the flusher (readable under m_mutex)
    RecyclingPool<QByteArray> m_spare {8,
                                       32 << 20}; // written buffers (8 of 32 MiB at most), for takeBuffer()
    quint64 m_written = 0; // bytes on disk, in order
    bool m_stop = false;
    bool m_flushAsked = false; // flush() is waiting: write what is pending now
    QString m_writeError;
    std::thread m_flusher;
};

} // namespace socktap::capture
