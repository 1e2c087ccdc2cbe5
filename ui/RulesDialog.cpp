#include "RulesDialog.h"
#include "UserSettings.h"

#include "RuleForm.h"

#include <QDialogButtonBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QTableWidget>
#include <QVBoxLayout>

namespace socktap::ui {

namespace {

const QString SettingsKey = QStringLiteral("intercept/rules");


QString field(const QJsonObject &o, const char *key)
{
    return o.value(QLatin1String(key)).toString();
}

QString shortened(QString text)
{
    text = text.simplified();
    return text.size() > 40 ? text.first(39) + QStringLiteral("…") : text;
}

bool isHeaderRule(const QJsonObject &rule)
{
    return field(rule, "action").endsWith(QLatin1String("-header"));
}

// Header rules name the header in "name" unless a label is there too (then the header is in "header").
QString headerOf(const QJsonObject &rule)
{
    return rule.contains(QLatin1String("header")) ? field(rule, "header") : field(rule, "name");
}

} // namespace

QString matchSummary(const QJsonObject &rule)
{
    const QJsonObject m = rule.value(QLatin1String("match")).toObject();
    QStringList parts;
    if (!field(m, "host").isEmpty())
        parts << QObject::tr("host %1").arg(field(m, "host"));
    if (!field(m, "path").isEmpty())
        parts << QObject::tr("path %1").arg(field(m, "path"));
    if (!field(m, "direction").isEmpty() && field(m, "direction") != QLatin1String("both"))
        parts << QObject::tr("sent by %1").arg(field(m, "direction"));
    if (!field(m, "type").isEmpty() && field(m, "type") != QLatin1String("any"))
        parts << field(m, "type");
    if (!field(m, "payload").isEmpty())
        parts << QObject::tr("contains “%1”").arg(shortened(field(m, "payload")));
    if (!field(m, "regex").isEmpty())
        parts << QObject::tr("regex /%1/").arg(shortened(field(m, "regex")));
    if (parts.isEmpty() && isHeaderRule(rule))
        return QObject::tr("every handshake");
    if (parts.isEmpty()
        && (field(rule, "action") == QLatin1String("refuse")
            || field(rule, "action") == QLatin1String("mock")))
        return QObject::tr("every upgrade");
    // A throttle and a fault on a timer look at no message: they act on sessions.
    if (parts.isEmpty()
        && (field(rule, "action") == QLatin1String("throttle") || rule.contains(QLatin1String("afterMs"))))
        return QObject::tr("every session");
    if (parts.isEmpty())
        return QObject::tr("every message");
    return parts.join(QStringLiteral(", "));
}

QString actionSummary(const QJsonObject &rule)
{
    const QString a = field(rule, "action");
    QString text = a;
    if (a == QLatin1String("delay") && rule.value(QLatin1String("jitterMs")).toInt() > 0)
        text = QObject::tr("delay %1 ± %2 ms (%3)")
                   .arg(rule.value(QLatin1String("ms")).toInt())
                   .arg(rule.value(QLatin1String("jitterMs")).toInt())
                   .arg(field(rule, "spread").isEmpty() ? QStringLiteral("uniform") : field(rule, "spread"));
    else if (a == QLatin1String("delay"))
        text = QObject::tr("delay %1 ms").arg(rule.value(QLatin1String("ms")).toInt());
    else if (a == QLatin1String("throttle"))
        text = QObject::tr("throttle to %1 bytes/s").arg(rule.value(QLatin1String("bytesPerSecond")).toInt());
    else if (a == QLatin1String("mock"))
        text = QObject::tr("answer from %1 (%2) instead of the server")
                   .arg(QFileInfo(field(rule, "file")).fileName(),
                        rule.contains(QLatin1String("session"))
                            ? QObject::tr("session %1").arg(rule.value(QLatin1String("session")).toInt())
                            : QObject::tr("its first WebSocket session"));
    else if (a == QLatin1String("close") || a == QLatin1String("reset") || a == QLatin1String("stall")) {
        // The words the session's record uses, from the rule as the parser reads it.
        const QJsonObject file {{QStringLiteral("rules"), QJsonArray {rule}}};
        QString error;
        if (const auto set =
                intercept::RuleSet::fromJson(QJsonDocument(file).toJson(QJsonDocument::Compact), &error);
            set && !set->rules.empty())
            text = intercept::faultText(set->rules.front());
    } else if (a == QLatin1String("replace"))
        text = QObject::tr("replace with “%1”").arg(shortened(field(rule, "payload")));
    else if (a == QLatin1String("regex-replace"))
        text =
            QObject::tr("replace /%1/ with “%2”").arg(shortened(field(rule, "pattern")), field(rule, "with"));
    else if (a == QLatin1String("set-header"))
        text = QObject::tr("set %1: %2").arg(headerOf(rule), shortened(field(rule, "value")));
    else if (a == QLatin1String("remove-header"))
        text = QObject::tr("remove %1").arg(headerOf(rule));
    if (isHeaderRule(rule))
        text += QObject::tr(" on the %1")
                    .arg(field(rule, "on").isEmpty() ? QStringLiteral("request") : field(rule, "on"));
    if (rule.value(QLatin1String("continue")).toBool())
        text += QObject::tr(", then continue");
    return text;
}

RulesDialog::RulesDialog(std::shared_ptr<intercept::InterceptHub> hub, QWidget *parent)
    : QDialog(parent)
    , m_hub(std::move(hub))
{
    setWindowTitle(tr("Rules"));
    const QJsonArray rules =
        m_hub ? m_hub->rules()->toJson().value(QLatin1String("rules")).toArray() : QJsonArray();
    for (const QJsonValue &rule : rules)
        m_rules.append(rule.toObject());

    m_table = new QTableWidget(0, ColumnCount, this);
    m_table->setHorizontalHeaderLabels({tr("On"), tr("Name"), tr("Match"), tr("Action")});
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 8);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->setColumnWidth(EnabledColumn, 36);
    m_table->setColumnWidth(NameColumn, 140);
    m_table->setColumnWidth(MatchColumn, 280);
    auto *add = new QPushButton(tr("&Add…"), this);
    m_editButton = new QPushButton(tr("&Edit…"), this);
    m_removeButton = new QPushButton(tr("&Remove"), this);
    m_upButton = new QPushButton(tr("Move &up"), this);
    m_downButton = new QPushButton(tr("Move &down"), this);
    auto *importButton = new QPushButton(tr("&Import…"), this);
    importButton->setToolTip(tr("Add the rules of a rules file (the JSON --rules reads)"));
    auto *exportButton = new QPushButton(tr("E&xport…"), this);
    exportButton->setToolTip(tr("Write these rules to a file for --rules or another Socktap"));
    auto *side = new QVBoxLayout;
    for (QPushButton *b : {add, m_editButton, m_removeButton, m_upButton, m_downButton})
        side->addWidget(b);
    side->addSpacing(12);
    side->addWidget(importButton);
    side->addWidget(exportButton);
    connect(importButton, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Import rules"), QString(),
                                                          tr("Rules (*.json);;All files (*)"));
        if (!path.isEmpty())
            importFrom(path);
    });
    connect(exportButton, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export rules"),
                                                          QStringLiteral("rules.json"), tr("Rules (*.json)"));
        if (!path.isEmpty())
            exportTo(path);
    });
    side->addStretch(1);
    auto *note = new QLabel(tr("For each message the first enabled rule that matches acts (unless it says "
                               "continue). Hold stops a message until you forward, edit or drop it in the "
                               "Intercept pane. docs/rules.md describes every field."),
                            this);
    note->setWordWrap(true);
    m_error = new QLabel(this);
    m_error->setWordWrap(true);
    m_error->setStyleSheet(QStringLiteral("color: #c62828"));
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    auto *row = new QHBoxLayout;
    row->addWidget(m_table, 1);
    row->addLayout(side);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(row, 1);
    layout->addWidget(note);
    layout->addWidget(m_error);
    layout->addWidget(buttons);

    connect(add, &QPushButton::clicked, this, &RulesDialog::addRule);
    connect(m_editButton, &QPushButton::clicked, this, &RulesDialog::editRule);
    connect(m_removeButton, &QPushButton::clicked, this, &RulesDialog::removeRule);
    connect(m_upButton, &QPushButton::clicked, this, [this] { move(-1); });
    connect(m_downButton, &QPushButton::clicked, this, [this] { move(1); });
    connect(m_table, &QTableWidget::cellDoubleClicked, this, &RulesDialog::editRule);
    connect(m_table, &QTableWidget::itemChanged, this, [this](QTableWidgetItem *item) {
        if (item->column() != EnabledColumn || item->row() >= m_rules.size())
            return;
        QJsonObject &rule = m_rules[item->row()];
        if (item->checkState() == Qt::Checked)
            rule.remove(QStringLiteral("enabled"));
        else
            rule[QStringLiteral("enabled")] = false;
    });
    connect(m_table, &QTableWidget::currentCellChanged, this, [this] { select(m_table->currentRow()); });
    connect(buttons, &QDialogButtonBox::accepted, this, &RulesDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    fill();
    resize(940, 400);
}

