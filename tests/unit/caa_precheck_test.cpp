// The CAA precheck where dns-persist-01 is one of the methods CAA lists (RFC 8657 §4), on the
// lookup tables checkCaaWith takes and hand-built authorizations, no CA and no DNS:
// - a lookup of the customer's _validation-persist record that fails (SERVFAIL, timeout) is
//   neither permission nor refusal: where CAA lists only dns-persist-01 the check is a failed
//   lookup (424 with Retry-After, a renewal retried), not 400 caa_forbidden;
// - an authorization offering none of the methods CAA allows (its dns-persist-01 challenge names
//   other issuer-domain-names than the caaIdentities the record was looked up with) is
//   caa_forbidden, not retried, and sends the order to the next CA: not a CA failure (ca_refused,
//   retried 16 times, each a new order).
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "acme/client.hpp"
#include "acme/problem.hpp"
#include "core/error.hpp"
#include "dns/caa_check.hpp"
#include "unit/caa_lookups.hpp"
#include "dns/persist_lookup.hpp"
#include "issuance/acme_account.hpp"
#include "issuance/ca_fallback.hpp"
#include "issuance/caa_precheck.hpp"

using namespace dnsh;
using dnsh::test::found;

namespace {

const std::string kAccount = "https://ca.example/acme/acct/42";
const CaaIssuer kIssuer{{"ca.example"}, kAccount};

CaaRecord caa(const std::string& tag, const std::string& value) {
    return CaaRecord{DnsName("example.com"), 0, tag, value};
}

// The precheck's question for `name`'s record, answered `outcome` (values: a usable record).
PersistCheck persistAnswered(const std::string& name, LookupOutcome outcome) {
    TxtLookup lookup;
    lookup.outcome = outcome;
    lookup.name = DnsName(persistRecordName(name));
    if (outcome == LookupOutcome::Found)
        lookup.values = {"ca.example; accounturi=" + kAccount};
    else
        lookup.detail = "192.0.2.53 answered " + std::string(toString(outcome));
    return persistCheckFrom(name, lookup, kIssuer.identities, kAccount,
                            std::chrono::system_clock::now());
}

// The check of `names` with each name's persist record answered `outcome`.
CaaCheck checkWithPersist(const std::vector<std::string>& names, LookupOutcome outcome,
                          const std::vector<CaaRecord>& records) {
    return checkCaaWith(
        names, kIssuer,
        [&](const std::string& name) { return ourCaaMethods(persistAnswered(name, outcome)); },
        found(records));
}

Poco::JSON::Object::Ptr parsed(const std::string& json) {
    return Poco::JSON::Parser().parse(json).extract<Poco::JSON::Object::Ptr>();
}

acme::Challenge challenge(const std::string& type, std::vector<std::string> issuers = {}) {
    acme::Challenge offered;
    offered.type = type;
    offered.url = "https://ca.example/chall/" + type;
    offered.token = "token-" + type;
    offered.issuerDomainNames = std::move(issuers);
    return offered;
}

acme::Authorization authorization(std::vector<acme::Challenge> challenges) {
    acme::Authorization pending;
    pending.url = "https://ca.example/authz/1";
    pending.status = acme::AuthorizationStatus::Pending;
    pending.identifier = "example.com";
    pending.challenges = std::move(challenges);
    return pending;
}

// The customer's record names "ca.example" (the CA's caaIdentities) and our account.
const PersistRecordUsable kRecordNamesCaExample =
    [](const std::string&, const std::vector<std::string>& issuers, const std::string& account) {
        return issuers == std::vector<std::string>{"ca.example"} && account == kAccount;
    };

}  // namespace

