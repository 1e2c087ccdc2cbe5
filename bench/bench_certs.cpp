// What a new host costs: issuing a leaf certificate from the Socktap CA (the leaf key is made once), and
// a cached lookup. Prints microseconds. Not a test.
#include "certs/CertificateAuthority.h"

#include <QElapsedTimer>

#include <cstdio>

using socktap::certs::CertificateAuthority;

int main()
{
    QElapsedTimer t;
    t.start();
    auto ca = CertificateAuthority::create();
    std::printf("socktap certificate benchmark\n\n%-44s %8.1f ms\n", "create the root CA (two P-256 keys)",
                double(t.nsecsElapsed()) / 1e6);
    constexpr int Hosts = 2000;
    t.restart();
    for (int i = 0; i < Hosts; ++i)
        ca->leafFor(QStringLiteral("host%1.example.test").arg(i));
    std::printf("%-44s %8.1f us\n", "issue a leaf for a new host (average of 2,000)",
                double(t.nsecsElapsed()) / 1e3 / Hosts);
    t.restart();
    for (int round = 0; round < 50; ++round)
        for (int i = 0; i < Hosts; ++i)
            ca->leafFor(QStringLiteral("host%1.example.test").arg(i));
    std::printf("%-44s %8.2f us\n", "look up a cached leaf", double(t.nsecsElapsed()) / 1e3 / (50.0 * Hosts));
    // A client without SNI: the dialled address plus the server's names (a typical CDN certificate has
    // a dozen or more).
    constexpr int Sets = 500;
    t.restart();
    for (int i = 0; i < Sets; ++i) {
        QStringList names {QStringLiteral("10.0.%1.%2").arg(i / 250).arg(i % 250)};
        for (int n = 0; n < 20; ++n)
            names << QStringLiteral("name%1.site%2.example.test").arg(n).arg(i);
        ca->leafFor(names);
    }
    std::printf("%-44s %8.1f us\n", "issue a leaf for an address + 20 names",
                double(t.nsecsElapsed()) / 1e3 / Sets);
    return 0;
}
