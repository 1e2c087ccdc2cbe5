#include "CloseSessionDialog.h"

#include "core/ws/CloseCode.h"

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
    m_reset = new QRadioButton(tr("Reset both TCP connections (no Close frame)"), this);
    m_code = new QSpinBox(this);
    m_code->setRange(0, 65535);
    m_code->setValue(1000);
    m_code->setToolTip(tr("Sent as given: invalid codes (0, 1005, 1006, 5000...) test the peer's checks"));
    auto *codeName = new QLabel(this);
    m_reason = new QLineEdit(this);
    m_reason->setPlaceholderText(tr("optional, UTF-8"));
    m_peers = new QComboBox(this);
    m_peers->addItems({tr("Both peers"), tr("The client only"), tr("The server only")});
    auto *form = new QFormLayout;
    form->addRow(tr("Code"), m_code);
    form->addRow(QString(), codeName);
    form->addRow(tr("Reason"), m_reason);
    form->addRow(tr("Send to"), m_peers);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_close);
    layout->addLayout(form);
    layout->addWidget(m_reset);
    layout->addWidget(buttons);

    const auto update = [this, codeName] {
        codeName->setText(ws::closeCodeLabel(quint16(m_code->value())));
        for (QWidget *w : std::initializer_list<QWidget *> {m_code, m_reason, m_peers})
            w->setEnabled(m_close->isChecked());
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
        return c;
    }
    c.kind = intercept::SessionCommand::Kind::Close;
    c.closeCode = quint16(m_code->value());
    c.closeReason = m_reason->text().toUtf8();
    c.toClient = m_peers->currentIndex() != ServerOnly;
    c.toServer = m_peers->currentIndex() != ClientOnly;
    return c;
}

} // namespace socktap::ui
