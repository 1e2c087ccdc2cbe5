#include "HandshakeView.h"

#include "SessionTableModel.h"

#include "core/capture/JsonFormat.h"
#include "core/capture/TextFormat.h"
#include "core/ws/ExtensionHeader.h"

#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPlainTextEdit>
#include <QSplitter>
#include <QTableWidget>
#include <QTextBrowser>
#include <QVBoxLayout>

namespace socktap::ui {

QString htmlEscape(const QString &text)
{
    return text.toHtmlEscaped();
}

QString htmlRow(const QString &label, const QString &value)
{
    return QStringLiteral("<tr><td style='padding-right:14px'><b>%1</b></td><td>%2</td></tr>")
        .arg(label, value);
}

namespace {

QTableWidget *headerTable(QWidget *parent)
{
    auto *t = new QTableWidget(0, 2, parent);
    t->setHorizontalHeaderLabels({QObject::tr("Name"), QObject::tr("Value")});
    t->verticalHeader()->hide();
    t->horizontalHeader()->setStretchLastSection(true);
    t->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    t->setEditTriggers(QAbstractItemView::NoEditTriggers);
    t->setWordWrap(false);
    return t;
}

void fill(QTableWidget *table, const http::Headers &headers)
{
    table->setRowCount(int(headers.size()));
    int row = 0;
    for (const auto &f : headers.fields()) {
        table->setItem(row, 0, new QTableWidgetItem(QString::fromLatin1(f.name)));
        table->setItem(row, 1, new QTableWidgetItem(QString::fromLatin1(f.value)));
        ++row;
    }
}

QWidget *titled(const QString &title, QWidget *content, QWidget *parent)
{
    auto *box = new QWidget(parent);
    auto *layout = new QVBoxLayout(box);
    layout->setContentsMargins(0, 0, 0, 0);
    auto *label = new QLabel(QStringLiteral("<b>%1</b>").arg(title), box);
    layout->addWidget(label);
    layout->addWidget(content, 1);
    return box;
}

} // namespace

HandshakeView::HandshakeView(QWidget *parent)
    : QWidget(parent)
{
    m_summary = new QTextBrowser(this);
    m_summary->setOpenLinks(false);
    m_request = headerTable(this);
    m_response = headerTable(this);
    m_raw = new QPlainTextEdit(this);
    m_raw->setReadOnly(true);
    m_raw->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_raw->setLineWrapMode(QPlainTextEdit::NoWrap);

    auto *heads = new QSplitter(Qt::Horizontal, this);
    heads->addWidget(titled(tr("Request (as the client sent it)"), m_request, heads));
    heads->addWidget(titled(tr("Response (as the server sent it)"), m_response, heads));
    auto *splitter = new QSplitter(Qt::Vertical, this);
    splitter->setObjectName(QStringLiteral("handshakeSplitter"));
    splitter->addWidget(m_summary);
    splitter->addWidget(heads);
    splitter->addWidget(titled(tr("Raw"), m_raw, splitter));
    splitter->setStretchFactor(0, 2);
    splitter->setStretchFactor(1, 3);
    splitter->setStretchFactor(2, 2);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(splitter);
}

void HandshakeView::clear()
{
    m_summary->clear();
    m_request->setRowCount(0);
    m_response->setRowCount(0);
    m_raw->clear();
}

void HandshakeView::setSession(const capture::SessionInfo &s, const QList<capture::SessionId> &replays)
{
    QString html = QStringLiteral("<table>");
    html += htmlRow(tr("URL"), htmlEscape(QString::fromLatin1(s.url())));
    if (const capture::SessionId original = s.replayOf())
        html += htmlRow(tr("Replay"), tr("of session %1, by Socktap").arg(original));
    if (!replays.isEmpty()) {
        QStringList ids;
        for (const capture::SessionId id : replays)
            ids.append(QString::number(id));
        html += htmlRow(tr("Replayed as"), tr("session %1").arg(ids.join(QStringLiteral(", "))));
    }
    html += htmlRow(tr("Mode"), QString::fromLatin1(capture::modeName(s.mode)));
    if (!s.engine.isEmpty())
        html += htmlRow(tr("Engine"), htmlEscape(tr("the Socktap at %1 (attached)").arg(s.engine)));
    html += htmlRow(tr("Client"), QStringLiteral("%1:%2").arg(s.clientAddress).arg(s.clientPort));
    html += htmlRow(tr("State"),
                    QStringLiteral("%1%2").arg(
                        QString::fromLatin1(capture::stateName(s.state)),
                        s.error.isEmpty() ? QString() : QStringLiteral(": ") + htmlEscape(s.error)));
    if (s.kind == capture::SessionKind::WebSocket) {
        const QByteArray offeredProtocols = s.request.headers.combined("Sec-WebSocket-Protocol");
        const QByteArray offeredExtensions = s.request.headers.combined("Sec-WebSocket-Extensions");
        html +=
            htmlRow(tr("Subprotocol"),
                    s.subprotocol.isEmpty() ? tr("none") : htmlEscape(QString::fromLatin1(s.subprotocol)));
        html += htmlRow(tr("…offered"),
                        offeredProtocols.isEmpty() ? tr("none")
                                                   : htmlEscape(QString::fromLatin1(offeredProtocols)));
        html += htmlRow(tr("Extensions"),
                        s.extensions.isEmpty()
                            ? tr("none")
                            : htmlEscape(QString::fromLatin1(ws::serializeExtensions(s.extensions))));
        html += htmlRow(tr("…offered"),
                        offeredExtensions.isEmpty() ? tr("none")
                                                    : htmlEscape(QString::fromLatin1(offeredExtensions)));
        if (s.deflate)
            html += htmlRow(
                tr("permessage-deflate"),
                tr("client window %1 bits%2, server window %3 bits%4")
                    .arg(s.deflate->clientMaxWindowBits)
                    .arg(s.deflate->clientNoContextTakeover ? tr(", no context takeover") : QString())
                    .arg(s.deflate->serverMaxWindowBits)
                    .arg(s.deflate->serverNoContextTakeover ? tr(", no context takeover") : QString()));
    }
    for (const QString &note : s.handshakeNotes)
        html += htmlRow(tr("Changed by a rule"), htmlEscape(note));
    if (!s.mock.isEmpty())
        html += htmlRow(tr("<span style='color:#6a1b9a'>Server</span>"),
                        htmlEscape(tr("Socktap's %1: the answers are the capture's").arg(s.mock)));
    for (const QString &fault : s.faults)
        html += htmlRow(tr("<span style='color:#e65100'>Fault</span>"), htmlEscape(fault));
    for (const QString &problem : s.handshakeProblems)
        html += htmlRow(tr("<span style='color:#d32f2f'>Problem</span>"), htmlEscape(problem));
    if (s.state == capture::SessionState::Rejected && !s.responseBody.isEmpty())
        html += htmlRow(tr("Rejection body"),
                        QStringLiteral("<pre>%1</pre>").arg(htmlEscape(QString::fromUtf8(s.responseBody))));
    if (s.tls.intercepted || !s.tls.upstreamProtocol.isEmpty()) {
        html +=
            htmlRow(tr("TLS (client leg)"),
                    htmlEscape(QStringLiteral("%1, %2, SNI %3")
                                   .arg(s.tls.clientProtocol, s.tls.clientCipher,
                                        s.tls.sni.isEmpty() ? tr("none") : QString::fromLatin1(s.tls.sni))));
        html +=
            htmlRow(tr("TLS (server leg)"),
                    htmlEscape(QStringLiteral("%1, %2").arg(s.tls.upstreamProtocol, s.tls.upstreamCipher)));
        html += htmlRow(
            tr("Server certificate"),
            htmlEscape(QStringLiteral("%1, issued by %2, valid %3")
                           .arg(s.tls.upstreamSubject, s.tls.upstreamIssuer, s.tls.upstreamValidity)));
        const QString verdict = htmlEscape(s.tls.upstreamVerification);
        html += htmlRow(tr("Verification"),
                        s.tls.upstreamVerified
                            ? verdict
                            : QStringLiteral("<span style='color:#d32f2f'>%1</span>").arg(verdict));
    }
    html += htmlRow(
        tr("Timing"),
        tr("accepted %1, upgraded %2")
            .arg(capture::isoTime(s.acceptedAt), s.upgradedAt ? capture::isoTime(s.upgradedAt) : tr("—")));
    html += QStringLiteral("</table>");
    m_summary->setHtml(html);
    fill(m_request, s.request.headers);
    fill(m_response, s.response.headers);
    QString raw = QString::fromLatin1(s.request.raw);
    if (!s.response.raw.isEmpty())
        raw += QString::fromLatin1(s.response.raw);
    if (!s.responseBody.isEmpty())
        raw += QString::fromUtf8(s.responseBody);
    m_raw->setPlainText(raw);
}

} // namespace socktap::ui
