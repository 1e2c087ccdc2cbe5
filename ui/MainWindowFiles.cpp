// The window's File menu and what stands behind it: opening capture files (also dropped on the window),
// saving, exporting HAR and text, the recent files, where the capture lives (status bar) and the question
// at exit. Every read and write runs as a FileJob on its own thread; the dialogs only pick names, so tests
// drive the same code through openCaptureFile(), saveCaptureTo() and the export methods.
#include "MainWindow.h"

#include "CaptureFeed.h"
#include "FileJob.h"
#include "SessionFilterModel.h"
#include "SessionTableModel.h"

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

constexpr int MaxRecentFiles = 8;
constexpr int JobPollMs = 100;
constexpr int StatusMessageMs = 20000;
const QString RecentKey = QStringLiteral("files/recent");
const QString LastDirKey = QStringLiteral("files/lastDirectory");
const QStringList CaptureSuffixes = {QStringLiteral("socktap"), QStringLiteral("jsonl"),
                                     QStringLiteral("har")};

QSettings settings()
{
    return QSettings(QStringLiteral("socktap"), QStringLiteral("socktap")); // ~/.config/socktap/socktap.conf
}

// "~/…" for paths in the home directory: shorter in the status bar, and as clear.
QString shortPath(const QString &path)
{
    const QString home = QDir::homePath();
    return path.startsWith(home + QLatin1Char('/')) ? QLatin1Char('~') + path.mid(home.size()) : path;
}

QString withSuffix(QString path, const QString &suffix)
{
    if (!path.isEmpty() && QFileInfo(path).suffix().isEmpty())
        path += QLatin1Char('.') + suffix;
    return path;
}

} // namespace

void MainWindow::buildFileMenu()
{
    m_fileMenu = menuBar()->addMenu(tr("&File"));
    m_openAction = m_fileMenu->addAction(tr("&Open…"), this, &MainWindow::openWithDialog);
    m_openAction->setShortcut(QKeySequence::Open);
    m_openAction->setToolTip(tr("Add the sessions of a Socktap capture or a HAR file to this capture"));
    m_recentMenu = m_fileMenu->addMenu(tr("Open &Recent"));
    connect(m_recentMenu, &QMenu::aboutToShow, this, &MainWindow::fillRecentMenu);
    fillRecentMenu();
    m_fileMenu->addSeparator();
    m_saveAction = m_fileMenu->addAction(tr("&Save"), this, &MainWindow::save);
    m_saveAction->setShortcut(QKeySequence::Save);
    m_saveAsAction = m_fileMenu->addAction(tr("Save &As…"), this, &MainWindow::saveAs);
    m_saveAsAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S));
    QMenu *exportMenu = m_fileMenu->addMenu(tr("&Export"));
    m_exportHarAll =
        exportMenu->addAction(tr("&HAR of all sessions…"), this, [this] { exportHarWithDialog(false); });
    m_exportHarSelected =
        exportMenu->addAction(tr("HAR of &selected sessions…"), this, [this] { exportHarWithDialog(true); });
    m_exportText =
        exportMenu->addAction(tr("Selected session as &text…"), this, &MainWindow::exportTextWithDialog);
    m_fileMenu->addSeparator();
    QAction *quit = m_fileMenu->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);
}

void MainWindow::updateFileActions()
{
    if (!m_fileMenu)
        return;
    const bool idle = !m_job;
    const bool selected = !selectedSessions().empty();
    m_openAction->setEnabled(idle);
    m_recentMenu->setEnabled(idle);
    m_saveAction->setEnabled(idle);
    m_saveAsAction->setEnabled(idle);
    m_exportHarAll->setEnabled(idle);
    m_exportHarSelected->setEnabled(idle && selected);
    m_exportText->setEnabled(idle && m_current != 0);
}

QStringList MainWindow::recentFiles() const
{
    QStringList files = settings().value(RecentKey).toStringList();
    files.removeIf([](const QString &f) { return !QFileInfo::exists(f); });
    return files;
}

