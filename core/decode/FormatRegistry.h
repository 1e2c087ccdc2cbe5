// The formats Socktap knows, like Wireshark's WebSocket subdissector table: each registered under the
// subprotocols and URL patterns that name it, with content detection after those. Scripts will register
// theirs here too.
#pragma once

#include "Decoder.h"

#include <QRegularExpression>

#include <memory>
#include <vector>

namespace socktap::decode {

class FormatRegistry
{
public:
    // Every built-in format.
    static const FormatRegistry &builtin();

    // `subprotocols`: Sec-WebSocket-Protocol values that name the format (compared case-insensitively);
    // `urlPattern`: a regular expression over the request's path and query, empty for none.
    void add(std::shared_ptr<const Decoder> decoder, const QStringList &subprotocols = {},
             const QString &urlPattern = {});

    const Decoder *find(const QString &name) const;
    QStringList names() const;
    // Every format name a decoded message can carry (names() and "engine.io"): what rules can match.
    QStringList formatNames() const;
    // What the handshake names: the subprotocol first, then the URL; null when neither does.
    const Decoder *fromHandshake(const SessionHints &hints) const;
    // The first format, in registration order, that recognises this message; null for none.
    const Decoder *fromContent(const Message &message) const;

private:
    struct Entry
    {
        std::shared_ptr<const Decoder> decoder;
        QStringList subprotocols;
        QRegularExpression url;
    };
    std::vector<Entry> m_entries;
};

} // namespace socktap::decode
