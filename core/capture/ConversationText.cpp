#include "ConversationText.h"

#include "TextFormat.h"

#include "core/ws/CloseCode.h"
#include "core/ws/Utf8Validator.h"

#include <QDateTime>

namespace socktap::capture {

namespace {

// Enough to recognise a binary message in a ticket without flooding it.
constexpr qsizetype PreviewBytes = 32;

QString clock(qint64 micros)
{
    return QDateTime::fromMSecsSinceEpoch(micros / 1000, Qt::UTC).toString(QStringLiteral("hh:mm:ss.zzz"));
}

QString dateTime(qint64 micros)
{
    return QDateTime::fromMSecsSinceEpoch(micros / 1000, Qt::UTC)
               .toString(QStringLiteral("yyyy-MM-dd hh:mm:ss.zzz"))
        + QStringLiteral(" UTC");
}

QString hexPreview(QByteArrayView bytes, quint64 fullSize)
{
    QString out =
        QString::fromLatin1(bytes.first(std::min(bytes.size(), PreviewBytes)).toByteArray().toHex(' '));
    if (fullSize > quint64(std::min(bytes.size(), PreviewBytes)))
        out += QStringLiteral(" ...");
    return out;
}

// Control frame payloads are short; show them as text when they are text.
QString shortPayload(QByteArrayView bytes)
{
    if (bytes.isEmpty())
        return {};
    if (ws::Utf8Validator::isValid(bytes))
        return QLatin1Char(' ') + QString::fromUtf8(bytes);
    return QLatin1Char(' ') + hexPreview(bytes, quint64(bytes.size()));
}

QString body(const MessageView &m)
{
    const MessageRecord &r = m.record;
    const quint64 size = r.payloadSize;
    const char *type = ws::opcodeName(r.opcode);
    if (m.payloadEvicted)
        return QStringLiteral("[%1 %2 bytes, payload no longer held]").arg(QLatin1String(type)).arg(size);
    switch (ws::Opcode(r.opcode)) {
    case ws::Opcode::Text:
        if (ws::Utf8Validator::isValid(m.payload))
            return QString::fromUtf8(m.payload);
        return QStringLiteral("[text %1 bytes, not valid UTF-8] %2")
            .arg(size)
            .arg(hexPreview(m.payload, size));
    case ws::Opcode::Binary:
        return QStringLiteral("[binary %1 bytes] %2").arg(size).arg(hexPreview(m.payload, size));
    case ws::Opcode::Ping:
        return QStringLiteral("[ping]") + shortPayload(m.payload);
    case ws::Opcode::Pong:
        return QStringLiteral("[pong]") + shortPayload(m.payload);
    case ws::Opcode::Close:
        if (m.payload.size() < 2)
            return QStringLiteral("[close]");
        return QStringLiteral("[close %1%2]").arg(r.closeCode).arg(shortPayload(m.payload.mid(2)));
    case ws::Opcode::Continuation:
        break;
    }
    return QStringLiteral("[opcode %1, %2 bytes] %3")
        .arg(r.opcode)
        .arg(size)
        .arg(hexPreview(m.payload, size));
}

QString annotations(const MessageView &m)
{
    const MessageRecord &r = m.record;
    QString out;
    if (r.has(MessageFlag::Truncated) && !m.payloadEvicted)
        out += QStringLiteral(" [only %1 of %2 bytes captured]").arg(r.capturedSize).arg(r.payloadSize);
    const QStringList changes = changeNames(r);
    if (!changes.isEmpty())
        out += QStringLiteral(" [%1]").arg(changes.join(QStringLiteral(", ")));
    return out;
}

// Lines after the first line up under the first one's text, so a pasted JSON document stays readable.
QString indentContinuations(const QString &text, qsizetype indent)
{
    QStringList lines = text.split(QLatin1Char('\n'));
    for (QString &line : lines)
        if (line.endsWith(QLatin1Char('\r')))
            line.chop(1);
    return lines.join(QLatin1Char('\n') + QString(indent, QLatin1Char(' ')));
}

QString header(const SessionInfo &s)
{
    QString first;
    switch (s.kind) {
    case SessionKind::WebSocket: {
        first = QStringLiteral("WebSocket ") + QString::fromLatin1(s.url());
        QStringList details;
        if (!s.subprotocol.isEmpty())
            details.append(QStringLiteral("subprotocol ") + QString::fromLatin1(s.subprotocol));
        if (!s.extensions.isEmpty())
            details.append(QString::fromLatin1(ws::serializeExtensions(s.extensions)));
        if (!details.isEmpty())
            first += QStringLiteral(" (%1)").arg(details.join(QStringLiteral(", ")));
        break;
    }
    case SessionKind::Http:
        first = QStringLiteral("HTTP ") + QString::fromLatin1(s.url());
        break;
    case SessionKind::Tunnel:
        first = QStringLiteral("Tunnel ") + QString::fromLatin1(s.url());
        break;
    }
    const qint64 started = s.requestAt ? s.requestAt : s.acceptedAt;
    return first
        + QStringLiteral("\nstarted %1; times are UTC; > client to server, < server to client\n")
              .arg(started ? dateTime(started) : QStringLiteral("at an unknown time"));
}

QString closeSummary(const CloseInfo &c)
{
    if (!c.recorded())
        return {};
    QString out = QStringLiteral("ended: ") + ws::closeCodeLabel(c.effectiveCode());
    if (c.firstCloser)
        out += QStringLiteral(", first Close from the ") + QLatin1String(directionName(*c.firstCloser));
    if (c.end != EndReason::None)
        out += QStringLiteral("; ") + endReasonText(c.end);
    if (!c.detail.isEmpty())
        out += QStringLiteral(" (%1)").arg(c.detail);
    return out + QLatin1Char('\n');
}

QString httpLines(const SessionInfo &s)
{
    QString out;
    if (!s.request.method.isEmpty())
        out +=
            QStringLiteral("%1 > %2 %3\n")
                .arg(clock(s.requestAt), QString::fromLatin1(s.request.method), QString::fromLatin1(s.path));
    if (s.response.status) {
        out += QStringLiteral("%1 < %2 %3")
                   .arg(clock(s.upgradedAt))
                   .arg(s.response.status)
                   .arg(QString::fromLatin1(s.response.reason));
        if (s.responseBodySize)
            out += QStringLiteral(" [body %1 bytes]").arg(s.responseBodySize);
        out += QLatin1Char('\n');
    }
    return out;
}

bool writeText(QIODevice &out, const QString &text, QString *error)
{
    const QByteArray bytes = text.toUtf8();
    if (out.write(bytes) == bytes.size())
        return true;
    if (error)
        *error = QStringLiteral("cannot write the conversation: %1").arg(out.errorString());
    return false;
}

} // namespace

QString conversationLine(const MessageView &m)
{
    const QString prefix = clock(m.record.time)
        + (m.record.direction() == Direction::ClientToServer ? QStringLiteral(" > ") : QStringLiteral(" < "));
    return prefix + indentContinuations(body(m), prefix.size()) + annotations(m);
}

bool writeConversationText(const CaptureStore &store, SessionId session, QIODevice &out, QString *error)
{
    const auto info = store.session(session);
    if (!info) {
        if (error)
            *error = QStringLiteral("no session #%1 in the capture").arg(session);
        return false;
    }
    if (!writeText(out, header(*info), error))
        return false;
    if (info->kind == SessionKind::Http)
        return writeText(out, httpLines(*info), error);
    if (info->kind == SessionKind::Tunnel)
        return writeText(out,
                         QStringLiteral("[opaque tunnel: %1 bytes from the client, %2 from the server]\n")
                             .arg(info->tunnelBytes[0])
                             .arg(info->tunnelBytes[1]),
                         error);
    if (info->state == SessionState::Rejected || (info->state == SessionState::Failed && !info->upgradedAt)) {
        // It never became a WebSocket: what was asked and answered, and why, never a close it did not have.
        const QString why = !info->error.isEmpty() ? info->error : endReasonText(info->close.end);
        return writeText(out,
                         httpLines(*info)
                             + QStringLiteral("never opened: %1%2\n")
                                   .arg(QLatin1String(stateName(info->state)),
                                        why.isEmpty() ? QString() : QStringLiteral(": ") + why),
                         error);
    }
    const quint64 first = store.firstRetainedMessage(session);
    if (first > 0
        && !writeText(out, QStringLiteral("[%1 earlier messages no longer held]\n").arg(first), error))
        return false;
    const quint64 count = store.messageCount(session);
    for (quint64 i = first; i < count; ++i) {
        const auto m = store.message(session, i, true);
        if (m && !writeText(out, conversationLine(*m) + QLatin1Char('\n'), error))
            return false;
    }
    return writeText(out, closeSummary(info->close), error);
}

} // namespace socktap::capture
