// Delegated validation end to end (README "Zero-touch: one CNAME, then nothing"): the customer adds
// one CNAME into the delegation zone (Knot, TSIG-signed RFC 2136 updates), and the service issues
// and renews with no other action. Unbound is the recursive resolver the scheduler and Pebble ask;
// the authoritative precheck asks Knot itself. Every case stops its schedulers (RAII) and clears
// what it leaves live.
#include <Poco/JSON/Parser.h>
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "crypto/random.hpp"
#include "dns/dns_update.hpp"
#include "dns/resolver.hpp"
#include "support/answerless_relay.hpp"
#include "support/cgi.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/sandbox_dns.hpp"
#include "support/scheduler_process.hpp"
#include "support/test_env.hpp"
#include "support/webhook_stack.hpp"

#include "delegation_helpers.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

namespace {

// The TXT values at `name` as the delegation zone's primary serves them (asked directly).
std::vector<std::string> valuesAtPrimary(const std::string& name) {
    const auto server = dnsh::parseResolverList(requireEnv("DNS_UPDATE_SERVER")).front();
    std::vector<std::string> values;
    for (const auto& record :
         dnsh::queryServer(&server, dnsh::DnsName(name), dnsh::RecordType::Txt, false, 2s).answer)
        if (record.type == dnsh::RecordType::Txt) values.push_back(record.data);
    return values;
}

// The CNAME target at `name` as the stack's resolver (Unbound) answers now ("" for none).
std::string cnameSeen(const std::string& name) {
    const dnsh::CnameLookup lookup =
        dnsh::DnsResolver(dnsh::parseResolverList(requireEnv("DNSH_TEST_UNBOUND")), 2s)
            .lookupCname(dnsh::DnsName(name));
    return lookup.found() ? lookup.target.lowered() : "";
}

std::string domainStatus(const TestDomain& domain) {
    return scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id));
}

long long certificateCount(const TestDomain& domain) {
    return count("SELECT count(*) FROM certificates WHERE domain_id = " + quoted(domain.id));
}

// Our account URL at the CA that asks Unbound (the records the persist cases publish name it),
// registered by a first order when it is new. These cases' CA is not the default handlers', so
// the view's `persist` does not list it.
std::string accountAtUnboundCa(Leftovers& leftovers, SandboxRecords& dns) {
    const std::string query =
        "SELECT coalesce(max(account_url), '') FROM acme_accounts WHERE directory_url = " +
        quoted(requireEnv("ACME_DIRECTORY_UNBOUND"));
    if (scalar(query).empty()) {
        const Delegated first = delegatedDomain("deleg-account", leftovers, dns);
        const HttpResult placed = issueThroughUnboundCa(first.domain);
        REQUIRE_MESSAGE(placed.status == 202, placed.body);
    }
    const std::string account = scalar(query);
    REQUIRE_FALSE(account.empty());
    return account;
}

// The one dns-01 value of the domain's order once the scheduler has published it at the target
// and recorded it as published (the case stops unless that happens within `within`).
std::string publishedValue(const Delegated& delegated, std::chrono::milliseconds within,
                           const SchedulerProcess& scheduler) {
    const std::string query =
        "SELECT coalesce(max(c.txt_value), '') FROM acme_challenges c JOIN acme_orders o "
        "ON o.id = c.order_id WHERE c.published_at_name IS NOT NULL AND o.domain_id = " +
        quoted(delegated.domain.id);
    std::string value;
    REQUIRE_MESSAGE(waitFor(within,
                            [&] {
                                value = scalar(query);
                                return !value.empty() && valuesAtPrimary(delegated.target) ==
                                                             std::vector<std::string>{value};
                            }),
                    describe(scheduler));
    return value;
}

// A domain verified with its token (delegation not_seen) whose customer then takes the
// registration's offer: the token's TXT replaced by the CNAME to the view's record_value (a CNAME
// excludes other data at its name, RFC 1034 §3.6.2). Returns that target once Unbound serves it.
std::string cnameAfterVerify(const TestDomain& domain, SandboxRecords& dns) {
    const HttpResult view = get("/domains/" + domain.id);
    REQUIRE_MESSAGE(view.status == 200, view.body);
    const auto delegation = view.json()->getObject("delegation");
    REQUIRE_MESSAGE(delegation, view.body);
    CHECK(delegation->getValue<std::string>("status") == "not_seen");
    const std::string target = delegation->getValue<std::string>("record_value");
    clearTxt(domain.challengeName());
    dns.cname(domain.challengeName(), target);
    REQUIRE(waitFor(5s, [&] { return cnameSeen(domain.challengeName()) == target; }));
    return target;
}

std::string delegationStatusShown(const TestDomain& domain) {
    return get("/domains/" + domain.id)
        .json()
        ->getObject("delegation")
        ->getValue<std::string>("status");
}

}  // namespace

