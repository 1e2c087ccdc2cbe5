// socktap mock FILE: serves a captured session's server side to a client under test. A MockServer plays
// the capture on a loopback port; a Socktap proxy in reverse mode listens on --listen in front of it, so
// ws:// and wss:// (with Socktap's CA) both reach it, --rules apply (faults on a mocked server), and every
// session is captured and printed like any other, flagged as mocked.
#pragma once

#include "CommandLine.h"

#include "core/capture/CaptureStore.h"

namespace socktap::app {

// Exit codes (README's table): 0 served (with --once: the client sent what the capture expected), 4 the
// client differed (--once) or --unmatched fail was triggered, 2 the mock could not listen, 5 the capture
// cannot be read, 6 the session cannot be served (none such, not WebSocket, payloads not kept).
int runMockCommand(const AppOptions &options, capture::CaptureStore &store,
                   std::shared_ptr<proxy::TlsContexts> tls, std::shared_ptr<intercept::InterceptHub> rules);

} // namespace socktap::app
