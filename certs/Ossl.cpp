#include "Ossl.h"

#include <QStringList>

#include <openssl/err.h>

#include <ctime>

namespace socktap::certs {

QString opensslError(const QString &doing)
{
    QStringList parts;
    char buffer[256];
    while (const unsigned long code = ERR_get_error()) {
        ERR_error_string_n(code, buffer, sizeof buffer);
        parts.append(QString::fromLatin1(buffer));
    }
    if (parts.isEmpty())
        return doing;
    return QStringLiteral("%1: %2").arg(doing, parts.join(QStringLiteral("; ")));
}

X509Ptr share(X509 *x)
{
    if (x)
        X509_up_ref(x);
    return X509Ptr(x);
}

QString nameText(const X509_NAME *name)
{
    BioPtr bio(BIO_new(BIO_s_mem()));
    X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
    char *data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return QString::fromUtf8(data, int(n));
}

QString toIso(const ASN1_TIME *time)
{
    tm t {};
    if (!time || ASN1_TIME_to_tm(time, &t) != 1)
        return {};
    char out[32];
    std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &t);
    return QString::fromLatin1(out);
}

QString validityText(const X509 *cert)
{
    return QStringLiteral("%1 - %2").arg(toIso(X509_get0_notBefore(cert)), toIso(X509_get0_notAfter(cert)));
}

} // namespace socktap::certs
