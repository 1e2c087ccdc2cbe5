#include "CloseView.h"

#include "HandshakeView.h"

#include "core/capture/TextFormat.h"
#include "core/ws/CloseCode.h"

namespace socktap::ui {

CloseView::CloseView(QWidget *parent)
    : QTextBrowser(parent)
{
    setOpenLinks(false);
}

namespace {

QString rangeText(ws::CloseCodeInfo::Range r)
{
    switch (r) {
    case ws::CloseCodeInfo::Range::Unused:
        return QObject::tr("0-999, never used");
    case ws::CloseCodeInfo::Range::Protocol:
        return QObject::tr("1000-2999, the protocol's own");
    case ws::CloseCodeInfo::Range::Registered:
        return QObject::tr("3000-3999, registered with IANA by libraries and frameworks");
    case ws::CloseCodeInfo::Range::Private:
        return QObject::tr("4000-4999, private use by applications");
    case ws::CloseCodeInfo::Range::Invalid:
        return QObject::tr("5000 and above, not defined");
    }
    return {};
}

QString side(const capture::CloseInfo &c, capture::Direction d)
{
    const int i = capture::directionIndex(d);
    if (!c.closeSent[i] && !c.closeUndelivered[i])
        return QObject::tr("no Close frame");
    const quint16 code = c.code[i].value_or(ws::CloseCode::NoStatusReceived);
    const auto info = ws::closeCodeInfo(code);
    QString text = QStringLiteral("<b>%1 %2</b><br>%3<br><i>%4</i>")
                       .arg(code)
                       .arg(htmlEscape(info.name), htmlEscape(info.meaning), rangeText(info.range));
    if (!c.code[i])
        text += QObject::tr("<br>(the Close frame carried no code; 1005 is what applications are told)");
    if (!c.reason[i].isEmpty())
        text += QObject::tr("<br>Reason: “%1”").arg(htmlEscape(QString::fromUtf8(c.reason[i])));
    if (c.closeUndelivered[i])
        text += QObject::tr("<br><span style='color:#d32f2f'>Received by Socktap, not delivered: the %1 had "
                            "already gone</span>")
                    .arg(QLatin1String(capture::directionName(capture::opposite(d))));
    return text;
}

} // namespace

void CloseView::setSession(const capture::SessionInfo &s)
{
    if (s.kind != capture::SessionKind::WebSocket) {
        setHtml(tr("<p>This is not a WebSocket session.</p>"));
        return;
    }
    const capture::CloseInfo &c = s.close;
    QString html;
    if (s.openWhenSaved) {
        setHtml(tr("<p>The session was open when this capture was saved: what happened after that is not "
                   "in it.</p>"));
        return;
    }
    if (s.state == capture::SessionState::Open) {
        html = tr("<p>The session is open: no Close frame yet.</p>");
        setHtml(html);
        return;
    }
    if (!c.recorded()) {
        setHtml(tr("<p>How this session closed is not recorded (the file it was read from does not say).</p>"));
        return;
    }
    const quint16 effective = c.effectiveCode();
    const auto info = ws::closeCodeInfo(effective);
    html += QStringLiteral("<h3>%1 %2</h3><p>%3</p>")
                .arg(effective)
                .arg(htmlEscape(info.name), htmlEscape(info.meaning));
    html += QStringLiteral("<table>");
    html += htmlRow(tr("Client → server"), side(c, capture::Direction::ClientToServer));
    html += htmlRow(tr("Server → client"), side(c, capture::Direction::ServerToClient));
    html += htmlRow(tr("Closed first by"),
                    c.firstCloser ? QString::fromLatin1(capture::directionName(*c.firstCloser))
                                  : tr("nobody sent a Close frame"));
    html += htmlRow(tr("Closing handshake"),
                    c.handshakeCompleted()
                        ? tr("completed (both Close frames crossed)")
                        : QStringLiteral("<span style='color:#d32f2f'>%1</span>").arg(tr("incomplete")));
    if (c.firstCloseTime && c.tcpEndTime)
        html += htmlRow(tr("First Close to TCP end"), capture::duration(c.tcpEndTime - c.firstCloseTime));
    if (c.end != capture::EndReason::None) {
        const bool abnormal = c.end != capture::EndReason::Closed;
        const QString end = htmlEscape(capture::endReasonText(c.end));
        html += htmlRow(tr("How it ended"),
                        abnormal ? QStringLiteral("<span style='color:#d32f2f'>%1</span>").arg(end) : end);
    }
    if (!c.detail.isEmpty())
        html += htmlRow(tr("Detail"), htmlEscape(c.detail));
    if (s.violations)
        html += htmlRow(tr("Protocol violations"),
                        htmlEscape(ws::describe(s.violations).join(QStringLiteral("; "))));
    html += QStringLiteral("</table>");
    setHtml(html);
}

} // namespace socktap::ui
