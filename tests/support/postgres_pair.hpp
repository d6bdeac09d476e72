#pragma once
// A PostgreSQL primary and its synchronous streaming standby of the test's own, on loopback
// (the script tests/support/postgres_pair), torn down (both servers stopped, the directory
// removed) however the case ends. The production setup of README "PostgreSQL failover", with
// the HA manager's moves (and the standby's loss) done by the test.
#include <map>
#include <string>

namespace dnsh::test {

class PostgresPair {
public:
    PostgresPair();  // both running, the standby synchronous; the database "dnsh" created
    ~PostgresPair();
    PostgresPair(const PostgresPair&) = delete;
    PostgresPair& operator=(const PostgresPair&) = delete;

    // What the service is given: both hosts, libpq picks the one that accepts writes.
    std::string serviceUrl() const;
    // One server only, whatever its role: for the test's own look at each of them.
    std::string nodeUrl(const std::string& portKey) const;
    std::string primaryUrl() const { return nodeUrl("PRIMARY_PORT"); }
    std::string standbyUrl() const { return nodeUrl("STANDBY_PORT"); }
    // The primary's server log (pg_ctl -l).
    std::string primaryLogPath() const { return dir_ + "/primary/postgres.log"; }

    void stopPrimary();     // pg_ctl stop -m immediate: a crash, as far as clients can tell
    void promoteStandby();  // pg_ctl promote -w
    void stopStandby();     // pg_ctl stop -m fast: the primary's commits wait for it from here
    void startStandby();    // started again: it reconnects and catches up by itself

private:
    // The script's action; the case stops if it fails.
    void control(const std::string& action) const;

    std::string dir_;
    std::map<std::string, std::string> values_;  // DIR/pair.env
};

}  // namespace dnsh::test