TEST_CASE("CAA precheck: our methods from the persist record check, a failed lookup unknown") {
    const CaaOurMethods usable =
        ourCaaMethods(persistAnswered("example.com", LookupOutcome::Found));
    CHECK(usable.known == CaaMethods{"dns-persist-01", "dns-01"});
    CHECK_FALSE(usable.unknown);
    // No record is an answer: dns-01 only, nothing unknown.
    const CaaOurMethods missing =
        ourCaaMethods(persistAnswered("example.com", LookupOutcome::NoRecords));
    CHECK(missing.known == CaaMethods{"dns-01"});
    CHECK_FALSE(missing.unknown);
    CHECK(ourCaaMethods(std::nullopt).known == CaaMethods{"dns-01"});

    const CaaOurMethods servfail =
        ourCaaMethods(persistAnswered("example.com", LookupOutcome::ServFail));
    CHECK(servfail.known == CaaMethods{"dns-01"});
    REQUIRE(servfail.unknown);
    CHECK(servfail.unknown->method == "dns-persist-01");
    CHECK((servfail.unknown->failure == FailureCode::DnsServfail));
    CHECK(servfail.unknown->detail.find("_validation-persist.example.com") != std::string::npos);
    const CaaOurMethods timeout =
        ourCaaMethods(persistAnswered("example.com", LookupOutcome::Timeout));
    REQUIRE(timeout.unknown);
    CHECK((timeout.unknown->failure == FailureCode::DnsTimeout));
}

TEST_CASE(
    "CAA precheck: validationmethods=dns-persist-01 and a persist record lookup that fails is a "
    "failed lookup, 424 with Retry-After, not 400 caa_forbidden") {
    const std::vector<CaaRecord> persistOnly = {
        caa("issue", "ca.example; validationmethods=dns-persist-01")};
    const CaaCheck check = checkWithPersist({"example.com"}, LookupOutcome::ServFail, persistOnly);
    INFO("description: " << check.description);
    CHECK((check.result == CaaResult::LookupFailed));
    CHECK_FALSE(check.passed());
    CHECK((check.failureCode() == FailureCode::DnsServfail));
    CHECK(check.suggestedRecords.empty());
    REQUIRE(check.names.size() == 1);
    CHECK(check.names[0].failed());
    CHECK(check.names[0].suggestedRecord.empty());
    CHECK_FALSE(check.allowsMethod("example.com", "dns-01"));
    CHECK_FALSE(check.allowsMethod("example.com", "dns-persist-01"));
    CHECK(check.description.find("the dns-persist-01 lookup for example.com failed") !=
          std::string::npos);
    CHECK(check.description.find("CAA is checked again before the order") != std::string::npos);

    // What issue-certificate answers: 424 dns_servfail with Retry-After, as for a failed CAA
    // lookup; the check as "caa".
    const Error refusal = caaRefusal(check, caaCheckJson(check));
    CHECK((refusal.code() == ErrorCode::FailedDependency));
    CHECK(refusal.errorCode() == "dns_servfail");
    REQUIRE(refusal.retryAfter());
    CHECK(*refusal.retryAfter() == kCaaLookupRetryAfter);
    CHECK(refusal.detailKey() == "caa");
    const auto json = parsed(caaCheckJson(check));
    CHECK(json->getValue<std::string>("result") == "dns_servfail");
    const auto name = json->getArray("names")->getObject(0);
    CHECK(name->getValue<std::string>("result") == "dns_servfail");
    CHECK_FALSE(name->has("validation_methods"));
    CHECK_FALSE(name->has("suggested_record"));
    CHECK(name->getValue<std::string>("reason").find("dns-persist-01 lookup failed") !=
          std::string::npos);

    const CaaCheck timedOut =
        checkWithPersist({"example.com"}, LookupOutcome::Timeout, persistOnly);
    CHECK((timedOut.result == CaaResult::LookupFailed));
    CHECK((timedOut.failureCode() == FailureCode::DnsTimeout));
    CHECK(caaRefusal(timedOut, caaCheckJson(timedOut)).errorCode() == "dns_timeout");
}

