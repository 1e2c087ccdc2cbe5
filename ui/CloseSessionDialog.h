// Session > Close session…: a Close frame with a chosen code (invalid ones allowed) and reason to the
// client, the server or both, with the closing handshake or TCP ended right after it; or a TCP reset of
// both connections or of one (the other then ends with a FIN). Only builds the command.
#pragma once

#include "core/intercept/SessionCommand.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QLineEdit;
class QRadioButton;
class QSpinBox;

namespace socktap::ui {

class CloseSessionDialog final : public QDialog
{
    Q_OBJECT

public:
    enum Peers { BothPeers, ClientOnly, ServerOnly };

    explicit CloseSessionDialog(capture::SessionId session, QWidget *parent = nullptr);

    intercept::SessionCommand command() const;

    QRadioButton *closeChoice() const { return m_close; }
    QRadioButton *resetChoice() const { return m_reset; }
    QSpinBox *codeBox() const { return m_code; }
    QLineEdit *reasonEdit() const { return m_reason; }
    QComboBox *peersBox() const { return m_peers; }
    QCheckBox *abruptBox() const { return m_abrupt; }
    QComboBox *resetBox() const { return m_resetWhich; }

private:
    QRadioButton *m_close;
    QRadioButton *m_reset;
    QSpinBox *m_code;
    QLineEdit *m_reason;
    QComboBox *m_peers;
    QCheckBox *m_abrupt;
    QComboBox *m_resetWhich;
};

} // namespace socktap::ui
