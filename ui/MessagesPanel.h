// The Messages tab: filters (direction, type, text or regex search, heartbeats hidden), the message table
// (with a Summary column when the session speaks a known protocol), and the payload view for the selected
// message, whose Decoded tab links a request and its answer. Follows new messages unless the user has
// scrolled away from the bottom. The context menu resends a message (to the server or the client), opens it
// in Compose, or copies it; the window does the sending, since it owns the engine.
#pragma once

#include "MessageTableModel.h"

#include <QWidget>

class QAction;
class QCheckBox;
class QLabel;
class QComboBox;
class QLineEdit;
class QMenu;
class QTableView;

namespace socktap::ui {

class PayloadView;

class MessagesPanel final : public QWidget
{
    Q_OBJECT

public:
    MessagesPanel(capture::CaptureStore &store, QWidget *parent = nullptr);

    void setSession(capture::SessionId id, qint64 sessionStart);
    void appendNew();
    void setFollowing(bool follow)
    {
        m_followEnabled = follow;
        m_stick = m_stick || follow; // switched on: follow from now, wherever the list is
    }
    void focusSearch();
    // Selects the row showing store message index (tests, and keeping the selection across filters).
    bool selectMessage(quint64 index);

    MessageTableModel *model() const { return m_model; }
    QTableView *view() const { return m_view; }
    PayloadView *payload() const { return m_payload; }
    QLineEdit *searchBox() const { return m_search; }
    QCheckBox *hideChatterBox() const { return m_hideChatter; }
    QLabel *chatterLabel() const { return m_chatterCount; }
    // Whether the shown session is live (resending needs a live session).
    void setLive(bool live);
    // The selected message, read from the store.
    std::optional<capture::MessageView> currentMessage() const;
    QAction *resendToServerAction() const { return m_resendToServer; }
    QAction *resendToClientAction() const { return m_resendToClient; }
    QAction *editAndResendAction() const { return m_editAndResend; }
    QAction *copyTextAction() const { return m_copyText; }
    QAction *copyHexAction() const { return m_copyHex; }
    QAction *copyBase64Action() const { return m_copyBase64; }
    QAction *savePayloadAction() const { return m_savePayload; }
    // The message list's context menu for the current message, as it would open (the caller owns it).
    QMenu *contextMenu();

signals:
    // `to`: ClientToServer sends it to the server (as the client), ServerToClient to the client.
    void resendRequested(capture::Direction to, quint8 opcode, const QByteArray &payload);
    void editAndResendRequested(capture::Direction from, quint8 opcode, const QByteArray &payload);

private:
    void onCurrentChanged();
    void applySearch();
    bool atBottom() const;
    bool following() const { return m_followEnabled && m_stick; }
    // The Summary column shows once the session has a format; the count of hidden heartbeats follows.
    void updateDecoding();
    void goToPair(quint64 index);
    void buildActions();
    void updateActions();
    void showContextMenu(const QPoint &pos);
    void resend(capture::Direction to);

    capture::CaptureStore &m_store;
    MessageTableModel *m_model;
    QTableView *m_view;
    PayloadView *m_payload;
    QComboBox *m_direction;
    QComboBox *m_type;
    QLineEdit *m_search;
    QCheckBox *m_regex;
    QCheckBox *m_hideChatter;
    QLabel *m_chatterCount;
    bool m_followEnabled = true;
    // Following until the user scrolls away (and again once they scroll back to the end): a filter's
    // reset or a pane that shrinks the list is not the user scrolling.
    bool m_stick = true;
    bool m_live = false;
    QAction *m_resendToServer;
    QAction *m_resendToClient;
    QAction *m_editAndResend;
    QAction *m_copyText;
    QAction *m_copyHex;
    QAction *m_copyBase64;
    QAction *m_savePayload;
};

} // namespace socktap::ui