void MainWindow::addRecentFile(const QString &path)
{
    QStringList files = recentFiles();
    const QString absolute = QFileInfo(path).absoluteFilePath();
    files.removeAll(absolute);
    files.prepend(absolute);
    settings().setValue(RecentKey, files.mid(0, MaxRecentFiles));
    fillRecentMenu();
}

void MainWindow::fillRecentMenu()
{
    m_recentMenu->clear();
    const QStringList files = recentFiles();
    if (files != settings().value(RecentKey).toStringList())
        settings().setValue(RecentKey, files); // forget the ones that were moved or deleted
    for (int i = 0; i < files.size(); ++i) {
        const QString file = files[i];
        QAction *a =
            m_recentMenu->addAction(QStringLiteral("&%1 %2").arg(i + 1).arg(QFileInfo(file).fileName()), this,
                                    [this, file] { openCaptureFile(file); });
        a->setToolTip(file);
        a->setStatusTip(file);
    }
    if (files.isEmpty())
        m_recentMenu->addAction(tr("No recent files"))->setEnabled(false);
    m_recentMenu->addSeparator();
    m_recentMenu
        ->addAction(tr("&Clear"), this,
                    [this] {
                        settings().remove(RecentKey);
                        fillRecentMenu();
                    })
        ->setEnabled(!files.isEmpty());
    m_recentMenu->menuAction()->setToolTip(tr("Files opened or saved lately"));
}

void MainWindow::buildJobStatus()
{
    m_jobBox = new QWidget(this);
    m_jobLabel = new QLabel(m_jobBox);
    m_jobProgress = new QProgressBar(m_jobBox);
    m_jobProgress->setFixedWidth(140);
    m_jobProgress->setTextVisible(false);
    m_jobCancel = new QToolButton(m_jobBox);
    m_jobCancel->setText(tr("Cancel"));
    m_jobCancel->setAutoRaise(true);
    connect(m_jobCancel, &QToolButton::clicked, this, &MainWindow::cancelFileJob);
    auto *layout = new QHBoxLayout(m_jobBox);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_jobLabel);
    layout->addWidget(m_jobProgress);
    layout->addWidget(m_jobCancel);
    m_jobBox->hide();
    statusBar()->addPermanentWidget(m_jobBox);

    m_warnings = new QLabel(this);
    m_warnings->setTextFormat(Qt::RichText);
    m_warnings->hide();
    connect(m_warnings, &QLabel::linkActivated, this, [this] {
        // Not modal: the warnings are worth reading, not worth stopping the window for.
        auto *box = new QMessageBox(QMessageBox::Information, tr("Warnings"), m_warnings->toolTip(),
                                    QMessageBox::Ok, this);
        box->setAttribute(Qt::WA_DeleteOnClose);
        box->open();
    });
    statusBar()->addPermanentWidget(m_warnings);
    m_storage = new QLabel(this);
    statusBar()->addPermanentWidget(m_storage);

    auto *poll = new QTimer(this);
    connect(poll, &QTimer::timeout, this, &MainWindow::updateJobProgress);
    poll->start(JobPollMs);
}

QString MainWindow::storageText(const capture::CaptureStore::Stats &s, bool elide) const
{
    const auto path = [&](const QString &p) {
        return elide ? m_storage->fontMetrics().elidedText(shortPath(p), Qt::ElideMiddle, 240) : shortPath(p);
    };
    if (!s.journalPath.isEmpty())
        return tr("recording to %1").arg(path(s.journalPath));
    if (!s.crashJournalPath.isEmpty() && s.crashJournalError.isEmpty())
        return tr("capture in memory and on disk in %1").arg(path(QFileInfo(s.crashJournalPath).path()));
    if (!s.spillDirectory.isEmpty())
        return s.spillBytes
            ? tr("capture on disk: %1 in %2").arg(capture::byteSize(s.spillBytes), path(s.spillDirectory))
            : tr("capture in memory");
    return tr("capture in memory only");
}

