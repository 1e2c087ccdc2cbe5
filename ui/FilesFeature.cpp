#include "FilesFeature.h"

#include "MainWindow.h"
#include "WindowNotice.h"

#include "CaptureFeed.h"
#include "CaptureStatus.h"
#include "FileJob.h"
#include "FileMenu.h"

#include "core/capture/ConversationText.h"
#include "core/capture/Har.h"
#include "core/capture/TextFormat.h"

#include <QAction>
#include <QApplication>
#include <QDialog>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QSaveFile>
#include <QSettings>
#include <QStatusBar>
#include <QTableView>
#include <QTimer>
#include <QToolButton>

#include <algorithm>

namespace socktap::ui {

namespace {

constexpr int JobPollMs = 100;
const QStringList CaptureSuffixes = {QStringLiteral("socktap"), QStringLiteral("jsonl"),
                                     QStringLiteral("har")};

} // namespace

FilesFeature::FilesFeature(MainWindow &window, capture::CaptureStore &store, CaptureFeed *feed)
    : QObject(&window)
    , m_window(window)
    , m_store(store)
    , m_feed(feed)
    , m_status(new CaptureStatus(store, feed, &window))
    , m_menu(new FileMenu(window, *this))
{ }

FilesFeature::~FilesFeature()
{
    delete m_job;
}

QMenu *FilesFeature::buildMenu(QMenuBar *bar)
{
    return m_menu->build(bar);
}

void FilesFeature::updateActions()
{
    m_menu->updateActions(!m_job);
}

void FilesFeature::addStatusWidgets(QStatusBar *bar)
{
    m_jobBox = new QWidget(&m_window);
    m_jobLabel = new QLabel(m_jobBox);
    m_jobProgress = new QProgressBar(m_jobBox);
    m_jobProgress->setFixedWidth(140);
    m_jobProgress->setTextVisible(false);
    m_jobCancel = new QToolButton(m_jobBox);
    m_jobCancel->setText(tr("Cancel"));
    m_jobCancel->setAutoRaise(true);
    connect(m_jobCancel, &QToolButton::clicked, this, &FilesFeature::cancelFileJob);
    auto *layout = new QHBoxLayout(m_jobBox);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_jobLabel);
    layout->addWidget(m_jobProgress);
    layout->addWidget(m_jobCancel);
    m_jobBox->hide();
    bar->addPermanentWidget(m_jobBox);
    m_status->addStatusWidgets(bar); // after the job: progress, warnings, storage, counters

    auto *poll = new QTimer(this);
    connect(poll, &QTimer::timeout, this, &FilesFeature::updateJobProgress);
    poll->start(JobPollMs);
}

void FilesFeature::startJob(FileJob *job, std::function<void(bool, const QString &)> done)
{
    m_job = job;
    m_jobLabel->setText(job->title() + QStringLiteral("…"));
    m_jobCancel->setEnabled(job->isCancellable());
    m_jobCancel->setToolTip(job->isCancellable() ? tr("Stop %1").arg(job->title())
                                                 : tr("A HAR file is read whole: this cannot stop half-way"));
    m_jobProgress->setRange(0, 0); // busy until the first report
    m_jobBox->show();
    connect(job, &FileJob::finished, this,
            [this, job, done = std::move(done)](bool ok, const QString &error) {
                m_job = nullptr;
                job->deleteLater();
                m_jobBox->hide();
                updateActions();
                done(ok, error);
                emit fileJobFinished(ok, error);
                if (m_closeWhenIdle)
                    QTimer::singleShot(0, &m_window, &QWidget::close);
                else
                    openNextQueued();
            });
    updateActions();
    job->start();
}

void FilesFeature::updateJobProgress()
{
    if (!m_job)
        return;
    const int permille = m_job->permille();
    if (permille < 0)
        return;
    m_jobProgress->setRange(0, 1000);
    m_jobProgress->setValue(permille);
}

void FilesFeature::cancelFileJob()
{
    m_openQueue.clear();
    if (!m_job || !m_job->isCancellable())
        return;
    m_job->cancel();
    m_jobLabel->setText(tr("Cancelling %1…").arg(m_job->title()));
}

bool FilesFeature::refuseWhileBusy()
{
    if (!m_job)
        return false;
    m_window.statusBar()->showMessage(tr("Wait for %1 to end").arg(m_job->title()), 5000);
    return true;
}

void FilesFeature::reportFileError(const QString &title, const QString &error)
{
    m_lastFileError = error;
    warnInWindow(&m_window, title, error);
}

bool FilesFeature::openCaptureFile(const QString &path)
{
    if (refuseWhileBusy())
        return false;
    m_lastFileError.clear();
    m_feed->refresh(); // what arrived before the open is not the file's
    m_status->beginOpen();
    // A HAR file is parsed whole, so its open cannot report progress or stop half-way.
    const bool har = capture::sniffCaptureFile(path) == capture::CaptureFileKind::Har;
    auto result = std::make_shared<std::optional<capture::OpenResult>>();
    auto *job = new FileJob(
        FileJob::Kind::Open, tr("Opening %1").arg(QFileInfo(path).fileName()), !har,
        [&store = m_store, path, result](FileJob &self, QString *error) {
            capture::OpenOptions options;
            options.keepIds = false; // added to what is there: the file's ids may be taken
            options.progress = [&self](quint64 done, quint64 total) { return self.progress(done, total); };
            *result = capture::openCapture(path, store, error, options);
            return result->has_value();
        },
        this);
    startJob(job, [this, path, result](bool, const QString &error) { finishOpen(path, *result, error); });
    return true;
}

