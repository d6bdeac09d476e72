// DNS_RESOLVER parsing, resolv.conf's nameservers, TXT value matching, lookup outcome names and
// the CNAME follower (no network).
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "dns/resolver.hpp"

using namespace dnsh;

TEST_CASE("parseResolverList accepts IP literals with optional ports") {
    struct Server {
        std::string host;
        std::uint16_t port;
    };
    struct Case {
        std::string description;
        std::string text;
        std::vector<Server> expected;
    };
    const std::vector<Case> cases{
        {"IPv4, default port", "127.0.0.1", {{"127.0.0.1", 53}}},
        {"IPv4 with port", "127.0.0.1:8053", {{"127.0.0.1", 8053}}},
        {"bracketed IPv6 with port", "[::1]:53", {{"::1", 53}}},
        {"bracketed IPv6 with other port", "[2001:db8::1]:5353", {{"2001:db8::1", 5353}}},
        {"bracketed IPv6 without port", "[::1]", {{"::1", 53}}},
        {"bare IPv6", "::1", {{"::1", 53}}},
        {"bare full IPv6", "2001:db8::53", {{"2001:db8::53", 53}}},
        {"two servers", "1.1.1.1,8.8.8.8:5353", {{"1.1.1.1", 53}, {"8.8.8.8", 5353}}},
        {"spaces around commas", "1.1.1.1 , 8.8.8.8:5353", {{"1.1.1.1", 53}, {"8.8.8.8", 5353}}},
        {"spaces at both ends", "  127.0.0.1  ", {{"127.0.0.1", 53}}},
        {"mixed families",
         "127.0.0.1:8053, [::1]:8053, ::2",
         {{"127.0.0.1", 8053}, {"::1", 8053}, {"::2", 53}}},
        {"highest port", "127.0.0.1:65535", {{"127.0.0.1", 65535}}},
        {"lowest port", "127.0.0.1:1", {{"127.0.0.1", 1}}},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CAPTURE(c.text);
        std::vector<DnsServer> servers;
        REQUIRE_NOTHROW(servers = parseResolverList(c.text));
        REQUIRE(servers.size() == c.expected.size());
        for (std::size_t i = 0; i < servers.size(); ++i) {
            CAPTURE(i);
            CHECK(servers[i].host == c.expected[i].host);
            CHECK(servers[i].port == c.expected[i].port);
        }
    }
}

TEST_CASE("parseResolverList rejects bad lists with std::invalid_argument") {
    struct Case {
        std::string description;
        std::string text;
    };
    const std::vector<Case> cases{
        {"empty", ""},
        {"only spaces", "   "},
        {"host name", "host.example:53"},
        {"host name without port", "localhost"},
        {"port zero", "127.0.0.1:0"},
        {"port above 65535", "127.0.0.1:70000"},
        {"port not a number", "127.0.0.1:abc"},
        {"empty port", "127.0.0.1:"},
        {"negative port", "127.0.0.1:-53"},
        {"port with trailing text", "127.0.0.1:53x"},
        {"unclosed bracket", "[::1"},
        {"IPv4 in brackets", "[1.2.3.4]:53"},
        {"junk after bracket", "[::1]53"},
        {"empty brackets", "[]:53"},
        {"empty item between commas", "1.2.3.4,,5.6.7.8"},
        {"trailing comma", "1.2.3.4,"},
        {"leading comma", ",1.2.3.4"},
        {"incomplete IPv4", "1.2.3"},
        {"IPv4 octet out of range", "256.1.1.1"},
        {"one bad item among good ones", "1.1.1.1,example.com,8.8.8.8"},
        {"URL", "udp://1.1.1.1:53"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CAPTURE(c.text);
        CHECK_THROWS_AS(parseResolverList(c.text), std::invalid_argument);
    }
}

TEST_CASE("resolvConfServers: every nameserver line ldns reads, in order, at port 53") {
    // Without DNS_RESOLVER, DnsResolver asks these one by one within the lookup's deadline
    // (before, ldns was handed the file and waited for each of them in full).
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("dnsh-resolv-servers-" + std::to_string(::getpid()) + ".conf"))
                                 .string();
    std::ofstream(path) << "# the host's resolvers\nnameserver 192.0.2.1\nNAMESERVER 192.0.2.2\n"
                           "#nameserver 192.0.2.9\n; nameserver 192.0.2.10\noptions timeout:1\n"
                           "search example.com\nnameserver 2001:db8::1\n"
                           "nameserver fe80::1%eth0\n";
    const std::vector<DnsServer> servers = resolvConfServers(path);
    std::filesystem::remove(path);
    std::vector<std::string> hosts;
    for (const auto& server : servers) {
        hosts.push_back(server.host);
        CHECK(server.port == 53);
    }
    CHECK(hosts == std::vector<std::string>{"192.0.2.1", "192.0.2.2", "2001:db8::1", "fe80::1"});
    // No file, or none listed: no servers (ldns is then left to say why, as before).
    CHECK(resolvConfServers(path + ".missing").empty());
    std::ofstream(path) << "search example.com\n";
    CHECK(resolvConfServers(path).empty());
    std::filesystem::remove(path);
}

