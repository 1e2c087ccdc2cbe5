// Before a replay: where to (the original URL, or another ws:// or wss:// server), the handshake headers to
// send (one "Name: value" per line, as the original sent them, less those the client regenerates), the
// subprotocol offer, the timing, and JSON keys whose values may differ (timestamps, ids).
#pragma once

#include "core/replay/Replayer.h"

#include <QDialog>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;

namespace socktap::ui {

class ReplayDialog final : public QDialog
{
    Q_OBJECT

public:
    ReplayDialog(replay::ReplayPlan plan, QWidget *parent = nullptr);

    // After accept(): the plan as edited, and how to play it.
    const replay::ReplayPlan &plan() const { return m_plan; }
    replay::Timing timing() const;
    double speed() const;
    QStringList ignoreJsonKeys() const;

    QLineEdit *urlEdit() const { return m_url; }
    QPlainTextEdit *headersEdit() const { return m_headers; }
    QComboBox *timingBox() const { return m_timing; }
    QLineEdit *ignoreEdit() const { return m_ignore; }
    QLabel *errorLabel() const { return m_error; }

    void accept() override;

private:
    replay::ReplayPlan m_plan;
    QLineEdit *m_url;
    QPlainTextEdit *m_headers;
    QLineEdit *m_subprotocols;
    QComboBox *m_timing;
    QDoubleSpinBox *m_speed;
    QLineEdit *m_ignore;
    QLabel *m_error;
};

} // namespace socktap::ui
