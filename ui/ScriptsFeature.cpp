#include "ScriptsFeature.h"
#include "UserSettings.h"

#include "MainWindow.h"

#include "core/intercept/ScriptLog.h"

#include <QAction>
#include <QDialogButtonBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QListWidget>
#include <QMenu>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QTimer>
#include <QVBoxLayout>

namespace socktap::ui {

namespace {

const QString SettingsKey = QStringLiteral("scripts/list");


} // namespace

ScriptsFeature::ScriptsFeature(MainWindow &window, std::shared_ptr<intercept::InterceptHub> hub)
    : QObject(&window)
    , m_window(window)
    , m_hub(std::move(hub))
    , m_timeoutMs(m_hub->scriptTimeout())
    , m_reloadSoon(new QTimer(this))
{
    m_reloadSoon->setSingleShot(true);
    m_reloadSoon->setInterval(150);
    connect(m_reloadSoon, &QTimer::timeout, this, [this] { reload(false); });
    connect(&m_watcher, &QFileSystemWatcher::fileChanged, this, [this] { m_reloadSoon->start(); });
    // --script FILE wins for this run (its time limit too); otherwise the list the window saved.
    if (const auto current = m_hub->scripts()) {
        m_timeoutMs = current->timeoutMs;
        for (const intercept::Script &s : current->scripts)
            m_entries.append({s.path, true, {}});
        watch();
        return;
    }
    const QJsonArray saved = QJsonDocument::fromJson(userSettings().value(SettingsKey).toByteArray()).array();
    for (const QJsonValue &v : saved)
        m_entries.append({v[QLatin1String("path")].toString(), v[QLatin1String("enabled")].toBool(true), {}});
    if (!m_entries.isEmpty())
        reload();
}

void ScriptsFeature::addToolsActions(QMenu *tools)
{
    tools->addAction(tr("&Scripts…"), this, &ScriptsFeature::show);
}

void ScriptsFeature::setEntries(QList<Entry> entries)
{
    m_entries = std::move(entries);
    QJsonArray out;
    for (const Entry &e : std::as_const(m_entries))
        out.append(QJsonObject {{QStringLiteral("path"), e.path}, {QStringLiteral("enabled"), e.enabled}});
    userSettings().setValue(SettingsKey, QJsonDocument(out).toJson(QJsonDocument::Compact));
    reload();
}

void ScriptsFeature::reload(bool always)
{
    intercept::ScriptSet set;
    set.timeoutMs = m_timeoutMs;
    QStringList loaded;
    for (Entry &e : m_entries) {
        e.error.clear();
        if (!e.enabled)
            continue;
        QFile f(e.path);
        if (!f.open(QIODevice::ReadOnly)) {
            e.error = QStringLiteral("%1: %2").arg(e.path, f.errorString());
        } else {
            intercept::Script script {QFileInfo(e.path).fileName(), e.path, QString::fromUtf8(f.readAll())};
            e.error = intercept::scriptError(script, m_timeoutMs);
            if (e.error.isEmpty()) {
                loaded.append(script.name);
                set.scripts.push_back(std::move(script)); // (a new health: a disabled script runs again)
            }
        }
        if (!e.error.isEmpty())
            intercept::ScriptLog::instance().add(QFileInfo(e.path).fileName(), 0,
                                                 intercept::ScriptLogLine::Level::Error,
                                                 tr("not loaded: %1").arg(e.error));
    }
    // A file watched for another editor's save that holds what runs already (the dialog's own save, a
    // touch) changes nothing: the scripts keep their state and a disabled one stays so.
    const auto running = m_hub->scripts();
    const auto same = [&] {
        if (!running || running->scripts.size() != set.scripts.size())
            return set.scripts.empty() && !running;
        for (size_t i = 0; i < set.scripts.size(); ++i)
            if (running->scripts[i].path != set.scripts[i].path
                || running->scripts[i].source != set.scripts[i].source)
                return false;
        return true;
    };
    if (!always && same()) {
        watch();
        return;
    }
    m_hub->setScripts(std::move(set));
    intercept::ScriptLog::instance().add(QStringLiteral("socktap"), 0, intercept::ScriptLogLine::Level::Log,
                                         loaded.isEmpty()
                                             ? tr("no scripts running")
                                             : tr("running %1").arg(loaded.join(QStringLiteral(", "))));
    watch();
    refreshList();
    emit scriptsReplaced();
    emit formatsReplaced();
}

void ScriptsFeature::watch()
{
    // Editors often save by writing a new file in place of the old: the path is watched again each time.
    if (!m_watcher.files().isEmpty())
        m_watcher.removePaths(m_watcher.files());
    for (const Entry &e : std::as_const(m_entries))
        if (QFileInfo::exists(e.path))
            m_watcher.addPath(e.path);
}

void ScriptsFeature::show()
{
    if (!m_dialog)
        buildDialog();
    refreshList();
    pollConsole();
    m_dialog->show();
    m_dialog->raise();
    m_dialog->activateWindow();
}

void ScriptsFeature::buildDialog()
{
    m_dialog = new QDialog(&m_window);
    m_dialog->setObjectName(QStringLiteral("scriptsDialog"));
    m_dialog->setWindowTitle(tr("Scripts"));
    m_dialog->resize(980, 640);

    m_list = new QListWidget;
    m_list->setObjectName(QStringLiteral("scriptList"));
    connect(m_list, &QListWidget::currentRowChanged, this, &ScriptsFeature::showSelected);
    connect(m_list, &QListWidget::itemChanged, this, [this](QListWidgetItem *item) {
        const int row = m_list->row(item);
        if (row < 0 || row >= m_entries.size())
            return;
        const bool on = item->checkState() == Qt::Checked;
        if (m_entries[row].enabled == on)
            return;
        QList<Entry> entries = m_entries;
        entries[row].enabled = on;
        setEntries(entries);
    });
    auto *add = new QPushButton(tr("Add…"));
    auto *remove = new QPushButton(tr("Remove"));
    auto *up = new QPushButton(tr("Up"));
    auto *down = new QPushButton(tr("Down"));
    auto *reloadButton = new QPushButton(tr("Reload"));
    connect(add, &QPushButton::clicked, this, [this] {
        const QStringList files = QFileDialog::getOpenFileNames(m_dialog, tr("Add scripts"), QString(),
                                                                tr("JavaScript (*.js);;All files (*)"));
        if (files.isEmpty())
            return;
        QList<Entry> entries = m_entries;
        for (const QString &f : files)
            entries.append({QFileInfo(f).absoluteFilePath(), true, {}});
        setEntries(entries);
        m_list->setCurrentRow(int(m_entries.size()) - 1);
    });
    connect(remove, &QPushButton::clicked, this, [this] {
        const int row = selectedRow();
        if (row < 0)
            return;
        QList<Entry> entries = m_entries;
        entries.removeAt(row);
        setEntries(entries);
    });
    const auto move = [this](int by) {
        const int row = selectedRow();
        if (row < 0 || row + by < 0 || row + by >= m_entries.size())
            return;
        QList<Entry> entries = m_entries;
        entries.swapItemsAt(row, row + by);
        setEntries(entries);
        m_list->setCurrentRow(row + by);
    };
    connect(up, &QPushButton::clicked, this, [move] { move(-1); });
    connect(down, &QPushButton::clicked, this, [move] { move(1); });
    connect(reloadButton, &QPushButton::clicked, this, [this] { reload(); });
    auto *buttons = new QHBoxLayout;
    for (QPushButton *b : {add, remove, up, down, reloadButton})
        buttons->addWidget(b);
    buttons->addStretch();
    auto *left = new QWidget;
    auto *leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    leftLayout->addWidget(new QLabel(tr("Run in this order, on every WebSocket session:")));
    leftLayout->addWidget(m_list);
    leftLayout->addLayout(buttons);

    m_editorLabel = new QLabel;
    m_editor = new QPlainTextEdit;
    m_editor->setObjectName(QStringLiteral("scriptEditor"));
    m_editor->setFont(QFont(QStringLiteral("monospace")));
    m_editor->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_save = new QPushButton(tr("Save and reload"));
    m_save->setObjectName(QStringLiteral("scriptSave"));
    m_save->setShortcut(QKeySequence::Save);
    connect(m_save, &QPushButton::clicked, this, &ScriptsFeature::saveEditor);
    auto *right = new QWidget;
    auto *rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    rightLayout->addWidget(m_editorLabel);
    rightLayout->addWidget(m_editor);
    auto *saveRow = new QHBoxLayout;
    saveRow->addStretch();
    saveRow->addWidget(m_save);
    rightLayout->addLayout(saveRow);

    auto *top = new QSplitter(Qt::Horizontal);
    top->addWidget(left);
    top->addWidget(right);
    top->setSizes({300, 660});

    m_console = new QPlainTextEdit;
    m_console->setObjectName(QStringLiteral("scriptConsole"));
    m_console->setReadOnly(true);
    m_console->setFont(QFont(QStringLiteral("monospace")));
    m_console->setMaximumBlockCount(int(intercept::ScriptLog::Limit));
    m_consoleNote = new QLabel;
    auto *clear = new QPushButton(tr("Clear"));
    connect(clear, &QPushButton::clicked, this, [this] {
        intercept::ScriptLog::instance().clear();
        m_console->clear();
        m_consoleNote->clear();
    });
    auto *bottom = new QWidget;
    auto *bottomLayout = new QVBoxLayout(bottom);
    bottomLayout->setContentsMargins(0, 0, 0, 0);
    auto *consoleHead = new QHBoxLayout;
    consoleHead->addWidget(new QLabel(tr("Console: console.log and errors (file:line, session)")));
    consoleHead->addStretch();
    consoleHead->addWidget(m_consoleNote);
    consoleHead->addWidget(clear);
    bottomLayout->addLayout(consoleHead);
    bottomLayout->addWidget(m_console);

    auto *split = new QSplitter(Qt::Vertical);
    split->addWidget(top);
    split->addWidget(bottom);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    auto *close = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(close, &QDialogButtonBox::rejected, m_dialog, &QDialog::hide);
    auto *layout = new QVBoxLayout(m_dialog);
    layout->addWidget(split);
    layout->addWidget(close);

    m_poll = new QTimer(this);
    m_poll->setInterval(250);
    connect(m_poll, &QTimer::timeout, this, &ScriptsFeature::pollConsole);
    m_poll->start();
}

int ScriptsFeature::selectedRow() const
{
    return m_list ? m_list->currentRow() : -1;
}

void ScriptsFeature::refreshList()
{
    if (!m_list)
        return;
    const QSignalBlocker blocker(m_list);
    const int row = m_list->currentRow();
    m_list->clear();
    const auto running = m_hub->scripts();
    for (const Entry &e : std::as_const(m_entries)) {
        QString text = QFileInfo(e.path).fileName();
        if (!e.error.isEmpty()) {
            text += tr(" (not loaded: %1)").arg(e.error.section(QLatin1Char('\n'), 0, 0));
        } else if (running) {
            for (const intercept::Script &s : running->scripts)
                if (s.path == e.path && s.health->disabled.load())
                    text += tr(" (disabled after %1 failures in a row: save or reload to run it again)")
                                .arg(intercept::ScriptRunner::DisableAfter);
        }
        auto *item = new QListWidgetItem(text, m_list);
        item->setToolTip(e.path);
        item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
        item->setCheckState(e.enabled ? Qt::Checked : Qt::Unchecked);
    }
    m_list->setCurrentRow(row >= 0 && row < m_list->count() ? row : (m_list->count() ? 0 : -1));
    showSelected();
}

void ScriptsFeature::showSelected()
{
    const int row = selectedRow();
    const QString path = row >= 0 && row < m_entries.size() ? m_entries[row].path : QString();
    if (path == m_editing && !path.isEmpty())
        return; // (not while the user types)
    m_editing = path;
    QFile f(path);
    m_editor->setPlainText(!path.isEmpty() && f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll())
                                                                          : QString());
    m_editor->setEnabled(!path.isEmpty());
    m_save->setEnabled(!path.isEmpty());
    m_editorLabel->setText(path.isEmpty() ? tr("Add a script to edit it here.") : path);
}

void ScriptsFeature::saveEditor()
{
    if (m_editing.isEmpty())
        return;
    QFile f(m_editing);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)
        || f.write(m_editor->toPlainText().toUtf8()) < 0) {
        m_window.statusBar()->showMessage(tr("Cannot save %1: %2").arg(m_editing, f.errorString()), 10000);
        return;
    }
    f.close();
    reload(); // now, not when the watcher notices
}

void ScriptsFeature::pollConsole()
{
    if (!m_console)
        return;
    const auto lines = intercept::ScriptLog::instance().since(m_consoleSeq);
    for (const intercept::ScriptLogLine &line : lines) {
        m_consoleSeq = line.seq;
        m_console->appendPlainText(line.display());
    }
    if (const quint64 evicted = intercept::ScriptLog::instance().evicted())
        m_consoleNote->setText(
            tr("%1 older lines dropped (the log keeps %2)").arg(evicted).arg(intercept::ScriptLog::Limit));
    if (!lines.empty())
        refreshList(); // (a script may have been disabled)
}

} // namespace socktap::ui
