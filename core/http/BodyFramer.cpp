#include "BodyFramer.h"

#include <algorithm>

namespace socktap::http {

namespace {

constexpr qsizetype MaxChunkLine = 4096;

std::nullopt_t failWith(QString *error, const QString &message)
{
    if (error)
        *error = message;
    return std::nullopt;
}

// RFC 9110 8.6: Content-Length = 1*DIGIT; repeated identical values are tolerated.
std::optional<quint64> contentLength(const Headers &headers, bool &invalid)
{
    invalid = false;
    std::optional<quint64> length;
    for (const QByteArray &value : headers.values("Content-Length")) {
        for (QByteArrayView v : splitList(value)) {
            bool ok = !v.isEmpty() && v.size() <= 18
                && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
            const quint64 n = ok ? v.toULongLong(&ok) : 0;
            if (!ok || (length && *length != n)) {
                invalid = true;
                return std::nullopt;
            }
            length = n;
        }
    }
    return length;
}

} // namespace

bool normalizeFramingFields(Headers &headers)
{
    if (headers.contains("Transfer-Encoding"))
        return headers.remove("Content-Length") > 0; // RFC 9112 6.3 item 3
    const QList<QByteArray> values = headers.values("Content-Length");
    if (values.isEmpty() || (values.size() == 1 && !values.front().contains(',')))
        return false;
    bool invalid = false;
    const auto length = contentLength(headers, invalid);
    if (!length || invalid)
        return false;
    headers.set("Content-Length", QByteArray::number(*length)); // RFC 9110 8.6: forward a single value
    return true;
}

std::optional<BodyFramer> BodyFramer::forRequest(const RequestHead &head, QString *error)
{
    BodyFramer f;
    const bool hasTe = head.headers.contains("Transfer-Encoding");
    bool badLength = false;
    const auto length = contentLength(head.headers, badLength);
    if (hasTe && (length || badLength))
        // RFC 9112 6.1: a message with both is suspect; a proxy must not forward it as is.
        return failWith(
            error, QStringLiteral("request has both Transfer-Encoding and Content-Length (RFC 9112 6.1)"));
    if (hasTe) {
        const QByteArray te = head.headers.combined("Transfer-Encoding"); // the views point into it
        const QList<QByteArrayView> codings = splitList(te);
        // RFC 9112 6.3 item 4: in a request, chunked must be the final coding.
        if (codings.isEmpty() || codings.last().compare("chunked", Qt::CaseInsensitive) != 0)
            return failWith(
                error, QStringLiteral("request Transfer-Encoding does not end in chunked (RFC 9112 6.3)"));
        f.m_kind = Kind::Chunked;
        f.m_done = false;
        return f;
    }
    if (badLength)
        return failWith(error,
                        QStringLiteral("invalid Content-Length '%1' (RFC 9110 8.6)")
                            .arg(QString::fromLatin1(head.headers.combined("Content-Length"))));
    if (length && *length > 0) {
        f.m_kind = Kind::Length;
        f.m_remaining = *length;
        f.m_done = false;
    }
    return f;
}

std::optional<BodyFramer> BodyFramer::forResponse(const ResponseHead &head, QByteArrayView requestMethod,
                                                  QString *error)
{
    BodyFramer f;
    // RFC 9112 6.3 item 1.
    if (requestMethod == "HEAD" || (head.status >= 100 && head.status < 200) || head.status == 204
        || head.status == 304)
        return f;
    const bool hasTe = head.headers.contains("Transfer-Encoding");
    bool badLength = false;
    const auto length = contentLength(head.headers, badLength);
    if (hasTe) {
        const QByteArray te = head.headers.combined("Transfer-Encoding"); // the views point into it
        const QList<QByteArrayView> codings = splitList(te);
        f.m_done = false;
        // RFC 9112 6.3 items 3-4: chunked last means chunked framing, otherwise read until close.
        f.m_kind = !codings.isEmpty() && codings.last().compare("chunked", Qt::CaseInsensitive) == 0
            ? Kind::Chunked
            : Kind::UntilClose;
        return f;
    }
    if (badLength)
        return failWith(error, QStringLiteral("invalid Content-Length in response (RFC 9110 8.6)"));
    if (length) {
        if (*length > 0) {
            f.m_kind = Kind::Length;
            f.m_remaining = *length;
            f.m_done = false;
        }
        return f;
    }
    f.m_kind = Kind::UntilClose;
    f.m_done = false;
    return f;
}

void BodyFramer::kept(QByteArrayView content)
{
    if (m_sink && m_sink->size() < m_sinkMax)
        m_sink->append(content.first(std::min<qsizetype>(content.size(), m_sinkMax - m_sink->size())));
}

BodyFramer::Result BodyFramer::feed(QByteArrayView data)
{
    Result r;
    if (m_done) {
        r.done = true;
        return r;
    }
    switch (m_kind) {
    case Kind::None:
        r.done = m_done = true;
        return r;
    case Kind::UntilClose:
        r.consumed = data.size();
        kept(data);
        m_wireBytes += quint64(data.size());
        m_contentBytes += quint64(data.size());
        return r;
    case Kind::Length:
        r.consumed = qsizetype(std::min<quint64>(m_remaining, quint64(data.size())));
        kept(data.first(r.consumed));
        m_remaining -= quint64(r.consumed);
        m_wireBytes += quint64(r.consumed);
        m_contentBytes += quint64(r.consumed);
        r.done = m_done = m_remaining == 0;
        return r;
    case Kind::Chunked:
        return feedChunked(data);
    }
    return r;
}

bool BodyFramer::chunkLine(QByteArrayView line)
{
    if (line.endsWith('\r'))
        line.chop(1);
    if (m_chunkState == ChunkState::Trailer) {
        if (line.isEmpty())
            m_done = true; // RFC 9112 7.1.2: trailer section ends with an empty line
        return true;
    }
    // RFC 9112 7.1: chunk-size [ chunk-ext ] CRLF, chunk-size = 1*HEXDIG.
    const qsizetype semi = line.indexOf(';');
    const QByteArrayView hex = (semi < 0 ? line : line.first(semi)).trimmed();
    bool ok = !hex.isEmpty() && hex.size() <= 15;
    const quint64 size = ok ? hex.toULongLong(&ok, 16) : 0;
    if (!ok) {
        m_error = QStringLiteral("invalid chunk size line '%1' (RFC 9112 7.1)")
                      .arg(QString::fromLatin1(line.first(std::min<qsizetype>(line.size(), 40))));
        return false;
    }
    if (size == 0) {
        m_chunkState = ChunkState::Trailer;
    } else {
        m_remaining = size;
        m_chunkState = ChunkState::Data;
    }
    return true;
}

BodyFramer::Result BodyFramer::feedChunked(QByteArrayView data)
{
    Result r;
    qsizetype pos = 0;
    while (pos < data.size() && !m_done) {
        if (m_chunkState == ChunkState::Data) {
            const qsizetype n = qsizetype(std::min<quint64>(m_remaining, quint64(data.size() - pos)));
            kept(data.sliced(pos, n));
            pos += n;
            m_remaining -= quint64(n);
            m_contentBytes += quint64(n);
            if (m_remaining == 0)
                m_chunkState = ChunkState::DataEnd;
            continue;
        }
        // Size, DataEnd (the CRLF after chunk data) and Trailer are lines.
        const qsizetype nl = data.indexOf('\n', pos);
        const qsizetype end = nl < 0 ? data.size() : nl + 1;
        m_line.append(data.sliced(pos, end - pos));
        pos = end;
        if (m_line.size() > MaxChunkLine) {
            m_error = QStringLiteral("chunk line longer than %1 bytes").arg(MaxChunkLine);
            r.error = true;
            break;
        }
        if (nl < 0)
            break;
        QByteArray line = std::exchange(m_line, QByteArray());
        line.chop(1);
        if (m_chunkState == ChunkState::DataEnd) {
            if (!(line.isEmpty() || line == "\r")) {
                m_error = QStringLiteral("chunk data not followed by CRLF (RFC 9112 7.1)");
                r.error = true;
                break;
            }
            m_chunkState = ChunkState::Size;
            continue;
        }
        if (!chunkLine(line)) {
            r.error = true;
            break;
        }
    }
    r.consumed = pos;
    m_wireBytes += quint64(pos);
    r.done = m_done;
    return r;
}

} // namespace socktap::http
