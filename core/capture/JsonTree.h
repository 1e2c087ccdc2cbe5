// JSON as it arrived (RFC 8259), for the inspectors: objects keep their keys in wire order (QJsonObject
// sorts them) and numbers keep their text (a 64-bit id is not rounded through a double). Sans-I/O:
// bytes in, a tree out; nesting is bounded so a hostile message cannot exhaust the stack (the caller
// bounds the size: the inspector parses at most what it shows, 4 MiB).
#pragma once

#include <QByteArrayView>
#include <QString>

#include <optional>
#include <vector>

namespace socktap::capture {

struct JsonNode
{
    enum class Type { Object, Array, String, Number, Bool, Null };
    Type type = Type::Null;
    QString key; // inside an object: the member's name; inside an array: empty
    QString value; // String: decoded text; Number: as written; Bool: true/false; Null: null
    std::vector<JsonNode> children; // Object members in wire order, Array elements

    static const char *typeName(Type type);
};

// nullopt for anything that is not one complete JSON text (or nests deeper than maxDepth).
std::optional<JsonNode> parseJsonTree(QByteArrayView text, int maxDepth = 512);
// Indented (2 spaces), keys in their order, numbers as written, strings re-escaped minimally.
QString prettyJson(const JsonNode &root);

} // namespace socktap::capture
