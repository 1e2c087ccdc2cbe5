#include "AttachFeature.h"

#include "MainWindow.h"
#include "UserSettings.h"

#include "certs/CertificateAuthority.h"
#include "core/intercept/ScriptLog.h"
#include "core/proxy/RemoteEngine.h"

#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFile>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QSettings>
#include <QStatusBar>

#include <cstdio>

namespace socktap::ui {

namespace {

const QString EnginesKey = QStringLiteral("attach/engines");

struct Remembered
{
    QString target, token, caFile;
};

std::vector<Remembered> rememberedEngines()
{
    std::vector<Remembered> out;
    const QVariantList list = userSettings().value(EnginesKey).toList();
    for (const QVariant &v : list) {
        const QVariantMap m = v.toMap();
        out.push_back({m.value(QStringLiteral("target")).toString(),
                       m.value(QStringLiteral("token")).toString(),
                       m.value(QStringLiteral("ca")).toString()});
    }
    return out;
}

} // namespace

AttachFeature::AttachFeature(MainWindow &window, capture::CaptureStore &store,
                             std::shared_ptr<intercept::InterceptHub> hub, certs::CertificateAuthority *ca)
    : QObject(&window)
    , m_window(window)
    , m_store(store)
    , m_hub(std::move(hub))
    , m_ca(ca)
{ }

AttachFeature::~AttachFeature() = default; // (the engines are children)

void AttachFeature::addFileActions(QMenu *file, QAction *before)
{
    auto *attach = new QAction(tr("Attach to Soc&ktap…"), file);
    attach->setToolTip(tr("Watch and act on a headless Socktap elsewhere (socktap --headless --control)"));
    connect(attach, &QAction::triggered, this, &AttachFeature::showAttachDialog);
    file->insertAction(before, attach);
    m_detachMenu = new QMenu(tr("&Detach"), file);
    m_detachMenu->setEnabled(false);
    file->insertMenu(before, m_detachMenu);
    file->insertSeparator(before);
}

void AttachFeature::addStatusWidgets(QStatusBar *bar)
{
    m_status = new QLabel(&m_window);
    m_status->setObjectName(QStringLiteral("attachStatus"));
    m_status->hide();
    bar->addWidget(m_status);
}

proxy::RemoteEngine *AttachFeature::attach(const QString &target, const QString &token, const QString &caFile,
                                           QString *error)
{
    for (proxy::RemoteEngine *e : m_engines)
        if (e->target() == target) {
            *error = tr("%1 is attached already").arg(target);
            return nullptr;
        }
    auto trust = proxy::RemoteEngine::Trust::read(caFile, caFile.isEmpty() && m_ca ? m_ca->certificatePem() : QByteArray(), error);
    if (!trust)
        return nullptr;
    proxy::RemoteEngine *engine = nullptr;
    if (const auto before = m_detached.find(target); before != m_detached.end()) {
        // Attached before: it goes on from where its stream stopped, so nothing appears twice.
        engine = before->second;
        m_detached.erase(before);
        m_engines.push_back(engine);
        engine->reopen(token, std::move(*trust));
    } else {
        engine = new proxy::RemoteEngine(target, token, std::move(*trust), m_store, m_hub, this);
        connect(engine, &proxy::RemoteEngine::stateChanged, this, &AttachFeature::updateStatus);
        // Said on stderr as well, as the window says its proxy's address: a terminal (or a script that
        // started the window with --attach) can tell whether it worked.
        connect(engine, &proxy::RemoteEngine::stateChanged, this, [engine] {
            if (engine->state() != proxy::RemoteEngine::State::Connecting)
                std::fprintf(stderr, "socktap: %s: %s\n", qPrintable(engine->target()),
                             qPrintable(engine->stateText()));
        });
        connect(engine, &proxy::RemoteEngine::remoteRestarted, this, [this, engine] {
            m_window.statusBar()->showMessage(
                tr("%1 restarted: its sessions from here on are new ones").arg(engine->target()), 10000);
        });
        m_engines.push_back(engine);
        engine->open();
    }
    remember(target, token, caFile);
    if (m_detachMenu) {
        QAction *detach = m_detachMenu->addAction(target);
        connect(detach, &QAction::triggered, this, [this, engine, detach] {
            detach->deleteLater();
            this->detach(engine);
        });
        m_detachMenu->setEnabled(true);
    }
    updateStatus();
    emit enginesChanged();
    return engine;
}

void AttachFeature::detach(proxy::RemoteEngine *engine)
{
    const auto it = std::find(m_engines.begin(), m_engines.end(), engine);
    if (it == m_engines.end())
        return;
    m_engines.erase(it);
    engine->detach();
    m_detached[engine->target()] = engine; // (kept: attaching again resumes its stream)
    if (m_detachMenu)
        m_detachMenu->setEnabled(!m_engines.empty());
    updateStatus();
    emit enginesChanged();
}

proxy::RemoteEngine *AttachFeature::engineOf(capture::SessionId id) const
{
    for (proxy::RemoteEngine *e : m_engines)
        if (e->owns(id))
            return e;
    // (a detached engine's sessions are still its: a command says the link is down, not "ended")
    for (const auto &[target, e] : m_detached)
        if (e->owns(id))
            return e;
    return nullptr;
}

void AttachFeature::pushRules()
{
    const auto rules = m_hub->rules();
    for (proxy::RemoteEngine *e : m_engines)
        e->setRules(*rules, this, [this, target = e->target()](const intercept::CommandResult &r) {
            if (!r.ok)
                m_window.statusBar()->showMessage(tr("Rules not sent to %1: %2").arg(target, r.error), 10000);
        });
}

void AttachFeature::pushScripts()
{
    const auto scripts = m_hub->scripts();
    const intercept::ScriptSet none;
    for (proxy::RemoteEngine *e : m_engines)
        e->setScripts(scripts ? *scripts : none, this, [this, target = e->target()](const intercept::CommandResult &r) {
            if (!r.ok)
                intercept::ScriptLog::instance().add(target, 0, intercept::ScriptLogLine::Level::Error, r.error);
        });
}

void AttachFeature::updateStatus()
{
    if (!m_status)
        return;
    QStringList lines;
    int attached = 0;
    for (const proxy::RemoteEngine *e : m_engines) {
        attached += e->state() == proxy::RemoteEngine::State::Attached;
        lines << tr("%1: %2").arg(e->target(), e->stateText());
    }
    m_status->setVisible(!m_engines.empty());
    const int all = int(m_engines.size());
    m_status->setText(attached == all ? (all == 1 ? tr("Attached to %1").arg(m_engines.front()->target())
                                                  : tr("Attached to %1 Socktaps").arg(all))
                                      : tr("Attached to %1 of %2 Socktaps (see the tooltip)").arg(attached).arg(all));
    m_status->setToolTip(lines.join(QLatin1Char('\n')));
}

void AttachFeature::remember(const QString &target, const QString &token, const QString &caFile)
{
    // Newest first, one entry per address. (The token is kept like the window's proxy credentials: in the
    // user's own settings file.)
    QVariantList list {QVariantMap {{QStringLiteral("target"), target},
                                    {QStringLiteral("token"), token},
                                    {QStringLiteral("ca"), caFile}}};
    for (const Remembered &r : rememberedEngines())
        if (r.target != target && list.size() < 10)
            list.append(QVariantMap {{QStringLiteral("target"), r.target},
                                     {QStringLiteral("token"), r.token},
                                     {QStringLiteral("ca"), r.caFile}});
    QSettings settings = userSettings();
    settings.setValue(EnginesKey, list);
    keepSettingsPrivate(settings); // (tokens)
}

void AttachFeature::showAttachDialog()
{
    auto *dialog = new QDialog(&m_window);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(tr("Attach to Socktap"));
    dialog->setMinimumWidth(dialog->fontMetrics().horizontalAdvance(QLatin1Char('x')) * 80);
    auto *form = new QFormLayout(dialog);
    auto *target = new QComboBox(dialog);
    target->setObjectName(QStringLiteral("attachTarget"));
    target->setEditable(true);
    target->lineEdit()->setPlaceholderText(tr("staging.example.com:9443"));
    const std::vector<Remembered> known = rememberedEngines();
    for (const Remembered &r : known)
        target->addItem(r.target);
    auto *token = new QLineEdit(dialog);
    token->setObjectName(QStringLiteral("attachToken"));
    token->setEchoMode(QLineEdit::PasswordEchoOnEdit);
    auto *ca = new QLineEdit(dialog);
    ca->setObjectName(QStringLiteral("attachCa"));
    ca->setPlaceholderText(tr("a PEM file, or sha256:… as its --control line prints; empty: yours"));
    auto *browse = new QPushButton(tr("Browse…"), dialog);
    auto *caRow = new QHBoxLayout;
    caRow->addWidget(ca);
    caRow->addWidget(browse);
    const auto fill = [=](int row) {
        if (row >= 0 && size_t(row) < known.size()) {
            token->setText(known[size_t(row)].token);
            ca->setText(known[size_t(row)].caFile);
        }
    };
    connect(target, &QComboBox::currentIndexChanged, dialog, fill);
    fill(target->currentIndex());
    connect(browse, &QPushButton::clicked, dialog, [dialog, ca] {
        const QString file =
            QFileDialog::getOpenFileName(dialog, tr("The remote Socktap's CA certificate"), {},
                                         tr("PEM certificate (*.pem *.crt);;All files (*)"));
        if (!file.isEmpty())
            ca->setText(file);
    });
    form->addRow(tr("Address (its --control):"), target);
    form->addRow(tr("Token:"), token);
    form->addRow(tr("Its CA:"), caRow);
    auto *hint =
        new QLabel(tr("On the remote, <tt>socktap --headless --control HOST:PORT</tt> prints the token and "
                      "its CA's fingerprint (<tt>--ca sha256:…</tt>); or <tt>socktap ca export FILE</tt> there "
                      "writes the CA. The sessions it captures join this list, marked with its address."),
                   dialog);
    hint->setWordWrap(true);
    form->addRow(hint);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, dialog);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Attach"));
    form->addRow(buttons);
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::reject);
    connect(buttons, &QDialogButtonBox::accepted, dialog, [this, dialog, target, token, ca] {
        QString error;
        if (!attach(target->currentText().trimmed(), token->text(), ca->text().trimmed(), &error)) {
            QMessageBox::warning(dialog, tr("Attach to Socktap"), error);
            return;
        }
        dialog->accept();
    });
    dialog->open();
}

} // namespace socktap::ui
