// How a feature of the window tells the user something went wrong: in the status bar and in a box that
// does not wait. Shared by the window's features so that every warning looks and behaves the same.
#pragma once

#include <QString>

class QMainWindow;

namespace socktap::ui {

// Window-modal, not application-modal, and not waited for: a problem must not stop the capture, nor a test.
void warnInWindow(QMainWindow *window, const QString &title, const QString &message);

constexpr int StatusMessageMs = 20000;

} // namespace socktap::ui
