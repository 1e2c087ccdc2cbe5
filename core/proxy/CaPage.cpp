#include "CaPage.h"

#include "certs/CertificateAuthority.h"
#include "core/http/HeadWriter.h"
#include "core/http/RequestTarget.h"

#include <QCryptographicHash>
#include <QSslCertificate>

namespace socktap::proxy {

namespace {

QByteArray response(int status, const QByteArray &contentType, const QByteArray &body,
                    const http::Headers &extra = {})
{
    http::ResponseHead head;
    head.status = status;
    head.reason = http::reasonPhrase(status);
    head.headers.append("Content-Type", contentType);
    head.headers.append("Content-Length", QByteArray::number(body.size()));
    head.headers.append("Cache-Control", "no-store");
    head.headers.append("Connection", "close");
    for (const http::HeaderField &f : extra.fields())
        head.headers.append(f.name, f.value);
    return http::serialize(head) + body;
}

QByteArray fingerprint(const QSslCertificate &certificate)
{
    return certificate.digest(QCryptographicHash::Sha256).toHex(':').toUpper();
}

QByteArray page(const CaPageContext &c)
{
    QByteArray html = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Socktap</title>"
                      "<style>body{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.5}"
                      "code{background:#eee;padding:0 .2em}</style></head><body><h1>Socktap</h1>";
    html += "<p>You are using Socktap at <code>"
        + QString::fromLatin1(c.proxyAddress).toHtmlEscaped().toUtf8() + "</code> as your proxy.</p>";
    if (!c.ca) {
        html += "<p>wss:// interception is off in this Socktap: there is no CA to install.</p>";
    } else {
        const QSslCertificate certificate(c.ca->certificatePem());
        html += "<h2>Its root CA</h2><p>To see wss:// traffic, trust <b>"
            + c.ca->commonName().toHtmlEscaped().toUtf8()
            + "</b> in this browser or device:</p><ul>"
              "<li><a href=\"/ca.pem\">ca.pem</a> (PEM: Linux, Firefox, most tools)</li>"
              "<li><a href=\"/ca.crt\">ca.crt</a> (DER: Windows, macOS, Android, iOS)</li></ul>"
              "<p>SHA-256 fingerprint, to compare with what your system shows before trusting it:<br><code>"
            + fingerprint(certificate)
            + "</code></p>"
              "<h2>Installing it</h2><ul>"
              "<li><b>Firefox</b>: Settings, Privacy &amp; Security, Certificates, View Certificates, "
              "Authorities, "
              "Import ca.pem, tick \"Trust this CA to identify websites\".</li>"
              "<li><b>Chrome / Chromium on Linux</b>: <code>certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n "
              "\"Socktap Root CA\" "
              "-i ca.pem</code> (package libnss3-tools), or Settings, Privacy and security, Security, Manage "
              "certificates, Authorities, Import.</li>"
              "<li><b>Debian / Ubuntu system-wide</b>: copy ca.pem to <code>/usr/local/share/ca-certificates/"
              "socktap.crt</code> and run <code>sudo update-ca-certificates</code>.</li>"
              "<li><b>macOS</b>: open ca.crt in Keychain Access (login keychain), then set \"Always "
              "Trust\".</li>"
              "<li><b>Windows</b>: open ca.crt, Install Certificate, Current User, \"Trusted Root "
              "Certification "
              "Authorities\".</li>"
              "<li><b>Android / iOS</b>: download ca.crt, then install it as a CA certificate in Settings "
              "(iOS: also enable it under About, Certificate Trust Settings).</li></ul>"
              "<p>Trust it only on machines you debug with, and remove it when done: the full steps, and how "
              "to "
              "undo them, are in Socktap's docs/certificates.md.</p>";
    }
    html += "<h2>Proxy auto-configuration</h2><p>For clients that take a PAC URL: "
            "<a href=\"/proxy.pac\">http://socktap/proxy.pac</a>.</p></body></html>\n";
    return html;
}

} // namespace

bool isCaPageRequest(const http::RequestHead &request)
{
    const auto target = http::RequestTarget::parseAbsolute(request.target);
    return target && target->scheme == "http" && target->host.compare(CaPageHost, Qt::CaseInsensitive) == 0
        && target->port == 80;
}

QByteArray caPageResponse(const http::RequestHead &request, const CaPageContext &c)
{
    if (request.method != "GET" && request.method != "HEAD") {
        http::Headers allow;
        allow.append("Allow", "GET, HEAD");
        return response(405, "text/plain; charset=utf-8", "only GET and HEAD here\n", allow);
    }
    const auto target = http::RequestTarget::parseAbsolute(request.target);
    QByteArray path = target ? target->pathAndQuery : QByteArray("/");
    if (const qsizetype query = path.indexOf('?'); query >= 0)
        path.truncate(query);
    QByteArray out;
    if (path == "/" || path == "/index.html") {
        out = response(200, "text/html; charset=utf-8", page(c));
    } else if (path == "/proxy.pac") {
        // Everything through Socktap, loopback included (Chromium bypasses loopback unless told otherwise).
        out = response(200, "application/x-ns-proxy-autoconfig",
                       "function FindProxyForURL(url, host) {\n    return \"PROXY " + c.proxyAddress
                           + "\";\n}\n");
    } else if (c.ca && (path == "/ca.pem" || path == "/ca.crt" || path == "/ca.cer")) {
        const QByteArray pem = c.ca->certificatePem();
        http::Headers disposition;
        const bool der = path != "/ca.pem";
        disposition.append("Content-Disposition",
                           "attachment; filename=\"socktap-ca." + QByteArray(der ? "crt" : "pem") + '"');
        out = der ? response(200, "application/x-x509-ca-cert", QSslCertificate(pem).toDer(), disposition)
                  : response(200, "application/x-pem-file", pem, disposition);
    } else {
        out = response(404, "text/plain; charset=utf-8",
                       "Socktap has /, /ca.pem, /ca.crt and /proxy.pac here\n");
    }
    if (request.method == "HEAD")
        out.truncate(out.indexOf("\r\n\r\n") + 4);
    return out;
}

} // namespace socktap::proxy
