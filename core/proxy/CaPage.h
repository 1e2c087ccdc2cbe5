// Socktap's own pages at a host name that exists only through the proxy, as mitmproxy's mitm.it: a client
// set to use Socktap asks for http://socktap/ and gets the root CA (PEM and DER), its SHA-256 fingerprint,
// how to trust it per platform (docs/certificates.md, summarised) and a proxy.pac for clients that take a
// PAC URL. Sans-I/O: a request head in, a whole HTTP response out.
#pragma once

#include "core/http/HttpHead.h"

#include <QByteArray>

#include <optional>

namespace socktap::certs {
class CertificateAuthority;
}

namespace socktap::proxy {

inline constexpr char CaPageHost[] = "socktap";

struct CaPageContext
{
    const certs::CertificateAuthority *ca = nullptr; // none: wss:// interception is off
    QByteArray proxyAddress; // "127.0.0.1:8080", as the client reached Socktap (for proxy.pac)
};

// Whether an absolute-form request names Socktap's own host (http://socktap/...).
bool isCaPageRequest(const http::RequestHead &request);
// The response for such a request: 200 with the page or file, 404 for another path, 405 for other methods.
QByteArray caPageResponse(const http::RequestHead &request, const CaPageContext &context);

} // namespace socktap::proxy
