// DNSH_READ_HANDLER_PROCS's default (dnsh-admin handler-procs): whether DATABASE_URL is on
// this host, read by libpq's own parser, and the process count that follows.
#include "admin/handler_processes.hpp"
#include "db/database_host.hpp"

#include <doctest/doctest.h>

#include "environment_lookup.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>

using namespace dnsh;

TEST_CASE("databaseOnThisHost: sockets and loopback are this host, any other server is not") {
    // Both forms libpq takes: URI and key=value.
    CHECK(databaseOnThisHost(""));  // libpq's default socket
    CHECK(databaseOnThisHost("dbname=dnsh"));
    CHECK(databaseOnThisHost("host=/run/postgresql dbname=dnsh user=dnsh"));
    CHECK(databaseOnThisHost("host=@pgsocket dbname=dnsh"));
    CHECK(databaseOnThisHost("postgresql:///dnsh"));
    CHECK(databaseOnThisHost("postgresql://dnsh@localhost/dnsh"));
    CHECK(databaseOnThisHost("postgresql://dnsh:secret@LocalHost:5433/dnsh"));
    CHECK(databaseOnThisHost("postgresql://127.0.0.1/dnsh"));
    CHECK(databaseOnThisHost("postgresql://127.3.2.1:5432/dnsh"));
    CHECK(databaseOnThisHost("postgresql://[::1]:5432/dnsh"));
    CHECK(databaseOnThisHost("postgresql:///dnsh?host=/var/run/postgresql"));
    CHECK(databaseOnThisHost("host=localhost,/tmp dbname=dnsh"));

    CHECK_FALSE(databaseOnThisHost("postgresql://db.internal/dnsh"));
    CHECK_FALSE(databaseOnThisHost("postgresql://10.0.0.5:5432/dnsh"));
    CHECK_FALSE(databaseOnThisHost("postgresql://[2001:db8::5]/dnsh"));
    CHECK_FALSE(databaseOnThisHost("host=192.0.2.7 dbname=dnsh"));
    // One remote server of several (failover list) is enough to wait on the network.
    CHECK_FALSE(databaseOnThisHost("postgresql://localhost,db2.internal/dnsh"));
    CHECK_FALSE(databaseOnThisHost("host=/tmp,10.0.0.6 dbname=dnsh"));
    // hostaddr is where libpq connects; host is then only a name.
    CHECK_FALSE(databaseOnThisHost("host=localhost hostaddr=10.0.0.5 dbname=dnsh"));
    CHECK(databaseOnThisHost("host=db.internal hostaddr=127.0.0.1 dbname=dnsh"));
    // A service's server is in pg_service.conf, read only at connect: unknown, so not here;
    // a host in the URL wins over the service's.
    CHECK_FALSE(databaseOnThisHost("service=dnsh"));
    CHECK_FALSE(databaseOnThisHost("postgresql:///?service=dnsh"));
    CHECK(databaseOnThisHost("service=dnsh host=/run/postgresql"));
    // A name that merely starts like loopback is a name.
    CHECK_FALSE(databaseOnThisHost("postgresql://127.0.0.1.example/dnsh"));
}

TEST_CASE("databaseOnThisHost: an unparseable URL throws without showing the password") {
    try {
        databaseOnThisHost("host=db password='sekrit-value dbname=x");
        FAIL("no exception");
    } catch (const std::invalid_argument& e) {
        const std::string why = e.what();
        CHECK(why.find("sekrit") == std::string::npos);
        CHECK_FALSE(why.empty());
    }
    CHECK_THROWS_AS(databaseOnThisHost("postgresql://db/dnsh?nosuchparameter=1"),
                    std::invalid_argument);
}

TEST_CASE("readHandlerProcesses: the cores when PostgreSQL shares them, at least 2, else 4") {
    CHECK(readHandlerProcesses(true, 2) == 2);
    CHECK(readHandlerProcesses(true, 16) == 16);
    CHECK(readHandlerProcesses(true, 1) == 2);
    CHECK(readHandlerProcesses(false, 2) == 4);
    CHECK(readHandlerProcesses(false, 64) == 4);
    CHECK(usableCores() >= 1);
}

TEST_CASE("readHandlerProcessesToStart: DNSH_READ_HANDLER_PROCS, else DNSH_HANDLER_PROCS, else the rule") {
    const std::string remote = "postgresql://db.example.internal/dnsh";
    auto start = [](const std::map<std::string, std::string>& environment) {
        return readHandlerProcessesToStart(loadConfig(test::lookupIn(environment)));
    };
    CHECK(start({{"DATABASE_URL", remote}}) == 4);
    CHECK(start({{"DATABASE_URL", "host=/run/postgresql"}}) == std::max(2, usableCores()));
    // An operator's DNSH_HANDLER_PROCS sizes every handler, the read-only ones too ...
    CHECK(start({{"DATABASE_URL", remote}, {"DNSH_HANDLER_PROCS", "7"}}) == 7);
    // ... unless they have their own.
    CHECK(start({{"DATABASE_URL", remote}, {"DNSH_HANDLER_PROCS", "7"},
                 {"DNSH_READ_HANDLER_PROCS", "3"}}) == 3);
    CHECK(start({{"DATABASE_URL", remote}, {"DNSH_READ_HANDLER_PROCS", "1"}}) == 1);
    // Empty is unset, as for every variable.
    CHECK(start({{"DATABASE_URL", remote}, {"DNSH_HANDLER_PROCS", ""}}) == 4);
}
