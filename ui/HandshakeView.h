// The Handshake tab: what was negotiated (subprotocol and extensions, and what the client offered), TLS
// facts for both legs, what a strict endpoint would have refused, a rejection's status and body; then the
// request and response heads as tables and as raw text.
#pragma once

#include "core/capture/CaptureTypes.h"

#include <QWidget>

class QPlainTextEdit;
class QTableWidget;
class QTextBrowser;

namespace socktap::ui {

class HandshakeView final : public QWidget
{
    Q_OBJECT

public:
    explicit HandshakeView(QWidget *parent = nullptr);
    // replays: sessions that replayed this one (shown as links back).
    void setSession(const capture::SessionInfo &session, const QList<capture::SessionId> &replays = {});
    void clear();

    QTextBrowser *summary() const { return m_summary; }
    QTableWidget *requestTable() const { return m_request; }
    QTableWidget *responseTable() const { return m_response; }
    QPlainTextEdit *raw() const { return m_raw; }

private:
    QTextBrowser *m_summary;
    QTableWidget *m_request;
    QTableWidget *m_response;
    QPlainTextEdit *m_raw;
};

// Small HTML helpers shared by the inspectors.
QString htmlEscape(const QString &text);
QString htmlRow(const QString &label, const QString &value);

} // namespace socktap::ui
