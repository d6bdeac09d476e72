// dns-persist-01 records (draft-ietf-acme-dns-persist-00 §4) judged as Pebble v2.10.3 judges
// them, the value we tell a customer to publish, and the bounded check JSON.
#include "dns/persist_record.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "dns/persist_lookup.hpp"
#include "dns/txt_check.hpp"

using namespace dnsh;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string> kIssuers{"pebble.letsencrypt.org"};
const std::string kAccount = "https://127.0.0.1:14000/my-account/1";
// 2026-01-01T00:00:00Z
const std::chrono::system_clock::time_point kNow{std::chrono::seconds(1767225600)};

PersistOutcome outcomeOf(const std::vector<std::string>& values, bool wildcard = false,
                         std::chrono::system_clock::time_point now = kNow) {
    return evaluatePersistRecords(values, kIssuers, kAccount, wildcard, now).outcome;
}

bool printable(const std::string& text) {
    for (const char c : text)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
            return false;
    return true;
}

}  // namespace

TEST_CASE("persist record: the value to publish is what the CA accepts for our account") {
    CHECK(formatPersistRecord("pebble.letsencrypt.org", kAccount, false) ==
          "pebble.letsencrypt.org; accounturi=" + kAccount);
    CHECK(formatPersistRecord("pebble.letsencrypt.org", kAccount, true) ==
          "pebble.letsencrypt.org; accounturi=" + kAccount + "; policy=wildcard");
    for (const bool wildcard : {false, true}) {
        CAPTURE(wildcard);
        const PersistVerdict verdict =
            evaluatePersistRecords({formatPersistRecord(kIssuers[0], kAccount, wildcard)}, kIssuers,
                                   kAccount, wildcard, kNow);
        CHECK((verdict.outcome == PersistOutcome::Usable));
        CHECK_FALSE(verdict.persistUntil);
    }
    CHECK(persistRecordName("shop.example.com") == "_validation-persist.shop.example.com");
    CHECK(persistRecordName("*.shop.example.com") == "_validation-persist.shop.example.com");
}

TEST_CASE("persist record: the draft's own examples (section 10) and its split strings") {
    const std::vector<std::string> issuers{"authority.example", "ca.example.net"};
    const std::string account = "https://ca.example/acct/123";
    const auto outcome = [&](const std::string& value, bool wildcard) {
        return evaluatePersistRecords({value}, issuers, account, wildcard, kNow).outcome;
    };
    // The resolver joins a record's strings: ("authority.example;" " accounturi=...").
    CHECK((outcome("authority.example; accounturi=https://ca.example/acct/123", false) ==
           PersistOutcome::Usable));
    CHECK((outcome("ca.example.net; accounturi=https://ca.example/acct/123", false) ==
           PersistOutcome::Usable));
    CHECK((outcome("authority.example; accounturi=https://ca.example/acct/123; policy=wildcard",
                   true) == PersistOutcome::Usable));
    // §10.3: persistUntil=1721952000 (2024-07-26) has passed at kNow.
    CHECK((outcome("authority.example; accounturi=https://ca.example/acct/123; "
                   "persistUntil=1721952000",
                   false) == PersistOutcome::Expired));
}

TEST_CASE(
    "persist record: whitespace, tag case and unknown tags as RFC 8659 section 4.2 has them") {
    CHECK((outcomeOf({" \tpebble.letsencrypt.org\t;\taccounturi = " + kAccount +
                      " ;  "
                      "policy = wildcard "},
                     true) == PersistOutcome::Usable));
    CHECK((outcomeOf({"pebble.letsencrypt.org;AccountURI=" + kAccount + ";POLICY=WildCard"},
                     true) == PersistOutcome::Usable));
    CHECK((outcomeOf({"pebble.letsencrypt.org; accounturi=" + kAccount + "; future-tag=x"}) ==
           PersistOutcome::Usable));
    // policy=wildcard on a plain name: allowed (it widens, it does not restrict).
    CHECK((outcomeOf({"pebble.letsencrypt.org; accounturi=" + kAccount + "; policy=wildcard"}) ==
           PersistOutcome::Usable));
}

