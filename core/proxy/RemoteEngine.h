// A Socktap on another machine, as this one sees it through its --control link (issue 22): its capture
// applied to a local store as it arrives (the remote's journal, JournalStream; every session tagged with
// the engine's name and given a local id), its held messages mirrored into a local hub (the window's
// Intercept pane lists them with the local ids), and commands for its sessions sent over the link with
// their answers coming back. A link that drops is opened again, from the last byte received, with a
// growing delay; a remote that restarted (another journal) is read from its start. The window (File >
// Attach) and `socktap attach` are both this class over different stores.
#pragma once

#include "core/capture/BatchJournal.h"
#include "core/intercept/HeldMessage.h"
#include "core/intercept/Rule.h"
#include "core/intercept/ScriptRunner.h"
#include "core/intercept/SessionCommand.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QSslCertificate>

#include <functional>
#include <map>
#include <memory>
#include <optional>

class QWebSocket;
class QTimer;

namespace socktap::intercept {
class InterceptHub;
}

namespace socktap::proxy {

class RemoteEngine final : public QObject
{
    Q_OBJECT

public:
    using Done = std::function<void(const intercept::CommandResult &)>;
    // What proves the remote is the Socktap meant: its CA certificate (as `socktap ca export` writes it
    // there), or that CA's SHA-256 fingerprint (as its --control banner prints it).
    struct Trust
    {
        QList<QSslCertificate> cas;
        QByteArray sha256; // raw digest

        // `given`: a PEM file, or "sha256:AB:CD:..." (colons optional); empty: ownCaPem (this user's CA).
        static std::optional<Trust> read(const QString &given, const QByteArray &ownCaPem, QString *error);
    };
    // Refused: the token; Untrusted: its certificate (neither is tried again).
    enum class State { Connecting, Attached, Waiting, Refused, Untrusted, Failed, Detached };

    // target: HOST:PORT of the remote's --control; trusted: the remote's CA (as `socktap ca export` writes
    // it there). heldMirror may be null (nothing lists held messages).
    RemoteEngine(QString target, QString token, Trust trust, capture::CaptureStore &store,
                 std::shared_ptr<intercept::InterceptHub> heldMirror = nullptr, QObject *parent = nullptr);
    ~RemoteEngine() override;

    void open();
    // After detach(): attached again (another token or CA may be given), resuming where the stream stopped
    // (nothing read twice).
    void reopen(QString token, Trust trust);
    // Closes the link for good (the sessions it brought stay in the store; its held messages leave the
    // mirror).
    void detach();

    QString target() const { return m_target; }
    State state() const { return m_state; }
    QString stateText() const; // "attached", "link lost (...); again in 2 s", "refused: wrong token"
    // Whether the local session `id` came from this remote, and whether the remote can still act on it.
    bool owns(capture::SessionId id) const;
    bool isLive(capture::SessionId id) const;
    // Sends a command for the local session `id` to the remote; `done` runs later in `context`'s thread
    // with the remote's answer (or why there is none: the link is down, the remote went away).
    void command(capture::SessionId id, const intercept::SessionCommand &command, QObject *context,
                 Done done);
    // Replaces the remote's rules, or its scripts (sources sent; the remote loads them).
    void setRules(const intercept::RuleSet &rules, QObject *context, Done done);
    void setScripts(const intercept::ScriptSet &scripts, QObject *context, Done done);
    // Requests sent and not answered yet.
    int pendingRequests() const { return int(m_pending.size()); }
    quint64 bytesReceived() const { return m_stream ? m_stream->received() : 0; }

    static constexpr qint64 MaxMessage = 256 << 20; // the remote sends at most 1 MiB pieces

signals:
    void stateChanged();
    // The remote's journal could not be read (a damaged chunk, another version): the link stays closed.
    void failed(const QString &why);
    // The remote runs anew (another journal): its sessions from now on get new local ids.
    void remoteRestarted();

private:
    void connectSocket();
    void checkCertificate(const QList<QSslError> &errors);
    void onBinary(const QByteArray &bytes);
    void onText(const QString &text);
    void onDisconnected();
    void afterDisconnect();
    void request(QJsonObject message, QObject *context, Done done);
    void applyHeld(const QJsonObject &held);
    void mirrorPending();
    void forgetHeld();
    void setState(State state, QString text = {});
    void failAll(const QString &why);
    // Sessions of the stream that are still open are shown as last seen (their end may never arrive).
    void retireOpenSessions();
    void applyTrust();

    QString m_target;
    QString m_token;
    Trust m_trust;
    capture::CaptureStore &m_store;
    std::shared_ptr<intercept::InterceptHub> m_heldMirror;
    QWebSocket *m_socket = nullptr;
    QTimer *m_retry = nullptr;
    std::unique_ptr<capture::JournalStream> m_stream;
    QString m_journalId; // the remote's, from its hello
    bool m_greeted = false; // this connection got the hello (it was accepted)
    State m_state = State::Detached;
    QString m_stateText;
    QString m_linkError; // what the TLS handshake found wrong
    QString m_socketError; // why the connection failed or dropped
    int m_failures = 0;
    quint64 m_nextRequest = 0;
    struct Pending
    {
        QPointer<QObject> context;
        Done done;
    };
    std::map<quint64, Pending> m_pending;
    // Held messages mirrored (local ids), and those whose session has not arrived in the capture yet.
    std::vector<intercept::HeldMessage> m_mirrored;
    std::vector<intercept::HeldMessage> m_unplaced;
    // What this side set there, sent again to a remote that restarted (it came back with its own).
    std::optional<QJsonObject> m_pushedRules;
    std::optional<QJsonArray> m_pushedScripts;
    std::vector<capture::SessionId> m_retired; // shown as last seen while detached
};

} // namespace socktap::proxy
