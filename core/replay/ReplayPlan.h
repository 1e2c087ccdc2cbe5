// What replaying a captured WebSocket session means, worked out from the capture alone: where to connect,
// the handshake headers to send again (the user may edit them), the client's messages with their original
// timing and how many server messages had arrived before each, and the original's messages and closes to
// compare the replay with. Sans-I/O: the Replayer carries a plan out.
#pragma once

#include "Comparison.h"

#include "core/capture/CaptureStore.h"

#include <QUrl>

namespace socktap::replay {

enum class Timing {
    Fast, // every client message as soon as the previous one is sent
    Original, // at the original offsets from the upgrade, divided by the speed
    Conversation, // each client message once the server has sent as many messages as it had by then
};
std::optional<Timing> timingFromName(const QString &name);

struct ReplayStep // a message the client sent in the original
{
    quint8 opcode = 0; // Text, Binary, Ping or Close
    QByteArray payload;
    qint64 offsetUs = 0; // after the upgrade
    int serverMessagesBefore = 0; // server data messages that had arrived before it was sent
};

struct ReplayPlan
{
    capture::SessionId original = 0;
    QUrl url; // ws:// or wss://, as the client asked; the user may point it elsewhere
    // Request headers sent again as they were, but those a WebSocket client regenerates (RFC 6455 4.1:
    // Host, Upgrade, Connection, Sec-WebSocket-Key and -Version) and hop-by-hop ones (RFC 9110 7.6.1).
    QList<QPair<QByteArray, QByteArray>> headers;
    QStringList subprotocols; // the original offer, in order
    QStringList notes; // what could not be sent as it was, and why
    std::vector<ReplayStep> steps;
    // The server closed first in the original: the client's Close was its answer, not a step. The replay
    // waits for the server's Close (up to its wait limit) and answers it, as QWebSocket does, instead of
    // racing it with a Close of its own.
    bool awaitServerClose = false;
    // The original, for the comparison: data messages per direction [fromClient, fromServer], and closes.
    std::vector<ComparedMessage> originalMessages[2];
    CloseSide originalClose[2];
    decode::SessionHints hints; // the original's subprotocol and path: its messages' format

    // "Name: value" replaces the header of that name (or adds it); "Name:" removes it.
    bool setHeader(const QString &line, QString *error = nullptr);
};

// A session's data messages per direction [fromClient, fromServer] as they were sent (an edited server
// message as the server wrote it; nothing Socktap injected or a client message it dropped) and its closes:
// one side of a comparison.
struct CapturedSession
{
    std::vector<ComparedMessage> messages[2];
    CloseSide close[2];
};
CapturedSession capturedSession(const capture::CaptureStore &store, capture::SessionId id);

bool isData(quint8 opcode); // Text or Binary
// What the peer itself sent: not a message Socktap injected, nor a client message it dropped or could not
// deliver (the server never saw it).
bool sentByPeer(const capture::MessageRecord &r);

// A plan for session `id`, or nullopt with why (not a WebSocket session, no client messages, payloads
// the capture no longer holds...).
std::optional<ReplayPlan> planReplay(const capture::CaptureStore &store, capture::SessionId id,
                                     QString *error);

} // namespace socktap::replay