TEST_CASE("persist record: another CA's record or none is missing") {
    CHECK((outcomeOf({}) == PersistOutcome::Missing));
    CHECK((outcomeOf({"other-ca.example; accounturi=" + kAccount}) == PersistOutcome::Missing));
    CHECK((outcomeOf({"some unrelated TXT value", ""}) == PersistOutcome::Missing));
    CHECK((outcomeOf({"pebble.letsencrypt.org.example; accounturi=" + kAccount}) ==
           PersistOutcome::Missing));
    // No issuer names from the CA: nothing can be for it.
    CHECK((evaluatePersistRecords({formatPersistRecord(kIssuers[0], kAccount, false)}, {}, kAccount,
                                  false, kNow)
               .outcome == PersistOutcome::Missing));
}

TEST_CASE("persist record: the issuer is compared byte for byte (sections 3.1 and 7.6)") {
    // Pebble compares exactly: another case or a trailing dot is refused, and the check says how
    // to write it rather than that nothing is there.
    for (const std::string issuer : {"Pebble.LetsEncrypt.org", "pebble.letsencrypt.org."}) {
        CAPTURE(issuer);
        const PersistVerdict verdict = evaluatePersistRecords({issuer + "; accounturi=" + kAccount},
                                                              kIssuers, kAccount, false, kNow);
        CHECK((verdict.outcome == PersistOutcome::Malformed));
        CHECK(verdict.detail.find("\"pebble.letsencrypt.org\"") != std::string::npos);
    }
}

TEST_CASE("persist record: accounturi must be ours exactly") {
    const PersistVerdict verdict = evaluatePersistRecords(
        {"pebble.letsencrypt.org; accounturi=https://127.0.0.1:14000/my-account/2"}, kIssuers,
        kAccount, false, kNow);
    CHECK((verdict.outcome == PersistOutcome::WrongAccount));
    CHECK(verdict.detail.find("/my-account/2") != std::string::npos);
    CHECK((outcomeOf({"pebble.letsencrypt.org; accounturi=" + kAccount + "0"}) ==
           PersistOutcome::WrongAccount));
    CHECK((outcomeOf({"pebble.letsencrypt.org; accounturi=HTTPS://127.0.0.1:14000/my-account/1"}) ==
           PersistOutcome::WrongAccount));
}

TEST_CASE("persist record: a wildcard needs policy=wildcard, any other value counts as none") {
    CHECK((outcomeOf({"pebble.letsencrypt.org; accounturi=" + kAccount}, true) ==
           PersistOutcome::NeedsWildcardPolicy));
    CHECK((outcomeOf({"pebble.letsencrypt.org; accounturi=" + kAccount + "; policy=subdomains"},
                     true) == PersistOutcome::NeedsWildcardPolicy));
    CHECK((outcomeOf({"pebble.letsencrypt.org; accounturi=" + kAccount + "; policy="}, true) ==
           PersistOutcome::NeedsWildcardPolicy));
}

TEST_CASE("persist record: persistUntil in UNIX seconds, refused once it has passed") {
    const auto record = [](const std::string& until) {
        return "pebble.letsencrypt.org; accounturi=" + kAccount + "; persistUntil=" + until;
    };
    const PersistVerdict future =
        evaluatePersistRecords({record("1767225601")}, kIssuers, kAccount, false, kNow);
    CHECK((future.outcome == PersistOutcome::Usable));
    CHECK(future.persistUntil == 1767225601);
    // The CA's "after": the very second is still allowed, any moment past it is not.
    CHECK((outcomeOf({record("1767225600")}) == PersistOutcome::Usable));
    CHECK((outcomeOf({record("1767225600")}, false, kNow + 500ms) == PersistOutcome::Expired));
    CHECK((outcomeOf({record("1767225599")}) == PersistOutcome::Expired));
    CHECK((outcomeOf({record("-5")}) == PersistOutcome::Expired));
    CHECK((outcomeOf({record("+1767225601")}) == PersistOutcome::Usable));
    // Far off: no overflow of the clock's nanoseconds.
    CHECK((outcomeOf({record("9223372036854775807")}) == PersistOutcome::Usable));
    CHECK((outcomeOf({record("9223372036854775808")}) == PersistOutcome::Malformed));
    for (const std::string bad : {"", "2027-01-01T00:00:00Z", "1.5", "+-5", "0x10", "12a"}) {
        CAPTURE(bad);
        CHECK((outcomeOf({record(bad)}) == PersistOutcome::Malformed));
    }
}

