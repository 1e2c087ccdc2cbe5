#include "InterceptPane.h"

#include "HeldMessageModel.h"
#include "MessageEditor.h"

#include "core/capture/TextFormat.h"
#include "core/ws/Frame.h"

#include <QAction>
#include <QDialog>
#include <QDialogButtonBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableView>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include <map>

namespace socktap::ui {

namespace {

QString fromText(capture::Direction from)
{
    return from == capture::Direction::ClientToServer ? QObject::tr("from the client")
                                                      : QObject::tr("from the server");
}

// A held message in words, without a number of its own: the only message numbers are the Messages tab's,
// which a message gets once it is forwarded (a held one is not in the capture yet).
QString describe(const intercept::HeldMessage &m)
{
    return QObject::tr("the %1 message %2 (%3) in session %4")
        .arg(QString::fromLatin1(ws::opcodeName(m.opcode)).toLower(), fromText(m.from),
             capture::byteSize(quint64(m.payload.size())))
        .arg(m.session);
}

} // namespace

InterceptPane::InterceptPane(std::shared_ptr<intercept::InterceptHub> hub, CommandSender send,
                             QWidget *parent)
    : QDockWidget(tr("Intercept"), parent)
    , m_hub(std::move(hub))
    , m_send(std::move(send))
    , m_model(new HeldMessageModel(this))
    , m_poll(new QTimer(this))
    , m_tick(new QTimer(this))
{
    setObjectName(QStringLiteral("interceptDock"));
    auto *body = new QWidget(this);
    m_view = new QTableView(body);
    m_view->setObjectName(QStringLiteral("held"));
    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->verticalHeader()->hide();
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 6);
    m_view->setWordWrap(false);
    m_view->setAlternatingRowColors(true);
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->setColumnWidth(HeldMessageModel::Session, 64);
    m_view->setColumnWidth(HeldMessageModel::Url, 200);
    m_view->setColumnWidth(HeldMessageModel::From, 36);
    m_view->setColumnWidth(HeldMessageModel::Type, 64);
    m_view->setColumnWidth(HeldMessageModel::Size, 72);
    m_view->setColumnWidth(HeldMessageModel::HeldFor, 72);
    m_view->setColumnWidth(HeldMessageModel::Preview, 320);

    m_forward = makeAction(tr("&Forward"), QKeySequence(Qt::Key_F8), &InterceptPane::forwardSelected);
    m_forward->setToolTip(tr("Send the selected held messages on, unchanged (F8)"));
    m_edit = makeAction(tr("&Edit…"), QKeySequence(Qt::SHIFT | Qt::Key_F2), &InterceptPane::editSelected);
    m_edit->setToolTip(tr("Change the message, then forward it (Shift+F2)"));
    m_drop = makeAction(tr("&Drop"), QKeySequence(Qt::CTRL | Qt::Key_Delete), &InterceptPane::dropSelected);
    m_drop->setToolTip(tr("Never deliver the selected held messages (Delete, Ctrl+Delete)"));
    m_forwardAll =
        makeAction(tr("Forward &all"), QKeySequence(Qt::SHIFT | Qt::Key_F8), &InterceptPane::forwardAll);
    m_forwardAll->setToolTip(tr("Forward everything held and stop pausing (Shift+F8)"));
    // Delete drops too, but only while the list has focus: elsewhere it edits text.
    auto *deleteKey = new QAction(m_view);
    deleteKey->setShortcut(QKeySequence::Delete);
    deleteKey->setShortcutContext(Qt::WidgetShortcut);
    connect(deleteKey, &QAction::triggered, this, &InterceptPane::dropSelected);
    m_view->addAction(deleteKey);
    connect(m_view, &QTableView::doubleClicked, this, &InterceptPane::editSelected);

    auto *buttons = new QHBoxLayout;
    for (QAction *action : {m_forward, m_edit, m_drop, m_forwardAll}) {
        auto *b = new QToolButton(body);
        b->setDefaultAction(action);
        b->setToolButtonStyle(Qt::ToolButtonTextOnly);
        buttons->addWidget(b);
    }
    m_status = new QLabel(body);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    buttons->addSpacing(12);
    buttons->addWidget(m_status, 1);
    auto *layout = new QVBoxLayout(body);
    layout->setContentsMargins(4, 2, 4, 4);
    layout->addLayout(buttons);
    layout->addWidget(m_view, 1);
    setWidget(body);

    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &InterceptPane::updateActions);
    connect(m_model, &QAbstractItemModel::rowsInserted, this, &InterceptPane::updateActions);
    connect(m_model, &QAbstractItemModel::rowsRemoved, this, &InterceptPane::updateActions);
    connect(m_poll, &QTimer::timeout, this, &InterceptPane::refresh);
    connect(m_tick, &QTimer::timeout, m_model, &HeldMessageModel::tick);
    if (m_hub)
        m_poll->start(50);
    m_tick->start(200);
    updateActions();
}

QAction *InterceptPane::makeAction(const QString &text, const QKeySequence &key,
                                   void (InterceptPane::*slot)())
{
    auto *action = new QAction(text, this);
    action->setShortcut(key);
    action->setShortcutContext(Qt::WindowShortcut);
    connect(action, &QAction::triggered, this, slot);
    return action;
}

