// A capture survives the end of the process that made it: killed outright (SIGKILL) it loses at most the
// last flush interval, and the next start says where it is; the window ends on SIGTERM even with its save
// question open, closing open sessions with 1001 and keeping the capture for recovery; 'socktap recover'
// lists, prints and saves kept captures; --memory-only writes nothing.
#include "core/capture/Recovery.h"
#include "support/Peers.h"
#include "support/SocktapProcess.h"

#include <QDir>
#include <QElapsedTimer>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkProxy>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QWebSocket>

using namespace socktap::test;

namespace {

// Runs `socktap ARGS` to completion in home; returns (exit code, stdout, stderr).
std::tuple<int, QByteArray, QByteArray> run(const QString &home, const QStringList &args)
{
    Socktap s;
    s.useHome(home);
    s.process.start(QStringLiteral(SOCKTAP_BINARY), args);
    if (!s.process.waitForFinished(WaitMs))
        s.process.kill();
    return {s.process.exitCode(), s.process.readAllStandardOutput(), s.process.readAllStandardError()};
}

// A client through Socktap to the echo server that sends `count` messages and waits for their echoes.
std::unique_ptr<QWebSocket> chat(const EchoServer &echo, quint16 proxyPort, int count, int *echoed)
{
    auto client = openClient(echo.url(QStringLiteral("/kept")),
                             QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), proxyPort));
    if (!client)
        return nullptr;
    QObject::connect(client.get(), &QWebSocket::textMessageReceived, [echoed] { ++*echoed; });
    for (int i = 0; i < count; ++i)
        client->sendTextMessage(QStringLiteral("message %1").arg(i));
    if (!QTest::qWaitFor([&] { return *echoed == count; }, WaitMs))
        return nullptr;
    return client;
}

// Starts a headless Socktap with its own home (cache, configuration), on a free port.
bool startHeadless(Socktap &s, const QString &home, QStringList more = {})
{
    s.useHome(home);
    return s.start(QStringList {"--headless", "--quiet", "--listen", "127.0.0.1:0"} + more);
}

// Waits until this run's crash journal under home holds `messages` messages (flushed within 100 ms).
bool journalHolds(const QString &home, quint64 messages)
{
    return QTest::qWaitFor(
        [&] {
            const auto dirs = socktap::capture::listCaptureDirectories(
                home + QStringLiteral("/.cache/socktap/captures"), true);
            return !dirs.empty() && dirs.front().summary.messages == messages;
        },
        WaitMs);
}

QStringList messageTexts(const QByteArray &jsonLines)
{
    QStringList texts;
    for (const QByteArray &line : jsonLines.split('\n')) {
        const QJsonObject o = QJsonDocument::fromJson(line).object();
        if (o["type"] == QStringLiteral("message") && o.contains("text"))
            texts << o["from"].toString() + ":" + o["text"].toString();
    }
    return texts;
}

} // namespace