void MainWindow::updateStorage()
{
    const auto s = m_store.stats();
    QString text = storageText(s, true);
    QStringList tip;
    if (!s.journalPath.isEmpty()) {
        tip << tr("Recording to %1 (%2 so far); the file stays after exit.")
                   .arg(s.journalPath, capture::byteSize(s.journalBytes));
    } else if (!s.crashJournalPath.isEmpty()) {
        tip << tr("Every session and message reaches %1 (%2 so far) within 100 ms: a crash or a kill loses "
                  "nothing, and the next start offers it back. Quitting without saving removes it; a signal "
                  "(logout, kill) keeps it for 'socktap recover'.")
                   .arg(s.crashJournalPath, capture::byteSize(s.crashJournalBytes));
    } else if (!s.spillDirectory.isEmpty()) {
        tip << tr("Past the memory budget, payloads move to %1 (up to --max-capture-disk). Removed at exit "
                  "unless saved (File > Save).")
                   .arg(s.spillDirectory);
    } else {
        tip << tr("Nothing goes to disk (--memory-only): past the memory budget the oldest payloads are "
                  "evicted. Gone at exit unless saved (File > Save).");
    }
    if (s.payloadsOnDisk)
        tip << tr("%1 payloads (%2) left memory for the budget and are read back from disk.")
                   .arg(s.payloadsOnDisk)
                   .arg(capture::byteSize(s.payloadBytesOnDisk));
    if (s.droppedSegments) {
        text += tr(" · %1 oldest parts dropped").arg(s.droppedSegments);
        tip << tr("%1 oldest parts on disk were removed under the disk budget (--max-capture-disk), their "
                  "payloads counted as evicted.")
                   .arg(s.droppedSegments);
    }
    if (const QString why = s.journalError.isEmpty() ? s.crashJournalError : s.journalError; !why.isEmpty()) {
        // Said where the eye goes, and kept there: what is captured from now on may not reach the disk.
        text = QStringLiteral("⚠ ") + m_storage->fontMetrics().elidedText(why, Qt::ElideMiddle, 240);
        tip.prepend(why);
        m_storage->setStyleSheet(QStringLiteral("color: #d32f2f; font-weight: bold"));
    } else {
        m_storage->setStyleSheet({});
    }
    m_storage->setText(text);
    m_storage->setToolTip(tip.join(QLatin1Char('\n')));
}

void MainWindow::startJob(FileJob *job, std::function<void(bool, const QString &)> done)
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
                updateFileActions();
                done(ok, error);
                emit fileJobFinished(ok, error);
                if (m_closeWhenIdle)
                    QTimer::singleShot(0, this, &QWidget::close);
                else
                    openNextQueued();
            });
    updateFileActions();
    job->start();
}

void MainWindow::updateJobProgress()
{
    if (!m_job)
        return;
    const int permille = m_job->permille();
    if (permille < 0)
        return;
    m_jobProgress->setRange(0, 1000);
    m_jobProgress->setValue(permille);
}

void MainWindow::cancelFileJob()
{
    m_openQueue.clear();
    if (!m_job || !m_job->isCancellable())
        return;
    m_job->cancel();
    m_jobLabel->setText(tr("Cancelling %1…").arg(m_job->title()));
}

void MainWindow::reportFileError(const QString &title, const QString &error)
{
    m_lastFileError = error;
    warn(title, error);
}

void MainWindow::warn(const QString &title, const QString &message)
{
    statusBar()->showMessage(message, StatusMessageMs);
    // Window-modal, not application-modal, and not waited for: a problem must not stop the capture, nor a
    // test.
    auto *box = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setTextInteractionFlags(Qt::TextSelectableByMouse);
    box->open();
}

void MainWindow::showFileWarnings(const QString &path, const QStringList &warnings)
{
    m_lastFileWarnings = warnings;
    m_warnings->setVisible(!warnings.isEmpty());
    if (warnings.isEmpty())
        return;
    m_warnings->setText(
        QStringLiteral("<a href=\"#\">⚠ %1</a>")
            .arg(warnings.size() == 1 ? tr("1 warning") : tr("%1 warnings").arg(warnings.size())));
    m_warnings->setToolTip(tr("%1:\n%2").arg(QFileInfo(path).fileName(), warnings.join(QLatin1Char('\n'))));
}

