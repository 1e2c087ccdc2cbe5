// Where this run's capture lives on disk. By default a directory in the cache holds the crash journal
// (every batch within 100 ms) and the payload spill; --record FILE journals to the user's file instead;
// --memory-only keeps nothing on disk. At the end the directory is removed, or kept for `socktap recover`
// (headless stop, a signal to the window), as the run decides.
#pragma once

#include "CommandLine.h"

#include "core/capture/CaptureStore.h"
#include "core/capture/Recovery.h"

#include <memory>

namespace socktap::app {

class CaptureHome
{
public:
    // How many captures of earlier runs are kept at most (within --max-capture-disk).
    static constexpr int KeptCaptures = 5;

    ~CaptureHome();
    // Creates the store and its files; false (after saying why on stderr) when --record cannot be
    // written. Earlier runs' captures are tidied first (what is removed is said on stderr).
    bool create(const AppOptions &o);

    // Captures of earlier runs that did not stop cleanly and were never offered back (newest first).
    const std::vector<capture::CaptureDirectory> &unreported() const { return m_unreported; }
    // This run's directory and journal, or empty.
    QString directory() const { return m_dir; }
    QString journalPath() const;

    // At the end: keep the capture for recovery, saying how the run ended (else it is removed).
    void keep(const QString &how);
    // Sessions in this run's journal: nothing captured means nothing to keep.
    bool hasCapture() const;

    std::unique_ptr<capture::CaptureStore> store;

private:
    QString m_dir;
    QString m_ending;
    bool m_keep = false;
    bool m_streamOnly = false; // --record with --control: the directory's journal is only streamed
    std::vector<capture::CaptureDirectory> m_unreported;
};

} // namespace socktap::app