void InterceptPane::refresh()
{
    if (!m_hub || m_hub->heldGeneration() == m_generation)
        return;
    m_generation = m_hub->heldGeneration();
    const bool hadNone = m_model->rowCount() == 0;
    m_model->setHeld(m_hub->held());
    if (m_model->rowCount() == 0)
        return;
    if (hadNone)
        m_status->clear(); // what was said about the last batch is not about this one
    if (!m_view->currentIndex().isValid())
        m_view->setCurrentIndex(m_model->index(0, 0)); // F8 then steps through them, oldest first
    if (hadNone && isHidden()) {
        // Held messages stop the application being debugged: make sure they are seen.
        show();
        raise();
    }
}

QList<int> InterceptPane::targetRows() const
{
    QList<int> rows;
    for (const QModelIndex &index : m_view->selectionModel()->selectedRows())
        rows.append(index.row());
    if (rows.isEmpty() && m_model->rowCount() > 0)
        rows.append(m_view->currentIndex().isValid() ? m_view->currentIndex().row() : 0);
    std::sort(rows.begin(), rows.end());
    return rows;
}

void InterceptPane::updateActions()
{
    const bool any = m_model->rowCount() > 0;
    m_forward->setEnabled(any);
    m_drop->setEnabled(any);
    m_forwardAll->setEnabled(any);
    const QList<int> rows = targetRows();
    m_edit->setEnabled(rows.size() == 1 && !m_model->message(rows.first()).truncated);
}

void InterceptPane::report(const intercept::CommandResult &result, const QString &what)
{
    const QString text = result.ok ? what : tr("%1 failed: %2").arg(what, result.error);
    m_status->setStyleSheet(result.ok ? QString() : QStringLiteral("color: #c62828"));
    m_status->setText(text);
    if (!result.ok)
        emit status(text);
}

void InterceptPane::release(const intercept::HeldMessage &m, std::optional<intercept::OutgoingMessage> edited)
{
    intercept::SessionCommand command;
    command.kind = intercept::SessionCommand::Kind::Release;
    command.from = m.from;
    command.id = m.id;
    const bool wasEdited = edited.has_value();
    command.message = std::move(edited);
    const QString what = (wasEdited ? tr("Forwarded %1, edited") : tr("Forwarded %1")).arg(describe(m));
    m_send(m.session, command, this, [this, what](const auto &result) { report(result, what); });
}

void InterceptPane::forwardSelected()
{
    // Copies: the model changes under us when the hub answers.
    std::vector<intercept::HeldMessage> targets;
    for (int row : targetRows())
        targets.push_back(m_model->message(row));
    for (const auto &m : targets)
        release(m, std::nullopt);
}

void InterceptPane::dropSelected()
{
    std::vector<intercept::HeldMessage> targets;
    for (int row : targetRows())
        targets.push_back(m_model->message(row));
    for (const auto &m : targets) {
        intercept::SessionCommand command;
        command.kind = intercept::SessionCommand::Kind::Drop;
        command.from = m.from;
        command.id = m.id;
        const QString what = tr("Dropped %1").arg(describe(m));
        m_send(m.session, command, this, [this, what](const auto &result) { report(result, what); });
    }
}

void InterceptPane::forwardAll()
{
    // One ReleaseAll per session and sender that has something held; it also ends that pause.
    std::map<std::pair<capture::SessionId, int>, int> groups;
    for (const auto &m : m_model->messages())
        ++groups[{m.session, int(m.from)}];
    for (const auto &[key, count] : groups) {
        const auto [session, from] = key;
        intercept::SessionCommand command;
        command.kind = intercept::SessionCommand::Kind::ReleaseAll;
        command.from = capture::Direction(from);
        const QString what =
            tr("Forwarded everything %1 in session %2").arg(fromText(command.from)).arg(session);
        m_send(session, command, this, [this, what, session, dir = command.from](const auto &result) {
            report(result, what);
            if (result.ok)
                emit pauseEnded(session, dir);
        });
    }
}

void InterceptPane::editSelected()
{
    const QList<int> rows = targetRows();
    if (rows.size() != 1 || m_model->message(rows.first()).truncated)
        return;
    const intercept::HeldMessage held = m_model->message(rows.first());
    auto *dialog = new QDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(tr("Edit %1").arg(describe(held)));
    auto *editor = new MessageEditor(dialog);
    editor->setMessage(held.opcode, held.payload, int(std::max<quint64>(1, held.frameCount)));
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, dialog);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Forward edited"));
    auto *layout = new QVBoxLayout(dialog);
    layout->addWidget(new QLabel(
        tr("%1 %2, %3").arg(QString::fromLatin1(held.url), fromText(held.from), held.note), dialog));
    layout->addWidget(editor, 1);
    layout->addWidget(buttons);
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::reject);
    connect(buttons, &QDialogButtonBox::accepted, dialog, [this, dialog, editor, held] {
        QString error;
        auto message = editor->message(&error);
        if (!message)
            return; // the editor shows why; invalid JSON is never sent
        release(held, std::move(message));
        dialog->accept();
    });
    connect(editor, &MessageEditor::changed, dialog, [editor, buttons] {
        buttons->button(QDialogButtonBox::Ok)->setEnabled(editor->message().has_value());
    });
    dialog->resize(640, 420);
    dialog->open(); // window-modal, and the event loop keeps running: traffic and answers flow meanwhile
}

} // namespace socktap::ui