bool MainWindow::openCaptureFile(const QString &path)
{
    if (m_job) {
        statusBar()->showMessage(tr("Wait for %1 to end").arg(m_job->title()), 5000);
        return false;
    }
    m_lastFileError.clear();
    m_feed->refresh(); // what arrived before the open is not the file's
    m_opening = true;
    const auto s = m_store.stats();
    const OpenBaseline baseline {s.sessions, s.messages};
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
    startJob(job, [this, path, result, baseline](bool, const QString &error) {
        finishOpen(path, *result, error, baseline);
    });
    return true;
}

void MainWindow::finishOpen(const QString &path, const std::optional<capture::OpenResult> &result,
                            const QString &error, const OpenBaseline &baseline)
{
    m_feed->refresh(); // the last rows in before the status says they are all there
    settleOpenChanges(result, baseline);
    const QString name = QFileInfo(path).fileName();
    const bool cancelled = !result && error == QLatin1String("cancelled");
    if (!result) {
        if (cancelled) {
            m_openQueue.clear();
            statusBar()->showMessage(
                tr("Opening %1 cancelled; the sessions read so far stay in the capture").arg(name),
                StatusMessageMs);
            return;
        }
        reportFileError(tr("Open capture"), error);
        return;
    }
    addRecentFile(path);
    QString text = tr("opened %1: %2, %3")
                       .arg(name, capture::counted(result->sessions, "session"),
                            capture::counted(result->messages, "message"));
    if (!result->warnings.isEmpty())
        text += tr("; warning: %1").arg(result->warnings.first());
    statusBar()->showMessage(text, StatusMessageMs);
    showFileWarnings(path, result->warnings);
    updateCounters();
}

void MainWindow::noteChanges(const QList<capture::SessionId> &ids)
{
    if (ids.isEmpty())
        return;
    if (m_opening) {
        for (const capture::SessionId id : ids)
            m_openingIds.insert(id);
        return;
    }
    ++m_changes;
}

void MainWindow::settleOpenChanges(const std::optional<capture::OpenResult> &result,
                                   const OpenBaseline &baseline)
{
    m_opening = false;
    QSet<capture::SessionId> others = std::exchange(m_openingIds, {});
    // A file that opened whole: its sessions are not changes (quitting loses nothing the file does not
    // hold). One cut short keeps sessions whose ids were never reported: counted, to be safe.
    if (result)
        for (const capture::SessionId id : result->sessionIds)
            others.remove(id);
    bool changed = !others.isEmpty();
    if (std::exchange(m_lostTrackWhileOpening, false)) {
        const auto now = m_store.stats();
        changed = changed || !result || now.sessions != baseline.sessions + result->sessions
            || now.messages != baseline.messages + result->messages;
    }
    if (changed)
        ++m_changes;
}

void MainWindow::openNextQueued()
{
    if (!m_openQueue.isEmpty())
        openCaptureFile(m_openQueue.takeFirst());
}

QString MainWindow::lastDirectory() const
{
    const QString dir = settings().value(LastDirKey).toString();
    return QFileInfo(dir).isDir() ? dir : QDir::homePath();
}

void MainWindow::openWithDialog()
{
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open capture"), lastDirectory(),
        tr("Captures (*.socktap *.jsonl *.har);;Socktap captures (*.socktap *.jsonl);;HAR files (*.har);;All "
           "files (*)"));
    if (path.isEmpty())
        return;
    settings().setValue(LastDirKey, QFileInfo(path).absolutePath());
    openCaptureFile(path);
}

