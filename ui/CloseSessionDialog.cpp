#include "CloseSessionDialog.h"

#include "core/ws/CloseCode.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QRadioButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace socktap::ui {

CloseSessionDialog::CloseSessionDialog(capture::SessionId session, QWidget *parent)
    : QDialog(parent)
{
    setWindowTitle(tr("Close session #%1").arg(session));
    m_close = new QRadioButton(tr("Send a Close frame"), this);
    m_close->setChecked(true);
    m_reset = new QRadioButton(tr("Reset TCP (no Close frame)"), this);
    m_code = new QSpinBox(this);
    m_code->setRange(0, 65535);
    m_code->setValue(1000);
    m_code->setToolTip(tr("Sent as given: invalid codes (0, 1005, 1006, 5000...) test the peer's checks"));
    auto *codeName = new QLabel(this);
    m_reason = new QLineEdit(this);
    m_reason->setPlaceholderText(tr("optional, UTF-8"));
    m_peers = new QComboBox(this);
    m_peers->addItems({tr("Both peers"), tr("The client only"), tr("The server only")});
    m_abrupt = new QCheckBox(tr("Then end TCP at once (no closing handshake)"), this);
    m_abrupt->setToolTip(tr("As a crashing server does: the peer gets the Close and then the end of the "
                            "connection, without the chance to answer it (RFC 6455 7.1.1)"));
    m_resetWhich = new QComboBox(this);
    m_resetWhich->addItems({tr("Both connections"), tr("The client's (the server's ends with a FIN)"),
                            tr("The server's (the client's ends with a FIN)")});
    auto *form = new QFormLayout;
    form->addRow(tr("Code"), m_code);
    form->addRow(QString(), codeName);
    form->addRow(tr("Reason"), m_reason);
    form->addRow(tr("Send to"), m_peers);
    form->addRow(QString(), m_abrupt);
    auto *resetForm = new QFormLayout;
    resetForm->addRow(tr("Reset"), m_resetWhich);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_close);
    layout->addLayout(form);
    layout->addWidget(m_reset);
    layout->addLayout(resetForm);
    layout->addWidget(buttons);

    const auto update = [this, codeName] {
        codeName->setText(ws::closeCodeLabel(quint16(m_code->value())));
        for (QWidget *w : std::initializer_list<QWidget *> {m_code, m_reason, m_peers, m_abrupt})
            w->setEnabled(m_close->isChecked());
        m_resetWhich->setEnabled(m_reset->isChecked());
    };
    connect(m_code, &QSpinBox::valueChanged, this, update);
    connect(m_close, &QRadioButton::toggled, this, update);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    update();
}

intercept::SessionCommand CloseSessionDialog::command() const
{
    intercept::SessionCommand c;
    if (m_reset->isChecked()) {
        c.kind = intercept::SessionCommand::Kind::Reset;
        c.toClient = m_resetWhich->currentIndex() != ServerOnly;
        c.toServer = m_resetWhich->currentIndex() != ClientOnly;
        return c;
    }
    c.kind = intercept::SessionCommand::Kind::Close;
    c.closeCode = quint16(m_code->value());
    c.closeReason = m_reason->text().toUtf8();
    c.toClient = m_peers->currentIndex() != ServerOnly;
    c.toServer = m_peers->currentIndex() != ClientOnly;
    c.handshake = !m_abrupt->isChecked();
    return c;
}

} // namespace socktap::ui
