#include "CaptureHome.h"

#include "core/capture/BatchJournal.h"
#include "core/capture/CaptureFile.h"

#include <QDir>

#include <cstdio>

namespace socktap::app {

CaptureHome::~CaptureHome()
{
    const bool keepIt = m_keep && hasCapture();
    if (store) {
        if (const auto journal = store->crashJournal())
            journal->flush();
    }
    store.reset(); // its spill segments remove themselves
    if (m_dir.isEmpty())
        return;
    if (keepIt)
        capture::markEnded(m_dir, m_ending);
    else
        QDir(m_dir).removeRecursively();
}

bool CaptureHome::create(const AppOptions &o)
{
    store = std::make_unique<capture::CaptureStore>(
        capture::CaptureStore::Limits {o.maxCaptureMemory, o.maxCaptureDisk});
    QString error;
    if (o.memoryOnly)
        return true;
    if (!o.recordFile.isEmpty()) {
        auto journal = capture::CaptureFile::create(o.recordFile, false, &error);
        if (!journal) {
            std::fprintf(stderr, "socktap: --record: %s\n", qPrintable(error));
            return false;
        }
        store->attachJournal(journal);
        // --control streams the crash journal's chunks: kept beside the record file, removed at the end.
        if (o.controlListen.isEmpty())
            return true;
        m_streamOnly = true;
    }
    const QString root = capture::capturesRoot();
    for (const QString &gone : capture::pruneCaptureDirectories(root, KeptCaptures, o.maxCaptureDisk))
        std::fprintf(stderr,
                     "socktap: removed an older capture (Socktap keeps the newest %d within "
                     "--max-capture-disk): %s\n",
                     KeptCaptures, qPrintable(gone));
    for (capture::CaptureDirectory &c : capture::listCaptureDirectories(root))
        if (c.endedAbnormally() && !c.reported() && c.summary.sessions > 0)
            m_unreported.push_back(std::move(c));
    m_dir = capture::createCaptureDirectory(root, &error);
    if (m_dir.isEmpty()) {
        std::fprintf(stderr,
                     "socktap: warning: %s; the capture stays in memory only (past the memory budget the "
                     "oldest payloads are evicted, and a crash loses it)\n",
                     qPrintable(error));
        return true;
    }
    if (auto journal = capture::BatchJournal::create(journalPath(), o.maxCaptureDisk, &error))
        store->setCrashJournal(std::move(journal));
    else
        std::fprintf(stderr, "socktap: warning: %s; a crash would lose the capture\n", qPrintable(error));
    if (m_streamOnly)
        return true; // (payloads that leave memory are read back from the record file)
    store->setSpill([dir = m_dir, n = 0]() mutable {
        QString why;
        auto segment = capture::CaptureFile::createRaw(
            QStringLiteral("%1/payloads-%2").arg(dir).arg(++n, 4, 10, QLatin1Char('0')), true, &why);
        if (!segment)
            std::fprintf(stderr, "socktap: warning: %s\n", qPrintable(why));
        return segment;
    });
    return true;
}

QString CaptureHome::journalPath() const
{
    return m_dir.isEmpty() ? QString()
                           : QDir(m_dir).filePath(QString::fromLatin1(capture::BatchJournal::FileName));
}

void CaptureHome::keep(const QString &how)
{
    m_keep = true;
    m_ending = how;
}

bool CaptureHome::hasCapture() const
{
    return !m_streamOnly && store && store->crashJournal() && store->stats().sessions > 0;
}

} // namespace socktap::app
