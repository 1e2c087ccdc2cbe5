// Test helper: every codec vector is fed whole, one byte at a time and in random chunks (as uWebSockets'
// fuzzer re-chunks inputs), since incremental parsers break at chunk boundaries first.
#pragma once

#include <QByteArrayView>
#include <QList>
#include <QRandomGenerator>
#include <QString>

namespace socktap::test {

struct Chunking
{
    QString name;
    QList<QByteArrayView> pieces;
};

inline QList<Chunking> chunkings(QByteArrayView data, int randomRuns = 4)
{
    QList<Chunking> out;
    out.append({QStringLiteral("whole"), {data}});
    Chunking bytes {QStringLiteral("byte-by-byte"), {}};
    for (qsizetype i = 0; i < data.size(); ++i)
        bytes.pieces.append(data.sliced(i, 1));
    out.append(bytes);
    for (int seed = 1; seed <= randomRuns; ++seed) {
        QRandomGenerator rng(quint32(seed * 7919));
        Chunking c {QStringLiteral("random seed %1").arg(seed), {}};
        for (qsizetype pos = 0; pos < data.size();) {
            const qsizetype n = std::min<qsizetype>(data.size() - pos, 1 + rng.bounded(seed * 13));
            c.pieces.append(data.sliced(pos, n));
            pos += n;
        }
        out.append(c);
    }
    return out;
}

} // namespace socktap::test
