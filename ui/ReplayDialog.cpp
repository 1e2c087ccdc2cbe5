#include "ReplayDialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFontDatabase>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace socktap::ui {

ReplayDialog::ReplayDialog(replay::ReplayPlan plan, QWidget *parent)
    : QDialog(parent)
    , m_plan(std::move(plan))
{
    setWindowTitle(tr("Replay session %1").arg(m_plan.original));
    auto *form = new QFormLayout;
    m_url = new QLineEdit(m_plan.url.toString(), this);
    m_url->setToolTip(tr("The original server, or another one (a fixed build, staging): ws:// or wss://"));
    form->addRow(tr("&URL"), m_url);
    QStringList lines;
    for (const auto &[name, value] : m_plan.headers)
        lines.append(QString::fromLatin1(name) + QStringLiteral(": ") + QString::fromUtf8(value));
    m_headers = new QPlainTextEdit(lines.join(QLatin1Char('\n')), this);
    m_headers->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_headers->setToolTip(
        tr("Sent as they are, one 'Name: value' per line. Host, Upgrade, Connection and the "
           "Sec-WebSocket-Key and -Version are the client's own (RFC 6455 4.1)."));
    form->addRow(tr("&Headers"), m_headers);
    m_subprotocols = new QLineEdit(m_plan.subprotocols.join(QStringLiteral(", ")), this);
    form->addRow(tr("&Subprotocols offered"), m_subprotocols);
    m_timing = new QComboBox(this);
    m_timing->addItem(tr("As fast as possible"), int(replay::Timing::Fast));
    m_timing->addItem(tr("Original timing"), int(replay::Timing::Original));
    m_timing->addItem(tr("Conversation: wait for the server's answers"), int(replay::Timing::Conversation));
    form->addRow(tr("&Timing"), m_timing);
    m_speed = new QDoubleSpinBox(this);
    m_speed->setRange(0.01, 1000);
    m_speed->setValue(1);
    m_speed->setSuffix(QStringLiteral("×"));
    m_speed->setEnabled(false);
    connect(m_timing, &QComboBox::currentIndexChanged, this,
            [this] { m_speed->setEnabled(timing() == replay::Timing::Original); });
    form->addRow(tr("S&peed"), m_speed);
    m_ignore = new QLineEdit(this);
    m_ignore->setPlaceholderText(tr("timestamp, id"));
    m_ignore->setToolTip(
        tr("JSON keys whose values may differ between the original and the replay, at any depth"));
    form->addRow(tr("&Ignore JSON keys"), m_ignore);

    auto *layout = new QVBoxLayout(this);
    const int count = int(m_plan.steps.size());
    auto *intro = new QLabel((count == 1 ? tr("1 client message will be sent again")
                                         : tr("%1 client messages will be sent again").arg(count))
                                 + tr("; the server's answers are compared with the original's."),
                             this);
    intro->setWordWrap(true);
    layout->addWidget(intro);
    for (const QString &note : m_plan.notes) {
        // Words, not a symbol: U+24D8 drew as a missing-glyph box with the fonts Debian installs.
        auto *label = new QLabel(tr("Note: %1").arg(note), this);
        label->setWordWrap(true);
        layout->addWidget(label);
    }
    layout->addLayout(form);
    m_error = new QLabel(this);
    m_error->setStyleSheet(QStringLiteral("color: #d32f2f"));
    m_error->setWordWrap(true);
    m_error->hide();
    layout->addWidget(m_error);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("&Replay"));
    connect(buttons, &QDialogButtonBox::accepted, this, &ReplayDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
    resize(640, 460);
}

replay::Timing ReplayDialog::timing() const
{
    return replay::Timing(m_timing->currentData().toInt());
}

double ReplayDialog::speed() const
{
    return m_speed->value();
}

QStringList ReplayDialog::ignoreJsonKeys() const
{
    QStringList keys;
    for (const QString &k : m_ignore->text().split(QLatin1Char(',')))
        if (!k.trimmed().isEmpty())
            keys.append(k.trimmed());
    return keys;
}

void ReplayDialog::accept()
{
    const auto fail = [this](const QString &why) {
        m_error->setText(why);
        m_error->show();
    };
    const QUrl url(m_url->text().trimmed());
    if (!url.isValid() || (url.scheme() != u"ws" && url.scheme() != u"wss") || url.host().isEmpty())
        return fail(tr("The URL must be ws:// or wss:// with a host."));
    replay::ReplayPlan edited = m_plan;
    edited.url = url;
    edited.headers.clear();
    QString error;
    for (const QString &line : m_headers->toPlainText().split(QLatin1Char('\n'))) {
        if (!line.trimmed().isEmpty() && !edited.setHeader(line, &error))
            return fail(tr("Header %1").arg(error));
    }
    edited.subprotocols.clear();
    for (const QString &p : m_subprotocols->text().split(QLatin1Char(',')))
        if (!p.trimmed().isEmpty())
            edited.subprotocols.append(p.trimmed());
    m_plan = std::move(edited);
    m_error->hide();
    QDialog::accept();
}

} // namespace socktap::ui
