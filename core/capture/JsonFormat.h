// JSON renderings of capture records: one object per session or message, lossless for payloads (text as
// a string when it is valid UTF-8, otherwise base64). Used by the headless --json output and exporters.
#pragma once

#include "CaptureTypes.h"

#include <QJsonObject>

namespace socktap::capture {

// 2026-11-22T03:23:32.123456Z
QString isoTime(qint64 micros);
QJsonObject sessionToJson(const SessionInfo &info, const SessionCounters *counters = nullptr);
// `note` and `original` (an edited message's payload as sent by its peer) when there are any.
QJsonObject messageToJson(SessionId session, quint64 index, const MessageRecord &record,
                          QByteArrayView payload, bool payloadEvicted, const QString &note = {},
                          QByteArrayView original = {});
QJsonObject headToJson(const http::RequestHead &head);
QJsonObject headToJson(const http::ResponseHead &head);

} // namespace socktap::capture
