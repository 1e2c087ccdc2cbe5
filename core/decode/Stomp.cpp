#include "Stomp.h"

#include "JsonFormats.h"
#include "JsonValue.h"

#include <QJsonArray>
#include <QJsonObject>

namespace socktap::decode {

namespace {

// STOMP 1.2 "Value Encoding": \r \n \c \\ in headers of every frame but CONNECT and CONNECTED.
QString unescapeHeader(QByteArrayView raw, bool escaped)
{
    if (!escaped || !raw.contains('\\'))
        return QString::fromUtf8(raw);
    QByteArray out;
    out.reserve(raw.size());
    for (qsizetype i = 0; i < raw.size(); ++i) {
        if (raw[i] != '\\' || i + 1 == raw.size()) {
            out += raw[i];
            continue;
        }
        const char c = raw[++i];
        out += c == 'r' ? '\r' : c == 'n' ? '\n' : c == 'c' ? ':' : c;
    }
    return QString::fromUtf8(out);
}

struct Frame
{
    QJsonObject value;
    QString summary;
    QString pairKey;
    PairRole role = PairRole::None;
    bool heartbeat = false;
};

// One frame from `data` at `at`, moving `at` past it and its NUL; nullopt with `error` when malformed.
std::optional<Frame> parseFrame(QByteArrayView data, qsizetype &at, QString &error)
{
    Frame frame;
    // Heart-beats are end-of-lines between frames (§Heart-beating).
    qsizetype start = at;
    while (at < data.size() && (data[at] == '\n' || data[at] == '\r'))
        ++at;
    if (at == data.size()) {
        frame.heartbeat = at > start;
        frame.summary = QStringLiteral("heart-beat");
        return frame;
    }
    const auto line = [&](QByteArrayView &out) {
        const qsizetype nl = data.indexOf('\n', at);
        if (nl < 0)
            return false;
        out = data.sliced(at, nl - at);
        if (out.endsWith('\r'))
            out.chop(1);
        at = nl + 1;
        return true;
    };
    QByteArrayView command;
    if (!line(command) || command.isEmpty()) {
        error = QStringLiteral("STOMP: no command line");
        return std::nullopt;
    }
    for (char c : command) {
        if (c < 'A' || c > 'Z') {
            error = QStringLiteral("STOMP: not a command: %1")
                        .arg(QString::fromUtf8(command.first(qMin(20, command.size()))));
            return std::nullopt;
        }
    }
    const bool escaped = command != "CONNECT" && command != "CONNECTED";
    QJsonObject headers;
    qsizetype contentLength = -1;
    for (;;) {
        QByteArrayView header;
        if (!line(header)) {
            error = QStringLiteral("STOMP %1: headers end without a blank line")
                        .arg(QString::fromLatin1(command));
            return std::nullopt;
        }
        if (header.isEmpty())
            break;
        const qsizetype colon = header.indexOf(':');
        if (colon <= 0) {
            error = QStringLiteral("STOMP %1: a header without a colon").arg(QString::fromLatin1(command));
            return std::nullopt;
        }
        const QString key = unescapeHeader(header.first(colon), escaped);
        // §Repeated Header Entries: the first one counts.
        if (!headers.contains(key))
            headers.insert(key, unescapeHeader(header.sliced(colon + 1), escaped));
        if (key == QLatin1String("content-length"))
            contentLength = header.sliced(colon + 1).toLongLong();
    }
    qsizetype end = contentLength >= 0 ? at + contentLength : data.indexOf('\0', at);
    if (end < 0 || end > data.size() || (end < data.size() && data[end] != '\0')) {
        // SockJS clients often leave out the NUL of the last frame; take the rest as the body then.
        if (contentLength >= 0 || end > data.size()) {
            error = QStringLiteral("STOMP %1: body shorter than its content-length")
                        .arg(QString::fromLatin1(command));
            return std::nullopt;
        }
        end = data.size();
    }
    const QByteArrayView body = data.sliced(at, end - at);
    at = qMin(end + 1, data.size());
    frame.value = {{"command", QString::fromLatin1(command)}, {"headers", headers}};
    if (!body.isEmpty()) {
        if (const auto json = parseJson(body))
            frame.value["body"] = *json;
        else
            frame.value["body"] = QString::fromUtf8(body);
    }
    frame.summary = QString::fromLatin1(command);
    const QString destination = headers.value("destination").toString();
    if (!destination.isEmpty())
        frame.summary += QLatin1Char(' ') + destination;
    if (command == "CONNECT" || command == "STOMP") {
        frame.role = PairRole::Request;
        frame.pairKey = QStringLiteral("connect");
    } else if (command == "CONNECTED") {
        frame.role = PairRole::Reply;
        frame.pairKey = QStringLiteral("connect");
    } else if (headers.contains("receipt")) { // §Header receipt: the server answers with RECEIPT
        frame.role = PairRole::Request;
        frame.pairKey = QStringLiteral("receipt:") + headers.value("receipt").toString();
        frame.summary += QStringLiteral(" receipt=") + headers.value("receipt").toString();
    } else if (headers.contains("receipt-id")) {
        frame.role = PairRole::Reply;
        frame.pairKey = QStringLiteral("receipt:") + headers.value("receipt-id").toString();
        frame.summary += QLatin1Char(' ') + headers.value("receipt-id").toString();
    }
    if (command == "ERROR")
        frame.summary += QLatin1Char(' ') + headers.value("message").toString();
    return frame;
}

// Every STOMP frame of one string: the decoded value is one frame, or an array when there are several.
bool decodeFrames(QByteArrayView data, Decoded &d, QJsonArray &values, QStringList &summaries)
{
    qsizetype at = 0;
    bool allHeartbeats = true;
    while (at < data.size()) {
        QString error;
        const auto frame = parseFrame(data, at, error);
        if (!frame) {
            d.error = error;
            return false;
        }
        if (!frame->heartbeat) {
            allHeartbeats = false;
            values.append(frame->value);
            if (d.pairKey.isEmpty() && !frame->pairKey.isEmpty()) {
                d.pairKey = frame->pairKey;
                d.role = frame->role;
            }
        }
        summaries << frame->summary;
    }
    d.chatter = d.chatter && allHeartbeats;
    return true;
}

} // namespace

std::optional<QByteArray> StompDecoder::encode(const Message &, const QJsonValue &value, QString *error) const
{
    const QJsonObject frame = value.toObject();
    const QString command = frame.value("command").toString();
    if (m_sockJs || command.isEmpty()) {
        if (error)
            *error =
                QStringLiteral("stomp: only one bare frame is re-encoded (not SockJS, not several frames)");
        return std::nullopt;
    }
    const QJsonValue bodyValue = frame.value("body");
    const QByteArray body = bodyValue.isUndefined() ? QByteArray()
        : bodyValue.isString()                      ? bodyValue.toString().toUtf8()
                                                    : compactJson(bodyValue);
    const bool escape = command != QLatin1String("CONNECT") && command != QLatin1String("CONNECTED");
    const auto escaped = [escape](const QString &s) {
        QByteArray b = s.toUtf8();
        if (escape)
            b.replace('\\', "\\\\").replace('\r', "\\r").replace('\n', "\\n").replace(':', "\\c");
        return b;
    };
    QByteArray out = command.toUtf8() + '\n';
    const QJsonObject headers = frame.value("headers").toObject();
    for (auto it = headers.begin(); it != headers.end(); ++it) {
        const QString v = it.key() == QLatin1String("content-length") ? QString::number(body.size())
                                                                      : it.value().toString();
        out += escaped(it.key()) + ':' + escaped(v) + '\n';
    }
    return out + '\n' + body + '\0';
}

bool StompDecoder::recognises(const Message &message) const
{
    if (m_sockJs)
        return message.fromServer && message.payload == "o";
    return !message.fromServer && !message.binary
        && (message.payload.startsWith("CONNECT\n") || message.payload.startsWith("STOMP\n")
            || message.payload.startsWith("CONNECT\r\n"));
}

Decoded StompDecoder::decode(const Message &message, DecoderState *) const
{
    Decoded d;
    if (message.binary && m_sockJs) {
        d.error = QStringLiteral("SockJS is text; this message is binary");
        return d;
    }
    QJsonArray values;
    QStringList summaries;
    d.chatter = true;
    if (!m_sockJs) {
        if (!decodeFrames(message.payload, d, values, summaries))
            return d;
    } else {
        const QByteArrayView p = message.payload;
        QJsonArray strings;
        if (message.fromServer && (p == "o" || p == "h")) {
            d.format = name();
            d.summary = p == "o" ? QStringLiteral("sockjs open") : QStringLiteral("sockjs heartbeat");
            d.chatter = p == "h";
            d.value = QJsonObject {{"sockjs", p == "o" ? "open" : "heartbeat"}};
            return d;
        }
        if (message.fromServer && p.startsWith('c')) {
            const QJsonArray close = parseJson(p.sliced(1)).value_or(QJsonValue()).toArray();
            d.format = name();
            d.summary = QStringLiteral("sockjs close %1 %2").arg(textOf(close.at(0)), close.at(1).toString());
            d.value = QJsonObject {{"sockjs", "close"}, {"code", close.at(0)}, {"reason", close.at(1)}};
            d.chatter = false;
            return d;
        }
        const auto array = parseJson(message.fromServer && p.startsWith('a') ? p.sliced(1) : p);
        if (!array || !array->isArray()) {
            d.error = QStringLiteral("SockJS: neither o, h, a[...], c[...] nor a JSON array of strings");
            return d;
        }
        for (const QJsonValue &s : array->toArray()) {
            if (!decodeFrames(s.toString().toUtf8(), d, values, summaries))
                return d;
        }
    }
    d.format = QStringLiteral("stomp");
    d.value = values.size() == 1 ? values.first() : QJsonValue(values);
    if (m_sockJs)
        d.value = QJsonObject {{"sockjs", "message"}, {"stomp", d.value}};
    if (!values.isEmpty())
        summaries.removeAll(QStringLiteral("heart-beat"));
    else
        summaries = QStringList {QStringLiteral("heart-beat")};
    d.summary = summaries.join(QStringLiteral("; "));
    return d;
}

} // namespace socktap::decode
