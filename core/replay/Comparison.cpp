#include "Comparison.h"

#include "core/decode/JsonFormats.h"
#include "core/decode/JsonValue.h"
#include "core/decode/SessionDecoder.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QSet>

namespace socktap::replay {

namespace {

constexpr int MaxDifferences = 20; // per message: enough to see what changed, not a flood
constexpr qsizetype Context = 24; // characters shown on each side of a text difference

QString opcodeWord(quint8 opcode)
{
    return opcode == 1 ? QStringLiteral("text")
        : opcode == 2  ? QStringLiteral("binary")
                       : QStringLiteral("op %1").arg(opcode);
}

QString jsonScalar(const QJsonValue &v)
{
    QString s = QString::fromUtf8(decode::compactJson(v));
    if (s.size() > 80)
        s = s.left(77) + QStringLiteral("...");
    return s;
}

void diffJson(const QJsonValue &a, const QJsonValue &b, const QString &path, const QSet<QString> &ignore,
              QStringList &out)
{
    if (out.size() >= MaxDifferences)
        return;
    if (a.isObject() && b.isObject()) {
        const QJsonObject x = a.toObject(), y = b.toObject();
        QStringList keys = x.keys();
        for (const QString &k : y.keys())
            if (!x.contains(k))
                keys.append(k);
        for (const QString &k : keys) {
            if (ignore.contains(k))
                continue;
            const QString at = path + QLatin1Char('.') + k;
            if (!x.contains(k))
                out.append(QStringLiteral("%1: only in the replay (%2)").arg(at, jsonScalar(y.value(k))));
            else if (!y.contains(k))
                out.append(
                    QStringLiteral("%1: missing from the replay (was %2)").arg(at, jsonScalar(x.value(k))));
            else
                diffJson(x.value(k), y.value(k), at, ignore, out);
        }
        return;
    }
    if (a.isArray() && b.isArray()) {
        const QJsonArray x = a.toArray(), y = b.toArray();
        for (qsizetype i = 0; i < std::min(x.size(), y.size()); ++i)
            diffJson(x.at(i), y.at(i), QStringLiteral("%1[%2]").arg(path).arg(i), ignore, out);
        if (x.size() != y.size())
            out.append(QStringLiteral("%1: %2 elements -> %3").arg(path).arg(x.size()).arg(y.size()));
        return;
    }
    if (a != b)
        out.append(QStringLiteral("%1: %2 -> %3").arg(path, jsonScalar(a), jsonScalar(b)));
}

QString excerpt(const QByteArray &text, qsizetype at)
{
    const qsizetype from = std::max<qsizetype>(0, at - Context);
    QString s = QString::fromUtf8(text.mid(from, 2 * Context));
    // Escaped as in JSON, so that a quote in the text does not look like the end of the excerpt.
    s.replace(QLatin1Char('\\'), QStringLiteral("\\\\")).replace(QLatin1Char('"'), QStringLiteral("\\\""));
    s.replace(QLatin1Char('\n'), QStringLiteral("\\n"));
    return (from > 0 ? QStringLiteral("...") : QString()) + QLatin1Char('"') + s + QLatin1Char('"');
}

QString closeText(const CloseSide &c)
{
    if (!c.sent)
        return QStringLiteral("none");
    if (!c.code)
        return QStringLiteral("no code");
    return c.reason.isEmpty() ? QString::number(*c.code)
                              : QStringLiteral("%1 \"%2\"").arg(*c.code).arg(QString::fromUtf8(c.reason));
}

const char *verdictName(MessagePair::Verdict v)
{
    switch (v) {
    case MessagePair::Verdict::Equal:
        return "equal";
    case MessagePair::Verdict::Different:
        return "different";
    case MessagePair::Verdict::Missing:
        return "missing";
    case MessagePair::Verdict::Extra:
        return "extra";
    }
    return "?";
}

QString sizeText(const std::optional<ComparedMessage> &m)
{
    return m ? QStringLiteral("%1 %2 B").arg(opcodeWord(m->opcode)).arg(m->payloadSize) : QStringLiteral("-");
}

} // namespace

QStringList payloadDifferences(quint8 opcode, const QByteArray &a, const QByteArray &b,
                               const CompareOptions &options)
{
    if (a == b && options.ignoreJsonKeys.isEmpty())
        return {};
    if (opcode == 1) {
        const auto x = decode::parseJson(a), y = decode::parseJson(b);
        if (x && y) {
            QStringList out;
            const QStringList keys = options.ignoreJsonKeys;
            diffJson(*x, *y, QStringLiteral("$"), QSet<QString>(keys.begin(), keys.end()), out);
            return out;
        }
    }
    if (a == b)
        return {};
    qsizetype at = 0;
    while (at < a.size() && at < b.size() && a[at] == b[at])
        ++at;
    if (opcode == 1)
        return {
            QStringLiteral("text differs at byte %1: %2 -> %3").arg(at).arg(excerpt(a, at), excerpt(b, at))};
    return {
        QStringLiteral("bytes differ from offset %1 (%2 -> %3 bytes)").arg(at).arg(a.size()).arg(b.size())};
}

MessagePair comparePair(const ComparedMessage &a, const ComparedMessage &b, const CompareOptions &options)
{
    MessagePair p;
    p.original = a;
    p.replay = b;
    if (a.opcode != b.opcode)
        p.differences.append(QStringLiteral("%1 -> %2").arg(opcodeWord(a.opcode), opcodeWord(b.opcode)));
    if (a.payloadEvicted || b.payloadEvicted) {
        p.note = QStringLiteral("payload not compared: the capture no longer holds it");
        p.uncompared = true;
        if (a.payloadSize != b.payloadSize)
            p.differences.append(QStringLiteral("size %1 -> %2 bytes").arg(a.payloadSize).arg(b.payloadSize));
    } else if (a.payloadSize != quint64(a.payload.size()) || b.payloadSize != quint64(b.payload.size())) {
        // One was truncated by the capture: what was kept of both, and the whole sizes.
        const qsizetype kept = std::min(a.payload.size(), b.payload.size());
        p.note = QStringLiteral("compared the first %1 bytes (the rest was not kept)").arg(kept);
        p.uncompared = kept == 0 && std::max(a.payloadSize, b.payloadSize) > 0;
        if (a.payloadSize != b.payloadSize)
            p.differences.append(QStringLiteral("size %1 -> %2 bytes").arg(a.payloadSize).arg(b.payloadSize));
        if (a.payload.first(kept) != b.payload.first(kept))
            p.differences += payloadDifferences(2, a.payload.first(kept), b.payload.first(kept), options);
    } else if (!a.decodedJson.isEmpty() && !b.decodedJson.isEmpty()) {
        p.differences += payloadDifferences(quint8(1), a.decodedJson, b.decodedJson, options);
    } else if (a.opcode == b.opcode) {
        p.differences += payloadDifferences(a.opcode, a.payload, b.payload, options);
    }
    p.verdict = p.differences.isEmpty() ? MessagePair::Verdict::Equal : MessagePair::Verdict::Different;
    return p;
}

void DirectionComparison::add(MessagePair p, bool keep)
{
    uncompared += p.uncompared;
    switch (p.verdict) {
    case MessagePair::Verdict::Equal:
        ++equal;
        break;
    case MessagePair::Verdict::Different:
        ++different;
        break;
    case MessagePair::Verdict::Missing:
        ++missing;
        break;
    case MessagePair::Verdict::Extra:
        ++extra;
        break;
    }
    if (keep)
        pairs.push_back(std::move(p));
}

DirectionComparison compareInOrder(const std::vector<ComparedMessage> &original,
                                   const std::vector<ComparedMessage> &replay, const CompareOptions &options)
{
    DirectionComparison d;
    const size_t n = std::max(original.size(), replay.size());
    for (size_t i = 0; i < n; ++i) {
        MessagePair p;
        if (i < original.size() && i < replay.size()) {
            p = comparePair(original[i], replay[i], options);
        } else if (i < original.size()) {
            p.verdict = MessagePair::Verdict::Missing;
            p.original = original[i];
        } else {
            p.verdict = MessagePair::Verdict::Extra;
            p.replay = replay[i];
        }
        p.originalIndex = i < original.size() ? int(i) : -1;
        p.replayIndex = i < replay.size() ? int(i) : -1;
        d.add(std::move(p));
    }
    return d;
}

bool Comparison::closeMatched() const
{
    const CloseSide &a = originalClose[1], &b = replayClose[1];
    if (a.initiated || b.initiated)
        return a.initiated == b.initiated && a.code == b.code;
    if (originalClose[0].initiated)
        return a.sent == b.sent && a.code == b.code;
    return true; // the original ended without a closing handshake: the replay's own close is not compared
}

QString Comparison::verdict() const
{
    const int total = int(server.pairs.size()) - server.extra;
    const int chatter = server.chatterIgnored + client.chatterIgnored;
    const QString ignored = chatter ? QStringLiteral(" (%1 heartbeats ignored)").arg(chatter) : QString();
    if (serverMatched())
        return (total == 1 ? QStringLiteral("EQUAL: the server's one message matched")
                           : QStringLiteral("EQUAL: all %1 server messages matched").arg(total))
            + QStringLiteral("; the server's close %1 matched").arg(closeText(originalClose[1])) + ignored;
    QStringList parts;
    if (server.uncompared)
        parts.append(
            QStringLiteral("%1 of %2 server messages could not be compared (payloads not in the capture)")
                .arg(server.uncompared)
                .arg(total));
    if (server.different)
        parts.append(QStringLiteral("%1 of %2 server messages differ").arg(server.different).arg(total));
    if (server.missing)
        parts.append(QStringLiteral("%1 missing").arg(server.missing));
    if (server.extra)
        parts.append(QStringLiteral("%1 extra").arg(server.extra));
    if (!closeMatched()) {
        const CloseSide &a = originalClose[1], &b = replayClose[1];
        // The same code both ways, yet a difference: who closed first. Named, never left to guess.
        const auto who = [&](const CloseSide &c) {
            return a.initiated == b.initiated || !c.sent ? QString()
                : c.initiated                            ? QStringLiteral(" (the server closed first)")
                              : QStringLiteral(" (an answer to the client's Close)");
        };
        parts.append(QStringLiteral("the server's close %1%2 -> %3%4")
                         .arg(closeText(a), who(a), closeText(b), who(b)));
    }
    return QStringLiteral("DIFFERENT: ") + parts.join(QStringLiteral(", ")) + ignored;
}

// One side's messages decoded in its session's format: chatter left out (counted per direction), the rest
// with its decoded value to compare.
void decodeSide(const std::vector<ComparedMessage> in[2], std::vector<ComparedMessage> out[2], int ignored[2],
                const decode::SessionHints &hints)
{
    decode::SessionDecoder decoder(decode::FormatRegistry::current(), hints);
    quint64 index = 0;
    for (int dir = 0; dir < 2; ++dir) {
        for (const ComparedMessage &m : in[dir]) {
            ComparedMessage copy = m;
            if (!m.payloadEvicted && quint64(m.payload.size()) == m.payloadSize) {
                const decode::Decoded d = decoder.decode(index++, {m.payload, m.opcode == 2, dir == 1});
                if (d.chatter) {
                    ++ignored[dir];
                    continue;
                }
                if (d.decoded() && d.format != QLatin1String("json"))
                    copy.decodedJson = d.value.isObject()
                        ? QJsonDocument(d.value.toObject()).toJson(QJsonDocument::Compact)
                        : QJsonDocument(QJsonArray {d.value})
                              .toJson(QJsonDocument::Compact)
                              .mid(1)
                              .chopped(1);
            }
            out[dir].push_back(std::move(copy));
        }
    }
}

Comparison compare(const std::vector<ComparedMessage> originalMessages[2],
                   const std::vector<ComparedMessage> replayMessages[2], const CloseSide originalClose[2],
                   const CloseSide replayClose[2], const CompareOptions &options)
{
    Comparison c;
    if (options.decodeAs) {
        std::vector<ComparedMessage> original[2];
        std::vector<ComparedMessage> replay[2];
        int ignored[2] = {0, 0};
        decodeSide(originalMessages, original, ignored, *options.decodeAs);
        decodeSide(replayMessages, replay, ignored, *options.decodeAs);
        CompareOptions plain = options;
        plain.decodeAs.reset();
        c = compare(original, replay, originalClose, replayClose, plain);
        c.client.chatterIgnored = ignored[0];
        c.server.chatterIgnored = ignored[1];
        return c;
    }
    c.client = compareInOrder(originalMessages[0], replayMessages[0], options);
    c.server = compareInOrder(originalMessages[1], replayMessages[1], options);
    for (int i = 0; i < 2; ++i) {
        c.originalClose[i] = originalClose[i];
        c.replayClose[i] = replayClose[i];
    }
    return c;
}

QString directionText(const QString &title, const DirectionComparison &d)
{
    QString out = QStringLiteral("%1: %2 equal, %3 different, %4 missing, %5 extra\n")
                      .arg(title)
                      .arg(d.equal)
                      .arg(d.different)
                      .arg(d.missing)
                      .arg(d.extra);
    for (const MessagePair &p : d.pairs) {
        if (p.verdict == MessagePair::Verdict::Equal && p.note.isEmpty())
            continue;
        out += QStringLiteral("  #%1 %2 %3 -> %4%5\n")
                   .arg(std::max(p.originalIndex, p.replayIndex) + 1)
                   .arg(QLatin1String(verdictName(p.verdict)), -9)
                   .arg(sizeText(p.original), sizeText(p.replay))
                   .arg(p.note.isEmpty() ? QString() : QStringLiteral(" (%1)").arg(p.note));
        for (const QString &diff : p.differences)
            out += QStringLiteral("      %1\n").arg(diff);
    }
    return out;
}

QString comparisonText(const Comparison &c)
{
    QString out;
    out += directionText(QStringLiteral("server -> client"), c.server);
    out += directionText(QStringLiteral("client -> server"), c.client);
    out += QStringLiteral("close: server %1 -> %2, client %3 -> %4\n")
               .arg(closeText(c.originalClose[1]), closeText(c.replayClose[1]), closeText(c.originalClose[0]),
                    closeText(c.replayClose[0]));
    out += QStringLiteral("verdict: %1\n").arg(c.verdict());
    return out;
}

QJsonObject directionJson(const DirectionComparison &d)
{
    const auto message = [](const std::optional<ComparedMessage> &m) -> QJsonValue {
        if (!m)
            return QJsonValue::Null;
        QJsonObject o {{"opcode", m->opcode}, {"size", qint64(m->payloadSize)}};
        if (m->opcode == 1 && quint64(m->payload.size()) == m->payloadSize)
            o["text"] = QString::fromUtf8(m->payload);
        return o;
    };
    QJsonArray pairs;
    for (const MessagePair &p : d.pairs) {
        QJsonObject o {{"verdict", verdictName(p.verdict)},
                       {"original", message(p.original)},
                       {"replay", message(p.replay)}};
        if (!p.differences.isEmpty())
            o["differences"] = QJsonArray::fromStringList(p.differences);
        if (!p.note.isEmpty())
            o["note"] = p.note;
        pairs.append(o);
    }
    return QJsonObject {{"equal", d.equal}, {"different", d.different},   {"missing", d.missing},
                        {"extra", d.extra}, {"uncompared", d.uncompared}, {"matched", d.matched()},
                        {"pairs", pairs}};
}

QJsonObject comparisonJson(const Comparison &c)
{
    const auto close = [](const CloseSide &s) -> QJsonValue {
        if (!s.sent)
            return QJsonValue::Null;
        QJsonObject o;
        if (s.code)
            o["code"] = *s.code;
        o["reason"] = QString::fromUtf8(s.reason);
        o["initiated"] = s.initiated; // this side closed first
        return o;
    };
    return QJsonObject {
        {"server", directionJson(c.server)},
        {"client", directionJson(c.client)},
        {"close",
         QJsonObject {
             {"server",
              QJsonObject {{"original", close(c.originalClose[1])}, {"replay", close(c.replayClose[1])}}},
             {"client",
              QJsonObject {{"original", close(c.originalClose[0])}, {"replay", close(c.replayClose[0])}}},
             {"matched", c.closeMatched()}}},
        {"matched", c.serverMatched()},
        {"verdict", c.verdict()}};
}

} // namespace socktap::replay
