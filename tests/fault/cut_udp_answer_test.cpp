// A nameserver that truncates by cutting its UDP answer at its byte limit (TC set, the header
// counting every record, the datagram ending inside one: RFC 1035 §4.1.1 allows it, RFC 2181 §9
// only recommends dropping whole RRsets) serves the whole answer over TCP, and a CA's resolver
// asks there. ldns cannot read the cut datagram (LDNS_STATUS_WIRE_INCOMPLETE_ANSWER) and gives
// no packet whose TC bit could be looked at, so before, queryServer said Timeout ("no answer
// from ... (answer section incomplete)") without asking over TCP: the authoritative precheck
// failed every look with dns_timeout although the values were served. The nameserver is played
// on the played zone's address (tests/support/fake_nameservers, Transport::CutShort).
#include <doctest/doctest.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "crypto/random.hpp"
#include "dns/precheck.hpp"
#include "dns/resolver.hpp"
#include "support/fake_nameservers.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

// Three values of 60 characters at whatever name is asked: more than one record, so the cut
// falls in the last one with the first ones whole.
std::vector<std::string> threeValues() {
    std::vector<std::string> values;
    for (int i = 0; i < 3; ++i) values.push_back(dnsh::randomHex(30));
    return values;
}

FakeNameservers::Answer servingTxt(const std::vector<std::string>& values) {
    return [values](const std::string& qname, const std::string& qtype) {
        std::vector<std::string> records;
        if (qtype == "TXT")
            for (const auto& value : values)
                records.push_back(qname + ". 0 IN TXT \"" + value + "\"");
        return records;
    };
}

std::set<std::string> asSet(const std::vector<std::string>& values) {
    return {values.begin(), values.end()};
}

}  // namespace

TEST_CASE("DNS: a UDP answer cut short with TC set is asked again over TCP, where its values are "
          "found: by queryServer, a resolver, and the authoritative precheck") {
    const std::string zone = requireEnv("DNSH_TEST_PLAYED_ZONE");
    const std::string address = requireEnv("DNSH_TEST_PLAYED_NS_ADDRESS");
    const std::vector<std::string> values = threeValues();
    const std::string name = "_acme-challenge.cut" + dnsh::randomHex(6) + "." + zone;
    FakeNameservers played({address}, servingTxt(values), FakeNameservers::Transport::CutShort);

    // The server itself, as the precheck asks it (no RD), within a deadline.
    const dnsh::DnsServer server{address, 53};
    const dnsh::DnsResponse direct =
        dnsh::queryServer(&server, dnsh::DnsName(name), dnsh::RecordType::Txt, false, 2s,
                          std::chrono::steady_clock::now() + 4s);
    CAPTURE(direct.detail);
    // Before: "timeout", "no answer from <address>:53 (answer section incomplete)".
    CHECK(std::string(dnsh::toString(direct.outcome)) == "found");
    CHECK(asSet(dnsh::recordData(direct.answer, dnsh::RecordType::Txt, dnsh::DnsName(name))) ==
          asSet(values));
    // The UDP question and the TCP connection (before: the UDP question alone).
    CHECK(played.queries() == 2);

    // As DNS_RESOLVER: found at the one server, not taken for a dead one.
    const dnsh::DnsResolver resolver({server}, 2s);
    const dnsh::TxtLookup lookup = resolver.lookupTxt(dnsh::DnsName(name));
    CAPTURE(lookup.detail);
    CHECK(std::string(dnsh::toString(lookup.outcome)) == "found");
    CHECK(asSet(lookup.values) == asSet(values));
    CHECK(played.queries() == 4);

    // The authoritative precheck (DNS_PRECHECK=authoritative): Unbound finds the played zone's
    // nameserver, which is asked directly.
    const dnsh::DnsResolver unbound(dnsh::parseResolverList(requireEnv("DNSH_TEST_UNBOUND")), 2s);
    const dnsh::TxtCheck check = dnsh::checkTxtAuthoritative(
        unbound, name, values,
        {std::chrono::steady_clock::now() + 10s, dnsh::parseNetworkList("127.0.0.0/8")});
    CAPTURE(check.description);
    // Before: dns_timeout.
    CHECK(dnsh::resultName(check.failure) == "found");
    CHECK(check.zone == zone);
    CHECK(asSet(check.seen) == asSet(values));
}

TEST_CASE("DNS: a UDP answer cut inside an uncompressed owner name is asked again over TCP, "
          "where its values are found") {
    const std::string zone = requireEnv("DNSH_TEST_PLAYED_ZONE");
    const std::string address = requireEnv("DNSH_TEST_PLAYED_NS_ADDRESS");
    const std::vector<std::string> values = threeValues();
    // A name long enough that the played server's cut (half of the last record, from its end)
    // lands inside the record's owner name: ldns then says LDNS_STATUS_LABEL_OVERFLOW (the last
    // label runs past the datagram's end, wire2host.c), not WIRE_INCOMPLETE_ANSWER.
    const std::string name = "_acme-challenge." + dnsh::randomHex(20) + ".cut" +
                             dnsh::randomHex(6) + "." + zone;
    const std::size_t ownerWire = name.size() + 2;  // length bytes and the root label
    const std::size_t record = ownerWire + 10 + 1 + 60;  // fixed fields, one 60-byte string
    REQUIRE(record - (record + 1) / 2 < ownerWire);      // what is left of it ends in the owner
    FakeNameservers played({address}, servingTxt(values), FakeNameservers::Transport::CutShort);

    const dnsh::DnsServer server{address, 53};
    const dnsh::DnsResponse direct =
        dnsh::queryServer(&server, dnsh::DnsName(name), dnsh::RecordType::Txt, false, 2s,
                          std::chrono::steady_clock::now() + 4s);
    CAPTURE(direct.detail);
    // Before: "timeout", "no answer from <address>:53 (Label length overflow)".
    CHECK(std::string(dnsh::toString(direct.outcome)) == "found");
    CHECK(asSet(dnsh::recordData(direct.answer, dnsh::RecordType::Txt, dnsh::DnsName(name))) ==
          asSet(values));
    CHECK(played.queries() == 2);  // the UDP question and the TCP connection

    // The authoritative precheck (before: dns_timeout).
    const dnsh::DnsResolver unbound(dnsh::parseResolverList(requireEnv("DNSH_TEST_UNBOUND")), 2s);
    const dnsh::TxtCheck check = dnsh::checkTxtAuthoritative(
        unbound, name, values,
        {std::chrono::steady_clock::now() + 10s, dnsh::parseNetworkList("127.0.0.0/8")});
    CAPTURE(check.description);
    CHECK(dnsh::resultName(check.failure) == "found");
    CHECK(asSet(check.seen) == asSet(values));
}
