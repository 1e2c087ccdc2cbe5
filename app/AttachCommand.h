// socktap attach HOST:PORT --token T [--ca FILE] [--json] (issue 22): a remote headless Socktap's live
// capture (socktap --control), printed as the local headless mode prints its own. The stream is the
// remote's crash journal, applied to a local mirror store (JournalStream) that the console follows; a link
// that drops is opened again from the last byte received, so nothing is lost or printed twice.
#pragma once

#include "CommandLine.h"

namespace socktap::app {

// Exit codes: 0 stopped by a signal, 2 refused (wrong token), 3 cannot connect or verify, 5 the stream
// is not a journal this Socktap reads.
int runAttach(const AppOptions &options);

} // namespace socktap::app
