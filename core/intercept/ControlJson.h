// The control link's words (issue 22): a SessionCommand, its CommandResult and a HeldMessage as JSON, so
// a window attached to a remote Socktap acts on the remote's sessions with the same commands it sends its
// own engine. Plain data both ways; a command read from the link is checked field by field (it comes
// from another machine) and refused with the field's name.
#pragma once

#include "HeldMessage.h"
#include "SessionCommand.h"

#include <QJsonObject>

#include <optional>

namespace socktap::intercept {

QJsonObject commandJson(const SessionCommand &command);
std::optional<SessionCommand> commandFromJson(const QJsonObject &json, QString *error);

QJsonObject heldJson(const HeldMessage &held);
std::optional<HeldMessage> heldFromJson(const QJsonObject &json, QString *error);

} // namespace socktap::intercept
