// What refuses to start, or warns, before anything is served: deploy/up's warning for an API open
// to the network, and the scheduler's refusal of delegation settings it cannot use (README
// "Configuration": a bad value stops the program at start with a message naming the variable).
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "support/domain_flows.hpp"
#include "support/scheduler_process.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

TEST_CASE("startup: deploy/up warns when the API listens beyond loopback without AUTH_TOKEN") {
    struct Case {
        std::string description, serverAddr, authToken;
        bool warns;
    };
    const std::vector<Case> cases{
        {"all interfaces, no token", "0.0.0.0:8080", "", true},
        {"port only means all interfaces", ":8080", "", true},
        {"a LAN address", "192.0.2.10:8080", "", true},
        {"loopback", "127.0.0.1:8080", "", false},
        {"IPv6 loopback", "[::1]:8080", "", false},
        {"all interfaces with a token", "0.0.0.0:8080", "secret", false},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        const CommandResult result = runCommand("bash -c 'source " DNSH_SOURCE_DIR
                                                "/deploy/lib/stack.sh && dnsh_warn_if_api_open \"" +
                                                c.serverAddr + "\" \"" + c.authToken + "\"' 2>&1");
        CHECK(result.exitCode == 0);
        CHECK((result.output.find("the API is open to the network") != std::string::npos) ==
              c.warns);
    }
}

TEST_CASE("startup: the scheduler refuses delegation settings it cannot use, naming them") {
    const std::string secret = "c2VjcmV0LWJ5dGVzLWZvci10c2lnLXRlc3Q=";
    struct Case {
        std::string description;
        Env env;
        std::string named;
    };
    const std::vector<Case> cases{
        {"zone without a TSIG key",
         {{"DELEGATION_ZONE", "acme-delegation.test"}, {"DNS_UPDATE_TSIG", ""}},
         "DNS_UPDATE_TSIG"},
        {"zone without a primary",
         {{"DELEGATION_ZONE", "acme-delegation.test"}, {"DNS_UPDATE_SERVER", ""}},
         "DNS_UPDATE_SERVER"},
        {"a weak TSIG algorithm",
         {{"DNS_UPDATE_TSIG", "hmac-md5:key:" + secret}},
         "DNS_UPDATE_TSIG"},
        {"a TSIG key that is not algorithm:name:secret",
         {{"DNS_UPDATE_TSIG", "just-a-secret"}},
         "DNS_UPDATE_TSIG"},
        {"a primary that is not an address",
         {{"DNS_UPDATE_SERVER", "primary.example:53"}},
         "DNS_UPDATE_SERVER"},
        {"an unknown precheck", {{"DNS_PRECHECK", "sometimes"}}, "DNS_PRECHECK"},
        {"a precheck allow-list that is not CIDR networks",
         {{"DNS_PRECHECK_ALLOW", "10.0.0.0/33"}},
         "DNS_PRECHECK_ALLOW"},
        // One lookup through the stack's resolver may take 2 x 2 s, past the lease it extends.
        {"a DNS_TIMEOUT that a lookup could outlast the lease with",
         {{"DNS_TIMEOUT", "2s"}, {"SCHEDULER_LEASE", "3s"}},
         "DNS_TIMEOUT"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        SchedulerProcess scheduler(c.env);
        const auto exitStatus = scheduler.exitStatusWithin(5s);
        const std::string log = readFile(scheduler.logFile());
        INFO("log: " << log);
        REQUIRE_MESSAGE(exitStatus.has_value(), "dns-scheduler still running 5 s after start");
        CHECK(*exitStatus != 0);
        CHECK(log.find(c.named) != std::string::npos);
        CHECK(log.find(secret) == std::string::npos);  // a secret is never repeated back
    }
}
