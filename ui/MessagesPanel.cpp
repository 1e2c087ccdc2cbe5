#include "MessagesPanel.h"

#include "ColumnChooser.h"
#include "PayloadView.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QScrollBar>
#include <QSplitter>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>

namespace socktap::ui {

MessagesPanel::MessagesPanel(capture::CaptureStore &store, QWidget *parent)
    : QWidget(parent)
    , m_store(store)
    , m_model(new MessageTableModel(store, this))
{
    m_direction = new QComboBox(this);
    m_direction->addItems({tr("Both directions"), tr("→ Client to server"), tr("← Server to client")});
    m_type = new QComboBox(this);
    m_type->addItems({tr("All types"), tr("Text"), tr("Binary"), tr("Control frames"), tr("Ping"), tr("Pong"),
                      tr("Close")});
    m_search = new QLineEdit(this);
    m_search->setPlaceholderText(tr("Search payloads, or event:chat, topic:a/#, $.path=value (Ctrl+F)"));
    m_search->setToolTip(
        tr("Text or a regex in payloads; or what messages mean: event:NAME, method:NAME, "
           "topic:PATTERN (MQTT # and + work), format:NAME, summary:TEXT, any FIELD:VALUE, "
           "or a JSON path into the decoded value ($.args[0].price=10). * matches any text."));
    m_search->setClearButtonEnabled(true);
    m_regex = new QCheckBox(tr("Regex"), this);
    m_hideChatter = new QCheckBox(tr("Hide heartbeats"), this);
    m_hideChatter->setToolTip(
        tr("Hide protocol chatter: Engine.IO ping/pong, SignalR pings, STOMP and SockJS "
           "heart-beats, MQTT PINGREQ/PINGRESP, GraphQL ping/pong and keep-alives, Phoenix and Action Cable "
           "heartbeats. They are counted, not lost."));
    m_chatterCount = new QLabel(this);

    m_view = new QTableView(this);
    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->verticalHeader()->hide();
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 6);
    m_view->setWordWrap(false);
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->setAlternatingRowColors(true);
    // Narrow columns, so the preview (last, stretched) gets the room: about half the pane at 1280x800.
    // Wire size is a right-click on the header away.
    m_view->horizontalHeader()->setMinimumSectionSize(24);
    m_view->setColumnWidth(MessageTableModel::Number, 44);
    m_view->setColumnWidth(MessageTableModel::Direction, 26);
    m_view->setColumnWidth(MessageTableModel::Time, 82);
    m_view->setColumnWidth(MessageTableModel::Type, 58);
    m_view->setColumnWidth(MessageTableModel::Size, 62);
    m_view->setColumnWidth(MessageTableModel::WireSize, 70);
    // One flag reads whole ("compressed", "fragmented"); several are cut, all of them on hover.
    m_view->setColumnWidth(MessageTableModel::Flags,
                           m_view->fontMetrics().horizontalAdvance(QStringLiteral("fragmented")) + 16);
    m_view->setColumnWidth(MessageTableModel::Summary, 240);
    m_view->setColumnHidden(MessageTableModel::Summary, true);
    new ColumnChooser(m_view, {MessageTableModel::WireSize});
    m_payload = new PayloadView(this);

    auto *filters = new QHBoxLayout;
    filters->addWidget(m_direction);
    filters->addWidget(m_type);
    filters->addWidget(m_search, 1);
    filters->addWidget(m_regex);
    filters->addWidget(m_hideChatter);
    filters->addWidget(m_chatterCount);
    auto *splitter = new QSplitter(Qt::Vertical, this);
    splitter->setObjectName(QStringLiteral("messagesSplitter"));
    splitter->addWidget(m_view);
    splitter->addWidget(m_payload);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(filters);
    layout->addWidget(splitter, 1);