TEST_CASE(
    "CAA precheck: a failed persist record lookup changes nothing where CAA allows dns-01 or "
    "forbids anyway") {
    // No validationmethods: dns-01 is allowed, the order goes on with it.
    const CaaCheck plain =
        checkWithPersist({"example.com"}, LookupOutcome::ServFail, {caa("issue", "ca.example")});
    CHECK((plain.result == CaaResult::Allowed));
    CHECK(plain.allowsMethod("example.com", "dns-01"));
    CHECK_FALSE(plain.allowsMethod("example.com", "dns-persist-01"));

    // A record for another account: forbidden whatever the persist record says.
    const CaaCheck otherAccount = checkWithPersist(
        {"example.com"}, LookupOutcome::ServFail,
        {caa("issue", "ca.example; accounturi=https://ca.example/acme/acct/7; "
                      "validationmethods=dns-persist-01")});
    CHECK((otherAccount.result == CaaResult::Forbidden));
    CHECK_FALSE(otherAccount.names[0].undecided);
    CHECK(caaRefusal(otherAccount, caaCheckJson(otherAccount)).errorCode() == "caa_forbidden");

    // validationmethods=http-01: the record allows neither of ours, looked up or not.
    const CaaCheck http = checkWithPersist({"example.com"}, LookupOutcome::ServFail,
                                           {caa("issue", "ca.example; validationmethods=http-01")});
    CHECK((http.result == CaaResult::Forbidden));

    // The record absent is an answer: caa_forbidden with the record to amend, as before.
    const CaaCheck missing =
        checkWithPersist({"example.com"}, LookupOutcome::NoRecords,
                         {caa("issue", "ca.example; validationmethods=dns-persist-01")});
    CHECK((missing.result == CaaResult::Forbidden));
    CHECK_FALSE(missing.suggestedRecords.empty());
    CHECK((caaRefusal(missing, caaCheckJson(missing)).code() == ErrorCode::BadRequest));

    // A refusal wins over a failed lookup: the wildcard refused by issuewild, its base name
    // undecided.
    const CaaCheck wildcard = checkWithPersist(
        {"*.example.com", "example.com"}, LookupOutcome::ServFail,
        {caa("issue", "ca.example; validationmethods=dns-persist-01"),
         caa("issuewild", "other-ca.example")});
    CHECK((wildcard.result == CaaResult::Forbidden));
    REQUIRE(wildcard.names.size() == 2);
    CHECK_FALSE(wildcard.names[0].undecided);
    CHECK(wildcard.names[1].undecided);
    CHECK((wildcard.failureCode() == FailureCode::CaaForbidden));
}

