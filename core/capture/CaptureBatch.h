// A batch of capture changes from one worker thread: session snapshots and messages with their payload
// bytes. Workers fill batches off the GUI thread and hand them to the store whole; the store applies them
// and passes the same (then immutable) batch to live subscribers.
#pragma once

#include "CaptureTypes.h"

#include <memory>
#include <type_traits>
#include <vector>

namespace socktap::capture {

struct BatchMessage
{
    SessionId session = 0;
    quint64 index = 0; // assigned by the store: position in its session
    quint64 batchOffset = 0; // payload bytes in CaptureBatch::payloads
    qint32 batchDetail = -1; // index in CaptureBatch::details, or -1
    quint32 spare = 0; // no padding: the crash journal writes these structs as they are
    quint64 fileOffset = 0; // where the record's line starts in the batch's file
    MessageRecord record; // payloadRef and detail rewritten by the store
};
// The crash journal copies a batch's messages to disk byte for byte (no encoding on the relay's thread):
// every byte must be a field, never uninitialised padding.
static_assert(std::has_unique_object_representations_v<BatchMessage>);
static_assert(std::is_trivially_copyable_v<BatchMessage>);

struct CaptureBatch
{
    std::vector<SessionInfo> sessions; // latest snapshot of each session changed in this batch
    std::vector<BatchMessage> messages; // in arrival order
    std::vector<MessageDetail> details; // wirePayloadRef relative to payloads
    QByteArray payloads;
    // Where the records' lines are: 0 until the store journals the batch, or the store's index of the file
    // the batch was read from. sessionOffsets parallels sessions (the line of each snapshot).
    quint8 file = 0;
    std::vector<quint64> sessionOffsets;
    std::vector<SessionId> sessionIdsInFile; // read from a file whose ids were renumbered; else empty

    bool isEmpty() const { return sessions.empty() && messages.empty(); }
    // Appends a message and its bytes; with withDetail, what the record cannot hold (frames, wire
    // payload, original, note) goes into a detail.
    BatchMessage &add(SessionId session, const MessageRecord &record, QByteArrayView payload,
                      QByteArrayView wirePayload, QByteArrayView original, const QString &note,
                      std::span<const ws::FrameInfo> frames, bool withDetail);
    QByteArrayView payload(const BatchMessage &m) const
    {
        return QByteArrayView(payloads).sliced(qsizetype(m.batchOffset), m.record.capturedSize);
    }
    const MessageDetail *detail(const BatchMessage &m) const
    {
        return m.batchDetail >= 0 ? &details[size_t(m.batchDetail)] : nullptr;
    }
};

using BatchPtr = std::shared_ptr<const CaptureBatch>;

// Where the crash journal (BatchJournal) put a batch's parts: what the store needs to read one message
// back once its record has left memory.
struct ChunkPlacement
{
    quint64 messages = 0; // the first BatchMessage
    quint64 details = 0; // the detail count, then the details
    quint64 payloads = 0;
    quint64 end = 0; // of the whole chunk: on disk once the file's written() reaches it (0: not placed)
};

// Hands a payload buffer nobody else holds to the next batch a worker fills (kept only while few are
// waiting; otherwise freed): the capture reuses its memory instead of touching fresh pages.
void recyclePayloads(QByteArray bytes);

} // namespace socktap::capture
