// A look at a TLS ClientHello before answering it, sans I/O: whether the client named a server (SNI).
// A client that sends no name (it dialled an IP address) gets a leaf with the names of the upstream
// server's own certificate, which Socktap must fetch before it answers, so it must know first.
#pragma once

#include <QByteArray>
#include <QByteArrayView>

namespace socktap::proxy {

struct ClientHelloPeek
{
    enum class Status {
        NeedMore, // the first record is not complete yet
        Hello, // a ClientHello; serverName is its SNI host name, empty when it sent none
        Unknown, // not a ClientHello in one record (or malformed): OpenSSL will have its say
    };
    Status status = Status::Unknown;
    QByteArray serverName;
};

// bytes: what the client sent so far, starting at a TLS record.
ClientHelloPeek peekClientHello(QByteArrayView bytes);

} // namespace socktap::proxy
