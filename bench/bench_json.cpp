// The inspector's JSON: Socktap's order-keeping parser (capture::JsonTree) against QJsonDocument, and the
// Text tab's pretty-printing, on messages of 1 KiB to 4 MiB (the most the inspector parses). Prints MB/s.
// Not a test.
#include "core/capture/JsonTree.h"

#include <QElapsedTimer>
#include <QJsonDocument>

#include <cstdio>

namespace {

// A trading-style message: an array of objects with strings, numbers (some beyond 2^53), booleans,
// nesting.
QByteArray message(qsizetype size)
{
    QByteArray out = R"({"type":"snapshot","channel":"prices","rows":[)";
    for (int i = 0; out.size() < size; ++i) {
        if (i)
            out += ',';
        out += R"({"id":)" + QByteArray::number(9007199254740993LL + i) + R"(,"symbol":"SYM)"
            + QByteArray::number(i) + R"(","bid":)" + QByteArray::number(64250.5 + i, 'f', 2)
            + R"(,"open":true,"tags":["a","b"],"meta":{"venue":"X","seq":)" + QByteArray::number(i) + "}}";
    }
    return out + "]}";
}

template<typename F>
double mbPerSecond(qsizetype bytes, F &&f)
{
    QElapsedTimer t;
    int rounds = 0;
    t.start();
    do {
        f();
        ++rounds;
    } while (t.elapsed() < 300);
    return double(bytes) * rounds / (double(t.nsecsElapsed()) / 1e9) / 1e6;
}

} // namespace

int main()
{
    std::printf("socktap JSON inspector benchmark (MB/s of message)\n\n%-10s %14s %14s %14s\n", "size",
                "JsonTree", "QJsonDocument", "prettyJson");
    for (const qsizetype size :
         {qsizetype(1) << 10, qsizetype(64) << 10, qsizetype(1) << 20, qsizetype(4) << 20}) {
        const QByteArray json = message(size);
        const double tree = mbPerSecond(json.size(), [&] {
            if (!socktap::capture::parseJsonTree(json))
                std::abort();
        });
        const double qt = mbPerSecond(json.size(), [&] {
            if (QJsonDocument::fromJson(json).isNull())
                std::abort();
        });
        const auto parsed = socktap::capture::parseJsonTree(json);
        const double pretty = mbPerSecond(json.size(), [&] { (void)socktap::capture::prettyJson(*parsed); });
        std::printf("%-10s %14.1f %14.1f %14.1f\n",
                    qPrintable(size >= (1 << 20) ? QStringLiteral("%1 MiB").arg(size >> 20)
                                                 : QStringLiteral("%1 KiB").arg(size >> 10)),
                    tree, qt, pretty);
    }
    return 0;
}
