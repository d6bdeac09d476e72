// A scheduler replica's name in leases and heartbeats: host, pid and a random part of each start.
#include "issuance/replica_name.hpp"

#include <Poco/Environment.h>
#include <Poco/Process.h>
#include <doctest/doctest.h>

#include <regex>
#include <string>

using namespace dnsh;

TEST_CASE("replica name: host and pid, then 4 random bytes new at each start") {
    const std::string hostAndPid =
        Poco::Environment::nodeName() + ":" + std::to_string(Poco::Process::id()) + ":";
    const std::string first = newReplicaName();
    const std::string second = newReplicaName();
    CAPTURE(first);
    CAPTURE(second);
    REQUIRE(first.rfind(hostAndPid, 0) == 0);
    REQUIRE(second.rfind(hostAndPid, 0) == 0);
    CHECK(std::regex_match(first.substr(hostAndPid.size()), std::regex("[0-9a-f]{8}")));
    CHECK(std::regex_match(second.substr(hostAndPid.size()), std::regex("[0-9a-f]{8}")));
    // Two starts with the same host name and pid (containers each started as PID 1): two names.
    // Before, both were "<host>:<pid>".
    CHECK(first != second);
}