    connect(m_direction, &QComboBox::currentIndexChanged, this,
            [this](int i) { m_model->setDirectionFilter(MessageTableModel::DirectionFilter(i)); });
    connect(m_type, &QComboBox::currentIndexChanged, this,
            [this](int i) { m_model->setTypeFilter(MessageTableModel::TypeFilter(i)); });
    // Searching a million payloads on every keystroke would stall: wait for a pause in typing.
    auto *searchDelay = new QTimer(this);
    searchDelay->setSingleShot(true);
    searchDelay->setInterval(250);
    connect(m_search, &QLineEdit::textChanged, searchDelay, qOverload<>(&QTimer::start));
    connect(searchDelay, &QTimer::timeout, this, &MessagesPanel::applySearch);
    connect(m_regex, &QCheckBox::toggled, this, &MessagesPanel::applySearch);
    connect(m_hideChatter, &QCheckBox::toggled, this, [this](bool hide) {
        const bool follow = m_followEnabled && atBottom();
        m_model->setHideChatter(hide);
        updateDecoding();
        if (follow)
            m_view->scrollToBottom();
    });
    connect(m_payload, &PayloadView::pairActivated, this, &MessagesPanel::goToPair);
    connect(m_view->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &MessagesPanel::onCurrentChanged);
    connect(m_model, &QAbstractItemModel::modelReset, m_payload, &PayloadView::clear);
    buildActions();
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_view, &QWidget::customContextMenuRequested, this, &MessagesPanel::showContextMenu);
    connect(m_model, &QAbstractItemModel::modelReset, this, &MessagesPanel::updateActions);
    // Only the user's own scrolling (wheel, bar, keys on the bar) decides whether the list follows.
    QScrollBar *bar = m_view->verticalScrollBar();
    connect(bar, &QAbstractSlider::actionTriggered, this, [this] {
        QTimer::singleShot(0, this, [this] { m_stick = atBottom(); }); // after the action has moved it
    });
    connect(bar, &QAbstractSlider::rangeChanged, this, [this] {
        if (following())
            m_view->scrollToBottom();
    });
    connect(m_model, &QAbstractItemModel::modelReset, this, [this] {
        if (following())
            QTimer::singleShot(0, m_view, &QTableView::scrollToBottom);
    });
}

void MessagesPanel::buildActions()
{
    m_resendToServer = new QAction(tr("Resend to &server"), this);
    m_resendToServer->setToolTip(tr("Send this message's type and payload to the server again"));
    connect(m_resendToServer, &QAction::triggered, this,
            [this] { resend(capture::Direction::ClientToServer); });
    m_resendToClient = new QAction(tr("Resend to &client"), this);
    m_resendToClient->setToolTip(tr("Send this message's type and payload to the client again"));
    connect(m_resendToClient, &QAction::triggered, this,
            [this] { resend(capture::Direction::ServerToClient); });
    m_editAndResend = new QAction(tr("&Edit and resend…"), this);
    connect(m_editAndResend, &QAction::triggered, this, [this] {
        if (const auto m = currentMessage())
            emit editAndResendRequested(m->record.direction(), m->record.opcode, m->payload);
    });
    m_copyText = new QAction(tr("Copy as &text"), this);
    connect(m_copyText, &QAction::triggered, m_payload, &PayloadView::copyText);
    m_copyHex = new QAction(tr("Copy as &hex"), this);
    connect(m_copyHex, &QAction::triggered, m_payload, &PayloadView::copyHex);
    m_copyBase64 = new QAction(tr("Copy as &base64"), this);
    connect(m_copyBase64, &QAction::triggered, m_payload, &PayloadView::copyBase64);
    m_savePayload = new QAction(tr("&Save payload…"), this);
    m_savePayload->setToolTip(tr("Write this message's payload, as received, to a file"));
    connect(m_savePayload, &QAction::triggered, m_payload, &PayloadView::save);
    updateActions();
}

void MessagesPanel::setLive(bool live)
{
    m_live = live;
    updateActions();
}

std::optional<capture::MessageView> MessagesPanel::currentMessage() const
{
    const QModelIndex current = m_view->currentIndex();
    if (!current.isValid())
        return std::nullopt;
    return m_store.message(m_model->sessionId(), m_model->messageIndex(current.row()));
}

void MessagesPanel::updateActions()
{
    const QModelIndex current = m_view->currentIndex();
    const bool selected = current.isValid();
    // A truncated or evicted payload is not the message any more: resending it would send something else.
    const bool whole = selected && !m_model->record(current.row()).has(capture::MessageFlag::Truncated)
        && !m_payload->payloadEvicted();
    for (QAction *a : {m_resendToServer, m_resendToClient, m_editAndResend})
        a->setEnabled(m_live && whole);
    for (QAction *a : {m_copyText, m_copyHex, m_copyBase64})
        a->setEnabled(selected);
    m_savePayload->setEnabled(selected && !m_payload->payloadEvicted());
}