TEST_CASE("persist record: what the CA rejects as malformed (section 9.2.1)") {
    const std::string ours = "pebble.letsencrypt.org; accounturi=" + kAccount;
    const std::vector<std::string> malformed{
        "pebble.letsencrypt.org",                                       // no accounturi
        "pebble.letsencrypt.org; policy=wildcard",                      // no accounturi
        "pebble.letsencrypt.org; accounturi=",                          // empty accounturi
        ours + ";",                                                     // trailing ';'
        "pebble.letsencrypt.org;; accounturi=" + kAccount,              // empty parameter
        ours + "; wildcard",                                            // not tag=value
        ours + "; =x",                                                  // no tag
        ours + "; AccountUri=" + kAccount,                              // a tag twice (any case)
        "pebble.letsencrypt.org; accounturi=" + kAccount + " x",        // a space in a value
        "pebble.letsencrypt.org; accounturi=" + kAccount + "\x01",      // a control byte
        "pebble.letsencrypt.org; accounturi=" + kAccount + "\xc3\xa9",  // 8-bit bytes
        ours + "; note=a\tb",                                           // even in an unknown tag
    };
    for (const auto& value : malformed) {
        CAPTURE(value);
        const PersistVerdict verdict =
            evaluatePersistRecords({value}, kIssuers, kAccount, false, kNow);
        CHECK((verdict.outcome == PersistOutcome::Malformed));
        CHECK(printable(verdict.detail));
    }
}

TEST_CASE("persist record: among several records the usable one wins, then the CA's order") {
    const std::string usable = formatPersistRecord(kIssuers[0], kAccount, false);
    const std::string otherAccount = "pebble.letsencrypt.org; accounturi=https://x.test/acct/9";
    const std::string malformed = "pebble.letsencrypt.org; accounturi=";
    const std::string expired = usable + "; persistUntil=1";
    const std::string otherCa = "other-ca.example; accounturi=" + kAccount;
    CHECK((outcomeOf({otherAccount, malformed, usable}) == PersistOutcome::Usable));
    CHECK((outcomeOf({otherAccount, malformed}) == PersistOutcome::Malformed));
    CHECK((outcomeOf({otherAccount, expired}) == PersistOutcome::Expired));
    CHECK((outcomeOf({expired, otherAccount}) == PersistOutcome::Expired));
    CHECK((outcomeOf({otherCa, otherAccount}) == PersistOutcome::WrongAccount));
    // Several issuer names: a record naming any one of them counts.
    CHECK((evaluatePersistRecords({"second.example; accounturi=" + kAccount},
                                  {"first.example", "second.example"}, kAccount, false, kNow)
               .outcome == PersistOutcome::Usable));
}

TEST_CASE("persist record: the detail quotes the customer's bytes escaped and bounded") {
    const std::string hostile = std::string(5000, 'A') + "\x1b[31m\n";
    const std::vector<std::string> values{
        "pebble.letsencrypt.org; accounturi=" + hostile,  // a wrong account, huge
        "pebble.letsencrypt.org; accounturi=" + kAccount + "; " + hostile + "=1",
        "PEBBLE.letsencrypt.org" + std::string(3000, '.') + "; accounturi=x",
    };
    for (const auto& value : values) {
        const PersistVerdict verdict =
            evaluatePersistRecords({value}, kIssuers, std::string(3000, 'u'), false, kNow);
        CAPTURE(verdict.detail);
        CHECK(verdict.detail.size() <= kMaxPersistDetailBytes);
        CHECK(printable(verdict.detail));
    }
}

TEST_CASE("persist record: outcome names are snake_case and round-trip") {
    const std::vector<std::pair<PersistOutcome, std::string>> names{
        {PersistOutcome::Usable, "usable"},
        {PersistOutcome::Missing, "missing"},
        {PersistOutcome::WrongAccount, "wrong_account"},
        {PersistOutcome::NeedsWildcardPolicy, "needs_wildcard_policy"},
        {PersistOutcome::Expired, "expired"},
        {PersistOutcome::Malformed, "malformed"},
    };
    for (const auto& [outcome, name] : names) {
        CHECK(toString(outcome) == name);
        CHECK((kPersistOutcomeNames.parse(name) == outcome));
    }
}

