// Tools > Rules…: the rewrite and breakpoint rules in order (enabled, name, what they match, what they
// do), with Add, Edit, Remove, Move up and Move down. OK hands the rules to the engine (live sessions use
// them from their next message) and saves them, so they survive a restart.
#pragma once

#include "core/intercept/InterceptHub.h"

#include <QDialog>
#include <QJsonObject>

#include <memory>

class QLabel;
class QPushButton;
class QTableWidget;

namespace socktap::ui {

class RulesDialog final : public QDialog
{
    Q_OBJECT

public:
    enum Column { EnabledColumn, NameColumn, MatchColumn, ActionColumn, ColumnCount };

    explicit RulesDialog(std::shared_ptr<intercept::InterceptHub> hub, QWidget *parent = nullptr);

    // The saved rules (QSettings "intercept/rules"), loaded into the hub when it has none (no --rules).
    static void loadSaved(intercept::InterceptHub &hub);
    static void save(const intercept::RuleSet &rules);

    void addRule(); // opens the form; its OK appends the rule
    void editRule();
    void removeRule();
    void move(int by);
    // A rules file (docs/rules.md, as --rules reads it): its rules are added after these; false with the
    // reason in errorLabel() when it cannot be read. exportTo writes these rules to one.
    bool importFrom(const QString &path);
    bool exportTo(const QString &path);
    void accept() override;

    QTableWidget *table() const { return m_table; }
    const QList<QJsonObject> &ruleObjects() const { return m_rules; }
    QLabel *errorLabel() const { return m_error; }

private:
    void fill();
    void select(int row);
    void openForm(int row); // -1: a new rule
    std::optional<intercept::RuleSet> ruleSet(QString *error) const;

    std::shared_ptr<intercept::InterceptHub> m_hub;
    QList<QJsonObject> m_rules; // the JSON of each rule, as docs/rules.md writes it
    QTableWidget *m_table;
    QPushButton *m_editButton;
    QPushButton *m_removeButton;
    QPushButton *m_upButton;
    QPushButton *m_downButton;
    QLabel *m_error;
};

// One line each for the rules table: "host *.example.com, sent by client, text, contains "x"".
QString matchSummary(const QJsonObject &rule);
QString actionSummary(const QJsonObject &rule);

} // namespace socktap::ui
