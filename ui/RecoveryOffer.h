// After a run that did not stop cleanly (killed, crashed, ended by a signal), the window's next start
// offers its capture back: Reopen (into this window), Later (kept for 'socktap recover' and File > Open),
// or Discard. A box that does not wait: the proxy is already running and traffic may be arriving.
#pragma once

#include "core/capture/Recovery.h"

#include <QObject>
#include <QPointer>

#include <QMessageBox>

namespace socktap::ui {

class MainWindow;

class RecoveryOffer final : public QObject
{
    Q_OBJECT

public:
    enum class Choice { Reopen, Later, Discard };

    // Shows the offer for the newest of captures (others: how many more there are). The captures are
    // marked as offered whatever the choice, so the next start does not ask again.
    RecoveryOffer(MainWindow *window, std::vector<capture::CaptureDirectory> captures);
    QMessageBox *box() const { return m_box; }
    // What a click on the button does (tests press them).
    void choose(Choice choice);

private:
    MainWindow *m_window;
    std::vector<capture::CaptureDirectory> m_captures;
    QPointer<QMessageBox> m_box;
};

} // namespace socktap::ui
