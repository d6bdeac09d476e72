// dns-persist-01 (draft-ietf-acme-dns-persist-00) at the real Pebble of deploy/test (v2.10.3,
// PEBBLE_AUTHZREUSE=0: every order gets fresh authorizations) with pebble-challtestsrv as the
// customer's DNS: the record formatPersistRecord makes, published once, validates this order and
// every later one of the account with nothing changed; the CA refuses another account's record
// and a wildcard without policy=wildcard, as evaluatePersistRecords says it will; and nothing is
// ever published or asked at _acme-challenge.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "acme/client.hpp"
#include "config/server_list.hpp"
#include "crypto/keys.hpp"
#include "dns/persist_lookup.hpp"
#include "dns/persist_record.hpp"
#include "dns/resolver.hpp"
#include "issuance/persist_probe.hpp"
#include "support/sandbox_dns.hpp"
#include "support/test_env.hpp"

using namespace dnsh;
using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

constexpr int kTxt = 16;  // RFC 1035 §3.2.2

acme::Transport makeTransport() {
    return acme::Transport(requireEnv("ACME_CA_BUNDLE"), std::chrono::seconds(10));
}

DnsResolver sandboxResolver() {
    return DnsResolver(parseResolverList(dnsResolver()), 2s);
}

// An account of its own at the test stack's CA.
struct Account {
    acme::Transport transport = makeTransport();
    acme::Client client{transport, requireEnv("ACME_DIRECTORY")};
    Pkey key = generateEcdsaP256Key();
    Account() { client.newAccount(key.get(), ""); }
};

// The one authorization of a fresh order for `name`, and its dns-persist-01 challenge.
struct PersistAuthorization {
    acme::Authorization authorization;
    acme::Challenge challenge;
};

PersistAuthorization orderFor(acme::Client& client, const std::string& name) {
    const acme::Order order = client.newOrder({name});
    REQUIRE(order.authorizations.size() == 1);
    PersistAuthorization result{client.getAuthorization(order.authorizations[0]), {}};
    const auto& challenges = result.authorization.challenges;
    const auto found = std::find_if(challenges.begin(), challenges.end(),
                                    [](const auto& c) { return c.type == "dns-persist-01"; });
    REQUIRE(found != challenges.end());
    result.challenge = *found;
    return result;
}

// RFC 8555 §7.5.1: POST {} to the challenge (draft §4 defines no response fields), then the
// authorization until the CA has decided.
acme::Authorization answered(acme::Client& client, const PersistAuthorization& pending) {
    client.respondChallenge(pending.challenge.url);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (true) {
        acme::Authorization now = client.getAuthorization(pending.authorization.url);
        if (now.status != acme::AuthorizationStatus::Pending &&
            now.status != acme::AuthorizationStatus::Processing)
            return now;
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::this_thread::sleep_for(200ms);
    }
}

// Nothing was ever published or asked at the dns-01 name: the CA validated from the persistent
// record alone.
void checkNoDns01(const std::string& name) {
    const std::string dns01 = "_acme-challenge." + name;
    CHECK(dnsQuestionTypes(dns01).empty());
    CHECK((sandboxResolver().lookupTxt(DnsName(dns01)).outcome != LookupOutcome::Found));
}

}  // namespace

