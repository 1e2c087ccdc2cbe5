// permessage-deflate negotiation (RFC 7692 7.1): the client's offers, the server's response, and the
// parameters both sides then use. Parameters only; compression itself is Inflater and Deflater.
#pragma once

#include "ExtensionHeader.h"

namespace socktap::ws {

inline constexpr char PerMessageDeflateName[] = "permessage-deflate";

struct DeflateOffer
{
    bool serverNoContextTakeover = false;
    bool clientNoContextTakeover = false;
    std::optional<int> serverMaxWindowBits;
    bool clientMaxWindowBits = false; // the parameter is present (7.1.2.2: the value is optional)
    std::optional<int> clientMaxWindowBitsValue;
};

// What was agreed: each side compresses with its own window and context rule.
struct DeflateParams
{
    bool serverNoContextTakeover = false;
    bool clientNoContextTakeover = false;
    int serverMaxWindowBits = 15;
    int clientMaxWindowBits = 15;

    // The parameters for the messages one peer sends.
    int windowBits(bool fromClient) const { return fromClient ? clientMaxWindowBits : serverMaxWindowBits; }
    bool noContextTakeover(bool fromClient) const
    {
        return fromClient ? clientNoContextTakeover : serverNoContextTakeover;
    }
    friend bool operator==(const DeflateParams &, const DeflateParams &) = default;
};

namespace PerMessageDeflate {

bool isDeflate(const Extension &extension);
// 7.1: one offer from a client's extension entry; invalid or duplicate parameters are an error.
std::optional<DeflateOffer> parseOffer(const Extension &offer, QString *error = nullptr);
// 7.1: checks a server's response against the client's offers; returns what was agreed.
std::optional<DeflateParams> acceptResponse(const QList<DeflateOffer> &offers, const Extension &response,
                                            QString *error = nullptr);
Extension toExtension(const DeflateOffer &offer);
Extension toExtension(const DeflateParams &params);

} // namespace PerMessageDeflate

} // namespace socktap::ws