void RulesDialog::fill()
{
    const QSignalBlocker blocker(m_table); // itemChanged is for the user's clicks only
    m_table->setRowCount(int(m_rules.size()));
    for (int r = 0; r < m_rules.size(); ++r) {
        const QJsonObject &rule = m_rules[r];
        auto *enabled = new QTableWidgetItem;
        enabled->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemIsUserCheckable);
        enabled->setCheckState(rule.value(QLatin1String("enabled")).toBool(true) ? Qt::Checked
                                                                                 : Qt::Unchecked);
        m_table->setItem(r, EnabledColumn, enabled);
        const QString name =
            isHeaderRule(rule) && !rule.contains(QLatin1String("header")) ? QString() : field(rule, "name");
        m_table->setItem(r, NameColumn, new QTableWidgetItem(name));
        for (const auto &[column, text] :
             {std::pair {MatchColumn, matchSummary(rule)}, std::pair {ActionColumn, actionSummary(rule)}}) {
            auto *item = new QTableWidgetItem(text);
            item->setToolTip(text); // summaries are cut to fit; the tooltip has it all
            m_table->setItem(r, column, item);
        }
    }
    select(m_table->currentRow());
}

void RulesDialog::select(int row)
{
    if (row >= 0 && row < m_table->rowCount() && m_table->currentRow() != row)
        m_table->setCurrentCell(row, NameColumn);
    const bool valid = row >= 0 && row < m_rules.size();
    m_editButton->setEnabled(valid);
    m_removeButton->setEnabled(valid);
    m_upButton->setEnabled(valid && row > 0);
    m_downButton->setEnabled(valid && row + 1 < m_rules.size());
}

