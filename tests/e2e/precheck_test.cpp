// The authoritative precheck's limits (README "How issuance and renewal work"): a zone whose
// nameservers never answer holds a worker only up to the precheck's deadline, asks at most the
// capped number of addresses, counts its attempts and holds up no other customer's order; and
// nameservers on loopback, private, link-local, multicast or unspecified addresses are never asked
// unless DNS_PRECHECK_ALLOW lists them. Every packet stays on this machine: the zone's
// nameservers are loopback addresses the test itself listens on (read, never answered).
#include <Poco/JSON/Object.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "crypto/random.hpp"
#include "dns/dns_update.hpp"
#include "dns/resolver.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/fake_nameservers.hpp"
#include "support/http_client.hpp"
#include "support/scheduler_process.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

namespace {

// Unbound as the resolver (it knows the test zones), the precheck at the authoritative servers,
// the CA that asks Unbound.
Env precheckScheduler(const Env& extra) {
    Env env{{"DNS_RESOLVER", requireEnv("DNSH_TEST_UNBOUND")},
            {"DNS_PRECHECK", "authoritative"},
            {"ACME_DIRECTORY", requireEnv("ACME_DIRECTORY_UNBOUND")}};
    for (const auto& [name, value] : extra) env[name] = value;
    return env;
}

Poco::JSON::Object::Ptr checksOf(const TestDomain& domain) {
    return get("/domains/" + domain.id).json()->getObject("checks");
}

// duration_ms of every "step" line the scheduler logged for the domain's `step`.
std::vector<long long> stepDurations(const std::string& log, const TestDomain& domain,
                                     const std::string& step) {
    static const std::regex duration(R"("duration_ms":(\d+))");
    std::vector<long long> durations;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
        if (line.find("\"msg\":\"step\"") == std::string::npos ||
            line.find("\"domain_id\":\"" + domain.id + "\"") == std::string::npos ||
            line.find("\"step\":\"" + step + "\"") == std::string::npos)
            continue;
        std::smatch match;
        if (std::regex_search(line, match, duration)) durations.push_back(std::stoll(match[1]));
    }
    return durations;
}

}  // namespace

