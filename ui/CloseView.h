// The Close tab: the code and reason each way with the registered name and meaning, who closed first,
// whether the closing handshake completed, the time from the first Close to the end of TCP, and for
// abnormal ends what happened.
#pragma once

#include "core/capture/CaptureTypes.h"

#include <QTextBrowser>

namespace socktap::ui {

class CloseView final : public QTextBrowser
{
    Q_OBJECT

public:
    explicit CloseView(QWidget *parent = nullptr);
    void setSession(const capture::SessionInfo &session);
};

} // namespace socktap::ui