void RulesDialog::openForm(int row)
{
    auto *form = new RuleForm(this);
    form->setAttribute(Qt::WA_DeleteOnClose);
    form->setWindowTitle(row < 0 ? tr("Add rule") : tr("Edit rule %1").arg(row + 1));
    if (row >= 0)
        form->setRule(m_rules[row]);
    connect(form, &QDialog::accepted, this, [this, form, row] {
        const int at = row < 0 ? int(m_rules.size()) : row;
        if (row < 0)
            m_rules.append(form->rule());
        else
            m_rules[row] = form->rule();
        fill();
        select(at);
        m_error->clear();
    });
    form->open(); // not exec(): the window (and its live traffic) keeps running
}

void RulesDialog::addRule()
{
    openForm(-1);
}

void RulesDialog::editRule()
{
    if (m_table->currentRow() >= 0 && m_table->currentRow() < m_rules.size())
        openForm(m_table->currentRow());
}

void RulesDialog::removeRule()
{
    const int row = m_table->currentRow();
    if (row < 0 || row >= m_rules.size())
        return;
    m_rules.removeAt(row);
    fill();
    select(std::min(row, int(m_rules.size()) - 1));
}

void RulesDialog::move(int by)
{
    const int row = m_table->currentRow();
    const int to = row + by;
    if (row < 0 || to < 0 || to >= m_rules.size())
        return;
    m_rules.swapItemsAt(row, to);
    fill();
    select(to);
}

bool RulesDialog::importFrom(const QString &path)
{
    QString error;
    const auto rules = intercept::RuleSet::load(path, &error);
    if (!rules) {
        m_error->setText(error);
        return false;
    }
    for (const QJsonValue &rule : rules->toJson().value(QLatin1String("rules")).toArray())
        m_rules.append(rule.toObject());
    fill();
    m_error->clear();
    return true;
}

bool RulesDialog::exportTo(const QString &path)
{
    QString error;
    const auto rules = ruleSet(&error);
    QFile out(path);
    if (!rules || !out.open(QIODevice::WriteOnly | QIODevice::Truncate)
        || out.write(QJsonDocument(rules->toJson()).toJson(QJsonDocument::Indented)) < 0) {
        m_error->setText(rules ? tr("Cannot write %1: %2").arg(path, out.errorString()) : error);
        return false;
    }
    return true;
}

std::optional<intercept::RuleSet> RulesDialog::ruleSet(QString *error) const
{
    QJsonArray rules;
    for (const QJsonObject &rule : m_rules)
        rules.append(rule);
    const QJsonObject file {{QStringLiteral("rules"), rules}};
    return intercept::RuleSet::fromJson(QJsonDocument(file).toJson(QJsonDocument::Compact), error);
}

void RulesDialog::accept()
{
    QString error;
    auto rules = ruleSet(&error);
    if (!rules) {
        m_error->setText(error); // each rule was checked in its form; this is a last guard
        return;
    }
    save(*rules);
    if (m_hub)
        m_hub->setRules(std::move(*rules));
    QDialog::accept();
}

void RulesDialog::save(const intercept::RuleSet &rules)
{
    userSettings().setValue(SettingsKey,
                        QString::fromUtf8(QJsonDocument(rules.toJson()).toJson(QJsonDocument::Compact)));
}

void RulesDialog::loadSaved(intercept::InterceptHub &hub)
{
    if (!hub.rules()->isEmpty())
        return; // --rules FILE wins over what the window saved
    const QString saved = userSettings().value(SettingsKey).toString();
    if (saved.isEmpty())
        return;
    QString error;
    if (auto rules = intercept::RuleSet::fromJson(saved.toUtf8(), &error))
        hub.setRules(std::move(*rules));
    else
        qWarning("socktap: ignoring the saved rules: %s", qPrintable(error));
}

} // namespace socktap::ui
