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
    // The formats in use: builtin() unless the program installed its own (a .proto schema, scripts'
    // formats). Everything that decodes (console, window, rules, replay) asks this one.
    static const FormatRegistry &current();
    // Installs the formats in use from now on. Registries are immutable once installed and are kept
    // until exit (a few per run at most), so a reference current() gave stays valid on any thread. Null:
    // builtin() again.
    static void setCurrent(std::shared_ptr<const FormatRegistry> registry);
    // Formats registered by scripts (registerFormat), in front of the ones setCurrent() installed: chosen
    // first by subprotocol, URL and content. Replaced whole whenever the scripts change.
    struct Extra
    {
        std::shared_ptr<const Decoder> decoder;
        QStringList subprotocols;
        QString urlPattern;
    };
    static void setScriptFormats(std::vector<Extra> formats);
    // Whether setCurrent() installed formats of the program's own (a .proto schema).
    static bool customised();

    // `subprotocols`: Sec-WebSocket-Protocol values that name the format (compared case-insensitively);
    // `urlPattern`: a regular expression over the request's path and query, empty for none.
    void add(std::shared_ptr<const Decoder> decoder, const QStringList &subprotocols = {},
             const QString &urlPattern = {});

    // Puts `decoder` in place of the format of the same name (keeping its subprotocols), or adds it. With
    // a URL pattern, the format is chosen first for the sessions whose path and query match it.
    void replace(std::shared_ptr<const Decoder> decoder, const QString &urlPattern = {});

    // Adds other's formats after these (those whose name is taken are left out).
    void append(const FormatRegistry &other);

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
