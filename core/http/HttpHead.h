// HTTP/1.1 message heads as received: start line, header fields in order (duplicates kept) and the raw
// bytes for display. Plain data; parsing lives in HeadParser, serialising in HeadWriter.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>

#include <vector>

namespace socktap::http {

struct HeaderField
{
    QByteArray name; // as received (case kept for display and relaying)
    QByteArray value; // without leading and trailing whitespace (RFC 9112 5.1)
};

// Header fields in wire order. Lookups are case-insensitive (RFC 9110 5.1).
class Headers
{
public:
    const std::vector<HeaderField> &fields() const { return m_fields; }
    bool isEmpty() const { return m_fields.empty(); }
    qsizetype size() const { return qsizetype(m_fields.size()); }

    bool contains(QByteArrayView name) const;
    // The first value for name, or an empty array.
    QByteArray value(QByteArrayView name) const;
    QList<QByteArray> values(QByteArrayView name) const;
    // All values for name joined with ", " (RFC 9110 5.3), for list-valued fields.
    QByteArray combined(QByteArrayView name) const;
    // Whether the comma-separated list in all name fields holds token (case-insensitive), as for
    // "Connection: keep-alive, Upgrade" (RFC 9110 7.6.1).
    bool hasToken(QByteArrayView name, QByteArrayView token) const;

    void append(QByteArray name, QByteArray value);
    // Replaces every name field with one (kept at the first one's position, or appended).
    void set(QByteArrayView name, QByteArray value);
    // Removes every name field; returns how many were removed.
    int remove(QByteArrayView name);

private:
    std::vector<HeaderField> m_fields;
};

struct Version
{
    int major = 1;
    int minor = 1;
    friend bool operator==(const Version &, const Version &) = default;
};

struct RequestHead
{
    QByteArray method;
    QByteArray target; // request-target exactly as received; see RequestTarget
    Version version;
    Headers headers;
    QByteArray raw; // the bytes of the head as received, up to and including the empty line
};

struct ResponseHead
{
    Version version;
    int status = 0;
    QByteArray reason;
    Headers headers;
    QByteArray raw;
};

// RFC 9112 9.3: whether the connection persists after a message with these fields: HTTP/1.1 unless
// "Connection: close", HTTP/1.0 only with "Connection: keep-alive".
bool persists(const Headers &headers, Version version);

// Splits a comma-separated list field value into trimmed, non-empty elements (RFC 9110 5.6.1).
QList<QByteArrayView> splitList(QByteArrayView value);

// RFC 9110 5.6.2: tchar.
bool isTokenChar(char c);
bool isToken(QByteArrayView text);

} // namespace socktap::http
