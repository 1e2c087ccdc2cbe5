// JSON helpers the decoders share: parsing a payload (or part of one) into a value, and the short forms
// summaries use.
#pragma once

#include "Decoded.h"

#include <QJsonObject>
#include <QJsonValue>
#include <QString>
#include <QStringList>

#include <optional>

namespace socktap::decode {

// The JSON value of the text, or nullopt with `error` saying where it failed (RFC 8259).
std::optional<QJsonValue> parseJson(QByteArrayView text, QString *error = nullptr);
// A value as a short summary word: strings quoted, numbers as written, containers as [N]/{N}.
QString brief(const QJsonValue &value, int maxChars = 40);
// "$.args[0].price" as its steps: object keys, and array indexes written "[N]"; nullopt when it is no path.
std::optional<QStringList> parseJsonPath(const QString &path);
// The value at a path (undefined when absent), and a copy of `root` with the value at `path` replaced (or
// added, for an object key); nullopt when the path runs through something that is not a container.
QJsonValue valueAt(const QJsonValue &root, const QStringList &path);
std::optional<QJsonValue> withValueAt(const QJsonValue &root, const QStringList &path,
                                      const QJsonValue &value);
// "1 arg", "2 args".
QString countOf(qsizetype n, const char *noun);
// The value of `key` in an object as a string (numbers written without a fraction when whole).
QString textOf(const QJsonValue &value);

// The "decoded" object of a message in --json and the native format: {"format", "summary", "value"},
// "chatter" when it is, "pair" (the other message's index) when known, "error" when the session's format
// did not explain the message; "pairMicros" the time from the request to its answer.
QJsonObject decodedToJson(const Decoded &decoded, std::optional<quint64> pair, qint64 pairMicros = 0);

} // namespace socktap::decode
