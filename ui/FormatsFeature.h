// Session > Decode as: the user overrides the format a session is decoded as (a session the handshake and
// content do not name, or name wrongly), for this session or for every session to the same host and path
// (saved between runs). The message list, the Decoded tab, search by meaning and Compose follow the choice.
// Also the protobuf schema (.proto files and types, the window's --proto), saved between runs.
#pragma once

#include "core/capture/CaptureTypes.h"
#include "core/decode/ProtoSchema.h"

#include <QHash>
#include <QObject>
#include <QStringList>

class QAction;
class QActionGroup;
class QMenu;

namespace socktap::capture {
class CaptureStore;
}

namespace socktap::ui {

class MainWindow;

class FormatsFeature final : public QObject
{
    Q_OBJECT

public:
    FormatsFeature(MainWindow &window, capture::CaptureStore &store);

    void addSessionMenu(QMenu *session);
    // The current session changed (or whether it is a WebSocket one): the menu shows its choice.
    void update(capture::SessionId current);
    // What `session` is decoded as by the user's choice: its own, else one saved for its host and path;
    // empty for automatic.
    QString choiceFor(capture::SessionId session) const;
    // `format` empty: automatic. remember: for every session to this host and path, from now on and in
    // later runs (replacing a saved choice for them); forgetting one is choose(id, {}, true).
    void choose(capture::SessionId session, const QString &format, bool remember);

    QMenu *decodeAsMenu() const { return m_menu; }

    // Session > Protobuf schema…
    void editSchema();
    // Decodes protobuf with `formats` (made from `choice`) from now on, and in later runs.
    void useSchema(const decode::ProtoChoice &choice, std::shared_ptr<const decode::FormatRegistry> formats);
    // The schema saved by the last run's dialog (no files: none).
    static decode::ProtoChoice savedSchema();

signals:
    // The session's format changed: what shows it decodes it again.
    void chosen(capture::SessionId session);
    // Every session's messages decode differently (a new protobuf schema).
    void formatsReplaced();

private:
    struct Saved
    {
        QString host;
        QString path; // without the query
        QString format;
    };
    static QList<Saved> loadSaved();
    static void save(const QList<Saved> &saved);
    std::optional<QString> savedFor(capture::SessionId session) const;
    void loadSavedSchema();

    MainWindow &m_window;
    capture::CaptureStore &m_store;
    QHash<capture::SessionId, QString> m_chosen; // this run's choices, "" = automatic
    QList<Saved> m_saved;
    QMenu *m_menu = nullptr;
    QActionGroup *m_group = nullptr;
    QAction *m_remember = nullptr;
    capture::SessionId m_current = 0;
};

} // namespace socktap::ui
