#include "RecoveryOffer.h"

#include "FilesFeature.h"
#include "MainWindow.h"

#include "core/capture/TextFormat.h"

#include <QDir>
#include <QMessageBox>
#include <QPointer>
#include <QPushButton>

namespace socktap::ui {

RecoveryOffer::RecoveryOffer(MainWindow *window, std::vector<capture::CaptureDirectory> captures)
    : QObject(window)
    , m_window(window)
    , m_captures(std::move(captures))
{
    if (m_captures.empty())
        return;
    const capture::CaptureDirectory &c = m_captures.front();
    m_box = new QMessageBox(QMessageBox::Question, tr("Socktap"),
                            tr("Socktap did not stop cleanly: reopen its capture of %1, %2?")
                                .arg(capture::counted(c.summary.sessions, "session"),
                                     capture::counted(c.summary.messages, "message")),
                            QMessageBox::NoButton, window);
    QString details = tr("The run that started %1 %2. Its capture is in %3.")
                          .arg(QLocale().toString(c.started, QLocale::ShortFormat), c.howItEnded(), c.journal);
    if (m_captures.size() > 1)
        details += QLatin1Char(' ')
            + (m_captures.size() == 2
                   ? tr("One more run did not stop cleanly: 'socktap recover' lists its capture.")
                   : tr("%1 more runs did not stop cleanly: 'socktap recover' lists their captures.")
                         .arg(m_captures.size() - 1));
    details += QLatin1Char(' ') + tr("Later keeps it for 'socktap recover' and File > Open.");
    m_box->setInformativeText(details);
    m_box->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QPushButton *reopen = m_box->addButton(tr("Reopen"), QMessageBox::AcceptRole);
    m_box->addButton(tr("Later"), QMessageBox::RejectRole);
    QPushButton *discard = m_box->addButton(tr("Discard"), QMessageBox::DestructiveRole);
    m_box->setDefaultButton(reopen);
    m_box->setAttribute(Qt::WA_DeleteOnClose);
    connect(m_box, &QMessageBox::buttonClicked, this, [=, this](QAbstractButton *b) {
        choose(b == reopen ? Choice::Reopen : b == discard ? Choice::Discard : Choice::Later);
    });
    m_box->open();
}

void RecoveryOffer::choose(Choice choice)
{
    if (m_captures.empty())
        return;
    for (const capture::CaptureDirectory &c : m_captures)
        capture::markReported(c.path);
    const capture::CaptureDirectory &c = m_captures.front();
    switch (choice) {
    case Choice::Reopen:
        m_window->files()->openCaptureFile(c.journal);
        break;
    case Choice::Discard:
        QDir(c.path).removeRecursively();
        break;
    case Choice::Later:
        break;
    }
    if (m_box) {
        m_box->close();
        m_box = nullptr;
    }
}

} // namespace socktap::ui
