#include "FormatsFeature.h"
#include "UserSettings.h"

#include "MainWindow.h"
#include "ProtoSchemaDialog.h"

#include "core/capture/CaptureStore.h"
#include "core/decode/FormatRegistry.h"

#include <QAction>
#include <QActionGroup>
#include <QMenu>
#include <QSettings>
#include <QStatusBar>
#include <QTimer>

namespace socktap::ui {

namespace {

const QString SavedKey = QStringLiteral("formats/saved");
const QString SchemaKey = QStringLiteral("protobuf/");


QString pathOf(const QByteArray &target)
{
    const qsizetype query = target.indexOf('?');
    return QString::fromUtf8(query < 0 ? target : target.first(query));
}

} // namespace

FormatsFeature::FormatsFeature(MainWindow &window, capture::CaptureStore &store)
    : QObject(&window)
    , m_window(window)
    , m_store(store)
    , m_saved(loadSaved())
{
    loadSavedSchema();
}

decode::ProtoChoice FormatsFeature::savedSchema()
{
    const QSettings s = userSettings();
    return {s.value(SchemaKey + QLatin1String("files")).toStringList(),
            s.value(SchemaKey + QLatin1String("importDirs")).toStringList(),
            s.value(SchemaKey + QLatin1String("clientType")).toString(),
            s.value(SchemaKey + QLatin1String("serverType")).toString(),
            s.value(SchemaKey + QLatin1String("urlPattern")).toString()};
}

void FormatsFeature::loadSavedSchema()
{
    // --proto on the command line wins for this run; the saved schema is the dialog's.
    if (decode::FormatRegistry::customised())
        return;
    const decode::ProtoChoice saved = savedSchema();
    if (saved.files.isEmpty())
        return;
    QString why;
    if (const auto formats = decode::protobufFormats(saved, &why)) {
        decode::FormatRegistry::setCurrent(formats);
        return;
    }
    // Kept in the settings, for the dialog to show and the user to fix (a file moved, an edit that broke
    // it); said once the window is up.
    QTimer::singleShot(0, this, [this, why] {
        m_window.statusBar()->showMessage(
            tr("The saved protobuf schema was not loaded (Session > Protobuf schema): %1")
                .arg(why.section(QLatin1Char('\n'), 0, 0)),
            30000);
    });
}

void FormatsFeature::editSchema()
{
    ProtoSchemaDialog dialog(savedSchema(), &m_window);
    if (dialog.exec() == QDialog::Accepted && dialog.formats())
        useSchema(dialog.choice(), dialog.formats());
}

void FormatsFeature::useSchema(const decode::ProtoChoice &choice,
                               std::shared_ptr<const decode::FormatRegistry> formats)
{
    // No files: the built-in formats themselves, so that a later window loads a schema saved by another.
    decode::FormatRegistry::setCurrent(choice.files.isEmpty() ? nullptr : std::move(formats));
    QSettings s = userSettings();
    s.setValue(SchemaKey + QLatin1String("files"), choice.files);
    s.setValue(SchemaKey + QLatin1String("importDirs"), choice.importDirs);
    s.setValue(SchemaKey + QLatin1String("clientType"), choice.clientType);
    s.setValue(SchemaKey + QLatin1String("serverType"), choice.serverType);
    s.setValue(SchemaKey + QLatin1String("urlPattern"), choice.urlPattern);
    m_window.statusBar()->showMessage(
        choice.files.isEmpty()
            ? tr("Protobuf is decoded without a schema (the wire format)")
            : tr("Protobuf is decoded with %1").arg(choice.files.join(QStringLiteral(", "))),
        10000);
    emit formatsReplaced();
}

QList<FormatsFeature::Saved> FormatsFeature::loadSaved()
{
    QList<Saved> saved;
    // One "format<TAB>host<TAB>path" a line: readable and editable in socktap.conf.
    for (const QString &line : userSettings().value(SavedKey).toStringList()) {
        const QStringList parts = line.split(QLatin1Char('\t'));
        if (parts.size() == 3 && !parts[0].isEmpty())
            saved.append({parts[1], parts[2], parts[0]});
    }
    return saved;
}

void FormatsFeature::save(const QList<Saved> &saved)
{
    QStringList lines;
    for (const Saved &s : saved)
        lines << s.format + QLatin1Char('\t') + s.host + QLatin1Char('\t') + s.path;
    userSettings().setValue(SavedKey, lines);
}

void FormatsFeature::addSessionMenu(QMenu *session)
{
    m_menu = session->addMenu(tr("&Decode as"));
    m_menu->setToolTip(tr("The format this session's messages are decoded in, when its subprotocol, URL and "
                          "first messages do not say (or say wrongly)"));
    m_group = new QActionGroup(this);
    const auto add = [this](const QString &text, const QString &format) {
        QAction *a = m_menu->addAction(text);
        a->setCheckable(true);
        a->setData(format);
        m_group->addAction(a);
        connect(a, &QAction::triggered, this,
                [this, format] { choose(m_current, format, m_remember->isChecked()); });
    };
    add(tr("&Automatic (subprotocol, URL, first messages)"), QString());
    m_menu->addSeparator();
    for (const QString &name : decode::FormatRegistry::current().names())
        add(name, name);
    m_menu->addSeparator();
    m_remember = m_menu->addAction(tr("&Remember for this host and path"));
    m_remember->setCheckable(true);
    m_remember->setToolTip(tr("The choice applies to every session to the same host and path, now and in "
                              "later runs; unchecking it forgets the saved choice"));
    connect(m_remember, &QAction::triggered, this, [this](bool on) {
        const QString format =
            m_group->checkedAction() ? m_group->checkedAction()->data().toString() : QString();
        choose(m_current, on ? format : QString(), true);
    });
    // Beside Decode as rather than in it: it is for every session, and usable with none selected.
    QAction *schema = session->addAction(tr("Protobuf &schema…"), this, &FormatsFeature::editSchema);
    schema->setToolTip(tr("The .proto files and message types protobuf messages are decoded with"));
    update(0);
}

std::optional<QString> FormatsFeature::savedFor(capture::SessionId session) const
{
    const auto info = m_store.session(session);
    if (!info)
        return std::nullopt;
    const QString host = QString::fromLatin1(info->host);
    const QString path = pathOf(info->path);
    for (const Saved &s : m_saved)
        if (s.host == host && s.path == path)
            return s.format;
    return std::nullopt;
}

QString FormatsFeature::choiceFor(capture::SessionId session) const
{
    if (const auto it = m_chosen.constFind(session); it != m_chosen.constEnd())
        return *it;
    return savedFor(session).value_or(QString());
}

void FormatsFeature::choose(capture::SessionId session, const QString &format, bool remember)
{
    const auto info = m_store.session(session);
    if (!info)
        return;
    m_chosen.insert(session, format);
    if (remember) {
        m_saved = loadSaved(); // another window may have saved since
        const QString host = QString::fromLatin1(info->host);
        const QString path = pathOf(info->path);
        m_saved.removeIf([&](const Saved &s) { return s.host == host && s.path == path; });
        if (!format.isEmpty())
            m_saved.append({host, path, format});
        save(m_saved);
        // The other sessions to that host and path follow the saved choice rather than an earlier one.
        for (auto it = m_chosen.begin(); it != m_chosen.end();) {
            const auto other = it.key() == session ? std::nullopt : m_store.session(it.key());
            if (other && QString::fromLatin1(other->host) == host && pathOf(other->path) == path)
                it = m_chosen.erase(it);
            else
                ++it;
        }
    }
    m_window.statusBar()->showMessage(
        (format.isEmpty() ? tr("Session %1 decoded as its handshake and content say").arg(session)
                          : tr("Session %1 decoded as %2").arg(session).arg(format))
            + (remember ? tr("; saved for %1%2").arg(QString::fromLatin1(info->host), pathOf(info->path))
                        : QString()),
        10000);
    update(m_current);
    emit chosen(session);
}

void FormatsFeature::update(capture::SessionId current)
{
    m_current = current;
    if (!m_menu)
        return;
    const auto info = current ? m_store.session(current) : std::nullopt;
    const bool webSocket = info && info->kind == capture::SessionKind::WebSocket;
    m_menu->setEnabled(webSocket);
    const QString format = webSocket ? choiceFor(current) : QString();
    for (QAction *a : m_group->actions())
        a->setChecked(a->data().toString() == format);
    m_remember->setChecked(webSocket && savedFor(current).has_value());
    m_remember->setText(
        webSocket ? tr("&Remember for %1%2").arg(QString::fromLatin1(info->host), pathOf(info->path))
                  : tr("&Remember for this host and path"));
}

} // namespace socktap::ui
