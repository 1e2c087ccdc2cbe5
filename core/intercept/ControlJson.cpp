#include "ControlJson.h"

#include <QJsonValue>

#include <array>

namespace socktap::intercept {

namespace {

constexpr std::array KindNames {"release", "drop", "release-all", "pause", "send", "close", "reset", "stall"};

QString base64(const QByteArray &bytes)
{
    return QString::fromLatin1(bytes.toBase64());
}

// Reads fields, remembering the first problem with its name.
struct Fields
{
    const QJsonObject &o;
    QString error;

    bool fail(const char *name, const char *what)
    {
        if (error.isEmpty())
            error = QStringLiteral("field '%1': %2").arg(QLatin1String(name), QLatin1String(what));
        return false;
    }
    qint64 integer(const char *name, qint64 min, qint64 max, qint64 otherwise)
    {
        const QJsonValue v = o.value(QLatin1String(name));
        if (v.isUndefined())
            return otherwise;
        const double d = v.toDouble(-1e300);
        if (!v.isDouble() || d != double(qint64(d)) || d < double(min) || d > double(max)) {
            fail(name, "expected a whole number in range");
            return otherwise;
        }
        return qint64(d);
    }
    bool flag(const char *name, bool otherwise)
    {
        const QJsonValue v = o.value(QLatin1String(name));
        if (v.isUndefined())
            return otherwise;
        if (!v.isBool())
            fail(name, "expected true or false");
        return v.toBool(otherwise);
    }
    QString string(const char *name)
    {
        const QJsonValue v = o.value(QLatin1String(name));
        if (!v.isUndefined() && !v.isString())
            fail(name, "expected a string");
        return v.toString();
    }
    QByteArray bytes(const char *name)
    {
        const auto decoded =
            QByteArray::fromBase64Encoding(string(name).toLatin1(), QByteArray::AbortOnBase64DecodingErrors);
        if (!decoded)
            fail(name, "expected base64");
        return *decoded;
    }
    capture::Direction direction(const char *name)
    {
        const QString v = string(name);
        if (v == QLatin1String("server"))
            return capture::Direction::ServerToClient;
        if (!v.isEmpty() && v != QLatin1String("client"))
            fail(name, "expected \"client\" or \"server\"");
        return capture::Direction::ClientToServer;
    }
};

} // namespace

QJsonObject commandJson(const SessionCommand &c)
{
    QJsonObject o {{"kind", QLatin1String(KindNames[size_t(c.kind)])},
                   {"from", QLatin1String(capture::directionName(c.from))},
                   {"id", qint64(c.id)},
                   {"on", c.on},
                   {"holdPingPong", c.holdPingPong},
                   {"flag", int(c.flag)},
                   {"closeCode", int(c.closeCode)},
                   {"closeReason", base64(c.closeReason)},
                   {"toClient", c.toClient},
                   {"toServer", c.toServer},
                   {"handshake", c.handshake},
                   {"by", c.by}};
    if (c.message)
        o["message"] = QJsonObject {{"opcode", int(c.message->opcode)},
                                    {"payload", base64(c.message->payload)},
                                    {"fragments", c.message->fragments}};
    return o;
}

std::optional<SessionCommand> commandFromJson(const QJsonObject &json, QString *error)
{
    Fields f {json, {}};
    SessionCommand c;
    const QString kind = f.string("kind");
    const auto known = std::find_if(KindNames.begin(), KindNames.end(),
                                    [&](const char *name) { return kind == QLatin1String(name); });
    if (known == KindNames.end())
        f.fail("kind", "not a command Socktap knows");
    else
        c.kind = SessionCommand::Kind(known - KindNames.begin());
    c.from = f.direction("from");
    c.id = quint64(f.integer("id", 0, qint64(1) << 53, 0));
    c.on = f.flag("on", false);
    c.holdPingPong = f.flag("holdPingPong", false);
    c.flag = quint16(f.integer("flag", 0, 0xffff, capture::MessageFlag::Injected));
    c.closeCode = quint16(f.integer("closeCode", 0, 0xffff, 1000));
    c.closeReason = f.bytes("closeReason");
    c.toClient = f.flag("toClient", true);
    c.toServer = f.flag("toServer", true);
    c.handshake = f.flag("handshake", true);
    c.by = f.string("by");
    if (const QJsonValue m = json.value(QLatin1String("message")); m.isObject()) {
        const QJsonObject mo = m.toObject();
        Fields mf {mo, {}};
        OutgoingMessage out;
        out.opcode = quint8(mf.integer("opcode", 0, 15, 1));
        out.payload = mf.bytes("payload");
        out.fragments = int(mf.integer("fragments", 1, 1 << 20, 1));
        if (!mf.error.isEmpty() && f.error.isEmpty())
            f.error = QStringLiteral("message: ") + mf.error;
        c.message = std::move(out);
    } else if (!m.isUndefined()) {
        f.fail("message", "expected an object");
    }
    if (!f.error.isEmpty()) {
        *error = f.error;
        return std::nullopt;
    }
    return c;
}

QJsonObject heldJson(const HeldMessage &h)
{
    return {{"session", qint64(h.session)},
            {"from", QLatin1String(capture::directionName(h.from))},
            {"id", qint64(h.id)},
            {"opcode", int(h.opcode)},
            {"payload", base64(h.payload)},
            {"truncated", h.truncated},
            {"compressed", h.compressed},
            {"wireSize", qint64(h.wireSize)},
            {"frameCount", qint64(h.frameCount)},
            {"heldSince", h.heldSince},
            {"note", h.note},
            {"url", QString::fromLatin1(h.url)}};
}

std::optional<HeldMessage> heldFromJson(const QJsonObject &json, QString *error)
{
    Fields f {json, {}};
    HeldMessage h;
    constexpr qint64 Max = qint64(1) << 53; // what a JSON number holds exactly
    h.session = quint64(f.integer("session", 1, Max, 0));
    h.from = f.direction("from");
    h.id = quint64(f.integer("id", 0, Max, 0));
    h.opcode = quint8(f.integer("opcode", 0, 15, 0));
    h.payload = f.bytes("payload");
    h.truncated = f.flag("truncated", false);
    h.compressed = f.flag("compressed", false);
    h.wireSize = quint64(f.integer("wireSize", 0, Max, 0));
    h.frameCount = quint64(f.integer("frameCount", 0, Max, 0));
    h.heldSince = f.integer("heldSince", -Max, Max, 0);
    h.note = f.string("note");
    h.url = f.string("url").toLatin1();
    if (!f.error.isEmpty()) {
        *error = f.error;
        return std::nullopt;
    }
    return h;
}

} // namespace socktap::intercept