TEST_CASE(
    "precheck: a zone of 50 nameserver addresses that never answer holds a worker only up to "
    "the precheck's deadline, asks at most the cap, counts its attempts, and another customer's "
    "domain still becomes active") {
    Leftovers leftovers;
    const std::vector<std::string> addresses =
        splitList(requireEnv("DNSH_TEST_SILENT_NS_ADDRESSES"));
    REQUIRE(addresses.size() == 50);
    FakeNameservers silent(addresses);  // every query read, none answered
    const TestDomain slow = orderedDomain(requireEnv("DNSH_TEST_SILENT_ZONE"), "slow", leftovers);
    // Two workers, a lease of 8 s; the loopback nameservers are the test's, allowed explicitly.
    const auto scheduler = startScheduler(precheckScheduler({{"SCHEDULER_WORKERS", "2"},
                                                             {"SCHEDULER_LEASE", "8s"},
                                                             {"DNS_TIMEOUT", "2s"},
                                                             {"DNS_PRECHECK_ALLOW", "127.0.0.0/8"},
                                                             {"LOG_LEVEL", "debug"}}));
    REQUIRE_MESSAGE(waitFor(20s, [&] { return silent.queries() > 0; }), describe(*scheduler));
    // Past the lease: a check that outlived it would now hold both workers on this one order.
    std::this_thread::sleep_for(10s);

    // Another customer's domain, in a zone that answers: issued meanwhile.
    const std::string zone = requireEnv("DNSH_TEST_CUSTOMER_ZONE");
    const TestDomain other = orderedDomain(zone, "other", leftovers);
    std::string value;
    REQUIRE_MESSAGE(waitFor(15s,
                            [&] {
                                value =
                                    get("/domains/" + other.id).jsonString("expected_txt_value");
                                return !value.empty();
                            }),
                    "the other domain's order was never placed: " << describe(*scheduler));
    const dnsh::TsigKey key = dnsh::parseTsigKey(requireEnv("DNS_UPDATE_TSIG"));
    std::vector<dnsh::DnsUpdater> nameservers;
    for (const char* server : {"DNSH_TEST_CUSTOMER_NS1", "DNSH_TEST_CUSTOMER_NS2"})
        nameservers.emplace_back(dnsh::DnsName(zone),
                                 dnsh::parseResolverList(requireEnv(server)).front(), key, 2s);
    for (const auto& server : nameservers)
        REQUIRE(server.addTxt(dnsh::DnsName(other.challengeName()), value).ok());
    requireAllActive({other}, 40s);
    for (const auto& server : nameservers)
        server.deleteTxt(dnsh::DnsName(other.challengeName()), value);

    // The slow order: its attempts counted, its lease never lost, every look well within it.
    CHECK(count("SELECT attempts FROM acme_orders WHERE domain_id = " + quoted(slow.id)) >= 1);
    CHECK(scheduler->log().find("\"lease lost\"") == std::string::npos);
    const std::vector<long long> durations = stepDurations(scheduler->log(), slow, "await_dns");
    CHECK_FALSE(durations.empty());
    // Within the lease (8 s) with room: each look waits DNS_TIMEOUT (2 s) once.
    CHECK(std::all_of(durations.begin(), durations.end(), [](long long ms) { return ms < 6000; }));
    // The cap: 8 of the 10 nameservers, 16 of their 40 addresses (2 each), asked together.
    const auto asked = silent.addressesQueried();
    CAPTURE(asked.size());
    CHECK(asked.size() == 16);
    // What the view shows: the timeout, the addresses asked, and how many were left out.
    const auto checks = checksOf(slow);
    REQUIRE(checks);
    CHECK(checks->getValue<std::string>("result") == "dns_timeout");
    CHECK(checks->getValue<std::string>("zone") == requireEnv("DNSH_TEST_SILENT_ZONE"));
    REQUIRE(checks->getArray("nameservers"));
    CHECK(checks->getArray("nameservers")->size() == 16);
    CHECK(checks->optValue<int>("nameservers_not_asked", -1) == 2);
    CHECK(checks->optValue<int>("addresses_not_asked", -1) == 24);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE(
    "precheck: without DNS_PRECHECK_ALLOW nameservers on loopback addresses are not asked, and "
    "the check says why") {
    Leftovers leftovers;
    const std::vector<std::string> addresses =
        splitList(requireEnv("DNSH_TEST_SILENT_NS_ADDRESSES"));
    FakeNameservers silent(addresses);
    const TestDomain domain =
        orderedDomain(requireEnv("DNSH_TEST_SILENT_ZONE"), "refused", leftovers);
    const auto scheduler = startScheduler(precheckScheduler({{"DNS_PRECHECK_ALLOW", ""}}));
    Poco::JSON::Object::Ptr checks;
    CHECK_MESSAGE(waitFor(15s,
                          [&] {
                              checks = checksOf(domain);
                              return checks && checks->has("zone");
                          }),
                  describe(*scheduler));
    // Not one packet reached the listeners.
    CHECK(silent.queries() == 0);
    REQUIRE(checks);
    CHECK(checks->getValue<std::string>("result") == "dns_address_not_allowed");
    const auto servers = checks->getArray("nameservers");
    REQUIRE(servers);
    CHECK(servers->size() == 16);  // the listing is capped like the questions
    CHECK(checks->optValue<int>("nameservers_not_asked", -1) == 2);
    for (std::size_t i = 0; i < servers->size(); ++i) {
        const auto server = servers->getObject(i);
        CHECK(server->getValue<std::string>("result") == "address_not_allowed");
        CHECK(std::find(addresses.begin(), addresses.end(),
                        server->getValue<std::string>("address")) != addresses.end());
    }
    CHECK(scalar("SELECT step FROM acme_orders WHERE domain_id = " + quoted(domain.id)) ==
          "await_dns");
    CHECK(scheduler->terminate() == 0);
}