QString MainWindow::askSavePath()
{
    const QString start =
        m_savePath.isEmpty() ? QDir(lastDirectory()).filePath(QStringLiteral("capture.socktap")) : m_savePath;
    const QString path = withSuffix(QFileDialog::getSaveFileName(this, tr("Save capture"), start,
                                                                 tr("Socktap captures (*.socktap *.jsonl)")),
                                    QStringLiteral("socktap"));
    if (!path.isEmpty())
        settings().setValue(LastDirKey, QFileInfo(path).absolutePath());
    return path;
}

void MainWindow::save()
{
    const QString path = m_savePath.isEmpty() ? askSavePath() : m_savePath;
    if (!path.isEmpty())
        saveCaptureTo(path);
}

void MainWindow::saveAs()
{
    const QString path = askSavePath();
    if (!path.isEmpty())
        saveCaptureTo(path);
}

bool MainWindow::saveCaptureTo(const QString &path)
{
    if (m_job) {
        statusBar()->showMessage(tr("Wait for %1 to end").arg(m_job->title()), 5000);
        return false;
    }
    m_lastFileError.clear();
    // Taken before the save reads the store: what arrives while it writes counts as unsaved.
    m_feed->refresh();
    const quint64 changes = m_changes;
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
                statusBar()->showMessage(tr("Save cancelled; %1 was not written").arg(path), StatusMessageMs);
            else
                reportFileError(tr("Save capture"), error);
            return;
        }
        if (quitting)
            m_exitSave = ExitSave::Discard; // saved: nothing left to ask
        m_savePath = path;
        m_savedChanges = changes;
        setWindowTitle(tr("Socktap — %1").arg(QFileInfo(path).fileName()));
        addRecentFile(path);
        statusBar()->showMessage(tr("saved %1: %2, %3")
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
        showFileWarnings(path, warnings);
    });
    return true;
}

std::vector<capture::SessionId> MainWindow::selectedSessions() const
{
    std::vector<capture::SessionId> ids;
    for (const QModelIndex &row : m_sessionView->selectionModel()->selectedRows())
        if (const capture::SessionId id = m_sessions->sessionId(m_filter->mapToSource(row).row()))
            ids.push_back(id);
    if (ids.empty() && m_current)
        ids.push_back(m_current);
    std::sort(ids.begin(), ids.end());
    return ids;
}

bool MainWindow::exportHarTo(const QString &path, const std::vector<capture::SessionId> &sessions)
{
    if (m_job) {
        statusBar()->showMessage(tr("Wait for %1 to end").arg(m_job->title()), 5000);
        return false;
    }
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
            statusBar()->showMessage(tr("exported %1 to %2").arg(what, path), StatusMessageMs);
        else if (error == QLatin1String("cancelled"))
            statusBar()->showMessage(tr("Export cancelled; %1 was not written").arg(path), StatusMessageMs);
        else
            reportFileError(tr("Export HAR"), error);
    });
    return true;
}

bool MainWindow::exportTextTo(const QString &path, capture::SessionId session)
{
    if (m_job) {
        statusBar()->showMessage(tr("Wait for %1 to end").arg(m_job->title()), 5000);
        return false;
    }
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
            statusBar()->showMessage(tr("wrote session %1 as text to %2").arg(session).arg(path),
                                     StatusMessageMs);
        else
            reportFileError(tr("Export text"), error);
    });
    return true;
}

void MainWindow::exportHarWithDialog(bool selectedOnly)
{
    const std::vector<capture::SessionId> sessions =
        selectedOnly ? selectedSessions() : std::vector<capture::SessionId> {};
    if (selectedOnly && sessions.empty())
        return;
    const QString name = sessions.size() == 1 ? QStringLiteral("session-%1.har").arg(sessions.front())
                                              : QStringLiteral("capture.har");
    const QString path = withSuffix(
        QFileDialog::getSaveFileName(
            this, selectedOnly ? tr("Export selected sessions as HAR") : tr("Export all sessions as HAR"),
            QDir(lastDirectory()).filePath(name), tr("HAR files (*.har)")),
        QStringLiteral("har"));
    if (path.isEmpty())
        return;
    settings().setValue(LastDirKey, QFileInfo(path).absolutePath());
    exportHarTo(path, sessions);
}

