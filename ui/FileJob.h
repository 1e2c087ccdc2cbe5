// A long read or write of a capture file (open, save, export) on a thread of its own, so the window stays
// responsive while it runs. The work reports progress and learns that it should stop through the progress
// callbacks the capture API already takes; its result comes back to the GUI thread as a signal. Destroying
// a job cancels it and waits for its thread, so a closing window never leaves a thread writing into freed
// memory.
#pragma once

#include <QObject>
#include <QString>

#include <atomic>
#include <functional>
#include <thread>

namespace socktap::ui {

class FileJob final : public QObject
{
    Q_OBJECT

public:
    enum class Kind { Open, Save, Export };
    // Runs on the job's thread; returns false with *error set when it failed (or was cancelled).
    using Work = std::function<bool(FileJob &job, QString *error)>;

    // cancellable: whether the work checks progress() at all (a HAR file is read whole, so an open of one
    // cannot stop half-way).
    FileJob(Kind kind, const QString &title, bool cancellable, Work work, QObject *parent = nullptr);
    ~FileJob() override;

    void start();
    void cancel() { m_cancelled = true; }
    bool isCancelled() const { return m_cancelled; }
    bool isCancellable() const { return m_cancellable; }
    Kind kind() const { return m_kind; }
    QString title() const { return m_title; }

    // For the work, on its thread: records how far it got; false once cancelled.
    bool progress(quint64 done, quint64 total);
    // Done out of 1000, or -1 while nothing is known.
    int permille() const { return m_permille; }

signals:
    // On the GUI thread once the work has returned; the thread has ended by then.
    void finished(bool ok, const QString &error);

private:
    Kind m_kind;
    QString m_title;
    bool m_cancellable;
    Work m_work;
    std::atomic<bool> m_cancelled {false};
    std::atomic<int> m_permille {-1};
    std::thread m_thread;
};

} // namespace socktap::ui
