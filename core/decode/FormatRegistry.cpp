#include "FormatRegistry.h"

#include "JsonFormats.h"
#include "Mqtt.h"
#include "MsgPack.h"
#include "Protobuf.h"
#include "SignalR.h"
#include "SocketIo.h"
#include "Stomp.h"
#include "Wamp.h"

#include <atomic>
#include <mutex>

namespace socktap::decode {

const FormatRegistry &FormatRegistry::builtin()
{
    static const FormatRegistry registry = [] {
        FormatRegistry r;
        // Order matters for content detection: the more specific first, plain JSON never detected.
        r.add(std::make_shared<SocketIoDecoder>(), {}, QStringLiteral(R"(/socket\.io/.*[?&]EIO=\d)"));
        r.add(std::make_shared<SignalRDecoder>());
        r.add(std::make_shared<MqttDecoder>(), {"mqtt", "mqttv3.1"});
        r.add(std::make_shared<StompDecoder>(true), {}, QStringLiteral(R"(/\d{3}/[^/]+/websocket(\?|$))"));
        r.add(std::make_shared<StompDecoder>(false), {"stomp", "v10.stomp", "v11.stomp", "v12.stomp"});
        r.add(std::make_shared<GraphqlDecoder>(GraphqlDecoder::Protocol::TransportWs),
              {"graphql-transport-ws"});
        // The legacy protocol's subprotocol is "graphql-ws", the name of the current protocol's library.
        r.add(std::make_shared<GraphqlDecoder>(GraphqlDecoder::Protocol::LegacyWs), {"graphql-ws"});
        r.add(std::make_shared<PhoenixDecoder>(), {}, QStringLiteral(R"(/websocket\?(.*&)?vsn=\d)"));
        r.add(std::make_shared<ActionCableDecoder>(), {"actioncable-v1-json", "actioncable-unsupported"},
              QStringLiteral(R"(^/cable(\?|$))"));
        r.add(std::make_shared<WampDecoder>(), {"wamp.2.json", "wamp.2.msgpack", "wamp.2.cbor"});
        r.add(std::make_shared<JsonRpcDecoder>(), {"jsonrpc", "json-rpc", "jsonrpc2.0"});
        r.add(std::make_shared<MsgPackDecoder>(), {"msgpack", "messagepack"});
        r.add(std::make_shared<CborDecoder>(), {"cbor"});
        r.add(std::make_shared<ProtobufDecoder>(), {"protobuf", "proto"});
        r.add(std::make_shared<JsonDecoder>(), {"json"});
        return r;
    }();
    return registry;
}

namespace {

std::atomic<const FormatRegistry *> installed {nullptr};

} // namespace

const FormatRegistry &FormatRegistry::current()
{
    const FormatRegistry *r = installed.load(std::memory_order_acquire);
    return r ? *r : builtin();
}

namespace {

struct Layers
{
    std::mutex lock;
    std::shared_ptr<const FormatRegistry> base; // setCurrent's
    std::vector<FormatRegistry::Extra> scripts;
    std::vector<std::shared_ptr<const FormatRegistry>> kept; // every registry installed, until exit
};

Layers &layers()
{
    static Layers l;
    return l;
}

// The scripts' formats in front of the base (locked by the caller).
void install(Layers &l)
{
    std::shared_ptr<const FormatRegistry> registry = l.base;
    if (!l.scripts.empty()) {
        auto combined = std::make_shared<FormatRegistry>();
        for (const FormatRegistry::Extra &e : l.scripts)
            combined->add(e.decoder, e.subprotocols, e.urlPattern);
        const FormatRegistry &base = l.base ? *l.base : FormatRegistry::builtin();
        combined->append(base);
        registry = std::move(combined);
    }
    installed.store(registry.get(), std::memory_order_release);
    if (registry)
        l.kept.push_back(std::move(registry));
}

} // namespace

void FormatRegistry::setCurrent(std::shared_ptr<const FormatRegistry> registry)
{
    Layers &l = layers();
    const std::lock_guard<std::mutex> guard(l.lock);
    l.base = std::move(registry);
    install(l);
}

void FormatRegistry::setScriptFormats(std::vector<Extra> formats)
{
    Layers &l = layers();
    const std::lock_guard<std::mutex> guard(l.lock);
    l.scripts = std::move(formats);
    install(l);
}

bool FormatRegistry::customised()
{
    Layers &l = layers();
    const std::lock_guard<std::mutex> guard(l.lock);
    return l.base != nullptr;
}

void FormatRegistry::append(const FormatRegistry &other)
{
    for (const Entry &e : other.m_entries)
        if (!find(e.decoder->name()))
            m_entries.push_back(e); // a script's format of a built-in's name wins
}

void FormatRegistry::replace(std::shared_ptr<const Decoder> decoder, const QString &urlPattern)
{
    const QString name = decoder->name();
    QStringList subprotocols;
    for (auto it = m_entries.begin(); it != m_entries.end(); ++it) {
        if (it->decoder->name() != name)
            continue;
        subprotocols = it->subprotocols;
        m_entries.erase(it);
        break;
    }
    Entry e {std::move(decoder), subprotocols, {}};
    if (urlPattern.isEmpty()) {
        m_entries.push_back(std::move(e));
        return;
    }
    // First, so that its pattern is tried before the built-in formats' own URLs.
    e.url = QRegularExpression(urlPattern);
    m_entries.insert(m_entries.begin(), std::move(e));
}

void FormatRegistry::add(std::shared_ptr<const Decoder> decoder, const QStringList &subprotocols,
                         const QString &urlPattern)
{
    Entry e {std::move(decoder), subprotocols, {}};
    if (!urlPattern.isEmpty())
        e.url = QRegularExpression(urlPattern);
    m_entries.push_back(std::move(e));
}

const Decoder *FormatRegistry::find(const QString &name) const
{
    for (const Entry &e : m_entries)
        if (e.decoder->name() == name)
            return e.decoder.get();
    // "stomp" also names the SockJS-wrapped variant's output; the user picks either by its own name.
    return nullptr;
}

QStringList FormatRegistry::names() const
{
    QStringList out;
    for (const Entry &e : m_entries)
        out << e.decoder->name();
    return out;
}

QStringList FormatRegistry::formatNames() const
{
    QStringList out;
    for (const Entry &e : m_entries)
        out << e.decoder->formats();
    out.removeDuplicates();
    return out;
}

const Decoder *FormatRegistry::fromHandshake(const SessionHints &hints) const
{
    if (!hints.subprotocol.isEmpty()) {
        const QString sub = QString::fromLatin1(hints.subprotocol).trimmed();
        for (const Entry &e : m_entries)
            if (e.subprotocols.contains(sub, Qt::CaseInsensitive))
                return e.decoder.get();
    }
    const QString path = QString::fromUtf8(hints.path);
    for (const Entry &e : m_entries)
        if (e.url.isValid() && !e.url.pattern().isEmpty() && e.url.match(path).hasMatch())
            return e.decoder.get();
    return nullptr;
}

const Decoder *FormatRegistry::fromContent(const Message &message) const
{
    for (const Entry &e : m_entries)
        if (e.decoder->recognises(message))
            return e.decoder.get();
    return nullptr;
}

} // namespace socktap::decode
