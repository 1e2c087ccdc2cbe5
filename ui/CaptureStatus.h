// What the window says about the capture as a whole, beside the File menu: where it lives (memory, disk,
// a --record file, and the error when writing it failed), the warnings of the last file opened or saved,
// and whether it has changes no file holds (what the question at exit is about). Live traffic counts as a
// change; the sessions of a file being opened do not, once the open has said which they are.
#pragma once

#include "core/capture/CaptureStore.h"
#include "core/capture/NativeFile.h"

#include <QObject>
#include <QSet>
#include <QStringList>

#include <optional>

class QLabel;
class QStatusBar;
class QWidget;

namespace socktap::ui {

class CaptureFeed;

class CaptureStatus final : public QObject
{
    Q_OBJECT

public:
    CaptureStatus(capture::CaptureStore &store, CaptureFeed *feed, QWidget *window);

    // The warnings link and where the capture lives, in the status bar.
    void addStatusWidgets(QStatusBar *bar);
    void updateStorage();
    // Where the capture is, in one phrase: the status bar and the quit question say the same.
    QString storageText(const capture::CaptureStore::Stats &s, bool elide) const;
    void showWarnings(const QString &path, const QStringList &warnings);
    QStringList warnings() const { return m_lastWarnings; }

    // Changes: an open's own sessions are told from live traffic once it ends (settleOpen).
    void beginOpen();
    void settleOpen(const std::optional<capture::OpenResult> &result);
    // What a save taken now covers; savedUpTo(it) once the save has succeeded.
    quint64 changes() const { return m_changes; }
    void savedUpTo(quint64 changes) { m_savedChanges = changes; }
    // The capture changed since it was last saved, and no --record file holds it.
    bool hasUnsavedCapture() const;

    QLabel *storageLabel() const { return m_storage; }
    QLabel *warningsLabel() const { return m_warnings; }

private:
    void noteChanges(const QList<capture::SessionId> &ids);

    capture::CaptureStore &m_store;
    QWidget *m_window;
    QLabel *m_warnings = nullptr;
    QLabel *m_storage = nullptr;
    QStringList m_lastWarnings;
    // m_changes counts the feed's updates of sessions that no opened file holds (live traffic); a save
    // remembers the count it saved. Updates that arrive while a file opens cannot be told apart until its
    // session ids are known, so they wait in m_openingIds.
    quint64 m_changes = 0;
    quint64 m_savedChanges = 0;
    bool m_opening = false;
    QSet<capture::SessionId> m_openingIds;
    bool m_lostTrackWhileOpening = false;
    // The store's counts before an open, to tell whether only the file's sessions arrived meanwhile.
    quint64 m_sessionsBeforeOpen = 0;
    quint64 m_messagesBeforeOpen = 0;
};

} // namespace socktap::ui
