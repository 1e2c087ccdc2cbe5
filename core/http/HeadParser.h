// Incremental HTTP/1.1 head parser (request or response). Fed bytes in any chunking, it says "need more",
// "complete" (with how many bytes of the last chunk belong to the head, so the rest stays for the next
// stage) or "error" with the HTTP status a proxy should answer. Never reads a socket; knows no bodies.
#pragma once

#include "HttpHead.h"

#include <QString>

namespace socktap::http {

// RFC 9112 2.2: a recipient MAY accept a bare LF as a line terminator. Proxies disagree; both are offered.
enum class BareLfPolicy { Accept, Reject };

struct HeadLimits
{
    qsizetype maxHeadSize = 64 * 1024;
    int maxHeaderCount = 100;
    qsizetype maxStartLineSize = 8 * 1024;
    BareLfPolicy bareLf = BareLfPolicy::Accept;
};

enum class HeadErrorCode {
    None,
    HeadTooLarge, // 431 (RFC 6585 5) for requests
    TooManyHeaders, // 431
    StartLineTooLong, // 414 for requests
    MalformedStartLine, // 400
    InvalidMethod, // 400
    InvalidTarget, // 400
    UnsupportedVersion, // 505
    InvalidStatus, // 502 (responses only)
    InvalidHeaderName, // 400
    InvalidHeaderValue, // 400
    WhitespaceBeforeColon, // 400 (RFC 9112 5.1)
    ObsoleteLineFolding, // 400 (RFC 9112 5.2)
    BareLf, // 400 under BareLfPolicy::Reject
    BareCr, // 400 (RFC 9112 2.2)
};

struct HeadError
{
    HeadErrorCode code = HeadErrorCode::None;
    int httpStatus = 0; // what a server or proxy answers the sender of a bad request
    QString message; // precise, for the response body and the session record
};

class HeadParser
{
public:
    enum class Kind { Request, Response };
    enum class Status { NeedMore, Complete, Error };
    struct Result
    {
        Status status;
        qsizetype consumed; // bytes of this chunk used; on Complete the rest follows the head
    };

    explicit HeadParser(Kind kind, HeadLimits limits = {});

    Result feed(QByteArrayView data);
    void reset();

    Status status() const { return m_status; }
    // Whether part of a head has arrived (not just the empty lines RFC 9112 2.2 lets a server ignore).
    bool hasPartialHead() const { return m_status == Status::NeedMore && m_buffer.size() > m_headStart; }
    const RequestHead &request() const { return m_request; }
    const ResponseHead &response() const { return m_response; }
    RequestHead takeRequest() { return std::move(m_request); }
    ResponseHead takeResponse() { return std::move(m_response); }
    const HeadError &error() const { return m_error; }

private:
    Result fail(HeadErrorCode code, QString message);
    bool findHeadEnd(qsizetype &headEnd);
    bool parseHead();
    bool parseRequestLine(QByteArrayView line);
    bool parseStatusLine(QByteArrayView line);
    bool parseVersion(QByteArrayView text, Version &out);
    bool parseField(QByteArrayView line, Headers &headers);

    Kind m_kind;
    HeadLimits m_limits;
    Status m_status = Status::NeedMore;
    QByteArray m_buffer;
    qsizetype m_headStart = 0; // where the head starts in m_buffer (after ignored empty lines)
    qsizetype m_lineStart = 0; // start of the line being scanned in m_buffer
    qsizetype m_scanned = 0; // bytes of m_buffer already scanned for line ends
    RequestHead m_request;
    ResponseHead m_response;
    HeadError m_error;
};

} // namespace socktap::http
