#include "WindowNotice.h"

#include <QMainWindow>
#include <QMessageBox>
#include <QStatusBar>

namespace socktap::ui {

void warnInWindow(QMainWindow *window, const QString &title, const QString &message)
{
    window->statusBar()->showMessage(message, StatusMessageMs);
    auto *box = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, window);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setTextInteractionFlags(Qt::TextSelectableByMouse);
    box->open();
}

} // namespace socktap::ui
