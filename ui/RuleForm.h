// Add or edit one rule (docs/rules.md): the match fields, the action and the fields that action uses. The
// form builds the rule's JSON object and checks it with RuleSet::fromJson, so the window accepts exactly
// what a rules file accepts and shows the same error sentence.
#pragma once

#include <QDialog>
#include <QJsonObject>

class QCheckBox;
class QComboBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QSpinBox;

namespace socktap::ui {

class RuleForm final : public QDialog
{
    Q_OBJECT

public:
    explicit RuleForm(QWidget *parent = nullptr);

    void setRule(const QJsonObject &rule);
    QJsonObject rule() const; // as written, valid or not
    // Runs the rule through the parser; false with the parser's sentence shown under the form.
    bool validate();
    void accept() override;

    QLineEdit *nameEdit() const { return m_name; }
    QCheckBox *enabledBox() const { return m_enabled; }
    QLineEdit *hostEdit() const { return m_host; }
    QLineEdit *pathEdit() const { return m_path; }
    QComboBox *directionBox() const { return m_direction; }
    QComboBox *typeBox() const { return m_type; }
    QLineEdit *payloadMatchEdit() const { return m_payloadMatch; }
    QLineEdit *regexEdit() const { return m_regex; }
    QComboBox *actionBox() const { return m_action; }
    QSpinBox *msBox() const { return m_ms; }
    QSpinBox *jitterBox() const { return m_jitter; }
    QComboBox *spreadBox() const { return m_spread; }
    QPlainTextEdit *replacementEdit() const { return m_replacement; }
    QLineEdit *patternEdit() const { return m_pattern; }
    QLineEdit *withEdit() const { return m_with; }
    QLineEdit *headerEdit() const { return m_header; }
    QLineEdit *valueEdit() const { return m_value; }
    QComboBox *onBox() const { return m_on; }
    QCheckBox *continueBox() const { return m_continue; }
    QCheckBox *forwardBox() const { return m_forward; }
    QSpinBox *statusBox() const { return m_status; }
    QSpinBox *retryAfterBox() const { return m_retryAfter; }
    QSpinBox *timesBox() const { return m_times; }
    QCheckBox *resetBox() const { return m_reset; }
    QSpinBox *closeCodeBox() const { return m_closeCode; }
    QLineEdit *closeReasonEdit() const { return m_closeReason; }
    QComboBox *towardBox() const { return m_toward; }
    QCheckBox *abruptBox() const { return m_abrupt; }
    QLineEdit *mockFileEdit() const { return m_mockFile; }
    QSpinBox *mockSessionBox() const { return m_mockSession; }
    QComboBox *mockTimingBox() const { return m_mockTiming; }
    QComboBox *mockMatchBox() const { return m_mockMatch; }
    QComboBox *stopBox() const { return m_stop; }
    QComboBox *triggerBox() const { return m_trigger; }
    QSpinBox *afterMessagesBox() const { return m_afterMessages; }
    QSpinBox *afterMsBox() const { return m_afterMs; }
    QSpinBox *rateBox() const { return m_rate; }
    QLabel *errorLabel() const { return m_error; }

private:
    QString actionName() const;
    bool isHeaderAction() const;
    bool isHandshakeAction() const; // header rules and refuse: host and path only
    bool isFaultAction() const; // close, reset, stall
    bool isTargetOnly() const; // handshake rules and faults on a timer: host and path only
    void updateRows();

    QFormLayout *m_form;
    QLineEdit *m_name;
    QCheckBox *m_enabled;
    QLineEdit *m_host;
    QLineEdit *m_path;
    QComboBox *m_direction;
    QComboBox *m_type;
    QLineEdit *m_payloadMatch;
    QLineEdit *m_regex;
    QComboBox *m_format; // what the message must decode as ("" any)
    QLineEdit *m_decoded; // decoded-field queries, separated by ';'
    QLineEdit *m_fieldPath; // set-field
    QComboBox *m_action;
    QSpinBox *m_ms;
    QSpinBox *m_jitter; // delay: latency that varies
    QComboBox *m_spread;
    QPlainTextEdit *m_replacement;
    QLineEdit *m_pattern;
    QLineEdit *m_with;
    QLineEdit *m_header;
    QLineEdit *m_value;
    QComboBox *m_on;
    QCheckBox *m_continue;
    QCheckBox *m_forward; // respond, echo
    QString m_keptBase64; // a binary respond answer from the rules file: kept unless text replaces it
    QSpinBox *m_status; // refuse
    QSpinBox *m_retryAfter;
    QSpinBox *m_times;
    QCheckBox *m_reset;
    QSpinBox *m_closeCode; // close
    QLineEdit *m_closeReason;
    QComboBox *m_toward; // close, reset
    QCheckBox *m_abrupt; // close: "handshake": false
    QLineEdit *m_mockFile; // mock
    QSpinBox *m_mockSession;
    QComboBox *m_mockTiming;
    QComboBox *m_mockMatch;
    QComboBox *m_stop; // stall
    QComboBox *m_trigger; // faults: "messages" (the Nth matching one) or "time" (after the upgrade)
    QSpinBox *m_afterMessages;
    QSpinBox *m_afterMs;
    QSpinBox *m_rate; // throttle: bytes per second
    QLabel *m_error;
};

} // namespace socktap::ui
