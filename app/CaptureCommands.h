// socktap open FILE and socktap export: a capture file (native or HAR) printed as the headless console
// prints live traffic, or converted to HAR or to one session's conversation as text.
#pragma once

#include "CommandLine.h"

namespace socktap::app {

// Exit codes: 0 done, 5 the capture cannot be read or the output written (README's table).
int runCaptureCommand(const AppOptions &options);
// socktap recover [N [--save OUT]]: the captures kept from earlier runs, listed, printed or saved.
int runRecoverCommand(const AppOptions &options);

} // namespace socktap::app
