// Where each run keeps its capture, and what is left of runs that ended: <cache>/captures/capture-DATE-PID/
// holds the crash journal (BatchJournal) and the payload spill of one Socktap. A run that stops as asked
// says how in a file named "ended"; a run that was killed or crashed leaves none. The next start finds
// such captures, offers them back (the window) or says where they are (headless); `socktap recover`
// lists them. Nothing is removed while it may still be wanted: the newest few are kept, within the disk
// budget, and whatever is removed is said.
#pragma once

#include "BatchJournal.h"

#include <QDateTime>
#include <QString>
#include <QStringList>

#include <vector>

namespace socktap::capture {

struct CaptureDirectory
{
    QString path;
    QString journal; // the journal's path (may not exist: a run without a journal)
    qint64 pid = 0;
    QDateTime started;
    QString ending; // the "ended" file's text; empty when the run did not stop cleanly
    bool running = false; // its Socktap is still running
    JournalSummary summary;

    // Killed, crashed, or quit by a signal with its capture kept for recovery: offered back at start
    // until reported once.
    bool endedAbnormally() const;
    bool reported() const;
    QString howItEnded() const; // for people
};

namespace ending {
inline constexpr char Stopped[] = "stopped"; // headless, Ctrl+C or SIGTERM: kept, listed, not offered
QString signal(int number); // the window quit by a signal: kept and offered
} // namespace ending

// The captures directory in the user's cache.
QString capturesRoot();
// A fresh directory for this run (0700), or empty with *error set.
QString createCaptureDirectory(const QString &root, QString *error);
// Every capture of runs that have ended (and, with includeRunning, of running ones), newest first.
std::vector<CaptureDirectory> listCaptureDirectories(const QString &root, bool includeRunning = false);
// Says how the run ended ("stopped", "signal 15"), or that its abnormal end was reported.
void markEnded(const QString &directory, const QString &how);
void markReported(const QString &directory);
// Tidies the captures of runs that have ended: payload spills (readable only by their run) and captures
// without a message or session go; of the rest the newest `keep` stay while they fit in maxBytes.
// Returns a line per capture removed that held something, for saying so.
QStringList pruneCaptureDirectories(const QString &root, int keep, quint64 maxBytes);

} // namespace socktap::capture
