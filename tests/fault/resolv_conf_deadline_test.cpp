// With DNS_RESOLVER unset, a lookup with a deadline ends by it however many of /etc/resolv.conf's
// nameservers are dead: they are asked one by one, nothing sent once it has passed, as
// DNS_RESOLVER's are. Before, ldns was handed the file and waited DNS_TIMEOUT at each nameserver
// in turn, so a precheck's lookup could run (servers - 1) x DNS_TIMEOUT past its deadline, past
// the lease the scheduler had extended for it. The case's process gets a mount namespace of its
// own whose /etc/resolv.conf names two silent nameservers (tests/support/fake_nameservers: every
// question read and counted, none answered) on loopback addresses of its own. Needs root (the
// mount namespace and port 53), as deploy/test runs here.
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "dns/resolver.hpp"
#include "support/fake_nameservers.hpp"
#include "support/own_resolv_conf.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// Two loopback addresses of this process's own (127.54.x.y and 127.55.x.y: no other test binds
// them, and a resolver of the machine's on 127.0.0.1:53 is left alone).
std::vector<std::string> ownAddresses() {
    const unsigned pid = static_cast<unsigned>(::getpid());
    const std::string host = std::to_string(pid / 250 % 250 + 1) + "." +
                             std::to_string(pid % 250 + 1);
    return {"127.54." + host, "127.55." + host};
}

// This process alone sees a resolv.conf naming `nameservers` (ldns reads the file itself, no
// nsswitch).
void resolvConfNaming(const std::vector<std::string>& nameservers) {
    std::string content;
    for (const auto& address : nameservers) content += "nameserver " + address + "\n";
    useOwnResolvConf(content);
}

double secondsSince(Clock::time_point started) {
    return std::chrono::duration<double>(Clock::now() - started).count();
}

}  // namespace

TEST_CASE("resolver without DNS_RESOLVER: two dead resolv.conf nameservers, a 1 s deadline: the "
          "lookup ends by it, the second server not asked after it") {
    const std::vector<std::string> addresses = ownAddresses();
    resolvConfNaming(addresses);
    const FakeNameservers silent(addresses);  // its thread only now: after the namespace
    // DNS_RESOLVER unset, DNS_TIMEOUT 1 s.
    const dnsh::DnsResolver resolver({}, 1s);
    const dnsh::DnsName name(uniqueDomainName("resolv-conf-deadline"));

    const auto started = Clock::now();
    const dnsh::DnsResponse cut = resolver.query(name, dnsh::RecordType::Txt, started + 1s);
    const double seconds = secondsSince(started);
    CAPTURE(cut.detail);
    CAPTURE(seconds);
    CHECK(std::string(dnsh::toString(cut.outcome)) == "timeout");
    // Before: about 2 s (DNS_TIMEOUT at each server), both asked. The time is shown, not
    // asserted (a loaded machine); that the second server is never asked is the check.
    CHECK(silent.queries() == 1);
    // The server asked is named (before: "system resolver").
    const std::set<std::string> asked = silent.addressesQueried();
    REQUIRE(asked.size() == 1);
    CHECK(cut.detail.find(*asked.begin()) != std::string::npos);

    // Without a deadline every nameserver of the file is still asked, each once.
    const dnsh::DnsResponse unanswered = resolver.query(name, dnsh::RecordType::Txt);
    CAPTURE(unanswered.detail);
    CHECK(std::string(dnsh::toString(unanswered.outcome)) == "timeout");
    CHECK(silent.queries() == 3);
    CHECK(silent.addressesQueried() == std::set<std::string>(addresses.begin(), addresses.end()));
}
