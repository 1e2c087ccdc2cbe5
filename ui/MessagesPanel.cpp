#include "MessagesPanel.h"

#include "PayloadView.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
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
    m_search->setPlaceholderText(tr("Search payloads (Ctrl+F)"));
    m_search->setClearButtonEnabled(true);
    m_regex = new QCheckBox(tr("Regex"), this);

    m_view = new QTableView(this);
    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->verticalHeader()->hide();
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 6);
    m_view->setWordWrap(false);
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->setAlternatingRowColors(true);
    m_view->setColumnWidth(MessageTableModel::Number, 60);
    m_view->setColumnWidth(MessageTableModel::Direction, 36);
    m_view->setColumnWidth(MessageTableModel::Time, 100);
    m_view->setColumnWidth(MessageTableModel::Type, 80);
    m_view->setColumnWidth(MessageTableModel::Size, 80);
    m_view->setColumnWidth(MessageTableModel::WireSize, 80);
    m_view->setColumnWidth(MessageTableModel::Flags, 130);
    m_payload = new PayloadView(this);

    auto *filters = new QHBoxLayout;
    filters->addWidget(m_direction);
    filters->addWidget(m_type);
    filters->addWidget(m_search, 1);
    filters->addWidget(m_regex);
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
    connect(m_view->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &MessagesPanel::onCurrentChanged);
    connect(m_model, &QAbstractItemModel::modelReset, m_payload, &PayloadView::clear);
}

void MessagesPanel::setSession(capture::SessionId id, qint64 sessionStart)
{
    m_model->setSession(id, sessionStart);
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
    // Follow the newest message only if the user is looking at the end: never jump away from what they read.
    const bool follow = m_followEnabled && atBottom();
    m_model->appendNew();
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
    if (!current.isValid()) {
        m_payload->clear();
        return;
    }
    if (const auto m = m_store.message(m_model->sessionId(), m_model->messageIndex(current.row())))
        m_payload->setMessage(*m);
}

} // namespace socktap::ui
