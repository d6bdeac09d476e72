// The authoritative precheck compares DNS names without regard to case (RFC 4343), as every
// other part of the service does: a customer's CNAME target typed in mixed case, and a nameserver
// that answers with owner names in the case of its own zone data instead of the question's, still
// pass. The zone's nameserver is played by the test on a loopback address (played-zone.test of
// deploy/test); Unbound finds its zone cut and nameserver in Knot.
// A nameserver address this host cannot send to (no route to its network, as an IPv6 address on
// a host without IPv6) has nothing to compare: listed, not held against a zone whose other
// addresses answer (partly-reachable.test: the played address and 255.255.255.255).
// A nameserver whose name has no address (dangling-ns.test: ns1 at the played address, ns2 with
// none) cannot be asked by a CA either: listed, not held against the zone.
// An answer too big for UDP (TC set) is asked again over TCP, and that exchange ends by one time
// however slowly the server sends: a played nameserver that announces 65535 bytes over TCP and
// sends one every half second is cut off at DNS_TIMEOUT, within the check's deadline.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>
#include <vector>

#include "crypto/random.hpp"
#include "dns/precheck.hpp"
#include "dns/resolver.hpp"
#include "support/fake_nameservers.hpp"
#include "support/sandbox_dns.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

std::string lowered(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::string uppered(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return text;
}

// A played nameserver's answers: `value` as the TXT record at whatever name is asked.
FakeNameservers::Answer servingTxt(const std::string& value) {
    return [value](const std::string& qname, const std::string& qtype) {
        std::vector<std::string> records;
        if (qtype == "TXT") records.push_back(qname + ". 0 IN TXT \"" + value + "\"");
        return records;
    };
}

// The stack's Unbound, which finds the played zones' cuts and nameservers in Knot; 2 s per
// question.
dnsh::DnsResolver unbound() {
    return dnsh::DnsResolver(dnsh::parseResolverList(requireEnv("DNSH_TEST_UNBOUND")), 2s);
}

}  // namespace

TEST_CASE(
    "precheck: owner names and CNAME targets compare without regard to case (a mixed-case "
    "CNAME target, owners in another case than the question)") {
    const std::string zone = requireEnv("DNSH_TEST_PLAYED_ZONE");
    const std::string value = dnsh::randomHex(16);
    struct Case {
        std::string description;
        std::string challengeName;                  // what the precheck is asked about
        std::string cnameTarget;                    // "" for none: the name is in the zone
        std::string (*ownerCase)(std::string);      // how the nameserver writes owner names
    };
    const std::string label = dnsh::randomHex(6);
    const std::vector<Case> cases{
        {"a CNAME target in mixed case, the owner written in lower case",
         "_acme-challenge." + uniqueDomainName("mixedcase"),
         "Value-" + label + ".Played-Zone.TEST", lowered},
        {"a name in the zone itself, the owner written in upper case",
         "_acme-challenge.upper" + label + "." + zone, "", uppered},
    };
    // The zone's only nameserver: a TXT record with the value at any name under the zone, its
    // owner written in the case the case says.
    const Case* current = nullptr;
    FakeNameservers played({requireEnv("DNSH_TEST_PLAYED_NS_ADDRESS")},
                           [&](const std::string& qname, const std::string& qtype) {
                               std::vector<std::string> records;
                               if (qtype == "TXT" && current != nullptr)
                                   records.push_back(current->ownerCase(qname) + ". 0 IN TXT \"" +
                                                     value + "\"");
                               return records;
                           });
    const dnsh::DnsResolver resolver = unbound();
    for (const auto& c : cases) {
        CAPTURE(c.description);
        current = &c;
        SandboxRecords dns;
        if (!c.cnameTarget.empty()) dns.cname(c.challengeName, c.cnameTarget);
        // The played nameserver is on loopback: allowed explicitly.
        const dnsh::PrecheckLimits limits{std::chrono::steady_clock::now() + 10s,
                                          dnsh::parseNetworkList("127.0.0.0/8")};
        const dnsh::TxtCheck check =
            dnsh::checkTxtAuthoritative(resolver, c.challengeName, {value}, limits);
        CAPTURE(check.description);
        CHECK(dnsh::resultName(check.failure) == "found");
        CHECK(check.zone == zone);
        CHECK(check.seen == std::vector<std::string>{value});
        REQUIRE(check.servers.size() == 1);
        CHECK(dnsh::resultName(check.servers[0].failure) == "found");
    }
    CHECK(played.queries() >= 2);
}

