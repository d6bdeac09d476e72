#pragma once
// Delegated domains for end-to-end cases (README "Zero-touch"): the scheduler settings of the
// delegated flow, issue-certificate against the CA that asks Unbound, and a domain registered
// with its CNAME in place and verified. Shared by delegation_test.cpp and ari_test.cpp, and by
// tests/fault/several_cas_test.cpp (a scheduler without DELEGATION_ZONE).
#include <doctest/doctest.h>

#include <map>
#include <regex>
#include <string>

#include "support/cgi.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/sandbox_dns.hpp"
#include "support/test_env.hpp"

namespace dnsh::test {

inline const std::regex kDelegationTarget(R"(^[0-9a-f]{32}\.acme-delegation\.test$)");

// The scheduler of these cases: Unbound as its resolver (it follows the CNAME into the
// delegation zone), the precheck at the authoritative servers, which are the stack's Knots on
// loopback addresses (allowed explicitly: by default the precheck asks public addresses only).
inline std::map<std::string, std::string> delegationScheduler(
    std::map<std::string, std::string> extra = {}) {
    std::map<std::string, std::string> env{{"DNS_RESOLVER", requireEnv("DNSH_TEST_UNBOUND")},
            {"DNS_PRECHECK", "authoritative"},
            {"DNS_PRECHECK_ALLOW", "127.0.0.0/8"},
            {"ACME_DIRECTORY", requireEnv("ACME_DIRECTORY_UNBOUND")}};
    for (const auto& [name, value] : extra) env[name] = value;
    return env;
}

// POST /domains/{id}/issue-certificate, run as CGI against the CA that asks Unbound (the stack's
// lighttpd handlers use the CA that asks challtestsrv, which cannot follow a CNAME into Knot).
// `extra` over those settings (DELEGATION_ZONE empty: an API host without the zone).
inline HttpResult issueThroughUnboundCa(const TestDomain& domain,
                                        const std::map<std::string, std::string>& extra = {}) {
    CgiRequest request;
    request.method = "POST";
    request.path = "/domains/" + domain.id + "/issue-certificate";
    request.env = {{"ACME_DIRECTORY", requireEnv("ACME_DIRECTORY_UNBOUND")},
                   {"ACME_CA_BUNDLE", requireEnv("ACME_CA_BUNDLE")},
                   {"KEY_ENCRYPTION_KEY_FILE", requireEnv("KEY_ENCRYPTION_KEY_FILE")},
                   {"DELEGATION_ZONE", requireEnv("DELEGATION_ZONE")}};
    for (const auto& [name, value] : extra) request.env[name] = value;
    return runCgi("issue_certificate", request);
}

struct Delegated {
    TestDomain domain;
    std::string target;
};

// Registered with delegation on, the CNAME added in the customer's DNS, verified by it.
inline Delegated delegatedDomain(const std::string& prefix, Leftovers& leftovers,
                                 SandboxRecords& dns, bool wildcard = false) {
    const std::string base = uniqueDomainName(prefix);
    const std::string requested = wildcard ? "*." + base : base;
    const HttpResult created = postJson("/domains", "{\"domain_name\": \"" + requested + "\"}");
    REQUIRE_MESSAGE(created.status == 201, created.body);
    const auto delegation = created.json()->getObject("delegation");
    REQUIRE_MESSAGE(delegation, created.body);
    Delegated result{{created.jsonString("id"), base, created.jsonString("verification_token")},
                     delegation->getValue<std::string>("record_value")};
    leftovers.add(result.domain);
    CHECK(delegation->getValue<std::string>("record_name") == "_acme-challenge." + base);
    CHECK(delegation->getValue<std::string>("record_type") == "CNAME");
    CHECK(delegation->getValue<std::string>("status") == "not_seen");
    CHECK(std::regex_match(result.target, kDelegationTarget));
    CHECK(created.jsonString("instructions").find(result.target) != std::string::npos);

    dns.cname("_acme-challenge." + base, result.target);
    const HttpResult verified = postJson("/domains/" + result.domain.id + "/verify", "");
    REQUIRE_MESSAGE(verified.status == 200, verified.body);
    CHECK(verified.json()->getObject("delegation")->getValue<std::string>("status") == "active");
    return result;
}

}  // namespace dnsh::test
