#include "Ossl.h"

#include <QHostAddress>
#include <QRegularExpression>
#include <QStringList>
#include <QtEndian>

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

bool isCertificateName(const QString &name)
{
    // anchoredPattern: '$' alone would also match before a trailing newline.
    static const QRegularExpression dnsName(QRegularExpression::anchoredPattern(
        QStringLiteral("(\\*\\.)?[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*\\.?")));
    if (name.isEmpty() || name.size() > 253)
        return false;
    static const QRegularExpression ipCharacters(
        QRegularExpression::anchoredPattern(QStringLiteral("[0-9A-Fa-f:.]+")));
    return dnsName.match(name).hasMatch()
        || (ipCharacters.match(name).hasMatch() && !QHostAddress(name).isNull());
}

QStringList subjectNames(X509 *cert)
{
    constexpr qsizetype MaxNames = 100;
    QStringList names;
    const auto add = [&](const QString &name) {
        if (names.size() < MaxNames && !name.isEmpty() && !names.contains(name))
            names.append(name);
    };
    auto *sans = static_cast<GENERAL_NAMES *>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); ++i) {
        const GENERAL_NAME *n = sk_GENERAL_NAME_value(sans, i);
        if (n->type == GEN_DNS) {
            const QString dns =
                QString::fromLatin1(reinterpret_cast<const char *>(ASN1_STRING_get0_data(n->d.dNSName)),
                                    ASN1_STRING_length(n->d.dNSName));
            if (isCertificateName(dns))
                add(dns);
        } else if (n->type == GEN_IPADD) {
            const int length = ASN1_STRING_length(n->d.iPAddress);
            const uchar *bytes = ASN1_STRING_get0_data(n->d.iPAddress);
            if (length == 4)
                add(QHostAddress(qFromBigEndian<quint32>(bytes)).toString());
            else if (length == 16)
                add(QHostAddress(bytes).toString());
        }
    }
    GENERAL_NAMES_free(sans);
    if (names.isEmpty()) {
        // RFC 6125 6.4.4: the CN only when there is no subjectAltName.
        char cn[256] = {};
        if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0
            && isCertificateName(QString::fromLatin1(cn)))
            add(QString::fromLatin1(cn));
    }
    return names;
}

} // namespace socktap::certs
