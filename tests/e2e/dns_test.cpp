// POST /domains/{id}/verify against what the sandbox DNS (pebble-challtestsrv) answers:
// 400 when the token is not among the TXT values, 424 when the lookup itself fails, 200 when the
// token is there (also behind a CNAME). A refused verification leaves the domain pending.
#include <doctest/doctest.h>

#include <string>

#include "crypto/random.hpp"
#include "e2e_helpers.hpp"
#include "support/database.hpp"

using namespace dnsh::test;
using namespace dnsh::test::e2e;

namespace {

void checkStillPending(const Registered& domain) {
    const HttpResult read = get("/domains/" + domain.id);
    checkHandlerAnswer(read, 200);
    CHECK(read.jsonString("status") == "pending");
    CHECK_FALSE(read.json()->has("verified_at"));
}

void checkVerified(const HttpResult& result, const Registered& domain) {
    checkHandlerAnswer(result, 200);
    CHECK(result.jsonString("id") == domain.id);
    CHECK(result.jsonString("status") == "verified");
    CHECK(matches(result.jsonString("verified_at"), kRfc3339Utc));
    CHECK(get("/domains/" + domain.id).jsonString("status") == "verified");
}

}  // namespace

TEST_CASE("dns: a wrong token gives 400 and the domain stays pending") {
    SandboxRecords dns;
    const Registered domain = registerDomain("wrongtok");
    const std::string other = dnsh::randomHex(32);
    REQUIRE(other != domain.token);
    dns.txt(domain.challengeName(), other);
    checkError(post("/domains/" + domain.id + "/verify"), 400, "token");
    checkStillPending(domain);

    // A token of another domain, a prefix of the token and the token in upper case are not it.
    dns.txt(domain.challengeName(), domain.token.substr(0, 63));
    std::string upperToken = domain.token;
    for (char& c : upperToken) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upperToken != domain.token) dns.txt(domain.challengeName(), upperToken);
    const Registered neighbour = registerDomain("neighbour");
    dns.txt(domain.challengeName(), neighbour.token);
    checkError(post("/domains/" + domain.id + "/verify"), 400, "token");
    checkStillPending(domain);

    // The right token at the wrong name (the bare domain) is not enough either.
    dns.txt(domain.name, domain.token);
    checkError(post("/domains/" + domain.id + "/verify"), 400, "token");
    checkStillPending(domain);

    // Once the token is among the values, verification succeeds: the 400s were about the token.
    dns.txt(domain.challengeName(), domain.token);
    checkVerified(post("/domains/" + domain.id + "/verify"), domain);
}

TEST_CASE("dns: SERVFAIL at the challenge name gives 424 naming SERVFAIL") {
    SandboxRecords dns;
    const Registered domain = registerDomain("servfail");
    dns.txt(domain.challengeName(), domain.token);
    dns.servfail(domain.challengeName());
    const HttpResult result = post("/domains/" + domain.id + "/verify");
    checkError(result, 424, "SERVFAIL");
    CHECK(result.jsonString("error").find(domain.challengeName()) != std::string::npos);
    checkStillPending(domain);

    // The DNS recovers: the same domain verifies.
    clearServfail(domain.challengeName());
    checkVerified(post("/domains/" + domain.id + "/verify"), domain);
}

TEST_CASE("dns: no TXT record at the challenge name gives 424 naming it") {
    const Registered domain = registerDomain("notxt");
    const HttpResult result = post("/domains/" + domain.id + "/verify");
    checkError(result, 424, "no TXT record");
    CHECK(result.jsonString("error").find(domain.challengeName()) != std::string::npos);
    checkStillPending(domain);

    // A TXT record on the domain itself does not count for the challenge name.
    SandboxRecords dns;
    dns.txt(domain.name, domain.token);
    checkError(post("/domains/" + domain.id + "/verify"), 424, "no TXT record");
    checkStillPending(domain);
}

TEST_CASE("dns: the token behind a CNAME at the challenge name verifies") {
    SandboxRecords dns;
    const Registered domain = registerDomain("cname");
    const std::string target = "_acme-challenge." + uniqueDomainName("delegated");
    dns.cname(domain.challengeName(), target);

    // The CNAME alone, nothing at its target yet: no TXT record.
    checkError(post("/domains/" + domain.id + "/verify"), 424, "no TXT record");
    checkStillPending(domain);

    // The target carries another value: the token is not there.
    dns.txt(target, dnsh::randomHex(32));
    checkError(post("/domains/" + domain.id + "/verify"), 400, "token");
    checkStillPending(domain);

    dns.txt(target, domain.token);
    checkVerified(post("/domains/" + domain.id + "/verify"), domain);
}

TEST_CASE("dns: the token among several TXT values verifies") {
    SandboxRecords dns;
    const Registered domain = registerDomain("several");
    dns.txt(domain.challengeName(), "v=spf1 -all");
    dns.txt(domain.challengeName(), dnsh::randomHex(32));
    dns.txt(domain.challengeName(), domain.token);
    dns.txt(domain.challengeName(), "another value");
    checkVerified(post("/domains/" + domain.id + "/verify"), domain);
    CHECK(count("SELECT count(*) FROM domains WHERE id = '" + domain.id +
                "' AND status = 'verified'") == 1);
}
