#include "FileJob.h"

#include <algorithm>

namespace socktap::ui {

FileJob::FileJob(Kind kind, const QString &title, bool cancellable, Work work, QObject *parent)
    : QObject(parent)
    , m_kind(kind)
    , m_title(title)
    , m_cancellable(cancellable)
    , m_work(std::move(work))
{ }

FileJob::~FileJob()
{
    m_cancelled = true;
    if (m_thread.joinable())
        m_thread.join();
}

void FileJob::start()
{
    m_thread = std::thread([this] {
        QString error;
        const bool ok = m_work(*this, &error);
        // Queued to the job's own thread (the GUI's): if the job is destroyed first, its destructor has
        // joined this thread and Qt drops the call with the object.
        QMetaObject::invokeMethod(
            this,
            [this, ok, error] {
                m_thread.join();
                emit finished(ok, error);
            },
            Qt::QueuedConnection);
    });
}

bool FileJob::progress(quint64 done, quint64 total)
{
    if (total > 0)
        m_permille = int(std::min<quint64>(1000, done * 1000 / total));
    return !m_cancelled;
}

} // namespace socktap::ui
