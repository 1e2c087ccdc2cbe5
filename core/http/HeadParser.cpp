#include "HeadParser.h"

#include <algorithm>
#include <cctype>

namespace socktap::http {

namespace {

int statusFor(HeadErrorCode code, HeadParser::Kind kind)
{
    // A bad response head is the upstream's fault: the proxy answers its client 502 (RFC 9110 15.6.3).
    if (kind == HeadParser::Kind::Response)
        return 502;
    switch (code) {
    case HeadErrorCode::None:
        return 0;
    case HeadErrorCode::HeadTooLarge:
    case HeadErrorCode::TooManyHeaders:
        return 431; // RFC 6585 5
    case HeadErrorCode::StartLineTooLong:
        return 414; // RFC 9110 15.5.15
    case HeadErrorCode::UnsupportedVersion:
        return 505; // RFC 9110 15.6.6
    case HeadErrorCode::InvalidStatus:
        return 502;
    default:
        return 400;
    }
}

bool isFieldValueChar(uchar c)
{
    // RFC 9110 5.5: field-vchar = VCHAR / obs-text, plus SP and HTAB inside the value.
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

bool isWhitespace(char c)
{
    return c == ' ' || c == '\t';
}

QByteArrayView trimmedOws(QByteArrayView v)
{
    while (!v.isEmpty() && isWhitespace(v.front()))
        v = v.sliced(1);
    while (!v.isEmpty() && isWhitespace(v.back()))
        v.chop(1);
    return v;
}

QString printable(QByteArrayView text, qsizetype max = 60)
{
    QString out;
    for (qsizetype i = 0; i < text.size() && i < max; ++i) {
        const uchar c = uchar(text[i]);
        if (c >= 0x20 && c < 0x7f)
            out += QChar(c);
        else
            out += QStringLiteral("\\x%1").arg(c, 2, 16, QChar('0'));
    }
    if (text.size() > max)
        out += QStringLiteral("...");
    return out;
}

} // namespace

HeadParser::HeadParser(Kind kind, HeadLimits limits)
    : m_kind(kind)
    , m_limits(limits)
{ }

void HeadParser::reset()
{
    *this = HeadParser(m_kind, m_limits);
}

HeadParser::Result HeadParser::fail(HeadErrorCode code, QString message)
{
    m_status = Status::Error;
    m_error = {code, statusFor(code, m_kind), std::move(message)};
    return {Status::Error, 0};
}

HeadParser::Result HeadParser::feed(QByteArrayView data)
{
    if (m_status != Status::NeedMore)
        return {m_status, 0};
    const qsizetype before = m_buffer.size();
    // Never hold more than the limit allows, whatever the chunk size.
    const qsizetype room = m_limits.maxHeadSize + 4 + m_headStart - before;
    const qsizetype taken = std::clamp<qsizetype>(room, 0, data.size());
    m_buffer.append(data.first(taken));

    qsizetype headEnd = 0;
    if (!findHeadEnd(headEnd)) {
        if (m_status == Status::Error)
            return {Status::Error, 0};
        if (m_buffer.size() - m_headStart > m_limits.maxHeadSize)
            return fail(HeadErrorCode::HeadTooLarge,
                        QStringLiteral("%1 head exceeds the limit of %2 bytes")
                            .arg(m_kind == Kind::Request ? "request" : "response")
                            .arg(m_limits.maxHeadSize));
        return {Status::NeedMore, taken};
    }
    if (headEnd - m_headStart > m_limits.maxHeadSize)
        return fail(HeadErrorCode::HeadTooLarge,
                    QStringLiteral("%1 head of %2 bytes exceeds the limit of %3 bytes")
                        .arg(m_kind == Kind::Request ? "request" : "response")
                        .arg(headEnd - m_headStart)
                        .arg(m_limits.maxHeadSize));
    m_buffer.truncate(headEnd);
    if (!parseHead())
        return {Status::Error, 0};
    m_status = Status::Complete;
    return {Status::Complete, headEnd - before};
}

bool HeadParser::findHeadEnd(qsizetype &headEnd)
{
    qsizetype nl;
    while ((nl = m_buffer.indexOf('\n', m_scanned)) >= 0) {
        m_scanned = nl + 1;
        const qsizetype lineLength = nl - m_lineStart;
        const bool hasCr = lineLength > 0 && m_buffer[nl - 1] == '\r';
        if (lineLength - hasCr > 0) {
            m_lineStart = nl + 1;
            continue;
        }
        if (m_lineStart == m_headStart) {
            // RFC 9112 2.2: ignore empty lines received before the start line.
            m_headStart = m_lineStart = nl + 1;
            continue;
        }
        headEnd = nl + 1;
        return true;
    }
    m_scanned = m_buffer.size();
    if (m_lineStart == m_headStart && m_buffer.size() - m_headStart > m_limits.maxStartLineSize) {
        fail(m_kind == Kind::Request ? HeadErrorCode::StartLineTooLong : HeadErrorCode::MalformedStartLine,
             QStringLiteral("start line exceeds the limit of %1 bytes").arg(m_limits.maxStartLineSize));
    }
    return false;
}

bool HeadParser::parseHead()
{
    const QByteArrayView head = QByteArrayView(m_buffer).sliced(m_headStart);
    Headers headers;
    qsizetype pos = 0;
    int lineNumber = 0;
    while (pos < head.size()) {
        const qsizetype nl = head.indexOf('\n', pos);
        QByteArrayView line = head.sliced(pos, nl - pos);
        pos = nl + 1;
        ++lineNumber;
        if (line.endsWith('\r')) {
            line.chop(1);
        } else if (m_limits.bareLf == BareLfPolicy::Reject) {
            fail(HeadErrorCode::BareLf,
                 QStringLiteral("line %1 ends in a bare LF, not CRLF (RFC 9112 2.2)").arg(lineNumber));
            return false;
        }
        if (line.contains('\r')) {
            fail(HeadErrorCode::BareCr,
                 QStringLiteral("line %1 contains a bare CR (RFC 9112 2.2)").arg(lineNumber));
            return false;
        }
        if (lineNumber == 1) {
            if (line.size() > m_limits.maxStartLineSize) {
                fail(m_kind == Kind::Request ? HeadErrorCode::StartLineTooLong
                                             : HeadErrorCode::MalformedStartLine,
                     QStringLiteral("start line exceeds the limit of %1 bytes")
                         .arg(m_limits.maxStartLineSize));
                return false;
            }
            const bool ok = m_kind == Kind::Request ? parseRequestLine(line) : parseStatusLine(line);
            if (!ok)
                return false;
            continue;
        }
        if (line.isEmpty())
            break; // the empty line ending the head
        if (headers.size() >= m_limits.maxHeaderCount) {
            fail(HeadErrorCode::TooManyHeaders,
                 QStringLiteral("more than %1 header fields").arg(m_limits.maxHeaderCount));
            return false;
        }
        if (!parseField(line, headers))
            return false;
    }
    const QByteArray raw = head.toByteArray();
    if (m_kind == Kind::Request) {
        m_request.headers = std::move(headers);
        m_request.raw = raw;
    } else {
        m_response.headers = std::move(headers);
        m_response.raw = raw;
    }
    return true;
}

bool HeadParser::parseVersion(QByteArrayView text, Version &out)
{
    // RFC 9112 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT
    if (text.size() != 8 || !text.startsWith("HTTP/") || text[6] != '.' || !std::isdigit(uchar(text[5]))
        || !std::isdigit(uchar(text[7]))) {
        fail(HeadErrorCode::MalformedStartLine,
             QStringLiteral("malformed HTTP version '%1'").arg(printable(text)));
        return false;
    }
    out = {text[5] - '0', text[7] - '0'};
    if (out.major != 1) {
        fail(HeadErrorCode::UnsupportedVersion,
             QStringLiteral("HTTP version %1.%2 is not supported here, only HTTP/1.x")
                 .arg(out.major)
                 .arg(out.minor));
        return false;
    }
    return true;
}

bool HeadParser::parseRequestLine(QByteArrayView line)
{
    // RFC 9112 3: request-line = method SP request-target SP HTTP-version
    const qsizetype sp1 = line.indexOf(' ');
    const qsizetype sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
    if (sp1 <= 0 || sp2 < 0 || line.indexOf(' ', sp2 + 1) >= 0) {
        fail(HeadErrorCode::MalformedStartLine,
             QStringLiteral("malformed request line '%1': expected METHOD SP TARGET SP VERSION")
                 .arg(printable(line)));
        return false;
    }
    const QByteArrayView method = line.first(sp1);
    const QByteArrayView target = line.sliced(sp1 + 1, sp2 - sp1 - 1);
    if (!isToken(method)) {
        fail(HeadErrorCode::InvalidMethod, QStringLiteral("invalid method '%1'").arg(printable(method)));
        return false;
    }
    const bool targetOk = !target.isEmpty() && std::all_of(target.begin(), target.end(), [](char c) {
        return uchar(c) > 0x20 && uchar(c) != 0x7f;
    });
    if (!targetOk) {
        fail(HeadErrorCode::InvalidTarget,
             QStringLiteral("invalid request target '%1'").arg(printable(target)));
        return false;
    }
    if (!parseVersion(line.sliced(sp2 + 1), m_request.version))
        return false;
    m_request.method = method.toByteArray();
    m_request.target = target.toByteArray();
    return true;
}

bool HeadParser::parseStatusLine(QByteArrayView line)
{
    // RFC 9112 4: status-line = HTTP-version SP status-code SP [ reason-phrase ]. Some servers omit the
    // second SP when the reason is empty; accept that.
    const qsizetype sp1 = line.indexOf(' ');
    if (sp1 < 0) {
        fail(HeadErrorCode::MalformedStartLine,
             QStringLiteral("malformed status line '%1'").arg(printable(line)));
        return false;
    }
    if (!parseVersion(line.first(sp1), m_response.version))
        return false;
    const QByteArrayView rest = line.sliced(sp1 + 1);
    const QByteArrayView code = rest.first(std::min<qsizetype>(3, rest.size()));
    const bool codeOk = code.size() == 3
        && std::all_of(code.begin(), code.end(), [](char c) { return std::isdigit(uchar(c)); })
        && (rest.size() == 3 || rest[3] == ' ');
    if (!codeOk || code[0] < '1' || code[0] > '5') {
        fail(HeadErrorCode::InvalidStatus,
             QStringLiteral("invalid status code in '%1'").arg(printable(line)));
        return false;
    }
    const QByteArrayView reason = rest.size() > 4 ? rest.sliced(4) : QByteArrayView();
    if (!std::all_of(reason.begin(), reason.end(), [](char c) { return isFieldValueChar(uchar(c)); })) {
        fail(HeadErrorCode::MalformedStartLine, QStringLiteral("control character in reason phrase"));
        return false;
    }
    m_response.status = code.toInt();
    m_response.reason = reason.toByteArray();
    return true;
}

bool HeadParser::parseField(QByteArrayView line, Headers &headers)
{
    if (isWhitespace(line.front())) {
        fail(HeadErrorCode::ObsoleteLineFolding,
             QStringLiteral(
                 "header line '%1' starts with whitespace: obsolete line folding is rejected (RFC 9112 5.2)")
                 .arg(printable(line)));
        return false;
    }
    const qsizetype colon = line.indexOf(':');
    if (colon < 0) {
        fail(HeadErrorCode::InvalidHeaderName,
             QStringLiteral("header line '%1' has no colon").arg(printable(line)));
        return false;
    }
    const QByteArrayView name = line.first(colon);
    if (!name.isEmpty() && isWhitespace(name.back())) {
        fail(HeadErrorCode::WhitespaceBeforeColon,
             QStringLiteral("whitespace between header name '%1' and colon (RFC 9112 5.1)")
                 .arg(printable(trimmedOws(name))));
        return false;
    }
    if (!isToken(name)) {
        fail(HeadErrorCode::InvalidHeaderName,
             QStringLiteral("invalid header name '%1'").arg(printable(name)));
        return false;
    }
    const QByteArrayView value = trimmedOws(line.sliced(colon + 1));
    const auto bad =
        std::find_if(value.begin(), value.end(), [](char c) { return !isFieldValueChar(uchar(c)); });
    if (bad != value.end()) {
        fail(HeadErrorCode::InvalidHeaderValue,
             QStringLiteral("header '%1' has control character 0x%2 in its value")
                 .arg(printable(name))
                 .arg(uchar(*bad), 2, 16, QChar('0')));
        return false;
    }
    headers.append(name.toByteArray(), value.toByteArray());
    return true;
}

} // namespace socktap::http
