#include "ClientHello.h"

namespace socktap::proxy {

namespace {

// Bounds-checked reading of TLS's big-endian, length-prefixed structures (RFC 8446 3).
class Reader
{
public:
    explicit Reader(QByteArrayView bytes)
        : m_bytes(bytes)
    { }
    bool ok() const { return m_ok; }
    bool atEnd() const { return m_pos >= m_bytes.size(); }
    quint32 number(int width)
    {
        if (!has(width))
            return 0;
        quint32 n = 0;
        for (int i = 0; i < width; ++i)
            n = (n << 8) | uchar(m_bytes[m_pos++]);
        return n;
    }
    QByteArrayView take(qsizetype n)
    {
        if (!has(n))
            return {};
        const QByteArrayView v = m_bytes.sliced(m_pos, n);
        m_pos += n;
        return v;
    }
    // A vector with a width-byte length prefix.
    QByteArrayView vector(int width) { return take(qsizetype(number(width))); }

private:
    bool has(qsizetype n)
    {
        m_ok = m_ok && n >= 0 && m_pos + n <= m_bytes.size();
        return m_ok;
    }
    QByteArrayView m_bytes;
    qsizetype m_pos = 0;
    bool m_ok = true;
};

constexpr uchar HandshakeRecord = 22; // RFC 8446 5.1 ContentType.handshake
constexpr uchar ClientHelloType = 1; // RFC 8446 4 HandshakeType.client_hello
constexpr quint32 ServerNameExtension = 0; // RFC 6066 3
constexpr quint32 HostNameType = 0;

QByteArray serverName(QByteArrayView extension)
{
    Reader list(Reader(extension).vector(2)); // ServerNameList
    while (!list.atEnd() && list.ok()) {
        const quint32 type = list.number(1);
        const QByteArrayView name = list.vector(2);
        if (list.ok() && type == HostNameType)
            return name.toByteArray();
    }
    return {};
}

} // namespace

ClientHelloPeek peekClientHello(QByteArrayView bytes)
{
    ClientHelloPeek peek;
    if (bytes.size() < 5)
        return {bytes.isEmpty() || uchar(bytes[0]) == HandshakeRecord ? ClientHelloPeek::Status::NeedMore
                                                                      : ClientHelloPeek::Status::Unknown,
                {}};
    Reader record(bytes);
    const quint32 type = record.number(1);
    record.number(2); // legacy_record_version
    const quint32 length = record.number(2);
    if (type != HandshakeRecord || length == 0 || length > (1u << 14))
        return peek;
    if (bytes.size() < 5 + qsizetype(length))
        return {ClientHelloPeek::Status::NeedMore, {}};
    Reader handshake(bytes.sliced(5, length));
    if (handshake.number(1) != ClientHelloType)
        return peek;
    // A ClientHello split over several records (rare: very large key shares) is not followed here.
    Reader hello(handshake.vector(3));
    if (!handshake.ok())
        return peek;
    hello.take(2 + 32); // legacy_version, random
    hello.vector(1); // legacy_session_id
    hello.vector(2); // cipher_suites
    hello.vector(1); // legacy_compression_methods
    if (!hello.ok())
        return peek;
    peek.status = ClientHelloPeek::Status::Hello;
    if (hello.atEnd())
        return peek; // no extensions at all (TLS 1.2 allows it): no name
    Reader extensions(hello.vector(2));
    while (extensions.ok() && !extensions.atEnd()) {
        const quint32 extensionType = extensions.number(2);
        const QByteArrayView data = extensions.vector(2);
        if (extensions.ok() && extensionType == ServerNameExtension) {
            peek.serverName = serverName(data);
            break;
        }
    }
    if (!extensions.ok())
        return {};
    return peek;
}

} // namespace socktap::proxy
