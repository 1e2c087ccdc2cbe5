#include "PerMessageDeflate.h"

#include <QSet>

namespace socktap::ws::PerMessageDeflate {

namespace {

std::nullopt_t failWith(QString *error, const QString &message)
{
    if (error)
        *error = message;
    return std::nullopt;
}

// 7.1.2.1, 7.1.2.2: a window bits value is an integer 8-15 without leading zeros.
std::optional<int> windowBits(const std::optional<QByteArray> &value)
{
    if (!value || value->isEmpty() || value->size() > 2 || value->startsWith('0'))
        return std::nullopt;
    bool ok = false;
    const int bits = value->toInt(&ok);
    if (!ok || bits < 8 || bits > 15)
        return std::nullopt;
    return bits;
}

QString paramText(const ExtensionParam &p)
{
    return p.value ? QStringLiteral("%1=%2").arg(QString::fromLatin1(p.name), QString::fromLatin1(*p.value))
                   : QString::fromLatin1(p.name);
}

struct RawParams
{
    bool serverNoContextTakeover = false;
    bool clientNoContextTakeover = false;
    std::optional<int> serverMaxWindowBits;
    bool clientMaxWindowBits = false;
    std::optional<int> clientMaxWindowBitsValue;
};

// Shared syntax of offers and responses (7.1): known names, no duplicates, valid values.
std::optional<RawParams> parseParams(const Extension &ext, bool isOffer, QString *error)
{
    RawParams out;
    QSet<QByteArray> seen;
    for (const ExtensionParam &p : ext.params) {
        const QByteArray name = p.name.toLower();
        if (seen.contains(name))
            return failWith(error,
                            QStringLiteral("duplicate permessage-deflate parameter %1 (RFC 7692 7)")
                                .arg(QString::fromLatin1(name)));
        seen.insert(name);
        if (name == "server_no_context_takeover" || name == "client_no_context_takeover") {
            if (p.value) // 7.1.1.1, 7.1.1.2: no value
                return failWith(error,
                                QStringLiteral("%1 takes no value (RFC 7692 7.1.1)").arg(paramText(p)));
            (name.startsWith("server") ? out.serverNoContextTakeover : out.clientNoContextTakeover) = true;
        } else if (name == "server_max_window_bits") {
            out.serverMaxWindowBits = windowBits(p.value); // 7.1.2.1: a value is required
            if (!out.serverMaxWindowBits)
                return failWith(
                    error,
                    QStringLiteral("invalid %1: needs a value 8-15 (RFC 7692 7.1.2.1)").arg(paramText(p)));
        } else if (name == "client_max_window_bits") {
            out.clientMaxWindowBits = true;
            if (p.value) {
                out.clientMaxWindowBitsValue = windowBits(p.value);
                if (!out.clientMaxWindowBitsValue)
                    return failWith(error,
                                    QStringLiteral("invalid %1: value must be 8-15 (RFC 7692 7.1.2.2)")
                                        .arg(paramText(p)));
            } else if (!isOffer) {
                // 7.1.2.2: only an offer may carry the parameter without a value.
                return failWith(
                    error,
                    QStringLiteral(
                        "client_max_window_bits without a value in a response (RFC 7692 7.1.2.2)"));
            }
        } else {
            return failWith(
                error,
                QStringLiteral("unknown permessage-deflate parameter %1 (RFC 7692 7)").arg(paramText(p)));
        }
    }
    return out;
}

// Why response cannot answer offer, or an empty string when it can.
QString mismatch(const DeflateOffer &offer, const RawParams &response)
{
    // 7.1.1.1: an offered server_no_context_takeover must be in an accepting response.
    if (offer.serverNoContextTakeover && !response.serverNoContextTakeover)
        return QStringLiteral("the offer asked for server_no_context_takeover and the response lacks it");
    // 7.1.2.1: if offered, the response must carry server_max_window_bits no larger than offered.
    if (offer.serverMaxWindowBits) {
        if (!response.serverMaxWindowBits)
            return QStringLiteral("the offer limited server_max_window_bits and the response lacks it");
        if (*response.serverMaxWindowBits > *offer.serverMaxWindowBits)
            return QStringLiteral("server_max_window_bits=%1 exceeds the offered %2")
                .arg(*response.serverMaxWindowBits)
                .arg(*offer.serverMaxWindowBits);
    }
    // 7.1.2.2: the response may set client_max_window_bits only if the offer had the parameter.
    if (response.clientMaxWindowBits && !offer.clientMaxWindowBits)
        return QStringLiteral("client_max_window_bits in the response but not in the offer");
    if (response.clientMaxWindowBitsValue && offer.clientMaxWindowBitsValue
        && *response.clientMaxWindowBitsValue > *offer.clientMaxWindowBitsValue)
        return QStringLiteral("client_max_window_bits=%1 exceeds the offered %2")
            .arg(*response.clientMaxWindowBitsValue)
            .arg(*offer.clientMaxWindowBitsValue);
    return {};
}

} // namespace

bool isDeflate(const Extension &extension)
{
    return extension.name.compare(PerMessageDeflateName, Qt::CaseInsensitive) == 0;
}

std::optional<DeflateOffer> parseOffer(const Extension &offer, QString *error)
{
    const auto raw = parseParams(offer, true, error);
    if (!raw)
        return std::nullopt;
    return DeflateOffer {raw->serverNoContextTakeover, raw->clientNoContextTakeover, raw->serverMaxWindowBits,
                         raw->clientMaxWindowBits, raw->clientMaxWindowBitsValue};
}

std::optional<DeflateParams> acceptResponse(const QList<DeflateOffer> &offers, const Extension &response,
                                            QString *error)
{
    const auto raw = parseParams(response, false, error);
    if (!raw)
        return std::nullopt;
    if (offers.isEmpty())
        return failWith(error,
                        QStringLiteral("permessage-deflate in the response was not offered (RFC 6455 4.1)"));
    QString firstMismatch;
    for (const DeflateOffer &offer : offers) {
        const QString why = mismatch(offer, *raw);
        if (why.isEmpty()) {
            DeflateParams params;
            params.serverNoContextTakeover = raw->serverNoContextTakeover;
            params.clientNoContextTakeover = raw->clientNoContextTakeover;
            params.serverMaxWindowBits = raw->serverMaxWindowBits.value_or(15);
            // 7.1.2.2: absent in the response, the client may use up to what it offered (or 15).
            params.clientMaxWindowBits =
                raw->clientMaxWindowBitsValue.value_or(offer.clientMaxWindowBitsValue.value_or(15));
            return params;
        }
        if (firstMismatch.isEmpty())
            firstMismatch = why;
    }
    return failWith(
        error,
        QStringLiteral("permessage-deflate response matches no offer: %1 (RFC 7692 7.1)").arg(firstMismatch));
}

Extension toExtension(const DeflateOffer &offer)
{
    Extension e {PerMessageDeflateName, {}};
    if (offer.serverNoContextTakeover)
        e.params.append({"server_no_context_takeover", std::nullopt});
    if (offer.clientNoContextTakeover)
        e.params.append({"client_no_context_takeover", std::nullopt});
    if (offer.serverMaxWindowBits)
        e.params.append({"server_max_window_bits", QByteArray::number(*offer.serverMaxWindowBits)});
    if (offer.clientMaxWindowBits)
        e.params.append({"client_max_window_bits",
                         offer.clientMaxWindowBitsValue
                             ? std::optional(QByteArray::number(*offer.clientMaxWindowBitsValue))
                             : std::nullopt});
    return e;
}

Extension toExtension(const DeflateParams &params)
{
    Extension e {PerMessageDeflateName, {}};
    if (params.serverNoContextTakeover)
        e.params.append({"server_no_context_takeover", std::nullopt});
    if (params.clientNoContextTakeover)
        e.params.append({"client_no_context_takeover", std::nullopt});
    if (params.serverMaxWindowBits != 15)
        e.params.append({"server_max_window_bits", QByteArray::number(params.serverMaxWindowBits)});
    if (params.clientMaxWindowBits != 15)
        e.params.append({"client_max_window_bits", QByteArray::number(params.clientMaxWindowBits)});
    return e;
}

} // namespace socktap::ws::PerMessageDeflate
