#pragma once
// A bound on the wait for a commit's answer. PostgreSQL applies no statement_timeout to a commit
// that waits for a synchronous standby (synchronous_commit on, synchronous_standby_names naming
// it): with the standby gone, every COMMIT, and every write run outside a transaction block (its
// commit is implicit), waits until a standby confirms it, for ever under an HA manager's strict
// synchronous mode. Within Database::withSession such a wait is bounded. Past the bound the
// connection is shut down and the work gets UnconfirmedCommit, a 503 `database unavailable`. The
// server's wait is left to go on: the transaction stays invisible to every other session, its
// locks held, until the standby confirms it (then it is made, as a lost answer's may be). It is
// not cancelled: PostgreSQL would then make it at once on the primary alone ("canceling wait for
// synchronous replication ... The transaction has already committed locally"), visible, for a
// retry or a scheduler step to build on, and lost with the primary: what strict synchronous mode
// is there to prevent.
//
// Each such wait costs a server connection until the standby is back, so the first unanswered
// commit holds back this process's writes (writesHeldBack): every transaction it begins is
// READ ONLY (beginTransaction; a statement outside a block is run in one of its own), so a
// write is refused at once (SQLSTATE 25006, a 503) and reads go on; and every
// kCommitProbeInterval one work probes with a write of no meaning (commit_probes, cancelled when
// unanswered, within a commit's bound) whether commits are confirmed again. Per transaction, not a session setting: behind
// PgBouncer in transaction mode a session's SET would stay on one pooled server connection.
#include <Poco/Data/Session.h>
#include <libpq-fe.h>

#include <chrono>
#include <string>

#include "core/error.hpp"

namespace dnsh {

// No answer to a commit (or to a statement outside a transaction block) within the bound. The
// connection is shut down (it still owes an answer), so whatever catches this on the way sees a
// lost connection next. Error(DatabaseUnavailable) to every caller (no attempt counted against
// an order); `why()` for the log.
class UnconfirmedCommit : public Error {
public:
    explicit UnconfirmedCommit(std::string why)
        : Error(ErrorCode::DatabaseUnavailable, "database unavailable"), why_(std::move(why)) {}
    const std::string& why() const noexcept { return why_; }

private:
    std::string why_;
};

// What becomes of the server's wait once its bound has passed.
enum class UnansweredCommit {
    LeftWaiting,  // a write someone may build on: invisible until confirmed (above)
    Cancelled,    // a write of no meaning (a probe, a heartbeat): made at once, the server freed
};

// For the work of one Database::withSession on this thread: a COMMIT waits at most
// `statementTimeout` for its answer (DB_STATEMENT_TIMEOUT: the commit itself takes milliseconds;
// the rest is the standby's), a statement outside a transaction block twice that (its run, which
// PostgreSQL bounds by statement_timeout, then its commit). Nested scopes: the innermost applies.
class CommitWaitScope {
public:
    explicit CommitWaitScope(std::chrono::milliseconds statementTimeout);
    ~CommitWaitScope();
    CommitWaitScope(const CommitWaitScope&) = delete;
    CommitWaitScope& operator=(const CommitWaitScope&) = delete;

private:
    std::chrono::milliseconds previous_;
};

// The bound for a statement about to be sent on `connection`: > 0 when this thread is within a
// CommitWaitScope and the connection outside a transaction block; 0 (wait as libpq does) else.
// A statement inside a block does not commit: PostgreSQL's statement_timeout bounds it.
std::chrono::milliseconds autocommitAnswerLimit(PGconn* connection);

// After a PQsend* on `connection` (a single statement): its result, as PQexec would return it,
// waited for at most `limit`. Past it: the server's wait left or cancelled as `unanswered` says,
// the connection shut down, this process's writes held back when the wait was left on
// (holdBackWrites), and UnconfirmedCommit (`what` names the statement).
PGresult* awaitAnswer(PGconn* connection, std::chrono::milliseconds limit, const std::string& what,
                      UnansweredCommit unanswered = UnansweredCommit::LeftWaiting);

// A statement's result as libpq's PQexec* `execute` gives it, or, within this thread's bound
// (autocommitAnswerLimit), sent by the matching PQsend* `send` and waited for by awaitAnswer.
// nullptr when either could not send (PQerrorMessage says why), as PQexec*.
template <typename Send, typename Execute>
PGresult* runWithinCommitBound(PGconn* connection, Send&& send, Execute&& execute) {
    const std::chrono::milliseconds limit = autocommitAnswerLimit(connection);
    if (limit.count() <= 0) return execute();
    if (send() != 1) return nullptr;
    return awaitAnswer(connection, limit, "a statement outside a transaction block");
}

// BEGIN, or BEGIN READ ONLY while this process holds its writes back.
void beginTransaction(Poco::Data::Session& session);

// COMMIT, within this thread's CommitWaitScope bound when there is one. Throws SqlError as
// executeScript, UnconfirmedCommit past the bound.
void commitTransaction(Poco::Data::Session& session);

// This process's writes after an unanswered commit: one state for the process (its sessions
// all write to the same primary).
constexpr std::chrono::seconds kCommitProbeInterval{5};

// Whether this process holds its writes back now.
bool writesHeldBack();
// A commit went unanswered: writes held back (again), the next probe kCommitProbeInterval on.
void holdBackWrites();
// True for the one caller that is to probe now (kCommitProbeInterval after the last probe).
bool claimCommitProbe();
// Commits are confirmed again: writes go.
void releaseWrites();

// Updates commit_probes outside a transaction block on `connection`, waited for at most
// `limit` (a commit's bound: a standby that confirms within it would let the writes through)
// and cancelled past it. True when its commit was answered; false when not (the connection is
// shut down then, as awaitAnswer does). Throws SqlError when PostgreSQL refused it.
bool commitsConfirmed(PGconn* connection, std::chrono::milliseconds limit);

}  // namespace dnsh
