// The Timeline tab: messages per second and bytes per second, both directions, over the session's life,
// drawn with QPainter; pings marked, and the faults Socktap applied (closes, resets, stalls, throttles, by
// the user or a rule) as labelled lines. Recomputed from the records only while visible, at most twice a second.
#pragma once

#include "core/capture/CaptureTypes.h"

#include <QWidget>

#include <deque>
#include <vector>

namespace socktap::ui {

class TimelineView final : public QWidget
{
    Q_OBJECT

public:
    explicit TimelineView(QWidget *parent = nullptr);
    // end = 0: the session is still open (now).
    // faults: the session's (SessionInfo::faults), drawn as marks with what they were.
    void setData(const std::deque<capture::MessageRecord> &records, qint64 start, qint64 end,
                 const QStringList &faults = {});
    void clear();

    struct Series
    {
        std::vector<double> messages[2]; // per bucket, per second
        std::vector<double> bytes[2];
        std::vector<double> pings; // times (seconds from start)
        std::vector<std::pair<double, QString>> faults; // time (seconds from start), what happened
        double bucketSeconds = 1;
        double spanSeconds = 0;
    };
    const Series &series() const { return m_series; }

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    void drawChart(QPainter &p, const QRectF &area, const std::vector<double> (&values)[2],
                   const QString &title, bool bytes);

    Series m_series;
};

} // namespace socktap::ui
