// The crash journal: every batch the store applies, appended to a file in the cache directory as it is
// (Wireshark's "capturing always writes a file", done cheaply). kill -9, a crash or an OOM kill loses at
// most the last flush interval (100 ms): CaptureFile writes what is appended at least that often.
//
// Binary, append-only, in this machine's byte order (it is read back by the Socktap that follows, on the
// same machine; `socktap open` and File > Open read it, and Save converts it to the native format):
//
//   file    := "SOCKTAP-JOURNAL\n" chunk*
//   chunk   := u32 magic 0x4b4e4843 ("CHNK") | u32 version (2) | u64 headBytes | u64 payloadBytes
//              | u32 crc32c(head) (Crc32c.h) | head | payloads
//   head    := u32 nSessions  { u32 length, a native session line (docs/capture-format.md) }
//              u32 nMessages, u32 recordBytes (112)
//              nMessages x BatchMessage as the batch holds it (CaptureBatch.h: session, batchOffset,
//                               batchDetail and the MessageRecord are read; the store's own fields
//                               are ignored). Written from the batch's vector as it is: the relay's
//                               thread encodes nothing per message (version 1 encoded each field,
//                               which cost about a third of the relay's CPU at 64-byte messages)
//              u32 nDetails   { u32 nFrames, FrameInfo (16 bytes) x nFrames, u64 wirePayloadRef,
//                               u32 wirePayloadSize, u32 originalSize, u64 originalRef,
//                               u32 noteBytes, UTF-8 note }
//   payloads:= the batch's payload bytes, written from the batch's own buffer (no copy)
//
// Only the head is checksummed: a CRC over every payload byte would cost more CPU than the rest of the
// journal. A chunk cut off by the end of the file (the crash came mid-write) is ignored with a warning.
#pragma once

#include "CaptureBatch.h"
#include "CaptureFile.h"
#include "NativeFile.h"

#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace socktap::capture {

class BatchJournal
{
public:
    static constexpr char Magic[] = "SOCKTAP-JOURNAL\n";
    static constexpr char FileName[] = "capture.socktap-journal";

    // Creates (truncates) path. maxBytes: past it, journaling stops and says so (the capture goes on in
    // memory).
    static std::shared_ptr<BatchJournal> create(const QString &path, quint64 maxBytes, QString *error);

    // Thread-safe. Encodes the batch's small parts and hands its payload buffer to the writer (shared).
    // Appends the batch; returns where its parts are in the file (nothing when the journal has stopped:
    // the disk budget).
    std::optional<ChunkPlacement> append(const BatchPtr &batch);
    std::shared_ptr<CaptureFile> file() const { return m_file; }
    void flush();
    QString path() const { return m_file->path(); }
    quint64 size() const { return m_file->size(); }
    // Why journaling stopped (disk budget, a write error), or empty.
    QString error() const;

private:
    explicit BatchJournal(std::shared_ptr<CaptureFile> file, quint64 maxBytes);

    std::shared_ptr<CaptureFile> m_file;
    quint64 m_maxBytes;
    mutable std::mutex m_mutex; // a chunk's two parts go out together
    QString m_stopped;
};

// Message `position` of the chunk at `chunk`, read back from the journal: its record as the writing store
// held it (payloadRef and detail in that store's numbering), its payload and (withDetail) its detail's
// parts. Nothing when the file cannot be read there or the bytes are not such a message.
std::optional<native::DecodedMessage> readJournaled(const std::shared_ptr<const CaptureFile> &journal,
                                                    const ChunkPlacement &chunk, quint32 position,
                                                    bool withDetail = true);

// What a journal holds, read from its chunk heads without loading payloads.
struct JournalSummary
{
    quint64 sessions = 0; // distinct
    quint64 messages = 0;
    quint64 bytes = 0; // of the file
    bool cutOff = false; // its last chunk is incomplete
    QString damage; // where reading stopped at a damaged chunk (what came before it is counted)
};
std::optional<JournalSummary> summarizeJournal(const QString &path, QString *error);

// Reads a journal into store, batch by batch, as openNative does for native files.
std::optional<OpenResult> openJournal(const QString &path, CaptureStore &store, QString *error,
                                      const OpenOptions &options = {});

// Journal chunks to batches in a store: the one reading of a chunk, for a file (openJournal) and for a
// journal arriving as a stream (JournalStream). Session ids are mapped to the store's (or kept).
class JournalApplier
{
public:
    JournalApplier(CaptureStore &store, const OpenOptions &options = {});
    // One chunk's head and payloads, its checksum checked: applied, or what is wrong with it.
    QString apply(QByteArray head, QByteArray payloads);
    const OpenResult &result() const { return m_result; }
    // The journal's id of a session it put in the store as `stored` (0: not one of its sessions).
    SessionId journalId(SessionId stored) const;
    // The store's id of the journal's session `journal` (0: not seen yet).
    SessionId storedId(SessionId journal) const;

private:
    CaptureStore &m_store;
    OpenOptions m_options;
    OpenResult m_result;
    std::unordered_map<SessionId, SessionId> m_ids; // in the journal -> in the store
    std::unordered_map<SessionId, SessionId> m_journalIds; // in the store -> in the journal
};

// A journal's bytes as they arrive, in any split (its header, then chunks): each whole chunk is applied
// to the store as soon as its last byte is in (issue 22: a remote Socktap's capture, streamed as its
// journal). consumed() is how far it has applied: where a stream that broke resumes.
class JournalStream
{
public:
    explicit JournalStream(CaptureStore &store, const OpenOptions &options = {});
    // False with *error once the bytes are not a journal or a chunk is damaged (nothing more is taken).
    bool feed(QByteArrayView bytes, QString *error);
    quint64 consumed() const { return m_consumed; }
    // Bytes taken so far, a chunk in progress included: where a stream that broke asks to go on from.
    quint64 received() const { return m_consumed + quint64(m_pending.size()); }
    const OpenResult &result() const { return m_applier.result(); }
    SessionId journalId(SessionId stored) const { return m_applier.journalId(stored); }
    SessionId storedId(SessionId journal) const { return m_applier.storedId(journal); }

private:
    JournalApplier m_applier;
    QByteArray m_pending;
    quint64 m_consumed = 0;
    bool m_sawMagic = false;
    QString m_error;
};

} // namespace socktap::capture