void MainWindow::exportTextWithDialog()
{
    const capture::SessionId session = m_current;
    if (!session)
        return;
    const QString path =
        withSuffix(QFileDialog::getSaveFileName(
                       this, tr("Export session %1 as text").arg(session),
                       QDir(lastDirectory()).filePath(QStringLiteral("session-%1.txt").arg(session)),
                       tr("Text files (*.txt);;All files (*)")),
                   QStringLiteral("txt"));
    if (path.isEmpty())
        return;
    settings().setValue(LastDirKey, QFileInfo(path).absolutePath());
    exportTextTo(path, session);
}

QStringList MainWindow::droppedCaptures(const QMimeData *mime) const
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

void MainWindow::dragEnterEvent(QDragEnterEvent *event)
{
    if (!droppedCaptures(event->mimeData()).isEmpty())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent *event)
{
    const QStringList files = droppedCaptures(event->mimeData());
    if (files.isEmpty())
        return;
    event->acceptProposedAction();
    // One job at a time: the others wait their turn.
    m_openQueue << files;
    if (!m_job)
        openNextQueued();
}

bool MainWindow::hasUnsavedCapture() const
{
    const auto s = m_store.stats();
    // A --record file holds everything as it happens, unless recording stopped (disk budget, disk full).
    const bool recorded = !s.journalPath.isEmpty() && s.journalError.isEmpty();
    return s.sessions > 0 && !recorded && m_changes != m_savedChanges;
}

bool MainWindow::savePromptSuppressed() const
{
    // Tests and screenshots run unattended: a question would wait for ever. SOCKTAP_SAVE_PROMPT=1 asks
    // all the same (a test of what a signal does to the open question).
    if (qEnvironmentVariable("SOCKTAP_SAVE_PROMPT") == QLatin1String("1"))
        return false;
    return qEnvironmentVariable("SOCKTAP_NO_SAVE_PROMPT") == QLatin1String("1")
        || QGuiApplication::platformName() == QLatin1String("offscreen");
}

void MainWindow::quitOnSignal(int signal)
{
    if (m_quitSignal)
        return;
    m_quitSignal = signal;
    m_exitSave = ExitSave::Discard; // nothing is asked; the capture stays on disk for recovery
    m_openQueue.clear();
    // Whatever question is open (the save prompt, a file dialog) is answered "cancel"; the close follows
    // once the event loop is back at its top.
    for (QWidget *w : QApplication::topLevelWidgets())
        if (auto *dialog = qobject_cast<QDialog *>(w); dialog && dialog->isVisible())
            dialog->reject();
    QTimer::singleShot(0, this, &QWidget::close);
    // A save that does not finish or a proxy that does not stop must not keep the program alive.
    QTimer::singleShot(QuitDeadlineMs, qApp, [] { QCoreApplication::exit(0); });
}

bool MainWindow::askSaveBeforeQuit()
{
    if (!hasUnsavedCapture() || savePromptSuppressed()) {
        m_exitSave = ExitSave::Discard;
        return true;
    }
    const auto s = m_store.stats();
    QMessageBox box(QMessageBox::Question, tr("Socktap"), tr("Save the capture before quitting?"),
                    QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, this);
    // Where the capture is, in the words the status bar uses (storageText).
    box.setInformativeText(tr("%1 sessions and %2 messages: %3. Quitting without saving removes them.")
                               .arg(s.sessions)
                               .arg(s.messages)
                               .arg(storageText(s, false)));
    box.setDefaultButton(QMessageBox::Save);
    const int answer = box.exec();
    if (m_quitSignal) {
        // A signal came while the question was open: it ends the program, the capture kept for recovery.
        m_exitSave = ExitSave::Discard;
        return true;
    }
    switch (answer) {
    case QMessageBox::Save: {
        const QString path = m_savePath.isEmpty() ? askSavePath() : m_savePath;
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
