// Compresses messages for permessage-deflate (RFC 7692 7.2.1), for what Socktap itself sends (edited,
// injected, replayed messages). Relayed messages are never recompressed.
#pragma once

#include <QByteArray>
#include <QByteArrayView>

#include <memory>

namespace socktap::ws {

class Deflater
{
public:
    explicit Deflater(int windowBits = 15, bool noContextTakeover = false, int level = -1);
    ~Deflater();
    Deflater(const Deflater &) = delete;
    Deflater &operator=(const Deflater &) = delete;

    // The compressed payload of one message: deflate, sync flush, drop the trailing 00 00 ff ff.
    QByteArray compress(QByteArrayView message);

private:
    struct Stream;
    std::unique_ptr<Stream> m_stream;
    bool m_noContextTakeover;
};

} // namespace socktap::ws
