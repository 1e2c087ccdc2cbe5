// Splits a fuzz input into chunks whose sizes come from a seed, so each input is also tried at
// arbitrary chunk boundaries (as uWebSockets' fuzzers do).
#pragma once

#include <QByteArrayView>
#include <QList>

inline QList<QByteArrayView> fuzzChunks(QByteArrayView data, quint32 seed)
{
    QList<QByteArrayView> out;
    quint32 state = seed | 1;
    for (qsizetype pos = 0; pos < data.size();) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5; // xorshift32
        const qsizetype n = std::min<qsizetype>(data.size() - pos, 1 + state % 64);
        out.append(data.sliced(pos, n));
        pos += n;
    }
    return out;
}
