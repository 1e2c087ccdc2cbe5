// The root CA and its leaves, checked with OpenSSL's own verifier: chain, SAN (DNS, IPv4, IPv6), EKU,
// validity; files and their permissions; export and regeneration.
#include "certs/CertificateAuthority.h"

#include <QElapsedTimer>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <openssl/x509_vfy.h>

#include <sys/stat.h>

using namespace socktap::certs;

namespace {

bool verifies(X509 *leaf, X509 *root, QString *why = nullptr)
{
    X509StorePtr store(X509_STORE_new());
    X509_STORE_add_cert(store.get(), root);
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    X509_STORE_CTX_init(ctx.get(), store.get(), leaf, nullptr);
    X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER); // checks the EKU too
    const bool ok = X509_verify_cert(ctx.get()) == 1;
    if (!ok && why)
        *why = QString::fromLatin1(X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
    return ok;
}

qint64 secondsBetween(const ASN1_TIME *from, const ASN1_TIME *to)
{
    int days = 0, seconds = 0;
    ASN1_TIME_diff(&days, &seconds, from, to);
    return qint64(days) * 86400 + seconds;
}

} // namespace

class TestCerts final : public QObject
{
    Q_OBJECT

private slots:
    void rootCa()
    {
        QString error;
        auto ca = CertificateAuthority::create(&error);
        QVERIFY2(ca, qPrintable(error));
        X509 *root = ca->certificate();
        QVERIFY(ca->commonName().startsWith("Socktap Root CA "));
        QCOMPARE(ca->commonName().size(), QString("Socktap Root CA ").size() + 8);
        QCOMPARE(X509_check_ca(root), 1);
        QCOMPARE(X509_get_pathlen(root), 0L);
        QVERIFY(X509_get_key_usage(root) & KU_KEY_CERT_SIGN);
        QVERIFY(X509_get_key_usage(root) & KU_CRL_SIGN);
        QVERIFY(!(X509_get_key_usage(root) & KU_DIGITAL_SIGNATURE));
        const qint64 life = secondsBetween(X509_get0_notBefore(root), X509_get0_notAfter(root));
        QVERIFY(life >= 3650ll * 86400 && life <= 3651ll * 86400);
        QVERIFY(X509_check_issued(root, root) == X509_V_OK); // self-signed
        QCOMPARE(ca->fingerprintSha256().count(':'), 31);
    }

    void leaves_data()
    {
        QTest::addColumn<QString>("host");
        QTest::addColumn<bool>("ip");
        QTest::newRow("dns") << "chat.example.test" << false;
        QTest::newRow("ipv4") << "127.0.0.1" << true;
        QTest::newRow("ipv6") << "::1" << true;
        QTest::newRow("upper case name") << "API.Example.TEST" << false;
    }

    void leaves()
    {
        QFETCH(QString, host);
        QFETCH(bool, ip);
        auto ca = CertificateAuthority::create();
        QVERIFY(ca); // a failure fails the test cleanly instead of crashing it
        QString error;
        const auto leaf = ca->leafFor(host, &error);
        QVERIFY2(leaf, qPrintable(error));
        X509 *cert = leaf->certificate.get();
        QString why;
        QVERIFY2(verifies(cert, ca->certificate(), &why), qPrintable(why));
        const QByteArray name = host.toLower().toUtf8();
        if (ip)
            QCOMPARE(X509_check_ip_asc(cert, name.constData(), 0), 1);
        else
            QCOMPARE(X509_check_host(cert, name.constData(), size_t(name.size()), 0, nullptr), 1);
        QCOMPARE(X509_check_host(cert, "other.example", 13, 0, nullptr), 0);
        QCOMPARE(X509_check_purpose(cert, X509_PURPOSE_SSL_SERVER, 0), 1);
        QCOMPARE(X509_check_ca(cert), 0);
        // At most 397 days, starting an hour ago.
        const qint64 life = secondsBetween(X509_get0_notBefore(cert), X509_get0_notAfter(cert));
        QVERIFY(life <= 397ll * 86400);
        QVERIFY(X509_cmp_time(X509_get0_notBefore(cert), nullptr) < 0);
        const qint64 backdated = QDateTime::currentSecsSinceEpoch()
            - QDateTime::fromString(QString(toIso(X509_get0_notBefore(cert))), Qt::ISODate)
                  .toSecsSinceEpoch();
        QVERIFY(backdated >= 3590 && backdated <= 3700);
        QCOMPARE(X509_check_private_key(cert, leaf->key), 1);
    }

