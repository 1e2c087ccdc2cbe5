// How panels reach a live session: a function the window provides, since the window owns the engine (which
// comes and goes with Start and Stop). The answer arrives later, queued in `context`'s thread; the GUI never
// waits for a worker.
#pragma once

#include "core/intercept/SessionCommand.h"

#include <QObject>

#include <functional>

namespace socktap::ui {

using CommandDone = std::function<void(const intercept::CommandResult &)>;
using CommandSender =
    std::function<void(capture::SessionId, const intercept::SessionCommand &, QObject *context, CommandDone)>;

} // namespace socktap::ui