TEST_CASE("txtValuesContain needs an exact match of one whole value") {
    const std::string token(64, 'a');
    struct Case {
        std::string description;
        std::vector<std::string> values;
        std::string expected;
        bool result;
    };
    const std::vector<Case> cases{
        {"no values", {}, token, false},
        {"only value matches", {token}, token, true},
        {"match among others", {"v=spf1 -all", token, "other"}, token, true},
        {"match is last", {"x", "y", token}, token, true},
        {"different value", {std::string(64, 'b')}, token, false},
        {"case differs", {"ABC"}, "abc", false},
        {"value is a prefix of the token", {token.substr(0, 63)}, token, false},
        {"value has the token plus more", {token + "b"}, token, false},
        {"value with surrounding spaces", {" " + token + " "}, token, false},
        {"token split over two values", {token.substr(0, 32), token.substr(32)}, token, false},
        {"empty expected, no empty value", {token}, "", false},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(txtValuesContain(c.values, c.expected) == c.result);
    }
}

TEST_CASE("LookupOutcome: one name table, the dnsh_dns_lookups_total label values") {
    struct Case {
        LookupOutcome outcome;
        std::string name;
    };
    const std::vector<Case> cases{
        {LookupOutcome::Found, "found"},       {LookupOutcome::NoRecords, "no_records"},
        {LookupOutcome::NxDomain, "nxdomain"}, {LookupOutcome::ServFail, "servfail"},
        {LookupOutcome::Timeout, "timeout"},   {LookupOutcome::Unreachable, "unreachable"},
        {LookupOutcome::Failed, "error"},
    };
    // Compared in double parentheses: doctest would print a LookupOutcome with our toString.
    for (const auto& c : cases) {
        CAPTURE(c.name);
        CHECK(std::string(toString(c.outcome)) == c.name);
        CHECK((kLookupOutcomeNames.parse(c.name) == c.outcome));
    }
}

namespace {

// Answers from a table: name -> records, anything else NXDOMAIN; every question noted.
struct FakeDns {
    std::map<std::string, std::vector<DnsRecord>> answers;
    std::vector<std::string> asked;
    DnsResponse operator()(const DnsName& name, RecordType) {
        asked.push_back(name.lowered());
        const auto found = answers.find(name.lowered());
        if (found == answers.end()) return {LookupOutcome::NxDomain, {}, {}, "NXDOMAIN"};
        return {LookupOutcome::Found, found->second, {}, ""};
    }
};

DnsRecord cname(const std::string& owner, const std::string& target) {
    return {DnsName(owner), RecordType::Cname, target};
}

DnsRecord txt(const std::string& owner, const std::string& value) {
    return {DnsName(owner), RecordType::Txt, value};
}

}  // namespace