void FilesFeature::finishOpen(const QString &path, const std::optional<capture::OpenResult> &result,
                              const QString &error)
{
    m_feed->refresh(); // the last rows in before the status says they are all there
    m_status->settleOpen(result);
    const QString name = QFileInfo(path).fileName();
    const bool cancelled = !result && error == QLatin1String("cancelled");
    if (!result) {
        if (cancelled) {
            m_openQueue.clear();
            m_window.statusBar()->showMessage(
                tr("Opening %1 cancelled; the sessions read so far stay in the capture").arg(name),
                StatusMessageMs);
            return;
        }
        reportFileError(tr("Open capture"), error);
        return;
    }
    m_menu->addRecentFile(path);
    QString text = tr("opened %1: %2, %3")
                       .arg(name, capture::counted(result->sessions, "session"),
                            capture::counted(result->messages, "message"));
    if (!result->warnings.isEmpty())
        text += tr("; warning: %1").arg(result->warnings.first());
    m_window.statusBar()->showMessage(text, StatusMessageMs);
    m_status->showWarnings(path, result->warnings);
    emit opened();
}

void FilesFeature::openNextQueued()
{
    if (!m_openQueue.isEmpty())
        openCaptureFile(m_openQueue.takeFirst());
}

bool FilesFeature::saveCaptureTo(const QString &path)
{
    if (refuseWhileBusy())
        return false;
    m_lastFileError.clear();
    // Taken before the save reads the store: what arrives while it writes counts as unsaved.
    m_feed->refresh();
    const quint64 changes = m_status->changes();
    const auto before = m_store.stats();
    // Written by the job's thread, read here once it has finished.
    auto report = std::make_shared<capture::SaveReport>();
    auto *job = new FileJob(
        FileJob::Kind::Save, tr("Saving %1").arg(QFileInfo(path).fileName()), true,
        [&store = m_store, path, report](FileJob &self, QString *error) {
            return capture::saveNative(
                store, {}, path, error,
                [&self](quint64 done, quint64 total) { return self.progress(done, total); }, report.get());
        },
        this);
    startJob(job, [this, path, before, changes, report](bool ok, const QString &error) {
        const bool quitting = m_exitSave == ExitSave::Save;
        if (!ok) {
            if (quitting) { // stay open: the capture is still unsaved
                m_exitSave = ExitSave::Unasked;
                m_closeWhenIdle = false;
            }
            if (error == QLatin1String("cancelled"))
                m_window.statusBar()->showMessage(tr("Save cancelled; %1 was not written").arg(path),
                                                  StatusMessageMs);
            else
                reportFileError(tr("Save capture"), error);
            return;
        }
        if (quitting)
            m_exitSave = ExitSave::Discard; // saved: nothing left to ask
        m_savePath = path;
        m_status->savedUpTo(changes);
        m_window.setWindowTitle(tr("Socktap — %1").arg(QFileInfo(path).fileName()));
        m_menu->addRecentFile(path);
        m_window.statusBar()->showMessage(tr("saved %1: %2, %3")
                                              .arg(path, capture::counted(before.sessions, "session"),
                                                   capture::counted(before.messages, "message")),
                                          StatusMessageMs);
        // What could not be saved whole is said, never hidden.
        QStringList warnings;
        if (report->payloadsMissing)
            warnings << tr("%1 saved without their payload: it had been evicted under the capture budgets "
                           "before the save (flagged truncated, sizes kept)")
                            .arg(capture::counted(report->payloadsMissing, "message"));
        if (report->skipped)
            warnings << tr("%1 records were evicted or unreadable while saving and are not in the file")
                            .arg(report->skipped);
        m_status->showWarnings(path, warnings);
    });
    return true;
}

bool FilesFeature::exportHarTo(const QString &path, const std::vector<capture::SessionId> &sessions)
{
    if (refuseWhileBusy())
        return false;
    m_lastFileError.clear();
    auto *job = new FileJob(
        FileJob::Kind::Export, tr("Exporting %1").arg(QFileInfo(path).fileName()), true,
        [&store = m_store, path, sessions](FileJob &self, QString *error) {
            return capture::writeWholeFile(path, error, [&](QIODevice &out, QString *why) {
                return capture::writeHar(store, sessions, out, why, [&self](quint64 done, quint64 total) {
                    return self.progress(done, total);
                });
            });
        },
        this);
    const QString what = sessions.empty() ? tr("all sessions") : capture::counted(sessions.size(), "session");
    startJob(job, [this, path, what](bool ok, const QString &error) {
        if (ok)
            m_window.statusBar()->showMessage(tr("exported %1 to %2").arg(what, path), StatusMessageMs);
        else if (error == QLatin1String("cancelled"))
            m_window.statusBar()->showMessage(tr("Export cancelled; %1 was not written").arg(path),
                                              StatusMessageMs);
        else
            reportFileError(tr("Export HAR"), error);
    });
    return true;
}

