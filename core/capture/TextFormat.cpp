#include "TextFormat.h"

#include "core/ws/CloseCode.h"
#include "core/ws/Utf8Validator.h"

#include <QDateTime>

namespace socktap::capture {

namespace {

constexpr qsizetype PreviewBytes = 60;

QString preview(QByteArrayView payload)
{
    QByteArrayView head = payload.first(std::min(payload.size(), PreviewBytes));
    // Do not cut a code point in half.
    while (!head.isEmpty() && !ws::Utf8Validator::isValid(head) && payload.size() > head.size())
        head.chop(1);
    QString text = QString::fromUtf8(head);
    for (QChar &c : text) {
        if (c == QLatin1Char('\n') || c == QLatin1Char('\r') || c == QLatin1Char('\t'))
            c = QLatin1Char(' ');
    }
    // The preview is quoted: a quote inside must not end it.
    text.replace(QLatin1Char('\\'), QStringLiteral("\\\\")).replace(QLatin1Char('"'), QStringLiteral("\\\""));
    return QStringLiteral("\"%1%2\"")
        .arg(text, payload.size() > head.size() ? QStringLiteral("...") : QString());
}

QString hexPreview(QByteArrayView payload)
{
    const QByteArray hex = payload.first(std::min<qsizetype>(payload.size(), 16)).toByteArray().toHex(' ');
    return QString::fromLatin1(hex) + (payload.size() > 16 ? QStringLiteral(" ...") : QString());
}

QString closeText(const CloseInfo &c)
{
    if (!c.recorded())
        return c.detail.isEmpty() ? QStringLiteral("how it closed is not recorded") : c.detail;
    QString text = ws::closeCodeLabel(c.effectiveCode());
    if (c.firstCloser)
        text += QStringLiteral(", %1 closed first").arg(QLatin1String(directionName(*c.firstCloser)));
    text += c.handshakeCompleted() ? QStringLiteral(", closing handshake complete")
                                   : QStringLiteral(", closing handshake incomplete");
    if (c.end != EndReason::Closed && c.end != EndReason::None)
        text += QStringLiteral(", %1").arg(endReasonText(c.end));
    if (!c.detail.isEmpty())
        text += QStringLiteral(" (%1)").arg(c.detail);
    return text;
}

} // namespace

QString byteSize(quint64 bytes)
{
    if (bytes < 1024)
        return QStringLiteral("%1 B").arg(bytes);
    if (bytes < 1024 * 1024)
        return QStringLiteral("%1 KiB").arg(double(bytes) / 1024, 0, 'f', 1);
    if (bytes < 1024ull * 1024 * 1024)
        return QStringLiteral("%1 MiB").arg(double(bytes) / (1024 * 1024), 0, 'f', 1);
    return QStringLiteral("%1 GiB").arg(double(bytes) / (1024.0 * 1024 * 1024), 0, 'f', 2);
}

QString duration(qint64 micros)
{
    if (micros < 1000)
        return QStringLiteral("%1 µs").arg(micros);
    if (micros < 1000 * 1000)
        return QStringLiteral("%1 ms").arg(micros / 1000);
    return QStringLiteral("%1 s").arg(double(micros) / 1e6, 0, 'f', 2);
}

QString hexDump(QByteArrayView bytes, qsizetype maxBytes)
{
    const qsizetype n = std::min(bytes.size(), maxBytes);
    QString out;
    out.reserve(int(n / 16 + 1) * 78);
    for (qsizetype line = 0; line < n; line += 16) {
        out += QStringLiteral("%1  ").arg(line, 8, 16, QLatin1Char('0'));
        QString ascii;
        for (qsizetype i = 0; i < 16; ++i) {
            if (line + i < n) {
                const uchar c = uchar(bytes[line + i]);
                out += QStringLiteral("%1 ").arg(c, 2, 16, QLatin1Char('0'));
                ascii += c >= 0x20 && c < 0x7f ? QChar(c) : QLatin1Char('.');
            } else {
                out += QStringLiteral("   ");
            }
            if (i == 7)
                out += QLatin1Char(' ');
        }
        out += QStringLiteral(" |%1|\n").arg(ascii);
    }
    if (bytes.size() > n)
        out += QStringLiteral("... %1 more bytes not shown\n").arg(bytes.size() - n);
    return out;
}

QStringList changeNames(const MessageRecord &r)
{
    static const std::pair<quint16, const char *> names[] = {{MessageFlag::Injected, "injected"},
                                                             {MessageFlag::Resent, "resent"},
                                                             {MessageFlag::Held, "held"},
                                                             {MessageFlag::Delayed, "delayed"},
                                                             {MessageFlag::Edited, "edited"},
                                                             {MessageFlag::Dropped, "dropped"},
                                                             {MessageFlag::Reencoded, "re-compressed"}};
    QStringList out;
    for (const auto &[flag, name] : names) {
        if (r.has(flag))
            out.append(QLatin1String(name));
    }
    return out;
}

QString clockTime(qint64 micros)
{
    return QDateTime::fromMSecsSinceEpoch(micros / 1000).toString(QStringLiteral("HH:mm:ss.zzz"));
}

std::optional<qint64> clockTimeOf(const QString &line, qint64 near)
{
    const QTime time = QTime::fromString(line.left(12), QStringLiteral("HH:mm:ss.zzz"));
    if (!time.isValid())
        return std::nullopt;
    const QDateTime start = QDateTime::fromMSecsSinceEpoch(near / 1000);
    QDateTime at(start.date(), time);
    if (at.toMSecsSinceEpoch() < start.toMSecsSinceEpoch() - 60'000)
        at = at.addDays(1); // past midnight
    return at.toMSecsSinceEpoch() * 1000;
}

QString counted(quint64 n, const char *noun)
{
    return QStringLiteral("%1 %2%3").arg(n).arg(QLatin1String(noun), n == 1 ? QString() : QStringLiteral("s"));
}

SessionInfo openedSnapshot(const SessionInfo &info)
{
    SessionInfo s = info;
    s.state = SessionState::Open;
    s.closedAt = 0;
    s.close = CloseInfo {};
    s.error.clear();
    return s;
}

qint64 eventTime(const SessionInfo &s)
{
    for (const qint64 t : {s.closedAt, s.upgradedAt, s.requestAt})
        if (t)
            return t;
    return s.acceptedAt;
}

QString messageLine(SessionId session, const MessageRecord &r, QByteArrayView payload, bool payloadEvicted,
                    const QString &note, const QString &meaning)
{
    const QString arrow =
        r.direction() == Direction::ClientToServer ? QStringLiteral("→") : QStringLiteral("←");
    QString line = QStringLiteral("#%1 %2 %3 %4")
                       .arg(session)
                       .arg(arrow)
                       .arg(QLatin1String(ws::opcodeName(r.opcode)), -6)
                       .arg(byteSize(r.payloadSize));
    if (r.frameCount > 1)
        line += QStringLiteral(" in %1 frames").arg(r.frameCount);
    if (r.has(MessageFlag::Compressed))
        line += QStringLiteral(" (deflated %1)").arg(byteSize(r.wireSize));
    if (r.opcode == quint8(ws::Opcode::Close)) {
        line += QStringLiteral(" %1").arg(r.closeCode ? ws::closeCodeLabel(r.closeCode)
                                                      : QStringLiteral("(no code)"));
        if (payload.size() > 2)
            line += QStringLiteral(" ") + preview(payload.sliced(2));
    } else if (payloadEvicted) {
        line += QStringLiteral(" [payload evicted: capture memory budget]");
    } else if (!meaning.isEmpty()) {
        line += QLatin1Char(' ') + meaning;
    } else if (!payload.isEmpty()) {
        const bool text = r.opcode != quint8(ws::Opcode::Binary)
            && ws::Utf8Validator::isValid(payload.first(std::min(payload.size(), PreviewBytes * 4)));
        line += QStringLiteral(" ") + (text ? preview(payload) : hexPreview(payload));
    }
    if (r.has(MessageFlag::Injected))
        line += QStringLiteral(" [sent by Socktap]");
    const QStringList changes = changeNames(r);
    if (!changes.isEmpty() && !(changes.size() == 1 && r.has(MessageFlag::Injected)))
        line += QStringLiteral(" [%1]").arg(changes.join(QStringLiteral(", ")));
    if (!note.isEmpty())
        line += QStringLiteral(" (%1)").arg(note);
    if (r.has(MessageFlag::Truncated))
        line += QStringLiteral(" [capture truncated at %1]").arg(byteSize(r.capturedSize));
    if (r.has(MessageFlag::Incomplete))
        line += QStringLiteral(" [incomplete: connection ended]");
    if (r.violations)
        line += QStringLiteral(" [violation: %1]")
                    .arg(ws::describe(r.violationFlags()).join(QStringLiteral("; ")));
    return line;
}

QString sessionLine(const SessionInfo &s, std::optional<SessionState> previous)
{
    const QString id = QStringLiteral("#%1").arg(s.id);
    const QString url = QString::fromLatin1(s.url());
    const bool terminal = s.state == SessionState::Closed || s.state == SessionState::Failed
        || s.state == SessionState::Rejected;
    switch (s.kind) {
    case SessionKind::WebSocket: {
        if (s.state == SessionState::Open && (!previous || previous == SessionState::Connecting)) {
            QString line = QStringLiteral("%1 ws open %2 (%3)").arg(id, url, QLatin1String(modeName(s.mode)));
            if (const SessionId original = s.replayOf())
                line += QStringLiteral(" replay of session %1").arg(original);
            if (!s.mock.isEmpty())
                line += QLatin1Char(' ') + s.mock;
            if (!s.subprotocol.isEmpty())
                line += QStringLiteral(" subprotocol %1").arg(QString::fromLatin1(s.subprotocol));
            if (!s.extensions.isEmpty())
                line +=
                    QStringLiteral(" [%1]").arg(QString::fromLatin1(ws::serializeExtensions(s.extensions)));
            if (!s.handshakeProblems.isEmpty())
                line += QStringLiteral(" handshake problems: %1")
                            .arg(s.handshakeProblems.join(QStringLiteral("; ")));
            if (!s.handshakeNotes.isEmpty())
                line += QStringLiteral(" (%1)").arg(s.handshakeNotes.join(QStringLiteral("; ")));
            return line;
        }
        if (s.state == SessionState::Closed && previous != SessionState::Closed)
            return QStringLiteral("%1 ws closed %2 after %4 open: %3")
                .arg(id, url, closeText(s.close), duration(s.closedAt - s.upgradedAt));
        if ((s.state == SessionState::Rejected || s.state == SessionState::Failed) && previous != s.state)
            return QStringLiteral("%1 ws %2 %3: %4").arg(id, QLatin1String(stateName(s.state)), url, s.error);
        return {};
    }
    case SessionKind::Http:
        if (!terminal || previous == s.state)
            return {};
        if (s.state == SessionState::Failed)
            return QStringLiteral("#%1 http %2 %3 failed: %4")
                .arg(s.id)
                .arg(QString::fromLatin1(s.request.method), url, s.error);
        return QStringLiteral("#%1 http %2 %3 → %4 %5, %6 in %7")
            .arg(s.id)
            .arg(QString::fromLatin1(s.request.method), url)
            .arg(s.response.status)
            .arg(QString::fromLatin1(s.response.reason), byteSize(s.responseBodySize),
                 duration(s.closedAt - s.requestAt));
    case SessionKind::Tunnel: {
        const QString target = QStringLiteral("%1:%2").arg(QString::fromLatin1(s.host)).arg(s.port);
        if (s.state == SessionState::Open && (!previous || previous == SessionState::Connecting))
            return QStringLiteral("%1 tunnel open %2 (opaque bytes, relayed untouched)").arg(id, target);
        if (s.state == SessionState::Failed && previous != s.state)
            return QStringLiteral("%1 tunnel failed %2: %3").arg(id, target, s.error);
        if (s.state == SessionState::Closed && previous != s.state)
            return QStringLiteral("%1 tunnel closed %2: %3 up, %4 down, %5")
                .arg(id, target, byteSize(s.tunnelBytes[0]), byteSize(s.tunnelBytes[1]),
                     endReasonText(s.close.end));
        return {};
    }
    }
    return {};
}

} // namespace socktap::capture
