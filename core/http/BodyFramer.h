// Where an HTTP/1.1 message body ends (RFC 9112 6): none, Content-Length, chunked, or until close. Fed the
// bytes after a head, it says how many belong to the body so a proxy can forward them untouched and keep
// the rest for the next message. Counts, never copies, never decodes content.
#pragma once

#include "HttpHead.h"

#include <QString>

#include <optional>

namespace socktap::http {

class BodyFramer
{
public:
    enum class Kind { None, Length, Chunked, UntilClose };

    struct Result
    {
        qsizetype consumed = 0; // bytes of the input that are body (framing included)
        bool done = false;
        bool error = false;
    };

    BodyFramer() = default;
    // RFC 9112 6.1-6.3 for requests: chunked, Content-Length, or no body. Conflicting or invalid framing
    // is an error (400): it is how requests are smuggled past proxies.
    static std::optional<BodyFramer> forRequest(const RequestHead &head, QString *error = nullptr);
    // RFC 9112 6.3 for responses: none after HEAD, for 1xx, 204 and 304; then chunked, Content-Length, or
    // until the server closes.
    static std::optional<BodyFramer> forResponse(const ResponseHead &head, QByteArrayView requestMethod,
                                                 QString *error = nullptr);

    Result feed(QByteArrayView data);
    // Also copy the first max bytes of the content (chunk data without its framing) into sink, which must
    // outlive the framer: what a capture shows of a body.
    void keepContent(QByteArray *sink, qsizetype max)
    {
        m_sink = sink;
        m_sinkMax = max;
    }
    // For UntilClose: the connection ended, so the body did.
    void finishAtClose() { m_done = true; }

    Kind kind() const { return m_kind; }
    bool done() const { return m_done; }
    quint64 wireBytes() const { return m_wireBytes; } // body bytes as sent, framing included
    quint64 contentBytes() const { return m_contentBytes; } // the content itself (chunk data)
    QString error() const { return m_error; }

private:
    enum class ChunkState { Size, Data, DataEnd, Trailer };
    Result feedChunked(QByteArrayView data);
    bool chunkLine(QByteArrayView line);

    Kind m_kind = Kind::None;
    bool m_done = true;
    quint64 m_remaining = 0;
    quint64 m_wireBytes = 0;
    quint64 m_contentBytes = 0;
    ChunkState m_chunkState = ChunkState::Size;
    void kept(QByteArrayView content);

    QByteArray m_line; // partial chunk-size or trailer line
    QByteArray *m_sink = nullptr;
    qsizetype m_sinkMax = 0;
    QString m_error;
};

// What a proxy changes in a message's framing fields before forwarding it: with Transfer-Encoding, the
// Content-Length is removed (RFC 9112 6.3 item 3); repeated identical Content-Length values become one
// (RFC 9110 8.6). Returns whether anything changed. Messages it cannot repair are refused by the framers.
bool normalizeFramingFields(Headers &headers);

} // namespace socktap::http