TEST_CASE("followCnames: the chain in one answer, asked again where an answer stops, bounded") {
    SUBCASE("a chain a resolver put in one answer, names in any case") {
        FakeDns dns;
        dns.answers["a.test"] = {cname("A.test", "b.test"), cname("b.TEST", "c.test"),
                                 txt("c.test", "v")};
        const auto ask = std::ref(dns);
        const CnameChain chain = followCnames(DnsName("a.test."), RecordType::Txt, ask);
        CHECK(chain.end == DnsName("c.test"));
        CHECK(recordData(chain.response.answer, RecordType::Txt, chain.end) ==
              std::vector<std::string>{"v"});
        CHECK(dns.asked == std::vector<std::string>{"a.test"});
    }
    SUBCASE("an answer that stops at a CNAME: its target is asked") {
        FakeDns dns;
        dns.answers["a.test"] = {cname("a.test", "b.test")};
        dns.answers["b.test"] = {txt("b.test", "v")};
        const CnameChain chain = followCnames(DnsName("a.test"), RecordType::Txt, std::ref(dns));
        CHECK(chain.end == DnsName("b.test"));
        CHECK((chain.response.outcome == LookupOutcome::Found));
        CHECK(dns.asked == std::vector<std::string>{"a.test", "b.test"});
    }
    SUBCASE("CNAME questions: one name at a time, ending at the first without one") {
        FakeDns dns;
        dns.answers["a.test"] = {cname("a.test", "b.test")};
        dns.answers["b.test"] = {};
        const CnameChain chain = followCnames(DnsName("a.test"), RecordType::Cname, std::ref(dns));
        CHECK(chain.end == DnsName("b.test"));
        CHECK_FALSE(chain.tooLong);
        CHECK(dns.asked == std::vector<std::string>{"a.test", "b.test"});
    }
    SUBCASE("a target that does not exist ends the chain there") {
        FakeDns dns;
        dns.answers["a.test"] = {cname("a.test", "gone.test")};
        const CnameChain chain = followCnames(DnsName("a.test"), RecordType::Txt, std::ref(dns));
        CHECK(chain.end == DnsName("gone.test"));
        CHECK((chain.response.outcome == LookupOutcome::NxDomain));
    }
    SUBCASE("kMaxCnameHops CNAMEs are followed, one more is too long, a loop too") {
        // "n<i>.test", appended (GCC 12 warns falsely about "n" + std::string: -Wrestrict).
        auto node = [](int i) {
            std::string name = "n";
            name += std::to_string(i);
            name += ".test";
            return name;
        };
        FakeDns dns;
        for (int i = 0; i < kMaxCnameHops; ++i)
            dns.answers[node(i)] = {cname(node(i), node(i + 1))};
        dns.answers[node(kMaxCnameHops)] = {};
        CHECK_FALSE(followCnames(DnsName("n0.test"), RecordType::Txt, std::ref(dns)).tooLong);
        CHECK(followCnames(DnsName("n0.test"), RecordType::Txt, std::ref(dns)).end ==
              DnsName(node(kMaxCnameHops)));
        dns.answers[node(kMaxCnameHops)] = {cname(node(kMaxCnameHops), node(0))};
        CHECK(followCnames(DnsName("n0.test"), RecordType::Txt, std::ref(dns)).tooLong);
        CHECK(followCnames(DnsName("n0.test"), RecordType::Cname, std::ref(dns)).tooLong);
    }
    SUBCASE("an error is where the chain stops") {
        const CnameChain chain =
            followCnames(DnsName("a.test"), RecordType::Txt, [](const DnsName&, RecordType) {
                return DnsResponse{LookupOutcome::ServFail, {}, {}, "SERVFAIL"};
            });
        CHECK(chain.end == DnsName("a.test"));
        CHECK((chain.response.outcome == LookupOutcome::ServFail));
    }
}
