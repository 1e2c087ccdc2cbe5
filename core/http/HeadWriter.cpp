#include "HeadWriter.h"

#include <QString>

namespace socktap::http {

namespace {

void appendVersion(QByteArray &out, Version v)
{
    out += "HTTP/";
    out += char('0' + v.major);
    out += '.';
    out += char('0' + v.minor);
}

void appendFields(QByteArray &out, const Headers &headers)
{
    for (const HeaderField &f : headers.fields()) {
        out += f.name;
        out += ": ";
        out += f.value;
        out += "\r\n";
    }
    out += "\r\n";
}

} // namespace

QByteArray serialize(const RequestHead &head)
{
    QByteArray out;
    out.reserve(256 + head.raw.size());
    out += head.method;
    out += ' ';
    out += head.target;
    out += ' ';
    appendVersion(out, head.version);
    out += "\r\n";
    appendFields(out, head.headers);
    return out;
}

QByteArray serialize(const ResponseHead &head)
{
    QByteArray out;
    out.reserve(256 + head.raw.size());
    appendVersion(out, head.version);
    out += ' ';
    out += QByteArray::number(head.status);
    out += ' ';
    out += head.reason;
    out += "\r\n";
    appendFields(out, head.headers);
    return out;
}

QList<QByteArray> removeHopByHop(Headers &headers, bool keepUpgrade)
{
    QList<QByteArray> named;
    for (const QByteArray &value : headers.values("Connection")) {
        for (QByteArrayView token : splitList(value)) {
            if (keepUpgrade && token.compare("upgrade", Qt::CaseInsensitive) == 0)
                continue;
            named.append(token.toByteArray());
        }
    }
    named += {"Proxy-Connection", "Proxy-Authorization", "Proxy-Authenticate", "Keep-Alive"};
    if (!keepUpgrade)
        named += {"Connection", "Upgrade"};
    QList<QByteArray> removed;
    for (const QByteArray &name : named) {
        if (headers.remove(name) > 0)
            removed.append(name);
    }
    return removed;
}

QByteArray reasonPhrase(int status)
{
    switch (status) {
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 407:
        return "Proxy Authentication Required";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 426:
        return "Upgrade Required";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    case 508:
        return "Loop Detected"; // RFC 5842 7.2
    default:
        return "Status " + QByteArray::number(status);
    }
}

ErrorAnswer errorAnswer(int status, const QString &message, const Headers &extra)
{
    ErrorAnswer a;
    a.body = message.toUtf8() + '\n';
    a.head.status = status;
    a.head.reason = reasonPhrase(status);
    a.head.headers.append("Content-Type", "text/plain; charset=utf-8");
    a.head.headers.append("Content-Length", QByteArray::number(a.body.size()));
    a.head.headers.append("Connection", "close");
    a.head.headers.append("X-Socktap-Error", "1");
    for (const HeaderField &f : extra.fields())
        a.head.headers.append(f.name, f.value);
    a.head.raw = serialize(a.head);
    return a;
}

} // namespace socktap::http
