// dns-persist-01 records (draft-ietf-acme-dns-persist-00 §4) judged as the draft has the CA judge
// them (Let's Encrypt's Boulder alike), the value we tell a customer to publish, and the bounded
// check JSON.
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
    // §4 item 1: "the server MUST ignore any parameter within the issue-value that has an
    // unrecognized tag", so one given twice (in any case) too, as Boulder does. Before: malformed
    // ("repeats \"x\""), and the order fell back to dns-01.
    for (const std::string unknown : {"; x=1; x=2", "; X=1; x=1", "; x=1; policy=wildcard; x=",
                                      "; future-tag=a; Future-Tag=b; future-tag=c"}) {
        CAPTURE(unknown);
        CHECK((outcomeOf({"pebble.letsencrypt.org; accounturi=" + kAccount + unknown}) ==
               PersistOutcome::Usable));
    }
    CHECK((outcomeOf({"pebble.letsencrypt.org; x=1; accounturi=" + kAccount + "; x=2"}) ==
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

TEST_CASE("persist record: the issuer is compared normalised (sections 3.1 and 4)") {
    // §4: "When comparing issuer domain names, the server MUST adhere to the normalization
    // rules" (lowercase, A-labels, no trailing dot), as Boulder does. Before: both were
    // malformed, "must be written \"pebble.letsencrypt.org\"", and the order fell back to dns-01
    // (with CAA validationmethods=dns-persist-01 only: 400 caa_forbidden).
    for (const std::string issuer : {"Pebble.LetsEncrypt.org", "pebble.letsencrypt.org.",
                                     "PEBBLE.LETSENCRYPT.ORG.", " pebble.LetsEncrypt.org. "}) {
        CAPTURE(issuer);
        const PersistVerdict verdict = evaluatePersistRecords({issuer + "; accounturi=" + kAccount},
                                                              kIssuers, kAccount, false, kNow);
        CHECK((verdict.outcome == PersistOutcome::Usable));
        CHECK(printable(verdict.detail));
    }
    // An internationalised issuer: its U-label in any case is its A-label (UTS #46, NFC).
    const std::vector<std::string> idnIssuers{"xn--bcher-kva.example"};
    for (const std::string issuer :
         {"b\xc3\xbc" "cher.example", "B\xc3\x9c" "CHER.example.", "XN--BCHER-KVA.example"}) {
        CAPTURE(issuer);
        CHECK((evaluatePersistRecords({issuer + "; accounturi=" + kAccount}, idnIssuers, kAccount,
                                      false, kNow)
                   .outcome == PersistOutcome::Usable));
    }
    // Normalised, still another name: for another CA, ignored.
    const std::vector<std::string> others{
        "pebble.letsencrypt.org..", ".pebble.letsencrypt.org", "pebble.letsencrypt.org.example.",
        "pebble letsencrypt.org", std::string(2000, 'a') + ".pebble.letsencrypt.org"};
    for (const auto& issuer : others) {
        CAPTURE(issuer);
        CHECK((outcomeOf({issuer + "; accounturi=" + kAccount}) == PersistOutcome::Missing));
    }
    // The CA's names are normalised too (§3.1 says it sends them so; one that does not still
    // matches its records).
    CHECK((evaluatePersistRecords({"pebble.letsencrypt.org; accounturi=" + kAccount},
                                  {"Pebble.LetsEncrypt.org."}, kAccount, false, kNow)
               .outcome == PersistOutcome::Usable));
    // A malformed record for the CA is judged once its issuer matches, whatever its spelling.
    CHECK((outcomeOf({"PEBBLE.letsencrypt.org.; accounturi="}) == PersistOutcome::Malformed));
}

TEST_CASE("persist record: issuer domain names normalised as section 9.1.1 has it") {
    CHECK(normalizeIssuerDomainName("LetsEncrypt.org") == "letsencrypt.org");
    CHECK(normalizeIssuerDomainName("letsencrypt.org.") == "letsencrypt.org");
    CHECK(normalizeIssuerDomainName("EXAMPLE.com.") == "example.com");
    CHECK(normalizeIssuerDomainName("b\xc3\xbc" "cher.example.") == "xn--bcher-kva.example");
    // An ideographic full stop (U+3002) ends the name as a dot would.
    CHECK(normalizeIssuerDomainName("b\xc3\xbc" "cher.example\xe3\x80\x82") ==
          "xn--bcher-kva.example");
    CHECK(normalizeIssuerDomainName("letsencrypt.org..") == "letsencrypt.org.");
    CHECK_FALSE(normalizeIssuerDomainName(""));
    CHECK_FALSE(normalizeIssuerDomainName("."));
    CHECK_FALSE(normalizeIssuerDomainName(std::string("letsencrypt\0.org", 16)));
    CHECK_FALSE(normalizeIssuerDomainName("\xff\xfe.example"));  // not UTF-8: IDNA refuses it
    // At most 253 octets (§3.1).
    const std::string labels = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                               std::string(63, 'c') + ".";
    CHECK(normalizeIssuerDomainName(labels + std::string(61, 'd') + ".") ==
          labels + std::string(61, 'd'));
    CHECK_FALSE(normalizeIssuerDomainName(labels + std::string(62, 'd')));
    CHECK_FALSE(normalizeIssuerDomainName(std::string(1025, 'a')));
    // What a customer is told to publish names the issuer in that form.
    CHECK(formatPersistRecord("Pebble.LetsEncrypt.org.", kAccount, false) ==
          "pebble.letsencrypt.org; accounturi=" + kAccount);
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
        ours + "; x=1; accounturi=" + kAccount,                         // known, unknown between
        ours + "; policy=wildcard; POLICY=wildcard",                    // policy twice
        ours + "; persistUntil=1798761600; persistuntil=1798761600",    // persistUntil twice
        "pebble.letsencrypt.org; accounturi=" + kAccount + " x",        // a space in a value
        "pebble.letsencrypt.org; accounturi=" + kAccount + "\x01",      // a control byte
        "pebble.letsencrypt.org; accounturi=" + kAccount + "\xc3\xa9",  // 8-bit bytes
        ours + "; note=a\tb",                                           // even in an unknown tag
        ours + "; x=1; x=a b",                                          // (repeated or not)
        ours + "; x",                                                   // unknown, not tag=value
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

TEST_CASE("persist record: a record of many unknown parameters is judged without keeping them") {
    // Ignored, so nothing of them is kept or shown: the verdict is our record's.
    std::string record = "pebble.letsencrypt.org; accounturi=" + kAccount;
    for (int i = 0; i < 5000; ++i) record += "; x=" + std::to_string(i);
    const PersistVerdict usable = evaluatePersistRecords({record}, kIssuers, kAccount, false, kNow);
    CHECK((usable.outcome == PersistOutcome::Usable));
    CHECK(usable.detail.size() <= kMaxPersistDetailBytes);
    const PersistVerdict other = evaluatePersistRecords({record}, kIssuers, "x", false, kNow);
    CHECK((other.outcome == PersistOutcome::WrongAccount));
    CHECK(other.detail.size() <= kMaxPersistDetailBytes);
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
    // Stored with checked_at appended (domain/check_times.hpp).
    CHECK(text.size() + kCheckTimesBytes <= kMaxCheckJsonBytes);
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
