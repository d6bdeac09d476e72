#pragma once
// A bound on the wait for a commit's answer. PostgreSQL applies no statement_timeout to a commit
// that waits for a synchronous standby (synchronous_commit on, synchronous_standby_names naming
// it): with the standby gone, every COMMIT, and every write run outside a transaction block (its
// commit is implicit), waits until a standby confirms it, for ever under an HA manager's strict
// synchronous mode. Within Database::withSession such a wait is bounded: past the bound it is
// cancelled (PQcancel) and the work gets UnconfirmedCommit, a 503 `database unavailable` whose
// session is closed. PostgreSQL then makes the commit anyway, on the primary alone ("canceling
// wait for synchronous replication due to user request ... The transaction has already committed
// locally"): the client learns that the outcome is unknown, as for any answer lost on the way.
#include <Poco/Data/Session.h>
#include <libpq-fe.h>

#include <chrono>
#include <string>

#include "core/error.hpp"

namespace dnsh {

// No answer to a commit (or to a statement outside a transaction block) within the bound; the
// wait was cancelled and the connection shut down (it might still owe an answer), so whatever
// catches this on the way sees a lost connection next. Error(DatabaseUnavailable) to every
// caller (no attempt counted against an order); `why()` for the log.
class UnconfirmedCommit : public Error {
public:
    explicit UnconfirmedCommit(std::string why)
        : Error(ErrorCode::DatabaseUnavailable, "database unavailable"), why_(std::move(why)) {}
    const std::string& why() const noexcept { return why_; }

private:
    std::string why_;
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
// waited for at most `limit`. Past it the server is asked to cancel the statement and given a
// little longer to answer, then the connection is shut down: UnconfirmedCommit (`what` names the
// statement).
PGresult* awaitAnswer(PGconn* connection, std::chrono::milliseconds limit, const std::string& what);

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

// COMMIT, within this thread's CommitWaitScope bound when there is one. Throws SqlError as
// executeScript, UnconfirmedCommit past the bound.
void commitTransaction(Poco::Data::Session& session);

}  // namespace dnsh
