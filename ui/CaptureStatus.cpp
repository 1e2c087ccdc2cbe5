#include "CaptureStatus.h"

#include "CaptureFeed.h"

#include "core/capture/TextFormat.h"

#include <QDir>
#include <QFileInfo>
#include <QLabel>
#include <QMessageBox>
#include <QStatusBar>

namespace socktap::ui {

namespace {

// "~/…" for paths in the home directory: shorter in the status bar, and as clear.
QString shortPath(const QString &path)
{
    const QString home = QDir::homePath();
    return path.startsWith(home + QLatin1Char('/')) ? QLatin1Char('~') + path.mid(home.size()) : path;
}

} // namespace

CaptureStatus::CaptureStatus(capture::CaptureStore &store, CaptureFeed *feed, QWidget *window)
    : QObject(window)
    , m_store(store)
    , m_window(window)
{
    connect(feed, &CaptureFeed::sessionsChanged, this, &CaptureStatus::noteChanges);
    connect(feed, &CaptureFeed::resynchronise, this, [this] {
        // Which sessions changed is lost with the batches: count it as a change, unless a file opens
        // (settled when it is done).
        if (m_opening)
            m_lostTrackWhileOpening = true;
        else
            ++m_changes;
    });
}

void CaptureStatus::addStatusWidgets(QStatusBar *bar)
{
    m_warnings = new QLabel(m_window);
    m_warnings->setTextFormat(Qt::RichText);
    m_warnings->hide();
    connect(m_warnings, &QLabel::linkActivated, this, [this] {
        // Not modal: the warnings are worth reading, not worth stopping the window for.
        auto *box = new QMessageBox(QMessageBox::Information, tr("Warnings"), m_warnings->toolTip(),
                                    QMessageBox::Ok, m_window);
        box->setAttribute(Qt::WA_DeleteOnClose);
        box->open();
    });
    bar->addPermanentWidget(m_warnings);
    m_storage = new QLabel(m_window);
    bar->addPermanentWidget(m_storage);
}

QString CaptureStatus::storageText(const capture::CaptureStore::Stats &s, bool elide) const
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

void CaptureStatus::updateStorage()
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
    if (s.recordsOnDisk)
        tip << tr("%1 older message records left memory (the newest are kept) and are read back from disk "
                  "as they are shown.")
                   .arg(s.recordsOnDisk);
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

void CaptureStatus::showWarnings(const QString &path, const QStringList &warnings)
{
    m_lastWarnings = warnings;
    m_warnings->setVisible(!warnings.isEmpty());
    if (warnings.isEmpty())
        return;
    m_warnings->setText(
        QStringLiteral("<a href=\"#\">⚠ %1</a>")
            .arg(warnings.size() == 1 ? tr("1 warning") : tr("%1 warnings").arg(warnings.size())));
    m_warnings->setToolTip(tr("%1:\n%2").arg(QFileInfo(path).fileName(), warnings.join(QLatin1Char('\n'))));
}

void CaptureStatus::beginOpen()
{
    m_opening = true;
    const auto s = m_store.stats();
    m_sessionsBeforeOpen = s.sessions;
    m_messagesBeforeOpen = s.messages;
}

void CaptureStatus::noteChanges(const QList<capture::SessionId> &ids)
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

void CaptureStatus::settleOpen(const std::optional<capture::OpenResult> &result)
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
        changed = changed || !result || now.sessions != m_sessionsBeforeOpen + result->sessions
            || now.messages != m_messagesBeforeOpen + result->messages;
    }
    if (changed)
        ++m_changes;
}

bool CaptureStatus::hasUnsavedCapture() const
{
    const auto s = m_store.stats();
    // A --record file holds everything as it happens, unless recording stopped (disk budget, disk full).
    const bool recorded = !s.journalPath.isEmpty() && s.journalError.isEmpty();
    return s.sessions > 0 && !recorded && m_changes != m_savedChanges;
}

} // namespace socktap::ui