TEST_CASE(
    "precheck: a nameserver address this host cannot send to is unreachable at once, listed as "
    "address_unreachable and not held against the zone, and fails the check when nothing else "
    "could be asked") {
    const std::string zone = requireEnv("DNSH_TEST_PARTLY_REACHABLE_ZONE");
    const std::string unsendable = requireEnv("DNSH_TEST_UNSENDABLE_ADDRESS");
    const std::string value = dnsh::randomHex(16);
    const std::string name = "_acme-challenge.www." + zone;
    FakeNameservers played({requireEnv("DNSH_TEST_PLAYED_NS_ADDRESS")}, servingTxt(value));
    // The address itself: the kernel refuses the datagram, so no timeout is waited for.
    const dnsh::DnsServer server{unsendable, 53};
    const dnsh::DnsResponse direct =
        dnsh::queryServer(&server, dnsh::DnsName(name), dnsh::RecordType::Txt, false, 2s, {});
    CAPTURE(direct.detail);
    CHECK(std::string(dnsh::toString(direct.outcome)) == "unreachable");

    const dnsh::DnsResolver resolver = unbound();
    // Both addresses allowed (neither is public): the played one answers, the other cannot be
    // sent to.
    const dnsh::TxtCheck check = dnsh::checkTxtAuthoritative(
        resolver, name, {value},
        {std::chrono::steady_clock::now() + 10s,
         dnsh::parseNetworkList("127.0.0.0/8," + unsendable + "/32")});
    CAPTURE(check.description);
    CHECK(dnsh::resultName(check.failure) == "found");
    CHECK(check.zone == zone);
    REQUIRE(check.servers.size() == 2);
    for (const auto& answer : check.servers) {
        CAPTURE(answer.address);
        CHECK(dnsh::addressResult(answer) ==
              (answer.address == unsendable ? "address_unreachable" : "found"));
    }
    CHECK(dnsh::txtCheckJson(check).find("\"address_unreachable\"") !=
          std::string::npos);

    // The unsendable address alone may be asked: nothing was compared, so nothing passed.
    const dnsh::TxtCheck alone = dnsh::checkTxtAuthoritative(
        resolver, name, {value},
        {std::chrono::steady_clock::now() + 10s, dnsh::parseNetworkList(unsendable + "/32")});
    CAPTURE(alone.description);
    CHECK(dnsh::resultName(alone.failure) == "dns_timeout");
}

TEST_CASE(
    "precheck: a nameserver whose name has no address (a stale NS record) is listed as no_address "
    "and not held against the zone, whose other nameserver serves the value") {
    const std::string zone = requireEnv("DNSH_TEST_DANGLING_NS_ZONE");
    const std::string value = dnsh::randomHex(16);
    const std::string name = "_acme-challenge.www." + zone;
    FakeNameservers played({requireEnv("DNSH_TEST_PLAYED_NS_ADDRESS")}, servingTxt(value));
    const dnsh::DnsResolver resolver = unbound();
    const dnsh::TxtCheck check = dnsh::checkTxtAuthoritative(
        resolver, name, {value},
        {std::chrono::steady_clock::now() + 10s, dnsh::parseNetworkList("127.0.0.0/8")});
    CAPTURE(check.description);
    // Before: dns_servfail ("the nameserver ns2.dangling-ns.test of dangling-ns.test has no
    // address"), at every look, though the CA's resolver asks ns1 and validates.
    CHECK(dnsh::resultName(check.failure) == "found");
    CHECK(check.zone == zone);
    REQUIRE(check.servers.size() == 2);
    CHECK(check.servers[0].nameserver == "ns1." + zone);
    CHECK(dnsh::addressResult(check.servers[0]) == "found");
    CHECK(check.servers[1].nameserver == "ns2." + zone);
    CHECK(dnsh::addressResult(check.servers[1]) == "no_address");
    CHECK(check.description.find("1 nameserver(s) without an address") != std::string::npos);
    CHECK(dnsh::txtCheckJson(check).find("\"no_address\"") != std::string::npos);
}