class TestRecovery final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase() { QNetworkProxyFactory::setUseSystemConfiguration(false); }

    void killedSocktapLosesAtMostTheLastMoments()
    {
        QTemporaryDir home;
        EchoServer echo;
        Socktap socktap;
        QVERIFY(startHeadless(socktap, home.path()));
        int echoed = 0;
        auto client = chat(echo, socktap.port, 20, &echoed);
        QVERIFY(client);
        // Everything reaches the journal within the flush interval (100 ms); then no goodbye at all.
        QVERIFY(journalHolds(home.path(), 40));
        QVERIFY(socktap.stop(SIGKILL));
        client.reset();

        // The next start says what it found and where.
        Socktap next;
        QVERIFY(startHeadless(next, home.path()));
        const auto found = QRegularExpression(QStringLiteral("did not stop cleanly; its capture of 1 session, "
                                                             "40 messages is in (\\S+) "))
                               .match(QString::fromUtf8(next.err));
        QVERIFY2(found.hasMatch(), next.err.constData());
        const QString journal = found.captured(1);
        QVERIFY(next.stop());

        // All 40 messages are in it, both ways, and 'socktap open' reads it as it reads any capture.
        const auto [code, out, err] = run(home.path(), {"open", journal, "--json"});
        QVERIFY2(code == 0, err.constData());
        const QStringList texts = messageTexts(out);
        QCOMPARE(texts.size(), 40);
        for (int i = 0; i < 20; ++i) {
            QVERIFY(texts.contains(QStringLiteral("client:message %1").arg(i)));
            QVERIFY(texts.contains(QStringLiteral("server:message %1").arg(i)));
        }
        // The start after that says nothing more about it (it was reported), but recover lists it.
        Socktap third;
        QVERIFY(startHeadless(third, home.path()));
        QVERIFY(third.stop());
        QVERIFY2(!third.err.contains("did not stop cleanly"), third.err.constData());
        const auto [listed, list, listErr] = run(home.path(), {"recover"});
        QCOMPARE(listed, 0);
        QVERIFY2(list.contains("did not stop cleanly (killed or crashed)") && list.contains(journal.toUtf8()),
                 list.constData());
    }

    void windowQuitsOnSigtermWithItsQuestionOpen()
    {
        // The window with a capture asks before quitting. A signal (logout, kill, a service manager) must
        // not wait for an answer: it ends the program within seconds, open sessions get 1001 Going Away,
        // and the capture is kept for the next start to offer back.
        QTemporaryDir home;
        EchoServer echo;
        Socktap socktap;
        socktap.useHome(home.path());
        QProcessEnvironment env = socktap.process.processEnvironment();
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        env.insert(QStringLiteral("SOCKTAP_SAVE_PROMPT"), QStringLiteral("1")); // asked, as on a desktop
        socktap.process.setProcessEnvironment(env);
        QVERIFY(socktap.startWindow({}));
        int echoed = 0;
        auto client = chat(echo, socktap.port, 3, &echoed);
        QVERIFY(client);
        std::optional<int> closeCode;
        connect(client.get(), &QWebSocket::disconnected, this, [&] { closeCode = client->closeCode(); });
        QElapsedTimer timer;
        timer.start();
        ::kill(pid_t(socktap.process.processId()), SIGTERM);
        QVERIFY2(QTest::qWaitFor([&] { return socktap.process.state() == QProcess::NotRunning; }, WaitMs),
                 "the window did not quit on SIGTERM");
        QVERIFY2(timer.elapsed() < 5000, qPrintable(QStringLiteral("%1 ms").arg(timer.elapsed())));
        QCOMPARE(socktap.process.exitStatus(), QProcess::NormalExit);
        QCOMPARE(socktap.process.exitCode(), 0);
        QVERIFY(QTest::qWaitFor([&] { return closeCode.has_value(); }, WaitMs));
        QCOMPARE(*closeCode, 1001);
        socktap.err += socktap.process.readAllStandardError();
        QVERIFY2(socktap.err.contains("the capture is kept in"), socktap.err.constData());

        // Kept, and offered back: recover lists it as ended by the signal with its messages.
        const auto [code, list, err] = run(home.path(), {"recover"});
        QCOMPARE(code, 0);
        QVERIFY2(list.contains("1 session, 8 messages") && list.contains("ended by signal 15"),
                 (list + err).constData());
        const auto [saved, out, saveErr] =
            run(home.path(), {"recover", "1", "--save", home.filePath("kept.socktap")});
        QVERIFY2(saved == 0, saveErr.constData());
        const auto [opened, lines, openErr] = run(home.path(), {"open", home.filePath("kept.socktap"), "--json"});
        QCOMPARE(opened, 0);
        QVERIFY2(messageTexts(lines).contains("server:message 2"), lines.constData());
    }

    void aDeadRunIsToldByItsLockNotItsPid()
    {
        // A run's capture directory is "running" while its Socktap lives, by the lock it holds, not by its
        // pid: after a kill -9 whose pid now belongs to another live process (here pid 1), the capture is
        // still found and offered back.
        QTemporaryDir home;
        EchoServer echo;
        Socktap socktap;
        QVERIFY(startHeadless(socktap, home.path()));
        int echoed = 0;
        auto client = chat(echo, socktap.port, 2, &echoed);
        QVERIFY(client);
        QVERIFY(journalHolds(home.path(), 4));
        const QString root = home.filePath(".cache/socktap/captures");
        auto dirs = socktap::capture::listCaptureDirectories(root, true);
        QVERIFY(dirs.front().running);
        QVERIFY(socktap.stop(SIGKILL));
        client.reset();
        // The pid in the name is reused: pid 1 is alive, and is not Socktap.
        const QString dead = dirs.front().path;
        const QString reused = dead.section(QLatin1Char('-'), 0, -2) + QStringLiteral("-1");
        QVERIFY(QDir().rename(dead, reused));
        dirs = socktap::capture::listCaptureDirectories(root, true);
        QCOMPARE(dirs.size(), size_t(1));
        QVERIFY2(!dirs.front().running, qPrintable(dirs.front().howItEnded()));
        QVERIFY(dirs.front().endedAbnormally());
        Socktap next;
        QVERIFY(startHeadless(next, home.path()));
        QVERIFY(next.stop());
        QVERIFY2(next.err.contains("did not stop cleanly; its capture of 1 session, 4 messages"),
                 next.err.constData());
    }

    void memoryOnlyWritesNothing()
    {
        QTemporaryDir home;
        EchoServer echo;
        Socktap socktap;
        QVERIFY(startHeadless(socktap, home.path(), {"--memory-only"}));
        int echoed = 0;
        QVERIFY(chat(echo, socktap.port, 2, &echoed));
        QVERIFY(socktap.stop(SIGKILL));
        QVERIFY(QDir(home.filePath(".cache/socktap/captures")).isEmpty());
        const auto [code, list, err] = run(home.path(), {"recover"});
        QCOMPARE(code, 0);
        QVERIFY2(list.startsWith("no captures kept"), list.constData());
    }
};

QTEST_MAIN(TestRecovery)
#include "tst_recovery.moc"
