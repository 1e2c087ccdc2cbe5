// GUI speed without a screen: fills a capture store with a session of 1,000,000 messages and times what a
// user does to it through the models: open it, render a screenful, jump around, filter by direction and
// type, search every payload, and take one refresh's worth of new messages at 50,000 messages a second.
// Prints milliseconds. Not a test.
#include "core/capture/CaptureWriter.h"
#include "core/ws/FrameParser.h"
#include "core/ws/FrameWriter.h"
#include "ui/MessageTableModel.h"
#include "ui/SessionTableModel.h"

#include <QApplication>
#include <QElapsedTimer>

#include <cstdio>

using namespace socktap;
using namespace socktap::capture;
using ui::MessageTableModel;

namespace {

constexpr int Messages = 1'000'000;
constexpr int Screenful = 40;

void writeOne(CaptureWriter &writer, SessionId id, Direction dir, const QByteArray &wire)
{
    const auto sender =
        dir == Direction::ClientToServer ? ws::FrameParser::Sender::Client : ws::FrameParser::Sender::Server;
    ws::decodeMessages(wire, sender, 1'001'000,
                       [&](const ws::MessageAssembler::Message &m) { writer.message(id, dir, m); });
}

double ms(QElapsedTimer &t)
{
    const double v = double(t.nsecsElapsed()) / 1e6;
    t.restart();
    return v;
}

void touchScreen(const MessageTableModel &model, int firstRow)
{
    for (int r = firstRow; r < std::min(model.rowCount(), firstRow + Screenful); ++r) {
        for (int c = 0; c < MessageTableModel::ColumnCount; ++c)
            (void)model.index(r, c).data();
    }
}

} // namespace

int main(int argc, char **argv)
{
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    CaptureStore store;
    CaptureWriter writer(store);
    const SessionId id = store.newSessionId();
    SessionInfo s;
    s.id = id;
    s.state = SessionState::Open;
    s.host = "bench.example";
    writer.session(s);

    QElapsedTimer t;
    t.start();
    for (int i = 0; i < Messages; ++i) {
        const bool client = i % 4 == 0;
        const QByteArray text = QStringLiteral(R"({"type":"%1","seq":%2,"symbol":"BTC-USD","price":%3})")
                                    .arg(client ? QStringLiteral("order") : QStringLiteral("tick"))
                                    .arg(i)
                                    .arg(64000 + i % 500)
                                    .toUtf8();
        writeOne(writer, id, client ? Direction::ClientToServer : Direction::ServerToClient,
                 ws::FrameWriter::frame(ws::Opcode::Text, text, client));
        if (writer.wantsFlush())
            writer.flush();
    }
    writer.flush();
    std::printf("socktap model benchmark: one session of %d messages (%.0f MiB captured)\n\n", Messages,
                double(store.stats().memoryUsed) / (1 << 20));
    std::printf("%-52s %10.0f ms\n", "fill the store (parse, assemble, batch, apply)", ms(t));

    MessageTableModel model(store);
    model.setSession(id, 1'000'000);
    std::printf("%-52s %10.1f ms\n", "open the session (load 1,000,000 records)", ms(t));
    touchScreen(model, 0);
    std::printf("%-52s %10.2f ms\n", "render the first screenful (40 rows, all columns)", ms(t));
    for (int jump = 0; jump < 100; ++jump)
        touchScreen(model, (jump * 9973) % (Messages - Screenful));
    std::printf("%-52s %10.2f ms\n", "jump to a new place and render it (average of 100)", ms(t) / 100);
    (void)model.index(Messages / 2, 0).data();
    model.setDirectionFilter(MessageTableModel::DirectionFilter::FromClient);
    std::printf("%-52s %10.1f ms  (%d rows)\n", "filter: client to server only", ms(t), model.rowCount());
    model.setDirectionFilter(MessageTableModel::DirectionFilter::Both);
    model.setTypeFilter(MessageTableModel::TypeFilter::Control);
    std::printf("%-52s %10.1f ms  (%d rows)\n", "filter: control frames only", ms(t), model.rowCount());
    model.setTypeFilter(MessageTableModel::TypeFilter::All);
    ms(t);
    model.setSearch(QStringLiteral("\"seq\":99999[0-9]"), true);
    std::printf("%-52s %10.1f ms  (%d rows)\n", "search every payload (regex)", ms(t), model.rowCount());
    model.setSearch(QStringLiteral("order"), false);
    std::printf("%-52s %10.1f ms  (%d rows)\n", "search every payload (text)", ms(t), model.rowCount());
    model.setSearch(QString(), false);
    std::printf("%-52s %10.1f ms\n", "clear the search", ms(t));
    // What messages mean (core/decode): a whole-session pass, as Hide heartbeats and pairing need.
    model.setHideChatter(true);
    std::printf("%-52s %10.1f ms  (%d rows)\n", "decode every message (Hide heartbeats)", ms(t),
                model.rowCount());
    model.setHideChatter(false);
    ms(t);
    model.setSearch(QStringLiteral("type:order"), false);
    std::printf("%-52s %10.1f ms  (%d rows)\n", "search what messages mean (type:order)", ms(t),
                model.rowCount());
    model.setSearch(QString(), false);
    ms(t);

    // 50,000 messages a second, refreshed 30 times a second: about 1,667 new messages per refresh.
    const int perRefresh = 50'000 / 30;
    double worst = 0, total = 0;
    for (int refresh = 0; refresh < 30; ++refresh) {
        for (int i = 0; i < perRefresh; ++i)
            writeOne(writer, id, Direction::ServerToClient,
                     ws::FrameWriter::frame(ws::Opcode::Text, "tick", false));
        writer.flush();
        QElapsedTimer r;
        r.start();
        model.appendNew();
        touchScreen(model, model.rowCount() - Screenful);
        const double took = double(r.nsecsElapsed()) / 1e6;
        worst = std::max(worst, took);
        total += took;
    }
    std::printf("%-52s %10.2f ms  (worst %.2f ms of a 33 ms frame)\n",
                "one refresh at 50,000 msg/s (append 1,667 + render)", total / 30, worst);

    ui::SessionTableModel sessions(store);
    QList<SessionId> ids;
    for (int i = 0; i < 10'000; ++i) {
        SessionInfo x;
        x.id = store.newSessionId();
        x.host = "host" + QByteArray::number(i) + ".example";
        writer.session(x);
        ids.append(x.id);
    }
    writer.flush();
    t.restart();
    sessions.update(ids);
    std::printf("%-52s %10.1f ms\n", "session list: 10,000 new sessions in one refresh", ms(t));
    return 0;
}