TEST_CASE("persist check JSON: outcome, found values capped and escaped, what to publish") {
    TxtLookup lookup;
    lookup.outcome = LookupOutcome::Found;
    lookup.name = DnsName("_validation-persist.shop.example.com");
    for (int i = 0; i < 200; ++i) lookup.values.push_back(std::string(251, '\x07'));
    lookup.values.push_back("pebble.letsencrypt.org; accounturi=https://x.test/acct/9");
    const PersistCheck check =
        persistCheckFrom("*.shop.example.com", lookup, kIssuers, kAccount, kNow);
    CHECK(check.recordName == "_validation-persist.shop.example.com");
    CHECK((check.verdict.outcome == PersistOutcome::WrongAccount));
    const std::string text = persistCheckJson(check);
    CHECK(text.size() <= kMaxCheckJsonBytes);
    const auto json = Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
    CHECK(json->getValue<std::string>("name") == "*.shop.example.com");
    CHECK(json->getValue<std::string>("record_name") == "_validation-persist.shop.example.com");
    CHECK(json->getValue<std::string>("outcome") == "wrong_account");
    CHECK(json->getArray("found")->size() == kMaxSeenValues);
    for (std::size_t i = 0; i < json->getArray("found")->size(); ++i)
        CHECK(json->getArray("found")->getElement<std::string>(i).find('\x07') ==
              std::string::npos);
    CHECK(json->getValue<bool>("found_truncated"));
    CHECK(json->getValue<int>("found_total") == 201);
    CHECK(json->getValue<std::string>("suggested_value") ==
          formatPersistRecord(kIssuers[0], kAccount, true));

    TxtLookup failed;
    failed.outcome = LookupOutcome::Timeout;
    failed.detail = "127.0.0.1:53 did not answer";
    const PersistCheck timedOut =
        persistCheckFrom("shop.example.com", failed, kIssuers, kAccount, kNow);
    CHECK_FALSE(timedOut.usable());
    const auto failedJson =
        Poco::JSON::Parser().parse(persistCheckJson(timedOut)).extract<Poco::JSON::Object::Ptr>();
    CHECK(failedJson->getValue<std::string>("outcome") == "dns_timeout");

    TxtLookup usable;
    usable.outcome = LookupOutcome::Found;
    usable.values = {formatPersistRecord(kIssuers[0], kAccount, false) +
                     "; persistUntil=1798761600"};
    const PersistCheck good =
        persistCheckFrom("shop.example.com", usable, kIssuers, kAccount, kNow);
    CHECK(good.usable());
    const auto goodJson =
        Poco::JSON::Parser().parse(persistCheckJson(good)).extract<Poco::JSON::Object::Ptr>();
    CHECK(goodJson->getValue<std::string>("outcome") == "usable");
    CHECK(goodJson->getValue<std::string>("persist_until") == "2027-01-01T00:00:00Z");
    CHECK_FALSE(goodJson->has("suggested_value"));

    // A persistUntil past what a date-time can show (year 9999; past 9.2e12 the microseconds
    // overflow, and it showed as 1969-12-31T23:59:59Z): shown as the last second of year 9999.
    TxtLookup farOff = usable;
    farOff.values = {formatPersistRecord(kIssuers[0], kAccount, false) +
                     "; persistUntil=9300000000000"};
    const PersistCheck forever =
        persistCheckFrom("shop.example.com", farOff, kIssuers, kAccount, kNow);
    REQUIRE(forever.usable());
    const auto foreverJson =
        Poco::JSON::Parser().parse(persistCheckJson(forever)).extract<Poco::JSON::Object::Ptr>();
    CHECK(foreverJson->getValue<std::string>("persist_until") == "9999-12-31T23:59:59Z");

    TxtLookup nothing;
    nothing.outcome = LookupOutcome::NxDomain;
    CHECK(
        (persistCheckFrom("shop.example.com", nothing, kIssuers, kAccount, kNow).verdict.outcome ==
         PersistOutcome::Missing));
}
