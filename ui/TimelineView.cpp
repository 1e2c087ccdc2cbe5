#include "TimelineView.h"

#include "core/capture/Clock.h"
#include "core/capture/TextFormat.h"

#include <QPainter>

#include <cmath>

namespace socktap::ui {

namespace {

constexpr int MaxBuckets = 60; // bars a reader can tell apart
const QColor ClientColor(0x1e, 0x78, 0xc8);
const QColor ServerColor(0x2e, 0xa0, 0x43);
const QColor FaultColor(0xd3, 0x2f, 0x2f);

// 1, 2, 5 x 10^n seconds: bucket widths a reader can take in at a glance.
double niceBucket(double span)
{
    const double raw = std::max(span / MaxBuckets, 0.001);
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    for (const double step : {1.0, 2.0, 5.0, 10.0}) {
        if (raw <= step * magnitude)
            return step * magnitude;
    }
    return 10 * magnitude;
}

QString rateText(double value, bool bytes)
{
    return bytes ? capture::byteSize(quint64(value)) + QStringLiteral("/s")
                 : QStringLiteral("%1/s").arg(value, 0, 'g', 4);
}

} // namespace

TimelineView::TimelineView(QWidget *parent)
    : QWidget(parent)
{
    setMinimumHeight(200);
}

void TimelineView::clear()
{
    m_series = Series();
    update();
}

void TimelineView::setData(const std::deque<capture::MessageRecord> &records, qint64 start, qint64 end,
                           const QStringList &faults)
{
    Series s;
    const qint64 last = end ? end : capture::nowMicros();
    for (const QString &fault : faults) {
        // The fault's clock time, read on the session's day in this machine's time zone: a capture from
        // another zone would misplace it, so one outside the session's span is not drawn.
        const auto at = capture::clockTimeOf(fault, start);
        if (at && *at >= start - 1'000'000 && *at <= last + 1'000'000)
            s.faults.emplace_back(double(std::clamp<qint64>(*at - start, 0, last - start)) / 1e6,
                                  fault.mid(13));
    }
    s.spanSeconds = std::max(0.001, double(last - start) / 1e6);
    s.bucketSeconds = niceBucket(s.spanSeconds);
    const size_t buckets = size_t(std::ceil(s.spanSeconds / s.bucketSeconds)) + 1;
    for (int d = 0; d < 2; ++d) {
        s.messages[d].assign(buckets, 0);
        s.bytes[d].assign(buckets, 0);
    }
    for (const capture::MessageRecord &r : records) {
        const double t = double(r.time - start) / 1e6;
        const size_t b = std::min(buckets - 1, size_t(std::max(0.0, t) / s.bucketSeconds));
        const int d = capture::directionIndex(r.direction());
        s.messages[d][b] += 1 / s.bucketSeconds;
        s.bytes[d][b] += double(r.wireSize) / s.bucketSeconds;
        if (r.opcode == quint8(ws::Opcode::Ping))
            s.pings.push_back(t);
    }
    m_series = std::move(s);
    update();
}

void TimelineView::drawChart(QPainter &p, const QRectF &area, const std::vector<double> (&values)[2],
                             const QString &title, bool bytes)
{
    const QPalette pal = palette();
    p.setPen(pal.color(QPalette::Mid));
    p.setBrush(Qt::NoBrush);
    p.drawRect(area);
    double peak = 0;
    for (int d = 0; d < 2; ++d) {
        for (double v : values[d])
            peak = std::max(peak, v);
    }
    p.setPen(pal.color(QPalette::WindowText));
    p.drawText(area.adjusted(6, 4, -6, -4), Qt::AlignLeft | Qt::AlignTop, title);
    p.drawText(area.adjusted(6, 4, -6, -4), Qt::AlignRight | Qt::AlignTop,
               tr("peak %1").arg(rateText(peak, bytes)));
    if (peak <= 0 || values[0].empty())
        return;
    // One pair of bars per bucket: client to server on the left, server to client on the right.
    const size_t n = values[0].size();
    const double slot = area.width() / double(n);
    const double bar = std::max(1.0, slot * 0.42);
    const double usable = area.height() - 22;
    p.setPen(Qt::NoPen);
    for (int d = 0; d < 2; ++d) {
        p.setBrush(d == 0 ? ClientColor : ServerColor);
        for (size_t i = 0; i < n; ++i) {
            if (values[d][i] <= 0)
                continue;
            const double h = std::max(1.0, (values[d][i] / peak) * usable);
            const double x = area.left() + slot * double(i) + (d == 0 ? slot * 0.08 : slot * 0.5);
            p.drawRect(QRectF(x, area.bottom() - h, bar, h));
        }
    }
}

void TimelineView::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QPalette pal = palette();
    p.fillRect(rect(), pal.color(QPalette::Base));
    const QRectF all = QRectF(rect()).adjusted(12, 28, -12, -28);
    // Legend.
    p.setPen(ClientColor);
    p.drawText(QPointF(12, 18), tr("● client → server"));
    p.setPen(ServerColor);
    p.drawText(QPointF(150, 18), tr("● server → client"));
    p.setPen(QColor(0xe6, 0x9a, 0x00));
    p.drawText(QPointF(290, 18), tr("▲ ping"));
    p.setPen(FaultColor);
    p.drawText(QPointF(360, 18), tr("┆ fault"));
    p.setPen(pal.color(QPalette::WindowText));
    p.drawText(QRectF(all.right() - 300, 4, 300, 18), Qt::AlignRight,
               tr("%1 per bucket, %2 in all")
                   .arg(capture::duration(qint64(m_series.bucketSeconds * 1e6)),
                        capture::duration(qint64(m_series.spanSeconds * 1e6))));
    if (m_series.messages[0].empty()) {
        p.drawText(all, Qt::AlignCenter, tr("No messages yet"));
        return;
    }
    const double gap = 14;
    const QRectF top(all.left(), all.top(), all.width(), (all.height() - gap) / 2);
    const QRectF bottom(all.left(), top.bottom() + gap, all.width(), top.height());
    drawChart(p, top, m_series.messages, tr("Messages per second"), false);
    drawChart(p, bottom, m_series.bytes, tr("Bytes per second (on the wire)"), true);
    p.setPen(Qt::NoPen);
    p.setBrush(QColor(0xe6, 0x9a, 0x00));
    for (double t : m_series.pings) {
        const double x = top.left() + top.width() * (t / m_series.spanSeconds);
        QPolygonF triangle(
            {QPointF(x, top.bottom()), QPointF(x - 4, top.bottom() + 8), QPointF(x + 4, top.bottom() + 8)});
        p.drawPolygon(triangle);
    }
    // Faults: a dashed line through both charts at the moment, what it was beside it (the rule's words).
    QFont small = font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    p.setFont(small);
    double lastLabel = -1e9;
    int row = 0;
    for (const auto &[t, what] : m_series.faults) {
        const double x = all.left() + all.width() * std::min(1.0, t / m_series.spanSeconds);
        p.setPen(QPen(FaultColor, 1.5, Qt::DashLine));
        p.drawLine(QPointF(x, top.top()), QPointF(x, bottom.bottom()));
        row = x - lastLabel < 160 ? row + 1 : 0; // labels close together step down
        lastLabel = x;
        const QString label = p.fontMetrics().elidedText(what, Qt::ElideRight, 220);
        const bool left = x + 230 > all.right();
        const QRectF box = left ? QRectF(x - 226, top.top() + 20 + row * 14, 222, 14)
                                : QRectF(x + 4, top.top() + 20 + row * 14, 222, 14);
        p.setPen(FaultColor);
        p.drawText(box, (left ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignVCenter, label);
    }
    p.setFont(font());
    p.setPen(pal.color(QPalette::WindowText));
    p.drawText(QRectF(all.left(), all.bottom() + 4, 100, 20), Qt::AlignLeft, QStringLiteral("0 s"));
    p.drawText(QRectF(all.right() - 150, all.bottom() + 4, 150, 20), Qt::AlignRight,
               capture::duration(qint64(m_series.spanSeconds * 1e6)));
}

} // namespace socktap::ui
