// Opening and saving native capture files (docs/capture-format.md). Opening streams the file into a store
// batch by batch (the first rows show while the rest loads) and leaves the file attached, so payloads
// past the memory budget are read back from it; saving copies the selected sessions' lines in order,
// which makes open-then-save byte-identical.
#pragma once

#include "CaptureStore.h"

#include <QIODevice>
#include <QStringList>

#include <functional>

namespace socktap::capture {

// Called now and then with bytes done and the total; returning false cancels.
using Progress = std::function<bool(quint64 done, quint64 total)>;

enum class CaptureFileKind { Native, Har, Journal, Unknown };
// What a file holds, from its first bytes.
CaptureFileKind sniffCaptureFile(const QString &path);

struct OpenResult
{
    quint64 sessions = 0;
    quint64 messages = 0;
    QStringList warnings; // e.g. a truncated last line
    std::vector<SessionId> sessionIds; // in the store
};

struct OpenOptions
{
    bool keepIds = false; // keep the file's session ids (only into a store nothing else writes to)
    QString engine; // set as each session's engine (a remote Socktap's capture, streamed)
    Progress progress;
};

// Reads path into store. On failure returns nothing with error "PATH: line N: field 'x': ...";
// sessions read before the failure stay in the store.
std::optional<OpenResult> openNative(const QString &path, CaptureStore &store, QString *error,
                                     const OpenOptions &options = {});

// Opens a native capture, a crash journal or a HAR file (Chrome, mitmproxy, HTTP Toolkit, Socktap),
// whichever path holds.
// Errors name the file and the line or entry.
std::optional<OpenResult> openCapture(const QString &path, CaptureStore &store, QString *error,
                                      const OpenOptions &options = {});

// Writes a file complete or not at all (QSaveFile: a failed or cancelled write leaves no half file and
// keeps an older one): write fills the device, or returns false with *error set.
bool writeWholeFile(const QString &path, QString *error,
                    const std::function<bool(QIODevice &out, QString *error)> &write);

// Writes the sessions (all when empty) to path: to a temporary name first, renamed when complete.
// What a save could not write whole: records evicted or unreadable while it ran (skipped), and messages
// whose payload was already gone (written with no payload and flagged truncated).
struct SaveReport
{
    quint64 records = 0;
    quint64 skipped = 0;
    quint64 payloadsMissing = 0;
};
bool saveNative(const CaptureStore &store, const std::vector<SessionId> &sessions, const QString &path,
                QString *error, const Progress &progress = {}, SaveReport *report = nullptr);

} // namespace socktap::capture
