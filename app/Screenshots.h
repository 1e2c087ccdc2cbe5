// socktap --demo --screenshots DIR: once the demo has run, shows each inspector for the demo's sessions and
// saves the window as PNG files in DIR (for docs/ and the README), then quits.
#pragma once

#include <QString>

namespace socktap::ui {
class MainWindow;
}

namespace socktap::app {

void takeScreenshots(ui::MainWindow *window, const QString &dir);

} // namespace socktap::app