bool FilesFeature::exportTextTo(const QString &path, capture::SessionId session)
{
    if (refuseWhileBusy())
        return false;
    m_lastFileError.clear();
    auto *job = new FileJob(
        FileJob::Kind::Export, tr("Exporting %1").arg(QFileInfo(path).fileName()), false,
        [&store = m_store, path, session](FileJob &, QString *error) {
            return capture::writeWholeFile(path, error, [&](QIODevice &out, QString *why) {
                return capture::writeConversationText(store, session, out, why);
            });
        },
        this);
    startJob(job, [this, path, session](bool ok, const QString &error) {
        if (ok)
            m_window.statusBar()->showMessage(tr("wrote session %1 as text to %2").arg(session).arg(path),
                                              StatusMessageMs);
        else
            reportFileError(tr("Export text"), error);
    });
    return true;
}

QStringList FilesFeature::droppedCaptures(const QMimeData *mime) const
{
    QStringList files;
    if (!mime || !mime->hasUrls())
        return files;
    for (const QUrl &url : mime->urls()) {
        const QString path = url.toLocalFile();
        if (path.isEmpty() || !QFileInfo(path).isFile())
            continue;
        if (CaptureSuffixes.contains(QFileInfo(path).suffix(), Qt::CaseInsensitive)
            || capture::sniffCaptureFile(path) != capture::CaptureFileKind::Unknown)
            files << path;
    }
    return files;
}

void FilesFeature::openDropped(const QStringList &files)
{
    // One job at a time: the others wait their turn.
    m_openQueue << files;
    if (!m_job)
        openNextQueued();
}

bool FilesFeature::savePromptSuppressed() const
{
    // Tests and screenshots run unattended: a question would wait for ever. SOCKTAP_SAVE_PROMPT=1 asks
    // all the same (a test of what a signal does to the open question).
    if (qEnvironmentVariable("SOCKTAP_SAVE_PROMPT") == QLatin1String("1"))
        return false;
    return qEnvironmentVariable("SOCKTAP_NO_SAVE_PROMPT") == QLatin1String("1")
        || QGuiApplication::platformName() == QLatin1String("offscreen");
}

void FilesFeature::quitWithoutAsking()
{
    m_exitSave = ExitSave::Discard; // nothing is asked; the capture stays on disk for recovery
    m_openQueue.clear();
}

bool FilesFeature::deferClose()
{
    if (!m_job)
        return false;
    // A save or export is let finish (half a file is worth nothing); a read stops where it is.
    m_openQueue.clear();
    if (m_job->kind() == FileJob::Kind::Open)
        m_job->cancel();
    m_closeWhenIdle = true;
    m_window.statusBar()->showMessage(tr("Closing once %1 has ended…").arg(m_job->title()));
    return true;
}

bool FilesFeature::readyToQuit()
{
    // Asked before the proxy stops, so that Cancel leaves everything as it was.
    return m_exitSave != ExitSave::Unasked || askSaveBeforeQuit();
}

bool FilesFeature::saveBeforeClose()
{
    if (m_exitSave != ExitSave::Save)
        return false;
    // The proxy has stopped, so the sessions' final states are in what is saved; closes when done.
    // One that cannot start keeps the window open (the capture is still unsaved) and asks again next time.
    m_closeWhenIdle = saveCaptureTo(m_exitSavePath);
    if (!m_closeWhenIdle)
        m_exitSave = ExitSave::Unasked;
    return true;
}

QString FilesFeature::busyWith() const
{
    return m_job ? m_job->title() : QString();
}

bool FilesFeature::askSaveBeforeQuit()
{
    if (!m_status->hasUnsavedCapture() || savePromptSuppressed()) {
        m_exitSave = ExitSave::Discard;
        return true;
    }
    const auto s = m_store.stats();
    QMessageBox box(QMessageBox::Question, tr("Socktap"), tr("Save the capture before quitting?"),
                    QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, &m_window);
    // Where the capture is, in the words the status bar uses (storageText).
    box.setInformativeText(tr("%1 sessions and %2 messages: %3. Quitting without saving removes them.")
                               .arg(s.sessions)
                               .arg(s.messages)
                               .arg(m_status->storageText(s, false)));
    box.setDefaultButton(QMessageBox::Save);
    const int answer = box.exec();
    if (m_window.quitSignal()) {
        // A signal came while the question was open: it ends the program, the capture kept for recovery.
        m_exitSave = ExitSave::Discard;
        return true;
    }
    switch (answer) {
    case QMessageBox::Save: {
        const QString path = m_savePath.isEmpty() ? m_menu->askSavePath() : m_savePath;
        if (path.isEmpty())
            return false;
        m_exitSavePath = path;
        m_exitSave = ExitSave::Save;
        return true;
    }
    case QMessageBox::Discard:
        m_exitSave = ExitSave::Discard;
        return true;
    default:
        return false;
    }
}

} // namespace socktap::ui
