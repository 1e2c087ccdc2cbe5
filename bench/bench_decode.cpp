// Decoding speed per format (core/decode): a session's typical messages decoded in order by
// SessionDecoder, as the console, the Summary column, filters and pairing do. Prints messages/s and MB/s,
// and the same messages through plain JSON for comparison. Not a test.
#include "core/decode/SessionDecoder.h"

#include <QElapsedTimer>

#include <cstdio>
#include <vector>

using namespace socktap::decode;

namespace {

struct Sample
{
    const char *format;
    SessionHints hints;
    std::vector<std::pair<bool, QByteArray>> messages; // fromServer, payload (text)
};

std::vector<Sample> samples()
{
    const QByteArray price = R"({"symbol":"BTC-USD","bid":64250.5,"ask":64251.0,"seq":123456,"venue":"X"})";
    return {
        {"socket.io",
         {{}, "/socket.io/?EIO=4&transport=websocket"},
         {{false, "421[\"subscribe\",{\"room\":\"prices\"}]"},
          {true, "431[{\"ok\":true}]"},
          {true, "42[\"price\"," + price + "]"},
          {true, "2"},
          {false, "3"}}},
        {"graphql-transport-ws",
         {"graphql-transport-ws", "/graphql"},
         {{false, R"({"id":"1","type":"subscribe","payload":{"query":"subscription OnPrice { price { bid ask } }"}})"},
          {true, R"({"id":"1","type":"next","payload":{"data":)" + price + "}}"},
          {true, R"({"id":"1","type":"next","payload":{"data":)" + price + "}}"}}},
        {"json-rpc",
         {"jsonrpc", "/"},
         {{false, R"({"jsonrpc":"2.0","method":"getQuote","params":{"symbol":"BTC-USD"},"id":7})"},
          {true, R"({"jsonrpc":"2.0","result":)" + price + R"(,"id":7})"}}},
        {"stomp",
         {"v12.stomp", "/"},
         {{true, "MESSAGE\ndestination:/topic/prices\nmessage-id:m1\nsubscription:sub-0\ncontent-type:application/json\n\n"
                     + price + QByteArray(1, '\0')},
          {false, "SEND\ndestination:/app/order\nreceipt:9\n\n{\"qty\":1}" + QByteArray(1, '\0')}}},
        {"signalr",
         {{}, "/hub"},
         {{false, "{\"type\":1,\"invocationId\":\"4\",\"target\":\"Subscribe\",\"arguments\":[\"BTC-USD\"]}\x1e"},
          {true, "{\"type\":1,\"target\":\"Price\",\"arguments\":[" + price + "]}\x1e"},
          {true, "{\"type\":3,\"invocationId\":\"4\",\"result\":true}\x1e"}}},
        {"phoenix",
         {{}, "/socket/websocket?vsn=2.0.0"},
         {{false, R"(["3","4","prices:btc","quote",{"n":1}])"},
          {true, R"(["3","4","prices:btc","phx_reply",{"status":"ok","response":)" + price + "}]"}}},
        {"json", {"json", "/"}, {{true, price}}},
    };
}

} // namespace

int main()
{
    std::printf("socktap decode benchmark: a session's messages decoded in order (SessionDecoder)\n\n");
    std::printf("%-22s %12s %10s %10s\n", "format", "messages/s", "MB/s", "bytes/msg");
    for (const Sample &s : samples()) {
        const int n = 300'000;
        qint64 bytes = 0;
        QElapsedTimer t;
        t.start();
        SessionDecoder decoder(FormatRegistry::builtin(), s.hints, QString::fromLatin1(s.format));
        int decoded = 0;
        for (int i = 0; i < n; ++i) {
            const auto &[fromServer, payload] = s.messages[size_t(i) % s.messages.size()];
            decoded += decoder.decode(quint64(i), {payload, false, fromServer}, i).decoded();
            bytes += payload.size();
        }
        const double seconds = double(t.nsecsElapsed()) / 1e9;
        if (decoded != n)
            std::printf("  (only %d of %d decoded)\n", decoded, n);
        std::printf("%-22s %12.0f %10.1f %10.0f\n", s.format, n / seconds, double(bytes) / seconds / 1e6,
                    double(bytes) / n);
    }
    return 0;
}
