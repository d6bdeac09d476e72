#pragma once
// A libpq connect on a thread of its own, waited for with a deadline: GET /readyz's (Database::
// ping). libpq's connect_timeout cannot bound a connect: "This timeout applies separately to each
// host name or IP address" (libpq "Parameter Key Words"), at least 2 s in libpq 15, and a connect
// without blocking (PQconnectPoll) has none, so it would stay on a first host that never answers.
// Here libpq connects as it always does (the URL's hosts in turn, a service file, PG* variables,
// connect_timeout per host), and the caller waits no longer than its own deadline.
#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <string>

namespace dnsh {

using PgConnection = std::unique_ptr<PGconn, decltype(&PQfinish)>;

class BackgroundConnect {
public:
    // Starts PQconnectdb(keyValue) on a detached thread: a process that ends meanwhile does not
    // wait for connect_timeout.
    explicit BackgroundConnect(const std::string& keyValue);

    // The connection once the connect has ended by `deadline`, the caller's then (PQstatus says
    // whether it is open); null while it is still under way (ask again later: the same connect).
    PgConnection takeBy(std::chrono::steady_clock::time_point deadline);

private:
    struct Shared;  // the thread's and ours: whichever ends last frees it
    std::shared_ptr<Shared> shared_;
};

}  // namespace dnsh