TEST_CASE("dns-persist-01: one record validates this order and the account's next ones") {
    Account account;
    acme::Client& client = account.client;
    const std::string name = uniqueDomainName("persist");
    const std::string recordName = persistRecordName(name);
    SandboxRecords records;

    const PersistAuthorization first = orderFor(client, name);
    // §3.1: the issuer names are the CA's caaIdentities (Pebble copies them); no token (Pebble
    // sends an empty one).
    const std::vector<std::string>& issuers = first.challenge.issuerDomainNames;
    REQUIRE_FALSE(issuers.empty());
    CHECK(issuers == client.directory().caaIdentities);
    CHECK(first.challenge.token.empty());
    CHECK((first.authorization.status == acme::AuthorizationStatus::Pending));

    const auto now = [] { return std::chrono::system_clock::now(); };
    CHECK((checkPersistRecord(sandboxResolver(), name, issuers, client.accountUrl(), now())
               .verdict.outcome == PersistOutcome::Missing));
    records.txt(recordName, formatPersistRecord(issuers.front(), client.accountUrl(), false));
    const PersistCheck published =
        checkPersistRecord(sandboxResolver(), name, issuers, client.accountUrl(), now());
    CHECK(published.usable());
    CHECK(published.found.size() == 1);

    clearDnsQuestions(recordName);
    const acme::Authorization valid = answered(client, first);
    INFO("error: " << valid.error);
    CHECK((valid.status == acme::AuthorizationStatus::Valid));
    // The CA asked for the persistent record.
    const std::vector<int> asked = dnsQuestionTypes(recordName);
    CHECK(std::count(asked.begin(), asked.end(), kTxt) >= 1);

    // A later order: a new authorization (no reuse at this CA), validated by the same record.
    for (int order = 2; order <= 3; ++order) {
        CAPTURE(order);
        const PersistAuthorization later = orderFor(client, name);
        CHECK(later.authorization.url != first.authorization.url);
        CHECK((later.authorization.status == acme::AuthorizationStatus::Pending));
        CHECK(later.challenge.issuerDomainNames == issuers);
        const acme::Authorization again = answered(client, later);
        INFO("error: " << again.error);
        CHECK((again.status == acme::AuthorizationStatus::Valid));
    }
    checkNoDns01(name);
}

TEST_CASE("dns-persist-01: a record naming another account leaves the authorization invalid") {
    Account ours;
    Account theirs;
    const std::string name = uniqueDomainName("persist-other");
    SandboxRecords records;

    const PersistAuthorization pending = orderFor(ours.client, name);
    const std::vector<std::string>& issuers = pending.challenge.issuerDomainNames;
    REQUIRE_FALSE(issuers.empty());
    REQUIRE(theirs.client.accountUrl() != ours.client.accountUrl());
    const std::string theirRecord =
        formatPersistRecord(issuers.front(), theirs.client.accountUrl(), false);
    records.txt(persistRecordName(name), theirRecord);

    const auto now = std::chrono::system_clock::now();
    CHECK((evaluatePersistRecords({theirRecord}, issuers, ours.client.accountUrl(), false, now)
               .outcome == PersistOutcome::WrongAccount));
    CHECK((checkPersistRecord(sandboxResolver(), name, issuers, ours.client.accountUrl(), now)
               .verdict.outcome == PersistOutcome::WrongAccount));

    const acme::Authorization refused = answered(ours.client, pending);
    CHECK((refused.status == acme::AuthorizationStatus::Invalid));
    INFO("error: " << refused.error);
    CHECK(refused.error.find("accounturi mismatch") != std::string::npos);

    // The same record is good for the account it names.
    const acme::Authorization theirsValid = answered(theirs.client, orderFor(theirs.client, name));
    INFO("their error: " << theirsValid.error);
    CHECK((theirsValid.status == acme::AuthorizationStatus::Valid));
    checkNoDns01(name);
}

TEST_CASE("dns-persist-01: a wildcard order needs policy=wildcard at its base name") {
    Account account;
    acme::Client& client = account.client;
    const std::string name = uniqueDomainName("persist-wild");
    const std::string wildcard = "*." + name;
    SandboxRecords records;

    const PersistAuthorization first = orderFor(client, wildcard);
    // Pebble: the identifier is the base name, marked wildcard (RFC 8555 §7.1.4).
    CHECK(first.authorization.identifier == name);
    CHECK(first.authorization.wildcard);
    const std::vector<std::string>& issuers = first.challenge.issuerDomainNames;
    REQUIRE_FALSE(issuers.empty());

    // Published for the name alone: not enough for the wildcard (draft §5).
    const std::string plain = formatPersistRecord(issuers.front(), client.accountUrl(), false);
    records.txt(persistRecordName(wildcard), plain);
    const auto now = std::chrono::system_clock::now();
    CHECK((checkPersistRecord(sandboxResolver(), wildcard, issuers, client.accountUrl(), now)
               .verdict.outcome == PersistOutcome::NeedsWildcardPolicy));
    const acme::Authorization refused = answered(client, first);
    CHECK((refused.status == acme::AuthorizationStatus::Invalid));
    INFO("error: " << refused.error);
    CHECK(refused.error.find("policy mismatch") != std::string::npos);

    // With policy=wildcard the next order for it validates.
    clearTxt(persistRecordName(wildcard));
    records.txt(persistRecordName(wildcard),
                formatPersistRecord(issuers.front(), client.accountUrl(), true));
    CHECK(checkPersistRecord(sandboxResolver(), wildcard, issuers, client.accountUrl(),
                             std::chrono::system_clock::now())
              .usable());
    const acme::Authorization valid = answered(client, orderFor(client, wildcard));
    INFO("error: " << valid.error);
    CHECK((valid.status == acme::AuthorizationStatus::Valid));
    checkNoDns01(name);
}

