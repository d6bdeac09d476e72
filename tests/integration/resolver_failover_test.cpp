// DNS_RESOLVER's failover remembers, per process and server list, which server answered last:
// with the first resolver dead, the first lookup waits DNS_TIMEOUT for it and the next ones
// start at the resolver that answered. Before, every lookup asked the dead one first and waited
// DNS_TIMEOUT there: an authoritative precheck (several lookups within 15 s) ended in
// dns_timeout every time, and a scheduler's CAA walk outlasted SCHEDULER_LEASE. The dead
// resolver is a played silent server (tests/support/fake_nameservers: every question read and
// counted, none answered); the working one is the stack's Unbound.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "dns/resolver.hpp"
#include "support/fake_nameservers.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

// Silent servers on `count` random loopback addresses of 127.200.0.0 to 127.254.255.255 (the
// stack takes its own from 127.100-199), tried elsewhere when one is taken: no other test binds
// them, so every question they count is this test's.
std::unique_ptr<FakeNameservers> silentServers(std::size_t count,
                                               std::vector<std::string>& addresses) {
    std::mt19937 random(std::random_device{}());
    auto octet = [&](unsigned from, unsigned span) {
        return std::to_string(from + random() % span);
    };
    for (int attempt = 0; attempt < 20; ++attempt) {
        addresses.clear();
        for (std::size_t i = 0; i < count; ++i)
            addresses.push_back("127." + octet(200, 55) + "." + octet(0, 256) + "." +
                                octet(1, 254));
        try {
            return std::make_unique<FakeNameservers>(addresses);
        } catch (const std::runtime_error&) {
            // taken: another draw
        }
    }
    FAIL("no free loopback address for a silent server");
    return nullptr;
}

std::string outcomeOf(const dnsh::DnsResponse& response) {
    return std::string(dnsh::toString(response.outcome));
}

}  // namespace

TEST_CASE(
    "resolver: a dead first DNS_RESOLVER is waited for once, not at every lookup: the next "
    "lookups through the same list, by any resolver of the process, start at the one that "
    "answered, and a lookup nobody answers still asks every server once") {
    const dnsh::DnsName zone(requireEnv("DNSH_TEST_CUSTOMER_ZONE"));
    const std::string unbound = requireEnv("DNSH_TEST_UNBOUND");
    std::vector<std::string> addresses;
    const auto silent = silentServers(2, addresses);
    const std::string dead = addresses[0] + ":53";
    const std::string list = dead + "," + unbound;
    const dnsh::DnsResolver resolver(dnsh::parseResolverList(list), 1s);

    // The first lookup asks the dead server, waits DNS_TIMEOUT, and gets Unbound's answer.
    const dnsh::DnsResponse first = resolver.query(zone, dnsh::RecordType::Soa);
    CAPTURE(first.detail);
    CHECK(outcomeOf(first) == "found");
    CHECK(silent->queries() == 1);

    // Four more: Unbound first, the dead server not asked again (before: once each, 1 s each).
    for (int i = 0; i < 4; ++i) {
        CAPTURE(i);
        const dnsh::DnsResponse again = resolver.query(zone, dnsh::RecordType::Soa);
        CAPTURE(again.detail);
        CHECK(outcomeOf(again) == "found");
    }
    CHECK(silent->queries() == 1);

    // Another resolver over the same list (as each scheduler worker has its own) starts there too.
    const dnsh::DnsResolver worker(dnsh::parseResolverList(list), 1s);
    const dnsh::TxtLookup txt = worker.lookupTxt(zone);
    CAPTURE(txt.detail);
    CHECK((txt.outcome == dnsh::LookupOutcome::Found ||
           txt.outcome == dnsh::LookupOutcome::NoRecords));
    CHECK(silent->queries() == 1);

    // What one list learned is its own: over Unbound then the other silent server, Unbound is
    // asked first (not the second server, as the first list's would say), and answers.
    const dnsh::DnsResolver other(dnsh::parseResolverList(unbound + "," + addresses[1] + ":53"),
                                  1s);
    CHECK(outcomeOf(other.query(zone, dnsh::RecordType::Soa)) == "found");
    CHECK(silent->addressesQueried() == std::set<std::string>{addresses[0]});

    // A lookup none of whose servers answers still asks each of them once, and fails.
    const dnsh::DnsResolver deaf(dnsh::parseResolverList(dead + "," + addresses[1] + ":53"), 1s);
    const dnsh::DnsResponse unanswered =
        deaf.query(dnsh::DnsName(uniqueDomainName("failover")), dnsh::RecordType::Txt);
    CAPTURE(unanswered.detail);
    CHECK(outcomeOf(unanswered) == "timeout");
    CHECK(silent->queries() == 3);
    CHECK(silent->addressesQueried() ==
          std::set<std::string>(addresses.begin(), addresses.end()));
}