void MessagesPanel::showContextMenu(const QPoint &pos)
{
    const QModelIndex at = m_view->indexAt(pos);
    if (!at.isValid())
        return;
    m_view->setCurrentIndex(at);
    QMenu *menu = contextMenu();
    menu->setAttribute(Qt::WA_DeleteOnClose);
    menu->popup(m_view->viewport()->mapToGlobal(pos));
}

QMenu *MessagesPanel::contextMenu()
{
    updateActions();
    auto *menu = new QMenu(this);
    menu->addActions({m_resendToServer, m_resendToClient, m_editAndResend});
    menu->addSeparator();
    menu->addActions({m_copyText, m_copyHex, m_copyBase64});
    menu->addSeparator();
    menu->addAction(m_savePayload);
    return menu;
}

void MessagesPanel::resend(capture::Direction to)
{
    if (const auto m = currentMessage(); m && !m->payloadEvicted)
        emit resendRequested(to, m->record.opcode, m->payload);
}

void MessagesPanel::updateDecoding()
{
    // A format known from the handshake shows at once; one recognised in the first messages once they
    // are decoded (as the list shows them).
    if (m_model->formatName().isEmpty() && m_model->rowCount() > 0)
        m_model->decodeThrough(m_model->messageIndex(std::min(m_model->rowCount(), 16) - 1));
    m_view->setColumnHidden(MessageTableModel::Summary, m_model->formatName().isEmpty());
    m_chatterCount->setText(m_model->hidesChatter() && m_model->hiddenChatter()
                                ? tr("%1 hidden").arg(m_model->hiddenChatter())
                                : QString());
}

void MessagesPanel::goToPair(quint64 index)
{
    if (!selectMessage(index) && m_model->hidesChatter()) {
        // Hidden as chatter: show everything again rather than fail to go there.
        m_hideChatter->setChecked(false);
        selectMessage(index);
    }
}

void MessagesPanel::setSession(capture::SessionId id, qint64 sessionStart)
{
    m_model->setSession(id, sessionStart);
    updateDecoding();
    m_stick = true; // a new session starts at its end
    if (m_followEnabled)
        m_view->scrollToBottom();
}

bool MessagesPanel::atBottom() const
{
    const QScrollBar *bar = m_view->verticalScrollBar();
    return bar->value() >= bar->maximum() - 2;
}

void MessagesPanel::appendNew()
{
    // Follow the newest message unless the user scrolled away: never jump away from what they read.
    const bool follow = following();
    m_model->appendNew();
    updateDecoding();
    if (follow)
        m_view->scrollToBottom();
}

void MessagesPanel::focusSearch()
{
    m_search->setFocus();
    m_search->selectAll();
}

void MessagesPanel::applySearch()
{
    const quint64 selected =
        m_view->currentIndex().isValid() ? m_model->messageIndex(m_view->currentIndex().row()) : quint64(-1);
    m_model->setSearch(m_search->text(), m_regex->isChecked());
    m_payload->setHighlight(m_model->searchExpression());
    if (selected != quint64(-1))
        selectMessage(selected);
}

bool MessagesPanel::selectMessage(quint64 index)
{
    const int row = m_model->rowOfMessage(index);
    if (row < 0)
        return false;
    m_view->setCurrentIndex(m_model->index(row, 0));
    m_view->scrollTo(m_model->index(row, 0));
    return true;
}

void MessagesPanel::onCurrentChanged()
{
    const QModelIndex current = m_view->currentIndex();
    if (!current.isValid())
        m_payload->clear();
    else if (const auto m = m_store.message(m_model->sessionId(), m_model->messageIndex(current.row()))) {
        m_payload->setMessage(*m);
        const quint64 index = m_model->messageIndex(current.row());
        // Its pair is known once the pass has reached both: the answers to a request usually follow
        // within a few thousand messages (about 10 ms of decoding).
        m_model->decodeThrough(index + 4096);
        const auto pair = m_model->pairOf(index);
        m_payload->setDecoded(m_model->decodedMessage(index),
                              pair ? std::optional(pair->index) : std::nullopt, pair ? pair->micros : 0,
                              pair && pair->index > index);
    }
    updateActions();
}

} // namespace socktap::ui