TEST_CASE(
    "dns-persist-01: an order's precheck and its authorization judge one answer of the record, "
    "so a SERVFAIL in between cannot turn a usable record into a refusal") {
    // The CAA precheck asks with the CA's caaIdentities, the authorization with its challenge's
    // issuer-domain-names, which may differ (here: one more). A second lookup of the record that
    // failed made the authorization's answer "not usable": with CAA allowing only
    // dns-persist-01, a caa_forbidden that is never retried.
    const std::string name = uniqueDomainName("persist-probe");
    const std::string account = "https://ca.test/acme/acct/1";
    SandboxRecords records;
    records.txt(persistRecordName(name),
                formatPersistRecord("pebble.letsencrypt.org", account, false));
    const DnsResolver resolver = sandboxResolver();
    PersistProbe probe(resolver, "probe-test", [] { return std::chrono::system_clock::now(); });
    REQUIRE(probe.checkBeforeOrder(name, {"pebble.letsencrypt.org"}, account).usable());

    SandboxRecords failing;
    failing.servfail(persistRecordName(name));
    REQUIRE((resolver.lookupTxt(DnsName(persistRecordName(name))).outcome ==
             LookupOutcome::ServFail));
    const PersistRecordUsable usable = probe.question();
    CHECK(usable(name, {"pebble.letsencrypt.org", "other-ca.test"}, account));
    // The wildcard's question reads the same record (draft section 5): not usable without
    // policy=wildcard, judged on that answer rather than on the failure.
    CHECK_FALSE(usable("*." + name, {"pebble.letsencrypt.org"}, account));
    REQUIRE(probe.checkJson());
    CHECK(probe.checkJson()->find("dns_servfail") == std::string::npos);
}

TEST_CASE(
    "dns-persist-01: the probe judges persistUntil by the clock it is given (the database's), "
    "read once, and only for a record that names persistUntil") {
    const std::string account = "https://ca.test/acme/acct/1";
    const std::vector<std::string> issuers = {"pebble.letsencrypt.org"};
    const auto hostNow = std::chrono::system_clock::now();
    // A database two hours behind this host (a host whose clock is two hours ahead).
    int reads = 0;
    const PersistClock twoHoursBehind = [&] {
        ++reads;
        return hostNow - 2h;
    };
    const std::string plain = uniqueDomainName("persist-clock-plain");
    const std::string timed = uniqueDomainName("persist-clock-timed");
    // Passed an hour ago by this host's clock, an hour ahead by the database's.
    const long long persistUntil =
        std::chrono::duration_cast<std::chrono::seconds>((hostNow - 1h).time_since_epoch())
            .count();
    SandboxRecords records;
    records.txt(persistRecordName(plain), formatPersistRecord(issuers.front(), account, false));
    records.txt(persistRecordName(timed), formatPersistRecord(issuers.front(), account, false) +
                                              "; persistUntil=" + std::to_string(persistUntil));
    const DnsResolver resolver = sandboxResolver();
    PersistProbe probe(resolver, "clock-test", twoHoursBehind);

    // No persistUntil: the time does not matter, no round trip for it.
    CHECK(probe.checkBeforeOrder(plain, issuers, account).usable());
    CHECK(reads == 0);
    const PersistCheck judged = probe.checkBeforeOrder(timed, issuers, account);
    INFO("verdict: " << whyNotUsable(judged));
    CHECK(judged.usable());
    // The authorization's question (other issuer names) is judged again, by the same reading.
    const PersistRecordUsable usable = probe.question();
    CHECK(usable(timed, {"pebble.letsencrypt.org", "other-ca.test"}, account));
    CHECK(reads == 1);
}