TEST_CASE(
    "delegation: register, add the CNAME, verify, issue with nothing to publish, and the values "
    "are removed afterwards") {
    Leftovers leftovers;
    SandboxRecords dns;
    const Delegated delegated = delegatedDomain("deleg", leftovers, dns);
    // Another value already at the target (an overlapping order, say): it must stay.
    const dnsh::DnsUpdater primary(dnsh::DnsName(requireEnv("DELEGATION_ZONE")),
                                   dnsh::parseResolverList(requireEnv("DNS_UPDATE_SERVER")).front(),
                                   dnsh::parseTsigKey(requireEnv("DNS_UPDATE_TSIG")), 2s);
    REQUIRE(primary.addTxt(dnsh::DnsName(delegated.target), "another-order-value").ok());
    const auto scheduler = startScheduler(delegationScheduler());

    const HttpResult started = issueThroughUnboundCa(delegated.domain);
    REQUIRE_MESSAGE(started.status == 202, started.body);
    CHECK(started.json()->getValue<bool>("delegated"));
    CHECK(started.json()->getArray("challenges")->size() == 1);
    CHECK(started.jsonString("validation_method") == "cname");
    // Nothing is published by the test: the scheduler adds the value at the target itself.
    requireAllActive({delegated.domain}, 30s);
    CHECK(get("/domains/" + delegated.domain.id).jsonString("validation_method") == "cname");
    const auto checks = get("/domains/" + delegated.domain.id).json()->getObject("checks");
    REQUIRE(checks);
    CHECK(checks->getValue<std::string>("result") == "found");
    CHECK(checks->getValue<std::string>("zone") == "acme-delegation.test");
    CHECK(checks->getArray("nameservers")->size() >= 1);
    // The value it added is gone again, and recorded as gone; the other one is still there.
    CHECK(waitFor(5s, [&] {
        return valuesAtPrimary(delegated.target) == std::vector<std::string>{"another-order-value"};
    }));
    CHECK(primary.deleteTxt(dnsh::DnsName(delegated.target), "another-order-value").ok());
    CHECK(count("SELECT count(*) FROM acme_challenges c JOIN acme_orders o ON o.id = c.order_id "
                "WHERE c.published_at_name IS NOT NULL AND o.domain_id = " +
                quoted(delegated.domain.id)) == 0);
    checkStoredKeyMatches(delegated.domain);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE(
    "delegation: a CNAME added after verifying with the token is taken at issue-certificate: "
    "delegated, nothing published by hand") {
    Leftovers leftovers;
    SandboxRecords dns;
    const TestDomain domain = verifiedDomain("deleg-late", leftovers);
    const std::string target = cnameAfterVerify(domain, dns);
    const auto scheduler = startScheduler(delegationScheduler());

    const HttpResult started = issueThroughUnboundCa(domain);
    REQUIRE_MESSAGE(started.status == 202, started.body);
    CHECK(started.json()->getValue<bool>("delegated"));
    CHECK(started.jsonString("validation_method") == "cname");
    CHECK(started.jsonString("instructions").rfind("Nothing to publish", 0) == 0);
    CHECK(delegationStatusShown(domain) == "active");
    // Nothing is published by the test: the scheduler adds the value at the target itself.
    requireAllActive({domain}, 30s);
    CHECK(get("/domains/" + domain.id).jsonString("validation_method") == "cname");
    CHECK(waitFor(5s, [&] { return valuesAtPrimary(target).empty(); }));
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE(
    "delegation: a CNAME added after the first certificate of a domain verified with the token is "
    "taken at its next renewal: delegated, nothing published by hand") {
    Leftovers leftovers;
    SandboxRecords dns;
    const TestDomain domain = verifiedDomain("deleg-late-renew", leftovers);
    {
        // The first certificate the token's way: the ACME value published by hand.
        const auto scheduler = startScheduler();
        publish(domain, startIssuance(domain));
        requireAllActive({domain}, 20s);
        CHECK(scheduler->terminate() == 0);
    }
    const std::string target = cnameAfterVerify(domain, dns);
    execute("UPDATE certificates SET renew_at = now() WHERE domain_id = " + quoted(domain.id));
    const auto scheduler = startScheduler(delegationScheduler());
    // Renewed with nobody publishing anything, never waiting for the customer on the way.
    std::set<std::string> renewalStatuses;
    const auto renewed = [&] {
        const auto renewal = get("/domains/" + domain.id).json()->getObject("renewal");
        if (renewal) renewalStatuses.insert(renewal->getValue<std::string>("status"));
        return certificateCount(domain) == 2;
    };
    REQUIRE_MESSAGE(waitFor(30s, renewed),
                    get("/domains/" + domain.id).body << "\n"
                                                      << describe(*scheduler));
    CHECK(renewalStatuses.count("awaiting_dns") == 0);
    CHECK(domainStatus(domain) == "active");
    CHECK(delegationStatusShown(domain) == "active");
    // The renewal that issued was delegated (the scheduler published its values).
    CHECK(count("SELECT count(*) FROM acme_orders WHERE kind = 'renewal' AND status = 'valid' "
                "AND delegated AND domain_id = " +
                quoted(domain.id)) == 1);
    CHECK(waitFor(5s, [&] { return valuesAtPrimary(target).empty(); }));
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE(
    "delegation: a usable dns-persist-01 record wins over the CNAME: the order is answered with "
    "it and nothing is published at the target") {
    Leftovers leftovers;
    SandboxRecords dns;
    const std::string account = accountAtUnboundCa(leftovers, dns);
    const Delegated delegated = delegatedDomain("deleg-persist", leftovers, dns);
    // draft-ietf-acme-dns-persist-00 §4: the CA's issuer domain name and our account.
    dns.txt("_validation-persist." + delegated.domain.name,
            "pebble.letsencrypt.org; accounturi=" + account);
    const auto scheduler = startScheduler(delegationScheduler());

    const HttpResult started = issueThroughUnboundCa(delegated.domain);
    INFO("issue-certificate: " << started.body);
    REQUIRE(started.status == 202);
    CHECK(started.json()->getValue<bool>("delegated"));
    CHECK(started.jsonString("validation_method") == "dns-persist-01");
    CHECK(started.json()->getArray("challenges")->size() == 0);
    requireAllActive({delegated.domain}, 30s);
    CHECK(get("/domains/" + delegated.domain.id).jsonString("validation_method") ==
          "dns-persist-01");
    // Answered with dns-persist-01, never published nor removed at the target (either would
    // have stamped the challenge row's updated_at).
    const std::string ofDomain =
        "FROM acme_challenges c JOIN acme_orders o ON o.id = c.order_id WHERE o.domain_id = " +
        quoted(delegated.domain.id);
    CHECK(count("SELECT count(*) " + ofDomain + " AND c.method = 'dns-persist-01'") == 1);
    CHECK(count("SELECT count(*) " + ofDomain +
                " AND (c.method <> 'dns-persist-01' OR c.updated_at <> c.created_at)") == 0);
    CHECK(valuesAtPrimary(delegated.target).empty());
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE(
    "delegation: a wildcard whose persist record lacks policy=wildcard: the base name answers "
    "dns-persist-01, the wildcard dns-01 through the CNAME, only its value published") {
    Leftovers leftovers;
    SandboxRecords dns;
    const std::string account = accountAtUnboundCa(leftovers, dns);
    const Delegated delegated = delegatedDomain("deleg-mixed", leftovers, dns, true);
    // Usable for the base name; a wildcard needs "; policy=wildcard" (draft §5).
    dns.txt("_validation-persist." + delegated.domain.name,
            "pebble.letsencrypt.org; accounturi=" + account);
    const auto scheduler = startScheduler(delegationScheduler());

    const HttpResult started = issueThroughUnboundCa(delegated.domain);
    INFO("issue-certificate: " << started.body);
    REQUIRE(started.status == 202);
    CHECK(started.jsonString("validation_method") == "cname");
    CHECK(started.json()->getArray("challenges")->size() == 1);
    requireAllActive({delegated.domain}, 30s);
    const HttpResult view = get("/domains/" + delegated.domain.id);
    INFO("view: " << view.body);
    CHECK(view.jsonString("validation_method") == "cname");
    CHECK(view.json()->getObject("checks")->getObject("persist")->getValue<std::string>(
              "outcome") == "needs_wildcard_policy");
    const std::string ofDomain =
        "FROM acme_challenges c JOIN acme_orders o ON o.id = c.order_id WHERE o.domain_id = " +
        quoted(delegated.domain.id);
    CHECK(count("SELECT count(*) " + ofDomain + " AND c.method = 'dns-01'") == 1);
    CHECK(count("SELECT count(*) " + ofDomain + " AND c.method = 'dns-persist-01'") == 1);
    // The dns-01 value was published and removed again; the persist challenge never touched.
    CHECK(count("SELECT count(*) " + ofDomain +
                " AND c.method = 'dns-01' AND c.updated_at > c.created_at") == 1);
    CHECK(count("SELECT count(*) " + ofDomain +
                " AND c.method = 'dns-persist-01' AND c.updated_at > c.created_at") == 0);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE(
    "delegation: a renewal needs no action at all, and a wildcard with its base shares one "
    "target") {
    Leftovers leftovers;
    SandboxRecords dns;
    const Delegated delegated = delegatedDomain("deleg-wild", leftovers, dns, true);
    const auto scheduler = startScheduler(delegationScheduler());
    const HttpResult started = issueThroughUnboundCa(delegated.domain);
    REQUIRE_MESSAGE(started.status == 202, started.body);
    CHECK(started.json()->getArray("challenges")->size() == 2);  // *.base and base
    requireAllActive({delegated.domain}, 30s);
    // Removed right after the certificate is stored.
    CHECK(waitFor(5s, [&] { return valuesAtPrimary(delegated.target).empty(); }));

    execute("UPDATE certificates SET renew_at = now() WHERE domain_id = " +
            quoted(delegated.domain.id));
    std::set<std::string> renewalStatuses;
    REQUIRE(waitFor(30s, [&] {
        const auto renewal = get("/domains/" + delegated.domain.id).json()->getObject("renewal");
        if (renewal) renewalStatuses.insert(renewal->getValue<std::string>("status"));
        return certificateCount(delegated.domain) == 2;
    }));
    CHECK(renewalStatuses.count("awaiting_dns") == 0);
    CHECK(domainStatus(delegated.domain) == "active");
    CHECK(waitFor(5s, [&] { return valuesAtPrimary(delegated.target).empty(); }));
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE(
    "delegation: x and *.x share one _acme-challenge name, so only one is delegated: verify of "
    "the other names the one whose CNAME is there and warns that repointing stops its renewals") {
    Leftovers leftovers;
    SandboxRecords dns;
    for (const bool wildcardFirst : {false, true}) {
        CAPTURE(wildcardFirst);
        const Delegated first = delegatedDomain(wildcardFirst ? "deleg-pair-wild" : "deleg-pair",
                                                leftovers, dns, wildcardFirst);
        const std::string base = first.domain.name;
        const std::string firstName = wildcardFirst ? "*." + base : base;
        const std::string secondName = wildcardFirst ? base : "*." + base;
        const HttpResult created =
            postJson("/domains", "{\"domain_name\": \"" + secondName + "\"}");
        REQUIRE_MESSAGE(created.status == 201, created.body);
        const TestDomain second{created.jsonString("id"), base,
                                created.jsonString("verification_token")};
        leftovers.add(second);
        // Its own target, at the same name the first one's CNAME holds.
        CHECK(created.json()->getObject("delegation")->getValue<std::string>("record_value") !=
              first.target);

        const HttpResult refused = postJson("/domains/" + second.id + "/verify", "");
        INFO(refused.status << " " << refused.body);
        CHECK(refused.status == 400);
        CHECK(refused.jsonString("error_code") == "cname_mismatch");
        // Before: only "... not to this domain's target ..., and no verification token was found
        // there", whose advice (repoint the CNAME) takes the first one's delegation.
        const std::string error = refused.jsonString("error");
        CHECK(error.find("is the delegation target of " + firstName + " (domain " +
                         first.domain.id + ")") != std::string::npos);
        CHECK(error.find("stops " + firstName + "'s zero-touch renewals") != std::string::npos);
        CHECK(domainStatus(second) == "pending");
        CHECK(delegationStatusShown(first.domain) == "active");
    }
}

TEST_CASE(
    "delegation: a CNAME that is gone stops the renewal before any CA order, and its return "
    "resumes it") {
    Leftovers leftovers;
    SandboxRecords dns;
    const Delegated delegated = delegatedDomain("deleg-lost", leftovers, dns);
    {
        const auto scheduler = startScheduler(delegationScheduler());
        REQUIRE(issueThroughUnboundCa(delegated.domain).status == 202);
        requireAllActive({delegated.domain}, 30s);
        CHECK(scheduler->terminate() == 0);
    }
    clearCname("_acme-challenge." + delegated.domain.name);
    // Unbound keeps even a zero-TTL answer for the rest of the second: wait until it is gone.
    REQUIRE(
        waitFor(5s, [&] { return cnameSeen("_acme-challenge." + delegated.domain.name).empty(); }));
    execute("UPDATE certificates SET renew_at = now() WHERE domain_id = " +
            quoted(delegated.domain.id));
    const auto scheduler = startScheduler(delegationScheduler());
    REQUIRE_MESSAGE(
        waitFor(15s,
                [&] {
                    const auto renewal =
                        get("/domains/" + delegated.domain.id).json()->getObject("renewal");
                    return renewal && renewal->getValue<std::string>("status") == "delegation_lost";
                }),
        get("/domains/" + delegated.domain.id).body << "\n"
                                                    << describe(*scheduler));
    const auto view = get("/domains/" + delegated.domain.id).json();
    CHECK(view->getValue<std::string>("status") == "active");
    CHECK(view->getObject("delegation")->getValue<std::string>("status") == "lost");
    // No order was placed at the CA, and the next look is a day away.
    CHECK(count("SELECT count(*) FROM acme_orders WHERE kind = 'renewal' AND order_url IS NOT "
                "NULL AND domain_id = " +
                quoted(delegated.domain.id)) == 0);
    CHECK(count("SELECT count(*) FROM certificates WHERE renew_at > now() + interval '23 hours' "
                "AND domain_id = " +
                quoted(delegated.domain.id)) == 1);

    // The CNAME is back; at the next daily look (brought forward here) the renewal goes through.
    dns.cname("_acme-challenge." + delegated.domain.name, delegated.target);
    REQUIRE(waitFor(5s, [&] {
        return cnameSeen("_acme-challenge." + delegated.domain.name) == delegated.target;
    }));
    execute("UPDATE certificates SET renew_at = now() WHERE renew_at IS NOT NULL AND domain_id = " +
            quoted(delegated.domain.id));
    REQUIRE(waitFor(30s, [&] { return certificateCount(delegated.domain) == 2; }));
    CHECK(get("/domains/" + delegated.domain.id)
              .json()
              ->getObject("delegation")
              ->getValue<std::string>("status") == "active");
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE(
    "delegation: a SERVFAIL where the CNAME is looked up is not a lost delegation: the renewal "
    "retries with backoff and goes through once the DNS answers again") {
    Leftovers leftovers;
    SandboxRecords dns;
    const Delegated delegated = delegatedDomain("deleg-sfail", leftovers, dns);
    const TestDomain& domain = delegated.domain;
    const std::string name = "_acme-challenge." + domain.name;
    const auto scheduler = startScheduler(delegationScheduler());
    REQUIRE(issueThroughUnboundCa(domain).status == 202);
    requireAllActive({domain}, 30s);

    // The customer's DNS fails where the CNAME is (SERVFAIL), and the resolver says so.
    dns.servfail(name);
    const auto unbound = dnsh::parseResolverList(requireEnv("DNSH_TEST_UNBOUND")).front();
    REQUIRE(waitFor(5s, [&] {
        return dnsh::queryServer(&unbound, dnsh::DnsName(name), dnsh::RecordType::Cname, true, 2s)
                   .outcome == dnsh::LookupOutcome::ServFail;
    }));
    execute("UPDATE certificates SET renew_at = now() WHERE domain_id = " + quoted(domain.id));
    // The renewal retries, counting its attempts; the delegation is still active, not lost.
    const std::string renewalAttempts =
        "SELECT coalesce(max(attempts), 0) FROM acme_orders WHERE kind = 'renewal' AND "
        "domain_id = " +
        quoted(domain.id);
    CHECK_MESSAGE(waitFor(15s, [&] { return count(renewalAttempts) >= 2; }),
                  get("/domains/" + domain.id).body << "\n"
                                                    << describe(*scheduler));
    const auto view = get("/domains/" + domain.id).json();
    CHECK(view->getObject("delegation")->getValue<std::string>("status") == "active");
    REQUIRE(view->getObject("renewal"));
    CHECK(view->getObject("renewal")->getValue<std::string>("status") != "delegation_lost");
    CHECK(count("SELECT count(*) FROM acme_orders WHERE kind = 'renewal' AND status = 'invalid' "
                "AND domain_id = " +
                quoted(domain.id)) == 0);

    // The DNS answers again: the renewal goes through with nobody doing anything.
    clearServfail(name);
    // Unbound keeps a SERVFAIL it got for 5 s (so as not to hammer a failing server): the last
    // one, taken just before the clear, can outlive a 5 s wait by a few milliseconds (seen when
    // the renewal reached its second attempt within 0.2 s of the SERVFAIL).
    REQUIRE(waitFor(12s, [&] { return cnameSeen(name) == delegated.target; }));
    CHECK_MESSAGE(waitFor(40s, [&] { return certificateCount(domain) == 2; }),
                  get("/domains/" + domain.id).body);
    CHECK(get("/domains/" + domain.id)
              .json()
              ->getObject("delegation")
              ->getValue<std::string>("status") == "active");
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("delegation: a TSIG secret the primary does not know ends in a clear error, no crash") {
    Leftovers leftovers;
    SandboxRecords dns;
    const Delegated delegated = delegatedDomain("deleg-tsig", leftovers, dns);
    const dnsh::TsigKey key = dnsh::parseTsigKey(requireEnv("DNS_UPDATE_TSIG"));
    const std::string wrong =
        key.algorithm + ":" + key.name + ":" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const auto scheduler = startScheduler(delegationScheduler(
        {{"DNS_UPDATE_TSIG", wrong}, {"POLL_TIMEOUT", "2s"}, {"POLL_INTERVAL", "100ms"}}));
    REQUIRE(issueThroughUnboundCa(delegated.domain).status == 202);
    REQUIRE(waitFor(20s, [&] { return domainStatus(delegated.domain) == "failed"; }));
    const HttpResult shown = get("/domains/" + delegated.domain.id);
    CHECK(shown.jsonString("error_code") == "dns_update_refused");
    CAPTURE(shown.jsonString("error"));
    CHECK(shown.jsonString("error").find(requireEnv("DNS_UPDATE_SERVER").substr(0, 4)) !=
          std::string::npos);
    // Points at our key (before: "answered with a bad TSIG signature", the primary's fault),
    // not at the clocks: skew comes back as a signed BADTIME, not as this unsigned answer.
    CHECK(shown.jsonString("error").find("DNS_UPDATE_TSIG") != std::string::npos);
    CHECK(shown.jsonString("error").find("clocks") == std::string::npos);
    CHECK(shown.jsonString("error").find("bad TSIG signature") == std::string::npos);
    CHECK(scheduler->running());
    CHECK(valuesAtPrimary(delegated.target).empty());
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE(
    "delegation: a domain deleted while its order waits for DNS has the value it published "
    "removed from the zone") {
    Leftovers leftovers;
    SandboxRecords dns;
    const Delegated delegated = delegatedDomain("deleg-del", leftovers, dns);
    const TestDomain& domain = delegated.domain;
    // A resolver that never answers: the precheck never sees the value, so the order stays in
    // await_dns after publishing it.
    const auto scheduler = startScheduler(delegationScheduler({{"DNS_RESOLVER", "127.0.0.1:9"}}));
    REQUIRE(issueThroughUnboundCa(domain).status == 202);
    const std::string value = publishedValue(delegated, 15s, *scheduler);
    CHECK(scalar("SELECT step FROM acme_orders WHERE domain_id = " + quoted(domain.id)) ==
          "await_dns");

    // The handler deletes the order and its challenges with the domain; it has no update key.
    REQUIRE(send(baseUrl(), HttpRequest{"DELETE", "/domains/" + domain.id, "", "", {}}).status ==
            204);
    // The scheduler's sweep removes the value all the same, and forgets it once removed.
    CHECK_MESSAGE(waitFor(25s, [&] { return valuesAtPrimary(delegated.target).empty(); }),
                  describe(*scheduler));
    CHECK(count("SELECT count(*) FROM delegation_cleanup WHERE value = " + quoted(value)) == 0);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE(
    "delegation: a value whose removal the primary did not take is removed once the primary "
    "answers again, and recorded as removed") {
    Leftovers leftovers;
    SandboxRecords dns;
    const Delegated delegated = delegatedDomain("deleg-retry", leftovers, dns);
    const TestDomain& domain = delegated.domain;
    const std::string stillPublished =
        "SELECT count(*) FROM acme_challenges c JOIN acme_orders o ON o.id = c.order_id "
        "WHERE c.published_at_name IS NOT NULL AND o.domain_id = " +
        quoted(domain.id);
    std::string value;
    {
        // Published, and held in await_dns: this scheduler's resolver never answers.
        const auto publishing =
            startScheduler(delegationScheduler({{"DNS_RESOLVER", "127.0.0.1:9"}}));
        REQUIRE(issueThroughUnboundCa(domain).status == 202);
        value = publishedValue(delegated, 15s, *publishing);
        CHECK(publishing->terminate() == 0);
    }
    {
        // The order goes through (the value is there); the removal after it goes to a port
        // nothing answers on.
        const auto failing =
            startScheduler(delegationScheduler({{"DNS_UPDATE_SERVER", "127.0.0.1:9"}}));
        requireAllActive({domain}, 30s);
        REQUIRE_MESSAGE(waitFor(10s,
                                [&] {
                                    return failing->log().find(
                                               "\"delegated TXT value not removed\"") !=
                                           std::string::npos;
                                }),
                        describe(*failing));
        CHECK(failing->terminate() == 0);
    }
    CHECK(valuesAtPrimary(delegated.target) == std::vector<std::string>{value});
    CHECK(count(stillPublished) == 1);

    // Nothing else happens to the domain: the value goes once the primary answers.
    const auto scheduler = startScheduler(delegationScheduler());
    CHECK_MESSAGE(waitFor(25s, [&] { return valuesAtPrimary(delegated.target).empty(); }),
                  describe(*scheduler));
    CHECK(waitFor(5s, [&] { return count(stillPublished) == 0; }));
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE(
    "delegation: a TXT value the primary added without its answer coming back is queued for the "
    "sweep, kept while the order lives, and removed once the order has failed") {
    Leftovers leftovers;
    SandboxRecords dns;
    const Delegated delegated = delegatedDomain("deleg-noanswer", leftovers, dns);
    const TestDomain& domain = delegated.domain;
    const std::string queued = "SELECT count(*) FROM delegation_cleanup WHERE name = " +
                               quoted(delegated.target) + " AND value = ";
    std::string value;
    {
        // The primary behind a relay that passes every update on and drops Knot's answers: each
        // add is applied, and times out here (DNS_TIMEOUT 1 s) until POLL_TIMEOUT fails the
        // order.
        AnswerlessRelay relay(dnsh::parseResolverList(requireEnv("DNS_UPDATE_SERVER")).front());
        const auto scheduler = startScheduler(delegationScheduler(
            {{"DNS_UPDATE_SERVER", "127.0.0.1:" + std::to_string(relay.port())},
             {"DNS_TIMEOUT", "1s"},
             {"POLL_TIMEOUT", "2s"},
             {"POLL_INTERVAL", "100ms"}}));
        REQUIRE(issueThroughUnboundCa(domain).status == 202);
        REQUIRE_MESSAGE(waitFor(15s,
                                [&] {
                                    const auto values = valuesAtPrimary(delegated.target);
                                    if (values.size() == 1) value = values.front();
                                    return !value.empty();
                                }),
                        describe(*scheduler));
        REQUIRE_MESSAGE(waitFor(30s, [&] { return domainStatus(domain) == "failed"; }),
                        describe(*scheduler));
        const HttpResult shown = get("/domains/" + domain.id);
        CAPTURE(shown.body);
        CHECK(shown.jsonString("error_code") == "dns_timeout");
        CHECK(relay.forwarded() >= 1);
        CHECK(relay.dropped() >= 1);
        // Never recorded as published, so the order's own clean-up had nothing to remove.
        CHECK(count("SELECT count(*) FROM acme_challenges c JOIN acme_orders o ON o.id = "
                    "c.order_id WHERE c.published_at_name IS NOT NULL AND o.domain_id = " +
                    quoted(domain.id)) == 0);
        // Before: no row, and nothing ever removed the value.
        CHECK(count(queued + dnsh::test::quoted(value)) == 1);
        CHECK(scheduler->terminate() == 0);
    }
    // The sweep put the row off by 10 minutes while the order was live (or, after it, tried the
    // delete through the relay): brought forward, with the primary answering again.
    execute("UPDATE delegation_cleanup SET next_attempt_at = now() WHERE value = " +
            dnsh::test::quoted(value));
    const auto scheduler = startScheduler(delegationScheduler());
    CHECK_MESSAGE(waitFor(25s, [&] { return valuesAtPrimary(delegated.target).empty(); }),
                  describe(*scheduler));
    CHECK(waitFor(5s, [&] { return count(queued + dnsh::test::quoted(value)) == 0; }));
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE(
    "precheck: a value visible at one authoritative server and not yet at the other is not "
    "answered") {
    Leftovers leftovers;
    // A customer zone served by two independent Knots (ns1, ns2); the order is placed by the
    // scheduler (the zone is not in the handlers' sandbox DNS, so no verify through the API).
    const TestDomain domain = orderedDomain(requireEnv("DNSH_TEST_CUSTOMER_ZONE"), "p", leftovers);
    const std::string name = domain.name;
    const auto scheduler = startScheduler(delegationScheduler({{"POLL_INTERVAL", "200ms"}}));
    std::string value;
    REQUIRE(waitFor(15s, [&] {
        value = get("/domains/" + domain.id).jsonString("expected_txt_value");
        return !value.empty();
    }));
    const dnsh::TsigKey key = dnsh::parseTsigKey(requireEnv("DNS_UPDATE_TSIG"));
    auto updater = [&](const std::string& server) {
        return dnsh::DnsUpdater(dnsh::DnsName(requireEnv("DNSH_TEST_CUSTOMER_ZONE")),
                                dnsh::parseResolverList(server).front(), key, 2s);
    };
    REQUIRE(updater(requireEnv("DNSH_TEST_CUSTOMER_NS1"))
                .addTxt(dnsh::DnsName(domain.challengeName()), value)
                .ok());
    // ns1 has it, ns2 not yet: the check says so, server by server, and nothing is answered.
    REQUIRE(waitFor(10s, [&] {
        const auto checks = get("/domains/" + domain.id).json()->getObject("checks");
        if (!checks || !checks->has("nameservers")) return false;
        const auto servers = checks->getArray("nameservers");
        std::set<std::string> results;
        for (std::size_t i = 0; i < servers->size(); ++i)
            results.insert(servers->getObject(i)->getValue<std::string>("result"));
        // ns2 answers that the name does not exist yet (NXDOMAIN).
        return results.size() == 2 && results.count("found") == 1;
    }));
    CHECK(domainStatus(domain) == "certificate_pending");
    CHECK(scalar("SELECT step FROM acme_orders WHERE domain_id = " + quoted(domain.id)) ==
          "await_dns");
    REQUIRE(updater(requireEnv("DNSH_TEST_CUSTOMER_NS2"))
                .addTxt(dnsh::DnsName(domain.challengeName()), value)
                .ok());
    requireAllActive({domain}, 30s);
    for (const char* server : {"DNSH_TEST_CUSTOMER_NS1", "DNSH_TEST_CUSTOMER_NS2"})
        updater(requireEnv(server)).deleteTxt(dnsh::DnsName(domain.challengeName()), value);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE(
    "precheck: the verification token still published at the name is stored and shown masked, "
    "in what every authoritative server answered too") {
    Leftovers leftovers;
    const std::string zone = requireEnv("DNSH_TEST_CUSTOMER_ZONE");
    const TestDomain domain = orderedDomain(zone, "t", leftovers);
    const dnsh::TsigKey key = dnsh::parseTsigKey(requireEnv("DNS_UPDATE_TSIG"));
    std::vector<dnsh::DnsUpdater> nameservers;
    for (const char* server : {"DNSH_TEST_CUSTOMER_NS1", "DNSH_TEST_CUSTOMER_NS2"})
        nameservers.emplace_back(dnsh::DnsName(zone),
                                 dnsh::parseResolverList(requireEnv(server)).front(), key, 2s);
    // The customer's verification record, still there when the order waits for its value.
    for (const auto& server : nameservers)
        REQUIRE(server.addTxt(dnsh::DnsName(domain.challengeName()), domain.token).ok());
    const auto scheduler = startScheduler(delegationScheduler({{"POLL_INTERVAL", "200ms"}}));
    Poco::JSON::Object::Ptr checks;
    const bool looked = waitFor(15s, [&] {
        checks = get("/domains/" + domain.id).json()->getObject("checks");
        return checks && checks->has("nameservers") &&
               checks->getValue<std::string>("result") == "txt_mismatch";
    });
    CHECK(scheduler->terminate() == 0);
    for (const auto& server : nameservers)
        server.deleteTxt(dnsh::DnsName(domain.challengeName()), domain.token);
    REQUIRE_MESSAGE(looked, get("/domains/" + domain.id).body);
    CHECK(checks->getArray("seen")->getElement<std::string>(0) == kTokenShown);
    const auto servers = checks->getArray("nameservers");
    REQUIRE(servers->size() >= 2);
    for (std::size_t i = 0; i < servers->size(); ++i) {
        const auto server = servers->getObject(static_cast<unsigned>(i));
        CAPTURE(server->getValue<std::string>("address"));
        CHECK(server->getValue<std::string>("result") == "txt_mismatch");
        const auto seen = server->getArray("seen");
        REQUIRE(seen->size() == 1);
        CHECK(seen->getElement<std::string>(0) == kTokenShown);
    }
    checkTokenNotShown(domain);
}

TEST_CASE("precheck: a recursive resolver holding a stale record does not hold up the order") {
    Leftovers leftovers;
    const std::string zone = requireEnv("DNSH_TEST_CUSTOMER_ZONE");
    // Appended, not "s" + rvalue: GCC 12 warns falsely (-Wrestrict) on that insert once inlined.
    const std::string name = std::string("s").append(dnsh::randomHex(6)) + "." + zone;
    const HttpResult created = postJson("/domains", "{\"domain_name\": \"" + name + "\"}");
    REQUIRE_MESSAGE(created.status == 201, created.body);
    const TestDomain domain{created.jsonString("id"), name,
                            created.jsonString("verification_token")};
    leftovers.add(domain);
    const dnsh::TsigKey key = dnsh::parseTsigKey(requireEnv("DNS_UPDATE_TSIG"));
    std::vector<dnsh::DnsUpdater> nameservers;
    for (const char* server : {"DNSH_TEST_CUSTOMER_NS1", "DNSH_TEST_CUSTOMER_NS2"})
        nameservers.emplace_back(dnsh::DnsName(zone),
                                 dnsh::parseResolverList(requireEnv(server)).front(), key, 2s);
    // The customer's old record, and a resolver that has cached it (for an hour).
    for (const auto& server : nameservers)
        REQUIRE(server.addTxt(dnsh::DnsName(domain.challengeName()), "old-value").ok());
    const auto cachingResolver =
        dnsh::parseResolverList(requireEnv("DNSH_TEST_CACHING_RESOLVER")).front();
    auto cached = [&] {
        std::vector<std::string> values;
        for (const auto& record :
             dnsh::queryServer(&cachingResolver, dnsh::DnsName(domain.challengeName()),
                               dnsh::RecordType::Txt, true, 2s)
                 .answer)
            if (record.type == dnsh::RecordType::Txt) values.push_back(record.data);
        return values;
    };
    REQUIRE(cached() == std::vector<std::string>{"old-value"});

    // The order, placed by a scheduler that uses the caching resolver.
    execute("UPDATE domains SET status = 'certificate_pending', verified_at = now() WHERE id = " +
            quoted(domain.id) +
            "; INSERT INTO acme_orders (id, domain_id, kind, step, next_attempt_at) VALUES "
            "(replace(gen_random_uuid()::text, '-', ''), " +
            quoted(domain.id) + ", 'issue', 'place_order', now())");
    const auto scheduler = startScheduler(
        delegationScheduler({{"DNS_RESOLVER", requireEnv("DNSH_TEST_CACHING_RESOLVER")}}));
    std::string value;
    REQUIRE(waitFor(15s, [&] {
        value = get("/domains/" + domain.id).jsonString("expected_txt_value");
        return !value.empty();
    }));
    // The customer replaces the record; the resolver keeps serving the old one.
    for (const auto& server : nameservers) {
        REQUIRE(server.addTxt(dnsh::DnsName(domain.challengeName()), value).ok());
        REQUIRE(server.deleteTxt(dnsh::DnsName(domain.challengeName()), "old-value").ok());
    }
    CHECK(cached() == std::vector<std::string>{"old-value"});
    // The precheck asks the zone's own servers: it sees the new value and the order goes through.
    requireAllActive({domain}, 30s);
    CHECK(cached() == std::vector<std::string>{"old-value"});  // still stale throughout
    for (const auto& server : nameservers)
        server.deleteTxt(dnsh::DnsName(domain.challengeName()), value);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE(
    "delegation: webhooks of a delegated domain: verified, issued, delegation.lost once the CNAME "
    "is gone (not again at the next look), renewed once it is back, and never an action to take") {
    WebhookStack stack({{"DELEGATION_ZONE", requireEnv("DELEGATION_ZONE")}});
    Leftovers leftovers;
    SandboxRecords dns;
    const Delegated delegated = delegatedDomain("deleg-hook", leftovers, dns);
    const TestDomain& domain = delegated.domain;
    const auto scheduler = startScheduler(stack.schedulerEnv(delegationScheduler()));
    REQUIRE(issueThroughUnboundCa(domain).status == 202);
    requireAllActive({domain}, 30s);

    clearCname("_acme-challenge." + domain.name);
    REQUIRE(waitFor(5s, [&] { return cnameSeen("_acme-challenge." + domain.name).empty(); }));
    execute("UPDATE certificates SET renew_at = now() WHERE domain_id = " + quoted(domain.id));
    REQUIRE(waitDelivered(stack.receiver, domain.id, 3, 15s));
    // The next look finds it still gone: delegation.lost is not sent again.
    execute("UPDATE certificates SET renew_at = now() WHERE renew_at IS NOT NULL AND domain_id = " +
            quoted(domain.id));
    REQUIRE(waitFor(10s, [&] {
        return count(
                   "SELECT count(*) FROM acme_orders WHERE kind = 'renewal' AND status = "
                   "'invalid' AND domain_id = " +
                   quoted(domain.id)) == 2;
    }));

    dns.cname("_acme-challenge." + domain.name, delegated.target);
    REQUIRE(waitFor(
        5s, [&] { return cnameSeen("_acme-challenge." + domain.name) == delegated.target; }));
    execute("UPDATE certificates SET renew_at = now() WHERE renew_at IS NOT NULL AND domain_id = " +
            quoted(domain.id));
    REQUIRE(waitDelivered(stack.receiver, domain.id, 4, 30s));

    const auto events = stack.receiver.receivedFor(domain.id);
    CHECK(deliveredTypes(events) ==
          std::vector<std::string>{"domain.verified", "certificate.issued", "delegation.lost",
                                   "certificate.renewed"});
    for (const auto& event : events) {
        CHECK(event.verified);
        CHECK(event.body.find(domain.token) == std::string::npos);
    }
    const auto lost = Poco::JSON::Parser()
                          .parse(events[2].body)
                          .extract<Poco::JSON::Object::Ptr>()
                          ->getObject("data");
    CHECK(lost->getObject("delegation")->getValue<std::string>("status") == "lost");
    CHECK(lost->getObject("renewal")->getValue<std::string>("status") == "delegation_lost");
    CHECK(scheduler->terminate() == 0);
}