TEST_CASE(
    "CAA and the authorization: dns-persist-01 allowed only, a challenge naming other "
    "issuer-domain-names is caa_forbidden, not retried, the next CA tried") {
    const CaaCheck check = checkCaaWith(
        {"example.com"}, kIssuer,
        [](const std::string&) { return CaaMethods{"dns-persist-01", "dns-01"}; },
        found({caa("issue", "ca.example; validationmethods=dns-persist-01")}));
    REQUIRE((check.result == CaaResult::Allowed));

    // The challenge names the CA's caaIdentities: the record answers it.
    const acme::Authorization same = authorization(
        {challenge("dns-01"), challenge("dns-persist-01", {"ca.example"})});
    CHECK(chooseChallenge(same, "example.com", kAccount, kRecordNamesCaExample, check).type ==
          "dns-persist-01");

    const acme::Authorization other = authorization(
        {challenge("dns-01"), challenge("dns-persist-01", {"other-issuer.example"})});
    try {
        chooseChallenge(other, "example.com", kAccount, kRecordNamesCaExample, check);
        FAIL("an authorization CAA leaves no method for was answered");
    } catch (const acme::AcmeError& e) {
        CHECK(refusedByCaa(e));
        CHECK((failureCodeOf(e) == FailureCode::CaaForbidden));
        CHECK_FALSE(e.retryable());
        CHECK(passOverReason(e).has_value());
        CHECK(e.problem().detail.find("example.com with dns-persist-01 only") !=
              std::string::npos);
        CHECK(e.problem().detail.find("other-issuer.example") != std::string::npos);
        CHECK(e.problem().detail.find("add dns-01 to the validationmethods") !=
              std::string::npos);

        // As placeOrder throws it, the order abandoned: still caa_forbidden and not retried
        // (the order runner's verdict), and the fallback records it as CAA's refusal.
        const OrderAbandonedError abandoned(e, "https://ca.example/order/1",
                                            {{"https://ca.example/authz/1", "example.com"}});
        CHECK(refusedByCaa(abandoned));
        CHECK((failureCodeOf(abandoned) == FailureCode::CaaForbidden));
        CHECK_FALSE(abandoned.retryable());
        CHECK(passOverReason(abandoned).has_value());
        CaPlacement placement;
        placement.passedOver.push_back({"https://ca.example/dir", failureCodeOf(abandoned),
                                        abandoned.problem().detail, std::nullopt});
        CHECK(placement.forbiddenByCaa());
    }

    // No dns-persist-01 challenge at all: the same refusal, saying so.
    try {
        chooseChallenge(authorization({challenge("dns-01")}), "example.com", kAccount,
                        kRecordNamesCaExample, check);
        FAIL("an authorization without dns-persist-01 was answered");
    } catch (const acme::AcmeError& e) {
        CHECK((failureCodeOf(e) == FailureCode::CaaForbidden));
        CHECK(e.problem().detail.find("offers no dns-persist-01 challenge") != std::string::npos);
    }

    // Where CAA allows dns-01, the same authorization is answered with it; a CA offering no
    // dns-01 challenge then is the CA's failure, as before (ca_refused, retried).
    const CaaCheck plain = checkCaaWith(
        {"example.com"}, kIssuer,
        [](const std::string&) { return CaaMethods{"dns-persist-01", "dns-01"}; },
        found({caa("issue", "ca.example")}));
    CHECK(chooseChallenge(other, "example.com", kAccount, kRecordNamesCaExample, plain).type ==
          "dns-01");
    try {
        chooseChallenge(authorization({challenge("dns-persist-01", {"other-issuer.example"})}),
                        "example.com", kAccount, kRecordNamesCaExample, plain);
        FAIL("an authorization without dns-01 was answered");
    } catch (const acme::AcmeError& e) {
        CHECK_FALSE(refusedByCaa(e));
        CHECK((failureCodeOf(e) == FailureCode::CaRefused));
        CHECK(e.retryable());
    }
}

TEST_CASE("CAA precheck: persistUsableForEveryName, which sends an order to a later CA where the "
          "customer's record is usable (README dns-persist-01)") {
    // No CAA records: every method of ours allowed.
    CHECK(persistUsableForEveryName(checkWithPersist({"example.com"}, LookupOutcome::Found, {})));
    // No record at the names: the order would need dns-01.
    CHECK_FALSE(persistUsableForEveryName(
        checkWithPersist({"example.com"}, LookupOutcome::NoRecords, {})));
    // CAA keeps the name on dns-01 (RFC 8657 section 4): usable, not allowed.
    CHECK_FALSE(persistUsableForEveryName(checkWithPersist(
        {"example.com"}, LookupOutcome::Found,
        {caa("issue", "ca.example; validationmethods=dns-01")})));
    // One name of two without a usable record (the wildcard's: none there).
    const CaaCheck mixed = checkCaaWith(
        {"example.com", "*.example.com"}, kIssuer,
        [](const std::string& name) {
            return ourCaaMethods(persistAnswered(
                name, name == "example.com" ? LookupOutcome::Found : LookupOutcome::NoRecords));
        },
        found({}));
    CHECK_FALSE(persistUsableForEveryName(mixed));
    // A CA that lists no caaIdentities: nothing checked, nothing known of the record.
    const CaaCheck skipped = checkCaaWith(
        {"example.com"}, CaaIssuer{{}, kAccount},
        [](const std::string& name) {
            return ourCaaMethods(persistAnswered(name, LookupOutcome::Found));
        },
        found({}));
    CHECK((skipped.result == CaaResult::Skipped));
    CHECK_FALSE(persistUsableForEveryName(skipped));
}
