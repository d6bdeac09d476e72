#include "db/commit_wait.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <thread>

#include "db/database.hpp"  // executeScript
#include "db/sql.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

using Clock = std::chrono::steady_clock;

// 0: no scope on this thread.
thread_local std::chrono::milliseconds commitLimit{0};

// The process's hold-back (writesHeldBack): whether writes are held back, and when the next probe
// is due, in Clock ticks.
std::atomic<bool> heldBack{false};
std::atomic<Clock::rep> nextProbeAt{0};

// How long the server gets to answer once asked to cancel: it answers at once when it is there
// (the cancelled wait's WARNING and the statement's result).
constexpr std::chrono::milliseconds kAnswerAfterCancel{2'000};

// A row of 64 by the server process: the processes probing at once do not queue on one row.
constexpr const char* kCommitProbeSql =
    "INSERT INTO commit_probes (id) VALUES (pg_backend_pid() % 64) "
    "ON CONFLICT (id) DO UPDATE SET probed_at = now()";

// PQcancel opens a connection of its own and blocks until the server took the request; one that
// no longer answers (a partition) would hold it for the kernel's connect timeout. So it runs on a
// thread of its own, never waited for: the answer is waited for, kAnswerAfterCancel at most.
void askToCancel(PGconn* connection) {
    PGcancel* cancel = PQgetCancel(connection);
    if (cancel == nullptr) return;
    std::thread([cancel] {
        char reason[256];
        PQcancel(cancel, reason, sizeof reason);
        PQfreeCancel(cancel);
    }).detach();
}

// Waits until `connection` has a whole result to give, or `deadline`; false at the deadline.
// A lost connection is "ready": PQgetResult reports it.
bool readyBy(PGconn* connection, Clock::time_point deadline) {
    while (PQisBusy(connection) == 1) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return false;
        pollfd readable{PQsocket(connection), POLLIN, 0};
        if (::poll(&readable, 1, static_cast<int>(left.count()) + 1) < 0 && errno != EINTR)
            return true;
        if (PQconsumeInput(connection) != 1) return true;
    }
    return true;
}

// PQexec's choice among a statement's results: the last, but an error over what follows it.
PGresult* lastResult(PGconn* connection) {
    PGresult* kept = nullptr;
    while (PGresult* result = PQgetResult(connection)) {
        if (kept != nullptr && PQresultStatus(kept) == PGRES_FATAL_ERROR) {
            PQclear(result);
            continue;
        }
        PQclear(kept);
        kept = result;
    }
    return kept;
}

}  // namespace

CommitWaitScope::CommitWaitScope(std::chrono::milliseconds statementTimeout)
    : previous_(commitLimit) {
    commitLimit = statementTimeout;
}

CommitWaitScope::~CommitWaitScope() {
    commitLimit = previous_;
}

std::chrono::milliseconds autocommitAnswerLimit(PGconn* connection) {
    if (commitLimit.count() <= 0 || PQtransactionStatus(connection) != PQTRANS_IDLE)
        return std::chrono::milliseconds(0);
    return commitLimit * 2;
}

PGresult* awaitAnswer(PGconn* connection, std::chrono::milliseconds limit,
                      const std::string& what, UnansweredCommit unanswered) {
    if (readyBy(connection, Clock::now() + limit)) return lastResult(connection);
    if (unanswered == UnansweredCommit::Cancelled) {
        askToCancel(connection);
        // Read and dropped when it comes: a cancelled commit is made all the same (above).
        if (readyBy(connection, Clock::now() + kAnswerAfterCancel))
            PQclear(lastResult(connection));
    }
    // Whoever uses the connection next finds it lost (Database drops its session then), never
    // an answer owed to this statement. The server notices only once its wait has ended.
    ::shutdown(PQsocket(connection), SHUT_RDWR);
    // A wait left on costs a server connection: no more of them (a cancelled one frees its own).
    if (unanswered == UnansweredCommit::LeftWaiting) holdBackWrites();
    throw UnconfirmedCommit("no answer to " + what + " within " + std::to_string(limit.count()) +
                            " ms (a synchronous standby away?); its outcome is unknown");
}

void beginTransaction(Poco::Data::Session& session) {
    executeScript(session, writesHeldBack() ? "BEGIN READ ONLY" : "BEGIN");
}

void commitTransaction(Poco::Data::Session& session) {
    if (commitLimit.count() <= 0) {
        executeScript(session, "COMMIT");
        return;
    }
    PGconn* connection = connectionOf(session);
    if (PQsendQuery(connection, "COMMIT") != 1) throwSqlError(connection, nullptr);
    const std::unique_ptr<PGresult, decltype(&PQclear)> result(
        awaitAnswer(connection, commitLimit, "COMMIT"), &PQclear);
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) throwSqlError(connection, result.get());
}

bool writesHeldBack() {
    return heldBack.load(std::memory_order_relaxed);
}

void holdBackWrites() {
    nextProbeAt.store((Clock::now() + kCommitProbeInterval).time_since_epoch().count());
    if (!heldBack.exchange(true))
        logEvent(LogLevel::Warn, "writes held back: a commit went unanswered",
                 {{"probe_every_s", static_cast<Poco::Int64>(kCommitProbeInterval.count())}});
}

bool claimCommitProbe() {
    Clock::rep due = nextProbeAt.load();
    const Clock::time_point now = Clock::now();
    if (now.time_since_epoch().count() < due) return false;
    return nextProbeAt.compare_exchange_strong(
        due, (now + kCommitProbeInterval).time_since_epoch().count());
}

void releaseWrites() {
    heldBack.store(false);
}

bool commitsConfirmed(PGconn* connection, std::chrono::milliseconds limit) {
    if (PQsendQuery(connection, kCommitProbeSql) != 1) throwSqlError(connection, nullptr);
    std::unique_ptr<PGresult, decltype(&PQclear)> result(nullptr, &PQclear);
    try {
        result.reset(
            awaitAnswer(connection, limit, "a commit probe", UnansweredCommit::Cancelled));
    } catch (const UnconfirmedCommit&) {
        return false;
    }
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) throwSqlError(connection, result.get());
    return true;
}

}  // namespace dnsh