    void leafForSeveralNames()
    {
        // For a client without SNI: the dialled address and the server's own names in one leaf.
        auto ca = CertificateAuthority::create();
        QString error;
        const auto leaf = ca->leafFor(QStringList {"127.0.0.1", "localhost", "*.example.test"}, &error);
        QVERIFY2(leaf, qPrintable(error));
        X509 *cert = leaf->certificate.get();
        QCOMPARE(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
        QCOMPARE(X509_check_host(cert, "localhost", 9, 0, nullptr), 1);
        QCOMPARE(X509_check_host(cert, "api.example.test", 16, 0, nullptr), 1);
        QCOMPARE(subjectNames(cert), QStringList({"127.0.0.1", "localhost", "*.example.test"}));
    }

    void namesThatCouldAddEntriesAreRefused()
    {
        // A client's SNI or a server's certificate must not smuggle extra subjectAltName entries (or cut
        // the list) through OpenSSL's "DNS:a,IP:b" string.
        auto ca = CertificateAuthority::create();
        for (const QString &bad : {QStringLiteral("evil.test,IP:10.0.0.1"), QStringLiteral("a.test\n"),
                                   QStringLiteral("URI:http://x"), QStringLiteral("a b.test"), QString(),
                                   QStringLiteral("127.0.0.1 "), QStringLiteral("x.test,DNS:bank.example")}) {
            QString error;
            QVERIFY2(!ca->leafFor(QStringList {"ok.test", bad}, &error), qPrintable(bad));
            QVERIFY(!error.isEmpty());
            QVERIFY(!ca->leafFor(bad));
        }
        QVERIFY(ca->leafFor(QStringLiteral("xn--bcher-kva.example")));
        QVERIFY(ca->leafFor(QStringLiteral("fe80::1")));
    }

    void leavesAreCachedAndSerialsRandom()
    {
        auto ca = CertificateAuthority::create();
        QVERIFY(ca);
        const auto a = ca->leafFor("a.example");
        const auto again = ca->leafFor("A.EXAMPLE");
        QVERIFY(a && again);
        QCOMPARE(a.get(), again.get());
        const auto b = ca->leafFor("b.example");
        QVERIFY(b);
        QVERIFY(ASN1_INTEGER_cmp(X509_get0_serialNumber(a->certificate.get()),
                                 X509_get0_serialNumber(b->certificate.get()))
                != 0);
        QCOMPARE(ca->cachedLeaves(), 2);
        QElapsedTimer t;
        t.start();
        for (int i = 0; i < 10000; ++i)
            ca->leafFor("a.example");
        qInfo("cached leaf lookup: %.2f us", double(t.nsecsElapsed()) / 10000 / 1000);
        t.restart();
        for (int i = 0; i < 200; ++i)
            ca->leafFor(QStringLiteral("host%1.example").arg(i));
        qInfo("issuing a new leaf: %.0f us", double(t.nsecsElapsed()) / 200 / 1000);
    }

    void filesAndPermissions()
    {
        QTemporaryDir dir;
        QString error;
        bool created = false;
        auto ca = CertificateAuthority::loadOrCreate(dir.path() + "/ca", &error, &created);
        QVERIFY2(ca, qPrintable(error));
        QVERIFY(created);
        struct stat st
        { };
        QCOMPARE(
            ::stat(QFile::encodeName(CertificateAuthority::keyFile(dir.path() + "/ca")).constData(), &st), 0);
        QCOMPARE(st.st_mode & 0777, 0600u);
        // Loading again gives the same CA.
        auto again = CertificateAuthority::loadOrCreate(dir.path() + "/ca", &error, &created);
        QVERIFY2(again, qPrintable(error));
        QVERIFY(!created);
        QCOMPARE(again->fingerprintSha256(), ca->fingerprintSha256());
        // A key others can read is refused, with a message that says what to do.
        ::chmod(QFile::encodeName(CertificateAuthority::keyFile(dir.path() + "/ca")).constData(), 0644);
        QVERIFY(!CertificateAuthority::loadOrCreate(dir.path() + "/ca", &error));
        QVERIFY2(error.contains("readable by others (mode 0644)"), qPrintable(error));
        QVERIFY(error.contains("chmod 600"));
    }

    void exportAndRegenerate()
    {
        QTemporaryDir dir;
        auto ca = CertificateAuthority::loadOrCreate(dir.path());
        QVERIFY(ca);
        const QByteArray pem = ca->certificatePem();
        QVERIFY(pem.startsWith("-----BEGIN CERTIFICATE-----"));
        QVERIFY(!pem.contains("PRIVATE KEY"));
        const QByteArray der = ca->certificateDer();
        const unsigned char *p = reinterpret_cast<const unsigned char *>(der.constData());
        X509Ptr parsed(d2i_X509(nullptr, &p, long(der.size())));
        QVERIFY(parsed);
        QCOMPARE(X509_cmp(parsed.get(), ca->certificate()), 0);
        QString error, backup;
        auto fresh = CertificateAuthority::regenerate(dir.path(), &error, &backup);
        QVERIFY2(fresh, qPrintable(error));
        QVERIFY(fresh->fingerprintSha256() != ca->fingerprintSha256());
        QVERIFY(QFile::exists(backup));
        const auto loaded = CertificateAuthority::load(dir.path());
        QVERIFY(loaded);
        QCOMPARE(loaded->fingerprintSha256(), fresh->fingerprintSha256());
    }
};

QTEST_GUILESS_MAIN(TestCerts)
#include "tst_certs.moc"
