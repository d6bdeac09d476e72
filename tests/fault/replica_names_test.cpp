// Two dns-scheduler replicas with the same host name and the same pid, as two containers on one
// host that share its host name (--network host, hostNetwork: true) and each start the scheduler
// as PID 1: here each is the first process of a PID namespace of its own (unshare --pid). Their
// names, in every lease guard and in the heartbeat dnsh_scheduler_replicas_alive counts, still
// differ (issuance/replica_name.hpp). Needs root for the namespaces, as deploy/test runs it.
#include <Poco/Environment.h>
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/scheduler_process.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

TEST_CASE("replicas: two schedulers with the same host name, each PID 1 of its own namespace, "
          "have two names in the heartbeats") {
    REQUIRE_MESSAGE(::geteuid() == 0, "cannot run: needs root for a PID namespace");
    const std::string unshare = "/usr/bin/unshare";
    REQUIRE_MESSAGE(std::filesystem::exists(unshare), unshare << " (util-linux) is missing");
    const std::string since = scalar("SELECT now()::text");
    // unshare holds SIGTERM back from itself; its kill -9 (the destructor's) ends the scheduler
    // through --kill-child.
    const std::vector<std::string> ownPidNamespace{unshare, "--pid", "--fork", "--kill-child"};
    SchedulerProcess first({}, ownPidNamespace);
    SchedulerProcess second({}, ownPidNamespace);
    requireStarted(first);
    requireStarted(second);
    INFO(describe(first) << "\n" << describe(second));
    // Each logs its name as it starts: pid 1, in its namespace.
    const std::string hostAndPid = Poco::Environment::nodeName() + ":1";
    CHECK(first.log().find("\"replica\":\"" + hostAndPid + ":") != std::string::npos);
    CHECK(second.log().find("\"replica\":\"" + hostAndPid + ":") != std::string::npos);

    // The heartbeat is written as a scheduler starts. Before, both replicas were "<host>:1":
    // one row, updated by both (1 here, not 2), and every lease guard passed for either.
    const std::string beats = "SELECT count(*) FROM scheduler_heartbeats WHERE (replica = " +
                              quoted(hostAndPid) + " OR replica LIKE " +
                              quoted(hostAndPid + ":%") + ") AND last_seen_at >= " +
                              quoted(since) + "::timestamptz";
    const bool both = waitFor(10s, [&] { return count(beats) == 2; }, 100ms);
    INFO("heartbeats: " << scalar("SELECT string_agg(replica, ', ') FROM scheduler_heartbeats "
                                  "WHERE last_seen_at >= " + quoted(since) + "::timestamptz"));
    CHECK(both);
    CHECK(count(beats + " AND replica ~ ':1:[0-9a-f]{8}$'") == 2);
    first.kill9();
    second.kill9();
}
