#include "RecordText.h"

#include "core/capture/TextFormat.h"
#include "core/ws/Frame.h"

namespace socktap::ui {

namespace MessageFlag = capture::MessageFlag;
using capture::MessageRecord;

QString opcodeText(quint8 opcode)
{
    return QString::fromLatin1(ws::opcodeName(opcode));
}

QString flagsText(const MessageRecord &r)
{
    QStringList f;
    if (r.frameCount > 1)
        f << QStringLiteral("fragmented");
    if (r.has(MessageFlag::Compressed))
        f << QStringLiteral("compressed");
    f << capture::changeNames(r); // held, edited, dropped, injected, resent, delayed, re-compressed
    if (r.violations)
        f << QStringLiteral("violation");
    if (r.has(MessageFlag::Truncated))
        f << QStringLiteral("truncated");
    if (r.has(MessageFlag::Incomplete))
        f << QStringLiteral("incomplete");
    return f.join(QStringLiteral(", "));
}

} // namespace socktap::ui
