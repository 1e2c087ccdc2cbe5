#include "CertificateAuthority.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QHostAddress>
#include <QRandomGenerator>
#include <QStandardPaths>

#include <openssl/pem.h>
#include <openssl/rand.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace socktap::certs {

namespace {

constexpr long Hour = 3600;
constexpr long Day = 24 * Hour;
constexpr long CaValidity = 3650 * Day; // ten years
constexpr long LeafValidity = 396 * Day; // + the hour of backdating: within 397 days (CA/B Forum limit)
constexpr int LeafCacheLimit = 10000;

PkeyPtr newKey(QString *error)
{
    // P-256: small, fast to sign with, accepted by every browser.
    PkeyPtr key(EVP_EC_gen("P-256"));
    if (!key && error)
        *error = opensslError(QStringLiteral("generating a P-256 key"));
    return key;
}

bool randomSerial(X509 *cert)
{
    // 127 random bits: unique per certificate, positive (RFC 5280 4.1.2.2).
    BignumPtr bn(BN_new());
    if (!bn || BN_rand(bn.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1)
        return false;
    return BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr;
}

bool addExtension(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

bool addName(X509_NAME *name, const char *field, const QString &value)
{
    const QByteArray utf8 = value.toUtf8();
    return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char *>(utf8.constData()),
                                      int(utf8.size()), -1, 0)
        == 1;
}

QByteArray toPem(const std::function<int(BIO *)> &write)
{
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (write(bio.get()) != 1)
        return {};
    char *data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return QByteArray(data, qsizetype(n));
}

bool writePrivate(const QString &path, const QByteArray &bytes, QString *error)
{
    // Created 0600 from the start: the key is never readable by others, not even for a moment.
    const QByteArray native = QFile::encodeName(path);
    const int fd = ::open(native.constData(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ::fchmod(fd, 0600) != 0
        || ::write(fd, bytes.constData(), size_t(bytes.size())) != bytes.size()) {
        if (error)
            *error = QStringLiteral("cannot write %1: %2").arg(path, QString::fromLocal8Bit(strerror(errno)));
        if (fd >= 0)
            ::close(fd);
        return false;
    }
    ::close(fd);
    return true;
}

} // namespace

QString CertificateAuthority::defaultDirectory()
{
    return QStandardPaths::writableLocation(QStandardPaths::AppConfigLocation);
}

QString CertificateAuthority::certificateFile(const QString &dir)
{
    return QDir(dir).filePath(QStringLiteral("socktap-ca.pem"));
}

QString CertificateAuthority::keyFile(const QString &dir)
{
    return QDir(dir).filePath(QStringLiteral("socktap-ca-key.pem"));
}

std::unique_ptr<CertificateAuthority> CertificateAuthority::create(QString *error)
{
    std::unique_ptr<CertificateAuthority> ca(new CertificateAuthority);
    ca->m_key = newKey(error);
    ca->m_leafKey = newKey(error);
    if (!ca->m_key || !ca->m_leafKey)
        return nullptr;
    X509Ptr cert(X509_new());
    // The suffix tells one installation's CA from another's in a trust store.
    const QString suffix =
        QString::number(QRandomGenerator::system()->generate(), 16).rightJustified(8, QLatin1Char('0'));
    X509_NAME *name = X509_get_subject_name(cert.get());
    const bool ok = X509_set_version(cert.get(), 2) == 1 && randomSerial(cert.get())
        && X509_gmtime_adj(X509_getm_notBefore(cert.get()), -Hour)
        && X509_gmtime_adj(X509_getm_notAfter(cert.get()), CaValidity)
        && addName(name, "CN", QStringLiteral("Socktap Root CA %1").arg(suffix))
        && addName(name, "O", QStringLiteral("Socktap local debugging CA"))
        && X509_set_issuer_name(cert.get(), name) == 1
        && X509_set_pubkey(cert.get(), ca->m_key.get()) == 1
        // RFC 5280 4.2.1.9 and 4.2.1.3: a CA that signs leaves only.
        && addExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0")
        && addExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign")
        && addExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash")
        && X509_sign(cert.get(), ca->m_key.get(), EVP_sha256()) > 0;
    if (!ok) {
        if (error)
            *error = opensslError(QStringLiteral("creating the root CA certificate"));
        return nullptr;
    }
    ca->m_cert = std::move(cert);
    return ca;
}

bool CertificateAuthority::save(const QString &dir, QString *error) const
{
    if (!QDir().mkpath(dir)) {
        if (error)
            *error = QStringLiteral("cannot create directory %1").arg(dir);
        return false;
    }
    ::chmod(QFile::encodeName(dir).constData(), 0700);
    const QByteArray key = toPem([&](BIO *b) {
        return PEM_write_bio_PrivateKey(b, m_key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    });
    if (!writePrivate(keyFile(dir), key, error))
        return false;
    QFile cert(certificateFile(dir));
    if (!cert.open(QIODevice::WriteOnly | QIODevice::Truncate) || cert.write(certificatePem()) < 0) {
        if (error)
            *error = QStringLiteral("cannot write %1: %2").arg(cert.fileName(), cert.errorString());
        return false;
    }
    return true;
}

std::unique_ptr<CertificateAuthority> CertificateAuthority::load(const QString &dir, QString *error)
{
    const QString keyPath = keyFile(dir);
    struct stat st
    { };
    if (::stat(QFile::encodeName(keyPath).constData(), &st) != 0) {
        if (error)
            *error = QStringLiteral("cannot read the CA key %1: %2")
                         .arg(keyPath, QString::fromLocal8Bit(strerror(errno)));
        return nullptr;
    }
    if (st.st_mode & 077) {
        // A key others can read lets them forge certificates this browser trusts.
        if (error)
            *error = QStringLiteral(
                         "refusing the CA key %1: it is readable by others (mode %2). Run 'chmod 600 %1', or "
                         "'socktap ca regenerate' if someone else may have read it")
                         .arg(keyPath)
                         .arg(st.st_mode & 0777, 4, 8, QLatin1Char('0'));
        return nullptr;
    }
    QFile keyFileIn(keyPath), certFileIn(certificateFile(dir));
    if (!keyFileIn.open(QIODevice::ReadOnly) || !certFileIn.open(QIODevice::ReadOnly)) {
        if (error)
            *error = QStringLiteral("cannot read the CA files in %1").arg(dir);
        return nullptr;
    }
    const QByteArray keyPem = keyFileIn.readAll();
    const QByteArray certPem = certFileIn.readAll();
    std::unique_ptr<CertificateAuthority> ca(new CertificateAuthority);
    BioPtr keyBio(BIO_new_mem_buf(keyPem.constData(), int(keyPem.size())));
    BioPtr certBio(BIO_new_mem_buf(certPem.constData(), int(certPem.size())));
    ca->m_key.reset(PEM_read_bio_PrivateKey(keyBio.get(), nullptr, nullptr, nullptr));
    ca->m_cert.reset(PEM_read_bio_X509(certBio.get(), nullptr, nullptr, nullptr));
    if (!ca->m_key || !ca->m_cert) {
        if (error)
            *error = opensslError(QStringLiteral("reading the CA in %1").arg(dir));
        return nullptr;
    }
    if (X509_check_private_key(ca->m_cert.get(), ca->m_key.get()) != 1) {
        if (error)
            *error = QStringLiteral("the CA key in %1 does not belong to its certificate").arg(dir);
        return nullptr;
    }
    ca->m_leafKey = newKey(error);
    return ca->m_leafKey ? std::move(ca) : nullptr;
}

std::unique_ptr<CertificateAuthority> CertificateAuthority::loadOrCreate(const QString &dir, QString *error,
                                                                         bool *created)
{
    if (created)
        *created = false;
    if (QFile::exists(keyFile(dir)) || QFile::exists(certificateFile(dir)))
        return load(dir, error);
    auto ca = create(error);
    if (!ca || !ca->save(dir, error))
        return nullptr;
    if (created)
        *created = true;
    return ca;
}

std::unique_ptr<CertificateAuthority> CertificateAuthority::regenerate(const QString &dir, QString *error,
                                                                       QString *backup)
{
    const QString stamp = QDateTime::currentDateTimeUtc().toString(QStringLiteral("yyyyMMdd-hhmmss"));
    for (const QString &file : {certificateFile(dir), keyFile(dir)}) {
        if (QFile::exists(file) && !QFile::rename(file, file + QStringLiteral(".bak-") + stamp)) {
            if (error)
                *error = QStringLiteral("cannot move %1 aside").arg(file);
            return nullptr;
        }
    }
    if (backup)
        *backup = certificateFile(dir) + QStringLiteral(".bak-") + stamp;
    auto ca = create(error);
    if (!ca || !ca->save(dir, error))
        return nullptr;
    return ca;
}

QByteArray CertificateAuthority::certificatePem() const
{
    return certificatePem(m_cert.get());
}

QByteArray CertificateAuthority::certificatePem(X509 *certificate)
{
    return toPem([&](BIO *b) { return PEM_write_bio_X509(b, certificate); });
}

QByteArray CertificateAuthority::leafKeyPem() const
{
    return toPem([&](BIO *b) {
        return PEM_write_bio_PrivateKey(b, m_leafKey.get(), nullptr, nullptr, 0, nullptr, nullptr);
    });
}

QByteArray CertificateAuthority::certificateDer() const
{
    unsigned char *out = nullptr;
    const int n = i2d_X509(m_cert.get(), &out);
    QByteArray der(reinterpret_cast<const char *>(out), n > 0 ? n : 0);
    OPENSSL_free(out);
    return der;
}

QString CertificateAuthority::commonName() const
{
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(m_cert.get()), NID_commonName, cn, sizeof cn);
    return QString::fromUtf8(cn);
}

QString CertificateAuthority::fingerprintSha256() const
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    X509_digest(m_cert.get(), EVP_sha256(), md, &n);
    return QString::fromLatin1(QByteArray(reinterpret_cast<const char *>(md), int(n)).toHex(':').toUpper());
}

bool CertificateAuthority::signs(const QByteArray &caDer, const QByteArray &leafDer)
{
    const auto parse = [](const QByteArray &der) {
        const auto *p = reinterpret_cast<const unsigned char *>(der.constData());
        return X509Ptr(d2i_X509(nullptr, &p, long(der.size())));
    };
    const X509Ptr ca = parse(caDer), leaf = parse(leafDer);
    EVP_PKEY *key = ca ? X509_get0_pubkey(ca.get()) : nullptr;
    return leaf && key && X509_verify(leaf.get(), key) == 1;
}

int CertificateAuthority::cachedLeaves() const
{
    QMutexLocker lock(&m_mutex);
    return int(m_cache.size());
}

std::shared_ptr<const CertificateAuthority::Leaf> CertificateAuthority::leafFor(const QString &host,
                                                                                QString *error)
{
    return leafFor(QStringList {host}, error);
}

std::shared_ptr<const CertificateAuthority::Leaf> CertificateAuthority::leafFor(const QStringList &names,
                                                                                QString *error)
{
    QStringList lower;
    for (const QString &n : names) {
        if (!isCertificateName(n)) {
            if (error)
                *error = QStringLiteral("'%1' is not a host name or address a certificate can be issued for")
                             .arg(n.left(80));
            return nullptr;
        }
        if (!lower.contains(n.toLower()))
            lower.append(n.toLower());
    }
    if (lower.isEmpty()) {
        if (error)
            *error = QStringLiteral("no name to issue a certificate for");
        return nullptr;
    }
    const QString key = lower.join(QLatin1Char(','));
    QMutexLocker lock(&m_mutex);
    if (const auto it = m_cache.constFind(key); it != m_cache.cend())
        return it.value();
    auto leaf = issue(lower, error);
    if (leaf) {
        if (m_cache.size() >= LeafCacheLimit)
            m_cache.clear();
        m_cache.insert(key, leaf);
    }
    return leaf;
}

std::shared_ptr<const CertificateAuthority::Leaf> CertificateAuthority::issue(const QStringList &names,
                                                                              QString *error)
{
    X509Ptr cert(X509_new());
    const QString &host = names.front();
    // RFC 5280 4.2.1.6: the names go in subjectAltName, as DNS or IP (IPv4 and IPv6).
    QStringList entries;
    for (const QString &n : names)
        entries.append((QHostAddress(n).isNull() ? QStringLiteral("DNS:") : QStringLiteral("IP:")) + n);
    const QByteArray san = entries.join(QLatin1Char(',')).toUtf8();
    X509_NAME *name = X509_get_subject_name(cert.get());
    const bool ok = X509_set_version(cert.get(), 2) == 1 && randomSerial(cert.get())
        && X509_gmtime_adj(X509_getm_notBefore(cert.get()), -Hour) // tolerate a client clock a little behind
        && X509_gmtime_adj(X509_getm_notAfter(cert.get()), LeafValidity) && addName(name, "CN", host.left(64))
        && X509_set_issuer_name(cert.get(), X509_get_subject_name(m_cert.get())) == 1
        && X509_set_pubkey(cert.get(), m_leafKey.get()) == 1
        && addExtension(cert.get(), m_cert.get(), NID_basic_constraints, "critical,CA:FALSE")
        && addExtension(cert.get(), m_cert.get(), NID_key_usage, "critical,digitalSignature")
        && addExtension(cert.get(), m_cert.get(), NID_ext_key_usage, "serverAuth")
        && addExtension(cert.get(), m_cert.get(), NID_subject_alt_name, san.constData())
        && addExtension(cert.get(), m_cert.get(), NID_subject_key_identifier, "hash")
        && addExtension(cert.get(), m_cert.get(), NID_authority_key_identifier, "keyid:always")
        && X509_sign(cert.get(), m_key.get(), EVP_sha256()) > 0;
    if (!ok) {
        if (error)
            *error = opensslError(QStringLiteral("issuing a certificate for %1").arg(host));
        return nullptr;
    }
    auto leaf = std::make_shared<Leaf>();
    leaf->certificate = std::move(cert);
    leaf->key = m_leafKey.get();
    return leaf;
}

} // namespace socktap::certs
