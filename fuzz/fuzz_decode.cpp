// libFuzzer target: every format's decoder (core/decode) over a session of fuzzed messages. The first byte
// picks the format; the rest is split into messages at 0xff bytes, each one's first byte saying its
// direction and type. A decoder must never crash, hang or read out of bounds, and a message it does not
// decode must say why.
#include "core/decode/SessionDecoder.h"

#include <cstdlib>

using namespace socktap::decode;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const FormatRegistry &registry = FormatRegistry::builtin();
    const QStringList names = registry.names();
    const QString format = names[data[0] % names.size()];
    const QByteArrayView input(reinterpret_cast<const char *>(data + 1), qsizetype(size - 1));
    SessionDecoder session(registry, {{}, "/socket.io/?EIO=3"}, format);
    quint64 index = 0;
    for (const QByteArrayView message : QByteArray::fromRawData(input.data(), input.size()).split('\xff')) {
        if (message.isEmpty())
            continue;
        const quint8 kind = quint8(message[0]);
        const Decoded d =
            session.decode(index, {message.sliced(1), bool(kind & 1), bool(kind & 2)}, qint64(index));
        if (!d.decoded() && d.error.isEmpty())
            std::abort(); // silence is not allowed: a message not decoded says why
        (void)session.pairOf(index);
        ++index;
    }
    return 0;
}
