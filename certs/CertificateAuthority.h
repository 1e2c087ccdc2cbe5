// Socktap's local root CA: created on first start in the user's config directory (key private to the
// user, mode 0600, checked at load), and per-host leaf certificates issued on demand from it (SAN for DNS
// names and IP addresses, serverAuth, at most 397 days, backdated an hour), cached so a host costs
// microseconds after the first. OpenSSL through RAII; every failure reported with OpenSSL's own words.
#pragma once

#include "Ossl.h"

#include <QByteArray>
#include <QHash>
#include <QMutex>
#include <QString>

#include <memory>

namespace socktap::certs {

class CertificateAuthority
{
public:
    struct Leaf
    {
        X509Ptr certificate;
        EVP_PKEY *key = nullptr; // the CA's shared leaf key; lives as long as the CA
    };

    // A new CA in memory (not saved).
    static std::unique_ptr<CertificateAuthority> create(QString *error = nullptr);
    // Loads the CA in dir, or creates and saves one if dir holds none. Refuses a key others can read.
    static std::unique_ptr<CertificateAuthority> loadOrCreate(const QString &dir, QString *error = nullptr,
                                                              bool *created = nullptr);
    static std::unique_ptr<CertificateAuthority> load(const QString &dir, QString *error = nullptr);
    // Moves the current files aside (*.bak-<time>) and creates a new CA in dir.
    static std::unique_ptr<CertificateAuthority> regenerate(const QString &dir, QString *error = nullptr,
                                                            QString *backup = nullptr);

    static QString defaultDirectory(); // QStandardPaths::AppConfigLocation
    static QString certificateFile(const QString &dir);
    static QString keyFile(const QString &dir);

    bool save(const QString &dir, QString *error = nullptr) const;
    QByteArray certificatePem() const;
    QByteArray certificateDer() const;
    QString commonName() const;
    QString fingerprintSha256() const; // "AB:CD:..."
    X509 *certificate() const { return m_cert.get(); }

    // A certificate for host (DNS name or IP literal), issued once and cached. Thread-safe.
    std::shared_ptr<const Leaf> leafFor(const QString &host, QString *error = nullptr);
    // One certificate for several names (DNS names, wildcards, IP literals; the first is the subject's CN):
    // for a client that sent no SNI, the names of the server's own certificate. Cached the same way.
    std::shared_ptr<const Leaf> leafFor(const QStringList &names, QString *error = nullptr);
    // The shared leaf key, for a TLS server that presents leaves (tests, the demo). Never the CA's key.
    QByteArray leafKeyPem() const;
    static QByteArray certificatePem(X509 *certificate);
    // Whether `ca` signed `leaf` (its signature checks out with ca's public key; DER certificates).
    static bool signs(const QByteArray &caDer, const QByteArray &leafDer);
    int cachedLeaves() const;

private:
    CertificateAuthority() = default;
    std::shared_ptr<const Leaf> issue(const QStringList &names, QString *error);

    X509Ptr m_cert;
    PkeyPtr m_key;
    PkeyPtr m_leafKey;
    mutable QMutex m_mutex;
    QHash<QString, std::shared_ptr<const Leaf>> m_cache;
};

} // namespace socktap::certs
