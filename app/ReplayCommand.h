// socktap replay FILE: plays a captured WebSocket session's client side again through an in-process
// Socktap (so the replay is captured like any session, --record writes it), then prints how the server's
// answers compare with the original's and exits 0 when they matched, 4 when they differed.
#pragma once

#include "CommandLine.h"

#include "core/capture/CaptureStore.h"

namespace socktap::app {

// Exit codes (README's table): 0 matched, 4 differed, 2 the local proxy could not listen, 5 the capture
// cannot be read, 6 the session cannot be replayed (not WebSocket, no client messages, server unreachable,
// handshake refused, cancelled).
int runReplayCommand(const AppOptions &options, capture::CaptureStore &replayStore,
                     std::shared_ptr<proxy::TlsContexts> tls, const QByteArray &caCertificatePem);

} // namespace socktap::app
