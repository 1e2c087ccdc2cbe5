// Session > Close session…: a Close frame with a chosen code (invalid ones allowed) and reason to the
// client, the server or both, or a TCP reset of both connections. Only builds the command.
#pragma once

#include "core/intercept/SessionCommand.h"

#include <QDialog>

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

private:
    QRadioButton *m_close;
    QRadioButton *m_reset;
    QSpinBox *m_code;
    QLineEdit *m_reason;
    QComboBox *m_peers;
};

} // namespace socktap::ui