TEST_CASE(
    "precheck: a TXT answer truncated over UDP (TC set, no records) is asked again over TCP, "
    "where it is found") {
    const std::string zone = requireEnv("DNSH_TEST_PLAYED_ZONE");
    const std::string address = requireEnv("DNSH_TEST_PLAYED_NS_ADDRESS");
    const std::string value = dnsh::randomHex(16);
    const std::string name = "_acme-challenge.tcp" + dnsh::randomHex(6) + "." + zone;
    FakeNameservers played({address}, servingTxt(value), FakeNameservers::Transport::Truncated);
    // The server itself, without a deadline (DNS_TIMEOUT alone bounds it).
    const dnsh::DnsServer server{address, 53};
    const dnsh::DnsResponse direct =
        dnsh::queryServer(&server, dnsh::DnsName(name), dnsh::RecordType::Txt, false, 2s, {});
    CAPTURE(direct.detail);
    CHECK(std::string(dnsh::toString(direct.outcome)) == "found");
    CHECK(dnsh::recordData(direct.answer, dnsh::RecordType::Txt, dnsh::DnsName(name)) ==
          std::vector<std::string>{value});
    CHECK(played.queries() == 2);  // the UDP question and the TCP connection

    const dnsh::DnsResolver resolver = unbound();
    const dnsh::TxtCheck check = dnsh::checkTxtAuthoritative(
        resolver, name, {value},
        {std::chrono::steady_clock::now() + 10s, dnsh::parseNetworkList("127.0.0.0/8")});
    CAPTURE(check.description);
    CHECK(dnsh::resultName(check.failure) == "found");
    CHECK(check.zone == zone);
    CHECK(check.seen == std::vector<std::string>{value});
    CHECK(played.queries() == 4);
}

TEST_CASE(
    "precheck: a nameserver that truncates over UDP and trickles its TCP answer (65535 bytes "
    "announced, one sent every half second) is cut off at DNS_TIMEOUT within the deadline: "
    "dns_timeout naming the address, not a worker held for hours") {
    const std::string zone = requireEnv("DNSH_TEST_PLAYED_ZONE");
    const std::string address = requireEnv("DNSH_TEST_PLAYED_NS_ADDRESS");
    const std::string value = dnsh::randomHex(16);
    const std::string name = "_acme-challenge.trickled" + dnsh::randomHex(6) + "." + zone;
    FakeNameservers played({address}, servingTxt(value), FakeNameservers::Transport::Trickled);
    using Clock = std::chrono::steady_clock;
    // DNS_TIMEOUT 2 s, the check's deadline 3 s away. Before, each read of the TCP answer waited
    // up to half of what was left (1 s), so a byte every half second kept it reading until the
    // played server gave up (FakeNameservers::kTrickleFor, 20 s; a real one need not).
    const dnsh::DnsResolver resolver = unbound();
    const auto start = Clock::now();
    const dnsh::TxtCheck check = dnsh::checkTxtAuthoritative(
        resolver, name, {value}, {start + 3s, dnsh::parseNetworkList("127.0.0.0/8")});
    const auto took = Clock::now() - start;
    CAPTURE(check.description);
    CAPTURE(std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
    // Far from the 20 s the played server trickles for, with room for a loaded machine.
    CHECK(took < 12s);
    CHECK(dnsh::resultName(check.failure) == "dns_timeout");
    CHECK(check.description.find(address) != std::string::npos);
    CHECK(check.description.find("over TCP") != std::string::npos);
    CHECK(played.queries() >= 2);  // the UDP question and the TCP connection

    // Without a deadline (a resolver lookup's queryServer), DNS_TIMEOUT alone ends it.
    const dnsh::DnsServer server{address, 53};
    const auto directStart = Clock::now();
    const dnsh::DnsResponse direct =
        dnsh::queryServer(&server, dnsh::DnsName(name), dnsh::RecordType::Txt, false, 2s, {});
    const auto directTook = Clock::now() - directStart;
    CAPTURE(direct.detail);
    CHECK(directTook < 12s);
    CHECK(std::string(dnsh::toString(direct.outcome)) == "timeout");
}
