// Small RAII for OpenSSL objects (unique_ptr with the right free function) and the error queue as text.
// Certificates and TLS code use these instead of raw pointers, so no early return leaks.
#pragma once

#include <QString>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace socktap::certs {

template<auto Free>
struct OsslFree
{
    template<typename T>
    void operator()(T *p) const
    {
        Free(p);
    }
};

using X509Ptr = std::unique_ptr<X509, OsslFree<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OsslFree<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OsslFree<EVP_PKEY_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, OsslFree<BIO_free_all>>;
using X509ExtPtr = std::unique_ptr<X509_EXTENSION, OsslFree<X509_EXTENSION_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OsslFree<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OsslFree<X509_STORE_CTX_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OsslFree<BN_free>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, OsslFree<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, OsslFree<SSL_free>>;

// Drains OpenSSL's error queue into one line ("error:0A000086:SSL routines::certificate verify failed"),
// prefixed with what was being done.
QString opensslError(const QString &doing);

// A fresh reference to x (X509_up_ref), owned.
X509Ptr share(X509 *x);

// Subject or issuer as one line, RFC 2253 style ("CN=example.test,O=Example").
QString nameText(const X509_NAME *name);
// "notBefore - notAfter" in ISO 8601 UTC.
QString validityText(const X509 *cert);
// The names a certificate is for: its subjectAltName DNS names and IP addresses, or its CN when it has
// none. Only well-formed names (letters, digits, '-', '.', '_', a leading '*.'), at most 100.
QStringList subjectNames(X509 *cert);
// Whether name may go into a certificate Socktap issues: an IP address, or a DNS name of letters, digits,
// '-', '_' and dots with an optional leading '*.'. (What reaches OpenSSL's subjectAltName string must hold
// no ',' or ':' of its own: a client's SNI or a server's certificate could otherwise add entries.)
bool isCertificateName(const QString &name);
QString toIso(const ASN1_TIME *time);

} // namespace socktap::certs
