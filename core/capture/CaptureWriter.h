// Collects one worker thread's capture changes into a batch and hands it to the store: per message it
// only copies the payload into the batch, so the relay's hot path never takes the store's lock. The owner
// flushes on a short timer and whenever wantsFlush() says the batch is big.
#pragma once

#include "CaptureStore.h"

#include "core/ws/MessageAssembler.h"

#include <unordered_map>

namespace socktap::capture {

class CaptureWriter
{
public:
    explicit CaptureWriter(CaptureStore &store);

    CaptureStore &store() { return m_store; }
    // Records the latest state of a session (replacing an earlier snapshot in the same batch).
    void session(const SessionInfo &info);
    void message(SessionId session, Direction direction, const MessageFacts &message);
    void message(SessionId session, Direction direction, const ws::MessageAssembler::Message &message,
                 quint16 extraFlags = 0);

    bool isEmpty() const { return m_batch->isEmpty(); }
    bool wantsFlush() const;
    void flush();

private:
    CaptureStore &m_store;
    std::shared_ptr<CaptureBatch> m_batch;
    std::unordered_map<SessionId, size_t> m_sessionSlot;
};

// The facts of a message as the relay's assembler put it together.
MessageFacts factsOf(const ws::MessageAssembler::Message &message, quint16 flags = 0);
// The record for a message (payloadRef relative to where its payload will be placed).
MessageRecord makeRecord(Direction direction, const MessageFacts &message);

} // namespace socktap::capture
