#include "RuleForm.h"

#include "core/decode/FormatRegistry.h"
#include "core/decode/JsonFormats.h"
#include "core/decode/JsonValue.h"
#include "core/intercept/Rule.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QSpinBox>
#include <QVBoxLayout>

namespace socktap::ui {

namespace {

QComboBox *choices(QWidget *parent, std::initializer_list<std::pair<QString, QString>> items)
{
    auto *box = new QComboBox(parent);
    for (const auto &[label, value] : items)
        box->addItem(label, value);
    return box;
}

void choose(QComboBox *box, const QJsonValue &value)
{
    const int i = box->findData(value.toString());
    box->setCurrentIndex(i >= 0 ? i : 0);
}

QString text(const QJsonObject &o, const char *key)
{
    return o.value(QLatin1String(key)).toString();
}

} // namespace

RuleForm::RuleForm(QWidget *parent)
    : QDialog(parent)
{
    setWindowTitle(tr("Rule"));
    m_name = new QLineEdit(this);
    m_name->setPlaceholderText(tr("optional label, shown with every hit"));
    m_enabled = new QCheckBox(tr("Enabled"), this);
    m_enabled->setChecked(true);
    m_host = new QLineEdit(this);
    m_host->setPlaceholderText(tr("any host; * matches any run: *.example.com"));
    m_path = new QLineEdit(this);
    m_path->setPlaceholderText(tr("any path; /live/*"));
    m_direction = choices(this,
                          {{tr("Both"), QStringLiteral("both")},
                           {tr("Client (client → server)"), QStringLiteral("client")},
                           {tr("Server (server → client)"), QStringLiteral("server")}});
    m_type = choices(this,
                     {{tr("Any (control frames too)"), QStringLiteral("any")},
                      {tr("Text"), QStringLiteral("text")},
                      {tr("Binary"), QStringLiteral("binary")}});
    m_payloadMatch = new QLineEdit(this);
    m_payloadMatch->setPlaceholderText(tr("payload contains (case-sensitive)"));
    m_regex = new QLineEdit(this);
    m_regex->setPlaceholderText(tr("regular expression found in the payload; (?i) ignores case"));
    m_format = new QComboBox(this);
    m_format->addItem(tr("Any"), QString());
    for (const QString &name : decode::FormatRegistry::current().formatNames())
        m_format->addItem(name, name);
    m_decoded = new QLineEdit(this);
    m_decoded->setPlaceholderText(tr("what it means: event:chat; $.args[0].price=10 (docs/formats.md)"));
    m_fieldPath = new QLineEdit(this);
    m_fieldPath->setPlaceholderText(tr("$.args[0].price: a field of the decoded message"));
    m_action = new QComboBox(this);
    // A new rule does nothing until the user picks what it does (an enabled rule added with OK used to
    // drop every message).
    m_action->addItem(tr("Choose an action…"), QString());
    for (auto a : {intercept::Action::Drop, intercept::Action::Delay, intercept::Action::Replace,
                   intercept::Action::RegexReplace, intercept::Action::SetField, intercept::Action::Hold,
                   intercept::Action::Respond, intercept::Action::Echo, intercept::Action::Refuse,
                   intercept::Action::Close, intercept::Action::Reset, intercept::Action::Stall,
                   intercept::Action::Throttle, intercept::Action::Mock, intercept::Action::SetHeader,
                   intercept::Action::RemoveHeader})
        m_action->addItem(QLatin1String(intercept::actionName(a)), QLatin1String(intercept::actionName(a)));
    m_ms = new QSpinBox(this);
    m_ms->setRange(0, 600000);
    m_ms->setSuffix(tr(" ms"));
    m_ms->setValue(500);
    m_jitter = new QSpinBox(this);
    m_jitter->setRange(0, 600000);
    m_jitter->setPrefix(tr("± "));
    m_jitter->setSuffix(tr(" ms"));
    m_jitter->setSpecialValueText(tr("none (every message the same)"));
    m_jitter->setToolTip(tr("Latency that varies by message; messages keep their order (a message waits "
                            "behind an earlier one still delayed)"));
    m_spread = choices(this,
                       {{tr("Uniform (within ± jitter)"), QStringLiteral("uniform")},
                        {tr("Normal (jitter is the standard deviation)"), QStringLiteral("normal")}});
    m_replacement = new QPlainTextEdit(this);
    m_replacement->setPlaceholderText(tr("the new payload (UTF-8)"));
    m_replacement->setFixedHeight(m_replacement->fontMetrics().height() * 4 + 12);
    m_pattern = new QLineEdit(this);
    m_with = new QLineEdit(this);
    m_with->setPlaceholderText(tr("$1…$99 for groups, $$ for a dollar"));
    m_header = new QLineEdit(this);
    m_value = new QLineEdit(this);
    m_on = choices(
        this, {{tr("Request"), QStringLiteral("request")}, {tr("Response"), QStringLiteral("response")}});
    m_continue = new QCheckBox(tr("Continue: let later rules act too"), this);
    m_forward = new QCheckBox(tr("Forward the message too (unchecked: the answer replaces it)"), this);
    m_forward->setChecked(true);
    m_status = new QSpinBox(this);
    m_status->setRange(400, 599);
    m_status->setValue(503);
    m_status->setToolTip(
        tr("503 (with Retry-After), 401, 403, 429…: what the client's reconnect logic meets"));
    m_retryAfter = new QSpinBox(this);
    m_retryAfter->setRange(-1, 86400);
    m_retryAfter->setValue(-1);
    m_retryAfter->setSpecialValueText(tr("no Retry-After"));
    m_retryAfter->setSuffix(tr(" s"));
    m_times = new QSpinBox(this);
    m_times->setRange(0, 1000000);
    m_times->setSpecialValueText(tr("every attempt"));
    m_times->setSuffix(tr(" attempts"));
    m_reset = new QCheckBox(tr("Reset the TCP connection instead of answering"), this);
    m_closeCode = new QSpinBox(this);
    m_closeCode->setRange(0, 65535);
    m_closeCode->setValue(1000);
    m_closeCode->setToolTip(tr("Sent as given, invalid codes too: 1000 normal, 1001 going away, 1011 server "
                               "error, 4000-4999 the application's own"));
    m_closeReason = new QLineEdit(this);
    m_closeReason->setPlaceholderText(tr("optional, at most 123 bytes of UTF-8"));
    m_toward = choices(this,
                       {{tr("Both sides"), QStringLiteral("both")},
                        {tr("The client"), QStringLiteral("client")},
                        {tr("The server"), QStringLiteral("server")}});
    m_abrupt = new QCheckBox(tr("Then end TCP at once (no closing handshake)"), this);
    m_mockFile = new QLineEdit(this);
    m_mockFile->setPlaceholderText(
        tr("a capture (.socktap or .har) whose session answers instead of the server"));
    m_mockSession = new QSpinBox(this);
    m_mockSession->setRange(0, 1 << 30);
    m_mockSession->setSpecialValueText(tr("its first WebSocket session"));
    m_mockTiming = choices(this,
                           {{tr("As recorded"), QStringLiteral("original")},
                            {tr("Answers at once, pace kept"), QStringLiteral("conversation")},
                            {tr("Everything at once"), QStringLiteral("fast")}});
    m_mockMatch = choices(
        this, {{tr("In order"), QStringLiteral("order")}, {tr("By content"), QStringLiteral("content")}});
    m_stop = choices(this,
                     {{tr("Both (nothing crosses)"), QStringLiteral("both")},
                      {tr("The client (client → server)"), QStringLiteral("client")},
                      {tr("The server (server → client)"), QStringLiteral("server")}});
    m_trigger = choices(this,
                        {{tr("at the Nth matching message"), QStringLiteral("messages")},
                         {tr("a time after the upgrade"), QStringLiteral("time")}});
    m_afterMessages = new QSpinBox(this);
    m_afterMessages->setRange(1, 1000000000);
    m_afterMessages->setPrefix(tr("message "));
    m_afterMs = new QSpinBox(this);
    m_afterMs->setRange(0, 86400000);
    m_afterMs->setSuffix(tr(" ms after the upgrade"));
    m_afterMs->setValue(5000);
    m_rate = new QSpinBox(this);
    m_rate->setRange(1, 2000000000);
    m_rate->setValue(10000);
    m_rate->setSuffix(tr(" bytes/s"));
    m_rate->setToolTip(
        tr("What the chosen side sends is read no faster than this; TCP slows the sender down, "
           "as a slow link would"));
    m_error = new QLabel(this);
    m_error->setWordWrap(true);
    m_error->setStyleSheet(QStringLiteral("color: #c62828"));
    m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_form = new QFormLayout;
    m_form->addRow(tr("Name"), m_name);
    m_form->addRow(QString(), m_enabled);
    m_form->addRow(tr("Host"), m_host);
    m_form->addRow(tr("Path"), m_path);
    m_form->addRow(tr("Sent by"), m_direction);
    m_form->addRow(tr("Type"), m_type);
    m_form->addRow(tr("Payload"), m_payloadMatch);
    m_form->addRow(tr("Regex"), m_regex);
    m_form->addRow(tr("Format"), m_format);
    m_form->addRow(tr("Decoded"), m_decoded);
    m_form->addRow(tr("Action"), m_action);
    m_form->addRow(tr("Delay"), m_ms);
    m_form->addRow(tr("Jitter"), m_jitter);
    m_form->addRow(tr("Spread"), m_spread);
    m_form->addRow(tr("Replace with"), m_replacement);
    m_form->addRow(tr("Pattern"), m_pattern);
    m_form->addRow(tr("With"), m_with);
    m_form->addRow(tr("Field"), m_fieldPath);
    m_form->addRow(tr("Header"), m_header);
    m_form->addRow(tr("Value"), m_value);
    m_form->addRow(tr("On"), m_on);
    m_form->addRow(QString(), m_forward);
    m_form->addRow(tr("Status"), m_status);
    m_form->addRow(tr("Retry-After"), m_retryAfter);
    m_form->addRow(tr("Refuse the next"), m_times);
    m_form->addRow(QString(), m_reset);
    m_form->addRow(tr("Close code"), m_closeCode);
    m_form->addRow(tr("Reason"), m_closeReason);
    m_form->addRow(tr("Toward"), m_toward);
    m_form->addRow(QString(), m_abrupt);
    m_form->addRow(tr("Capture"), m_mockFile);
    m_form->addRow(tr("Session"), m_mockSession);
    m_form->addRow(tr("Timing"), m_mockTiming);
    m_form->addRow(tr("Match messages"), m_mockMatch);
    m_form->addRow(tr("Stop reading"), m_stop);
    m_form->addRow(tr("When"), m_trigger);
    m_form->addRow(tr("At"), m_afterMessages);
    m_form->addRow(tr("After"), m_afterMs);
    m_form->addRow(tr("Bandwidth"), m_rate);
    m_form->addRow(QString(), m_continue);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(m_form);
    layout->addWidget(m_error);
    layout->addWidget(buttons);
    connect(buttons, &QDialogButtonBox::accepted, this, &RuleForm::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_action, &QComboBox::currentIndexChanged, this, &RuleForm::updateRows);
    connect(m_reset, &QCheckBox::toggled, this, &RuleForm::updateRows);
    connect(m_trigger, &QComboBox::currentIndexChanged, this, &RuleForm::updateRows);
    connect(m_jitter, &QSpinBox::valueChanged, this, &RuleForm::updateRows);
    updateRows();
    resize(520, sizeHint().height());
}

QString RuleForm::actionName() const
{
    return m_action->currentData().toString();
}

bool RuleForm::isHandshakeAction() const
{
    return isHeaderAction() || actionName() == QLatin1String("refuse")
        || actionName() == QLatin1String("mock");
}

bool RuleForm::isHeaderAction() const
{
    return actionName().endsWith(QLatin1String("-header"));
}

bool RuleForm::isFaultAction() const
{
    const QString a = actionName();
    return a == QLatin1String("close") || a == QLatin1String("reset") || a == QLatin1String("stall");
}

bool RuleForm::isTargetOnly() const
{
    return isHandshakeAction() || actionName() == QLatin1String("throttle")
        || (isFaultAction() && m_trigger->currentData() == QLatin1String("time"));
}

void RuleForm::updateRows()
{
    // Only the fields the action uses: the parser refuses the others, so offering them would only mislead.
    const QString a = actionName();
    const bool header = isHeaderAction();
    for (QWidget *w :
         std::initializer_list<QWidget *> {m_direction, m_type, m_payloadMatch, m_regex, m_format, m_decoded})
        m_form->setRowVisible(w, !isTargetOnly());
    m_form->setRowVisible(m_continue, !isTargetOnly());
    const bool fault = isFaultAction();
    m_form->setRowVisible(m_trigger, fault);
    m_form->setRowVisible(m_afterMessages, fault && !isTargetOnly());
    m_form->setRowVisible(m_afterMs, fault && isTargetOnly());
    for (QWidget *w : std::initializer_list<QWidget *> {m_closeCode, m_closeReason, m_abrupt})
        m_form->setRowVisible(w, a == QLatin1String("close"));
    m_form->setRowVisible(m_toward, a == QLatin1String("close") || a == QLatin1String("reset"));
    for (QWidget *w : std::initializer_list<QWidget *> {m_mockFile, m_mockSession, m_mockTiming, m_mockMatch})
        m_form->setRowVisible(w, a == QLatin1String("mock"));
    m_form->setRowVisible(m_stop, a == QLatin1String("stall"));
    const bool throttle = a == QLatin1String("throttle");
    m_form->setRowVisible(m_rate, throttle);
    m_form->setRowVisible(m_direction, !isTargetOnly() || throttle); // a throttle slows a direction
    const bool refuse = a == QLatin1String("refuse");
    for (QWidget *w : std::initializer_list<QWidget *> {m_status, m_retryAfter, m_times, m_reset})
        m_form->setRowVisible(w, refuse);
    m_status->setEnabled(!m_reset->isChecked());
    m_retryAfter->setEnabled(!m_reset->isChecked());
    m_form->setRowVisible(m_ms, a == QLatin1String("delay"));
    m_form->setRowVisible(m_jitter, a == QLatin1String("delay"));
    m_form->setRowVisible(m_spread, a == QLatin1String("delay") && m_jitter->value() > 0);
    const bool respond = a == QLatin1String("respond");
    m_form->setRowVisible(m_replacement, a == QLatin1String("replace") || respond);
    if (auto *label = qobject_cast<QLabel *>(m_form->labelForField(m_replacement)))
        label->setText(respond ? tr("Answer") : tr("Replace with"));
    m_replacement->setPlaceholderText(
        respond && !m_keptBase64.isEmpty()
            ? tr("a binary answer from the rules file (%1 bytes) is kept; text typed here replaces it")
                  .arg(QByteArray::fromBase64(m_keptBase64.toLatin1()).size())
            : respond
            ? tr("text sent back to the sender; {{$.id}} copies the message's id (as JSON), {{1}} the "
                 "regex's group 1")
            : tr("the new payload (UTF-8)"));
    m_form->setRowVisible(m_forward, respond || a == QLatin1String("echo"));
    m_form->setRowVisible(m_pattern, a == QLatin1String("regex-replace"));
    m_form->setRowVisible(m_with, a == QLatin1String("regex-replace"));
    m_form->setRowVisible(m_header, header);
    m_form->setRowVisible(m_fieldPath, a == QLatin1String("set-field"));
    // set-header's value is text; set-field's is JSON (10, "text", {"a": 1}), or text when it is not JSON.
    m_form->setRowVisible(m_value, a == QLatin1String("set-header") || a == QLatin1String("set-field"));
    m_form->setRowVisible(m_on, header);
    m_error->clear();
}

void RuleForm::setRule(const QJsonObject &o)
{
    choose(m_action, o.value(QLatin1String("action")));
    const bool header = isHeaderAction();
    // Header rules name the header in "name" unless they also carry a label (then it is in "header").
    const bool labelled = !header || o.contains(QLatin1String("header"));
    m_name->setText(labelled ? text(o, "name") : QString());
    m_header->setText(header ? text(o, labelled ? "header" : "name") : QString());
    m_enabled->setChecked(o.value(QLatin1String("enabled")).toBool(true));
    m_continue->setChecked(o.value(QLatin1String("continue")).toBool(false));
    const QJsonObject match = o.value(QLatin1String("match")).toObject();
    m_host->setText(text(match, "host"));
    m_path->setText(text(match, "path"));
    choose(m_direction, match.value(QLatin1String("direction")));
    choose(m_type, match.value(QLatin1String("type")));
    m_payloadMatch->setText(text(match, "payload"));
    m_regex->setText(text(match, "regex"));
    choose(m_format, match.value(QLatin1String("format")));
    QStringList queries;
    for (const QJsonValue &q : match.value(QLatin1String("decoded")).toArray())
        queries << q.toString();
    for (const char *shorthand : {"event", "method", "topic"})
        if (match.contains(QLatin1String(shorthand)))
            queries << QLatin1String(shorthand) + QLatin1Char(':') + text(match, shorthand);
    m_decoded->setText(queries.join(QStringLiteral("; ")));
    m_fieldPath->setText(text(o, "path"));
    m_ms->setValue(o.value(QLatin1String("ms")).toInt(500));
    m_jitter->setValue(o.value(QLatin1String("jitterMs")).toInt(0));
    choose(m_spread, o.value(QLatin1String("spread")));
    m_replacement->setPlainText(text(o, "payload"));
    m_forward->setChecked(o.value(QLatin1String("forward")).toBool(true));
    // The form writes text answers; a binary one (base64 in the file) is kept as it was unless the user
    // types a text answer instead.
    m_keptBase64 = text(o, "base64");
    m_status->setValue(o.value(QLatin1String("status")).toInt(503));
    m_retryAfter->setValue(o.value(QLatin1String("retryAfter")).toInt(-1));
    m_times->setValue(o.value(QLatin1String("times")).toInt(0));
    m_reset->setChecked(o.value(QLatin1String("reset")).toBool(false));
    m_closeCode->setValue(o.value(QLatin1String("code")).toInt(1000));
    m_closeReason->setText(text(o, "reason"));
    choose(m_toward, o.value(QLatin1String("toward")));
    m_abrupt->setChecked(!o.value(QLatin1String("handshake")).toBool(true));
    m_mockFile->setText(text(o, "file"));
    m_mockSession->setValue(o.value(QLatin1String("session")).toInt(0));
    choose(m_mockTiming, o.value(QLatin1String("timing")));
    choose(m_mockMatch, o.value(QLatin1String("matchBy")));
    choose(m_stop, o.value(QLatin1String("stop")));
    m_trigger->setCurrentIndex(o.contains(QLatin1String("afterMs")) ? 1 : 0);
    m_afterMessages->setValue(o.value(QLatin1String("afterMessages")).toInt(1));
    m_afterMs->setValue(o.value(QLatin1String("afterMs")).toInt(5000));
    m_rate->setValue(o.value(QLatin1String("bytesPerSecond")).toInt(10000));
    m_pattern->setText(text(o, "pattern"));
    m_with->setText(text(o, "with"));
    const QJsonValue value = o.value(QLatin1String("value"));
    m_value->setText(value.isString() || value.isUndefined() ? value.toString() : decode::compactJson(value));
    choose(m_on, o.value(QLatin1String("on")));
    updateRows();
}

QJsonObject RuleForm::rule() const
{
    QJsonObject o;
    const QString a = actionName();
    if (!m_name->text().isEmpty())
        o[QStringLiteral("name")] = m_name->text();
    if (!m_enabled->isChecked())
        o[QStringLiteral("enabled")] = false;
    QJsonObject match;
    const auto put = [](QJsonObject &into, const char *key, const QString &value, const QString &unset = {}) {
        if (!value.isEmpty() && value != unset)
            into[QLatin1String(key)] = value;
    };
    put(match, "host", m_host->text());
    put(match, "path", m_path->text());
    if (!isTargetOnly() && m_continue->isChecked())
        o[QStringLiteral("continue")] = true;
    if (!isTargetOnly() || a == QLatin1String("throttle"))
        put(match, "direction", m_direction->currentData().toString(), QStringLiteral("both"));
    if (!isTargetOnly()) {
        put(match, "type", m_type->currentData().toString(), QStringLiteral("any"));
        put(match, "payload", m_payloadMatch->text());
        put(match, "regex", m_regex->text());
        put(match, "format", m_format->currentData().toString());
        QStringList queries;
        for (const QString &q : m_decoded->text().split(QLatin1Char(';'), Qt::SkipEmptyParts))
            if (!q.trimmed().isEmpty())
                queries << q.trimmed();
        if (!queries.isEmpty())
            match[QStringLiteral("decoded")] = QJsonArray::fromStringList(queries);
    }
    if (!match.isEmpty())
        o[QStringLiteral("match")] = match;
    o[QStringLiteral("action")] = a;
    if (a == QLatin1String("delay")) {
        o[QStringLiteral("ms")] = m_ms->value();
        if (m_jitter->value() > 0) {
            o[QStringLiteral("jitterMs")] = m_jitter->value();
            put(o, "spread", m_spread->currentData().toString(), QStringLiteral("uniform"));
        }
    } else if (a == QLatin1String("replace")) {
        o[QStringLiteral("payload")] = m_replacement->toPlainText();
    } else if (a == QLatin1String("respond") || a == QLatin1String("echo")) {
        if (a == QLatin1String("respond") && m_replacement->toPlainText().isEmpty()
            && !m_keptBase64.isEmpty())
            o[QStringLiteral("base64")] = m_keptBase64;
        else if (a == QLatin1String("respond"))
            o[QStringLiteral("payload")] = m_replacement->toPlainText();
        if (!m_forward->isChecked())
            o[QStringLiteral("forward")] = false;
    } else if (a == QLatin1String("refuse")) {
        if (m_reset->isChecked())
            o[QStringLiteral("reset")] = true;
        else
            o[QStringLiteral("status")] = m_status->value();
        if (m_retryAfter->value() >= 0 && !m_reset->isChecked())
            o[QStringLiteral("retryAfter")] = m_retryAfter->value();
        if (m_times->value() > 0)
            o[QStringLiteral("times")] = m_times->value();
    } else if (a == QLatin1String("throttle")) {
        o[QStringLiteral("bytesPerSecond")] = m_rate->value();
    } else if (a == QLatin1String("mock")) {
        o[QStringLiteral("file")] = m_mockFile->text().trimmed();
        if (m_mockSession->value() > 0)
            o[QStringLiteral("session")] = m_mockSession->value();
        put(o, "timing", m_mockTiming->currentData().toString(), QStringLiteral("original"));
        put(o, "matchBy", m_mockMatch->currentData().toString(), QStringLiteral("order"));
    } else if (isFaultAction()) {
        if (a == QLatin1String("close")) {
            o[QStringLiteral("code")] = m_closeCode->value();
            put(o, "reason", m_closeReason->text());
            put(o, "toward", m_toward->currentData().toString(), QStringLiteral("both"));
            if (m_abrupt->isChecked())
                o[QStringLiteral("handshake")] = false;
        } else if (a == QLatin1String("reset")) {
            put(o, "toward", m_toward->currentData().toString(), QStringLiteral("both"));
        } else if (a == QLatin1String("stall")) {
            put(o, "stop", m_stop->currentData().toString(), QStringLiteral("both"));
        }
        if (isTargetOnly())
            o[QStringLiteral("afterMs")] = m_afterMs->value();
        else if (m_afterMessages->value() > 1)
            o[QStringLiteral("afterMessages")] = m_afterMessages->value();
    } else if (a == QLatin1String("regex-replace")) {
        o[QStringLiteral("pattern")] = m_pattern->text();
        o[QStringLiteral("with")] = m_with->text();
    } else if (a == QLatin1String("set-field")) {
        o[QStringLiteral("path")] = m_fieldPath->text();
        const auto json = decode::parseJson(m_value->text().toUtf8());
        o[QStringLiteral("value")] = json ? *json : QJsonValue(m_value->text());
    } else if (isHeaderAction()) {
        o[QStringLiteral("header")] = m_header->text();
        if (a == QLatin1String("set-header"))
            o[QStringLiteral("value")] = m_value->text();
        put(o, "on", m_on->currentData().toString(), QStringLiteral("request"));
    }
    return o;
}

bool RuleForm::validate()
{
    if (actionName().isEmpty()) {
        m_error->setText(tr("Choose what the rule does (its action)."));
        return false;
    }
    // A message rule with no condition acts on every message, control frames included: almost never what
    // was meant in a form (a rules file can still say so).
    if (actionName() == QLatin1String("refuse") && !rule().contains(QLatin1String("match"))) {
        m_error->setText(tr("Give the rule a host or path: without one it refuses every upgrade."));
        return false;
    }
    if (isTargetOnly() && isFaultAction() && !rule().contains(QLatin1String("match"))) {
        m_error->setText(tr("Give the rule a host or path: without one the fault hits every session."));
        return false;
    }
    if (actionName() == QLatin1String("throttle") && !rule().contains(QLatin1String("match"))) {
        m_error->setText(
            tr("Give the rule a host, path or side: without one it slows every session both ways."));
        return false;
    }
    if (!isTargetOnly() && !rule().contains(QLatin1String("match"))) {
        m_error->setText(tr("Give the rule a condition (host, path, sent by, type, payload, regex, format or "
                            "decoded): without one it acts on every message, control frames included."));
        return false;
    }
    const QJsonObject file {{QStringLiteral("rules"), QJsonArray {rule()}}};
    QString error;
    const bool ok =
        intercept::RuleSet::fromJson(QJsonDocument(file).toJson(QJsonDocument::Compact), &error).has_value();
    // The parser counts rules from 1 in a file; here there is just this one.
    if (error.startsWith(QLatin1String("rule 1: ")))
        error.remove(0, 8);
    m_error->setText(ok ? QString() : error);
    return ok;
}

void RuleForm::accept()
{
    if (validate())
        QDialog::accept();
}

} // namespace socktap::ui
