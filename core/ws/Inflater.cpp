#include "Inflater.h"

#include <zlib.h>

#include <algorithm>

#include <optional>

namespace socktap::ws {

struct Inflater::Stream
{
    z_stream z {};
    char scratch[16 * 1024];
};

Inflater::Inflater(int windowBits, bool noContextTakeover, qsizetype maxOutput, qsizetype stopAfter)
    : m_stream(std::make_unique<Stream>())
    , m_noContextTakeover(noContextTakeover)
    , m_maxOutput(maxOutput)
    , m_stopAfter(std::max(maxOutput, stopAfter > 0 ? stopAfter : qsizetype(64) * 1024 * 1024))
{
    // Raw deflate (negative bits). A window at least the peer's is required; inflate accepts 8-15.
    if (inflateInit2(&m_stream->z, -std::clamp(windowBits, 8, 15)) != Z_OK) {
        m_failed = true;
        m_error = QStringLiteral("zlib inflateInit2 failed");
    }
}

Inflater::~Inflater()
{
    inflateEnd(&m_stream->z);
}

bool Inflater::run(QByteArrayView in, QByteArray &out)
{
    z_stream &z = m_stream->z;
    z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in.data()));
    z.avail_in = uInt(in.size());
    while (z.avail_in > 0) {
        if (stopped())
            return true; // a bomb: the rest of the message is not inflated (see the header)
        // Write into out while under the limit and granted room; else into the scratch area, counted.
        const qsizetype room = m_maxOutput - m_messageSize;
        qsizetype chunk = std::min<qsizetype>(room, std::max<qsizetype>(in.size() * 4, 16 * 1024));
        if (m_keeping && room > 0 && m_grant) {
            chunk = m_grant(out, chunk);
            m_keeping = chunk > 0;
        }
        const bool keep = m_keeping && room > 0;
        if (!keep)
            chunk = qsizetype(sizeof(m_stream->scratch));
        const qsizetype start = out.size();
        if (keep)
            out.resize(start + chunk);
        z.next_out = reinterpret_cast<Bytef *>(keep ? out.data() + start : m_stream->scratch);
        z.avail_out = uInt(chunk);
        const int rc = ::inflate(&z, Z_SYNC_FLUSH);
        const qsizetype produced = chunk - qsizetype(z.avail_out);
        if (keep)
            out.resize(start + produced);
        m_messageSize += produced;
        m_totalInflated += quint64(produced);
        if (rc == Z_STREAM_END) {
            // RFC 7692 7.2.2 allows a final block with BFINAL set; the next message starts a new stream.
            inflateReset(&z);
            continue;
        }
        if (rc == Z_BUF_ERROR && produced == 0 && z.avail_in > 0) {
            m_messageFailed = true;
            m_error = QStringLiteral("inflate made no progress");
            return false;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            m_messageFailed = true;
            m_error =
                QStringLiteral("inflate failed: %1").arg(QString::fromLatin1(z.msg ? z.msg : "corrupt data"));
            if (!m_noContextTakeover)
                m_failed = true; // the shared window is lost: later messages cannot be decoded either
            return false;
        }
    }
    return true;
}

bool Inflater::feed(QByteArrayView compressed, QByteArray &out)
{
    if (m_messageDone) {
        m_messageDone = false;
        m_messageSize = 0;
        m_messageFailed = false;
        m_keeping = true;
    }
    if (m_failed || m_messageFailed)
        return false;
    return run(compressed, out);
}

bool Inflater::finishMessage(QByteArray &out)
{
    // RFC 7692 7.2.2: append 0x00 0x00 0xff 0xff to the payload, then inflate.
    static constexpr char Tail[] = {0x00, 0x00, char(0xff), char(0xff)};
    const bool ok = feed(QByteArrayView(Tail, 4), out);
    if (stopped() && !m_noContextTakeover && !m_failed) {
        // 7.2.3: later messages may refer back into the part that was not inflated.
        m_failed = m_windowLost = true;
        m_error = QStringLiteral("an earlier message from this peer inflated past %1 bytes and was not "
                                 "inflated beyond that, so the shared window (RFC 7692 7.2.3) is unknown")
                      .arg(m_stopAfter);
    }
    if (m_noContextTakeover || m_messageFailed || stopped()) {
        // No context takeover: each message starts with an empty window (7.1.1).
        inflateReset(&m_stream->z);
    }
    m_messageDone = true;
    return ok;
}

std::optional<QByteArray> Inflater::inflate(QByteArrayView compressed, int windowBits, qsizetype maxOutput,
                                            QString *error)
{
    Inflater inflater(windowBits, true, maxOutput, maxOutput); // past maxOutput it fails anyway
    QByteArray out;
    const bool ok = inflater.feed(compressed, out) && inflater.finishMessage(out);
    const bool over = inflater.overLimit();
    if (!ok || over) {
        if (error)
            *error =
                over ? QStringLiteral("inflated size exceeds %1 bytes").arg(maxOutput) : inflater.error();
        return std::nullopt;
    }
    return out;
}

} // namespace socktap::ws
