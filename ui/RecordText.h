// How a captured message reads in the lists and inspectors: its opcode's name, and its flags (fragmented,
// compressed, what Socktap changed, violations, truncation). Shared by the message list, the held messages
// and the payload view, so that all three say the same.
#pragma once

#include "core/capture/CaptureTypes.h"

#include <QString>

namespace socktap::ui {

QString opcodeText(quint8 opcode);
QString flagsText(const capture::MessageRecord &r);

} // namespace socktap::ui
