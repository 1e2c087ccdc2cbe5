// What a message means in its application protocol: the result of a decoder (core/decode). Plain data,
// no Qt Widgets; rendered by the console (--json's "decoded" object, the text line's summary) and the
// window (Summary column, Decoded tab).
#pragma once

#include <QByteArrayView>
#include <QJsonValue>
#include <QString>

namespace socktap::decode {

// One WebSocket message as a decoder sees it: its payload as delivered (after permessage-deflate), whether
// it was binary, and which way it went. Decoders never see frames or sockets.
struct Message
{
    QByteArrayView payload;
    bool binary = false;
    bool fromServer = false;
};

// How a message takes part in a request and its answer (RFC-less: each format says which is which).
enum class PairRole : quint8 {
    None,
    Request, // opens an exchange: a JSON-RPC call, a Socket.IO emit with an ack id, a GraphQL subscribe
    Update, // answers without ending it: a GraphQL next, a SignalR stream item
    Reply, // ends it: a JSON-RPC result, a Socket.IO ack, a GraphQL complete, a STOMP RECEIPT
};

struct Decoded
{
    QString format; // "socket.io", "json-rpc", ...; empty when nothing decoded it
    QString summary; // one line: `emit "chat" [2 args]`, `SUBSCRIBE /topic/prices`
    QJsonValue value; // the decoded content
    QString pairKey; // a Request and its Updates and Reply share it (the other direction answers)
    PairRole role = PairRole::None;
    bool chatter = false; // heartbeats and protocol housekeeping: hidden on request, always counted
    QString error; // why the message is not in the session's format (then format is a fallback or empty)
    // Socket.IO's binary packets: the next `attachments` binary messages the same way are its
    // attachments, and `attachment` marks one of them (1-based). SessionDecoder joins them.
    int attachments = 0;
    int attachment = 0;

    bool decoded() const { return !format.isEmpty(); }
};

} // namespace socktap::decode
