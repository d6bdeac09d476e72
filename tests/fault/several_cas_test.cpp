// Several CAs (issue 21, README "Several CAs"): the test stack's Pebble is the first CA and a
// second Pebble that requires External Account Binding (RFC 8555 §7.3.4; deploy/lib/stack.sh,
// "pebble-eab", its key in DNSH_TEST_EAB_*) the fallback, both named in an ACME_CAS_FILE that a
// lighttpd and a scheduler of the case's own read. The first CA is stopped for real.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <string>

#include "support/api_server.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/pebble.hpp"
#include "support/sandbox_dns.hpp"
#include "support/scheduler_process.hpp"
#include "support/service_control.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

namespace {

std::string primaryCa() { return requireEnv("ACME_DIRECTORY"); }
std::string fallbackCa() { return requireEnv("ACME_DIRECTORY_EAB"); }

// The CA file: "primary" (the stack's Pebble) then "fallback" (the EAB one), with `hmacKey` as
// the fallback's EAB key.
std::string caFile(const TempDir& dir, const std::string& hmacKey) {
    return dir.write("cas.env",
                     "# written by several_cas_test\n"
                     "ACME_CAS=primary,fallback\n"
                     "ACME_CA_PRIMARY_DIRECTORY=" + primaryCa() + "\n"
                     "ACME_CA_PRIMARY_CA_BUNDLE=" + requireEnv("ACME_CA_BUNDLE") + "\n"
                     "ACME_CA_PRIMARY_PROFILE=default\n"
                     "ACME_CA_FALLBACK_DIRECTORY=" + fallbackCa() + "\n"
                     "ACME_CA_FALLBACK_CA_BUNDLE=" + requireEnv("ACME_CA_BUNDLE") + "\n"
                     "ACME_CA_FALLBACK_PROFILE=default\n"
                     "ACME_CA_FALLBACK_EAB_KID=" + requireEnv("DNSH_TEST_EAB_KID") + "\n"
                     "ACME_CA_FALLBACK_EAB_HMAC_KEY=\"" + hmacKey + "\"\n");
}

// What the case's own lighttpd and scheduler run with: the CA file instead of ACME_DIRECTORY.
Env severalCas(const std::string& file) {
    return {{"ACME_DIRECTORY", ""}, {"ACME_PROFILE", ""}, {"ACME_CAS_FILE", file}};
}

HttpResult issueAt(const ApiServer& api, const TestDomain& domain) {
    HttpRequest request;
    request.method = "POST";
    request.path = "/domains/" + domain.id + "/issue-certificate";
    return send(api.baseUrl(), request);
}

std::string issuedAt(const ApiServer& api, const TestDomain& domain) {
    const HttpResult started = issueAt(api, domain);
    REQUIRE_MESSAGE(started.status == 202, domain.name << ": " << started.body);
    return started.jsonString("expected_txt_value");
}

// The domain view's certificate.ca ("" without one).
std::string certificateCa(const TestDomain& domain) {
    const HttpResult view = get("/domains/" + domain.id);
    REQUIRE_MESSAGE(view.status == 200, view.body);
    const auto certificate = view.json()->getObject("certificate");
    return certificate ? certificate->optValue<std::string>("ca", "") : "";
}

long long certificatesOf(const TestDomain& domain) {
    return count("SELECT count(*) FROM certificates WHERE domain_id = " + quoted(domain.id));
}

// Makes the current certificate due, publishes the value its renewal order asks for (the
// Pebbles of these cases reuse no authorization), and waits for the renewal to be stored; the new
// certificate's CA.
std::string renewed(const TestDomain& domain) {
    const long long before = certificatesOf(domain);
    execute("UPDATE certificates SET renew_at = now() WHERE superseded_at IS NULL AND domain_id = " +
            quoted(domain.id));
    const std::string liveValue =
        "SELECT c.txt_value FROM acme_challenges c JOIN acme_orders o ON o.id = c.order_id "
        "WHERE o.domain_id = " + quoted(domain.id) +
        " AND o.kind = 'renewal' AND o.status = 'pending' LIMIT 1";
    REQUIRE_MESSAGE(waitFor(20s, [&] { return count("SELECT count(*) FROM (" + liveValue + ") v") == 1; }),
                    "no renewal order: " << statusSummary({domain}));
    publish(domain, scalar(liveValue));
    REQUIRE_MESSAGE(waitFor(40s, [&] { return certificatesOf(domain) > before; }),
                    "no renewal: " << statusSummary({domain}));
    return scalar("SELECT ca FROM certificates WHERE domain_id = " + quoted(domain.id) +
                  " ORDER BY created_at DESC LIMIT 1");
}

}  // namespace

TEST_CASE("several CAs: the first CA down, issuance and renewal go to the second, and back, renewals return to it") {
    Leftovers leftovers;
    TempDir dir;
    const std::string file = caFile(dir, requireEnv("DNSH_TEST_EAB_HMAC_KEY"));
    const TestDomain domain = verifiedDomain("twoca-down", leftovers);
    const ApiServer api("several-cas", severalCas(file));
    const auto scheduler = startScheduler(severalCas(file));

    StoppableService first("pebble");
    first.stop();
    const std::string value = issuedAt(api, domain);  // 202: the fallback took it
    publish(domain, value);
    requireAllActive({domain}, 40s);
    CHECK(certificateCa(domain) == fallbackCa());
    // The fallback requires EAB: our account there was bound with the key of the CA file.
    CHECK(count("SELECT count(*) FROM acme_accounts WHERE account_url IS NOT NULL AND "
                "directory_url = " + quoted(fallbackCa())) == 1);

    // Renewal while the first CA is still down: the second again.
    CHECK(renewed(domain) == fallbackCa());

    // The first CA back (it forgot every account: ours is registered again): the next renewal
    // starts from it.
    first.start();
    CHECK(renewed(domain) == primaryCa());
    CHECK(certificateCa(domain) == primaryCa());
}

TEST_CASE("several CAs: CAA that allows only the second CA sends the order there, none to the first") {
    Leftovers leftovers;
    SandboxRecords records;
    TempDir dir;
    const std::string file = caFile(dir, requireEnv("DNSH_TEST_EAB_HMAC_KEY"));
    const TestDomain domain = verifiedDomain("twoca-caa", leftovers);
    records.caa(domain.name, "issue", requireEnv("ACME_CAA_IDENTITY_EAB"));
    const ApiServer api("several-cas-caa", severalCas(file));
    const auto scheduler = startScheduler(severalCas(file));

    const int atFirst = ordersAtTheCa();
    const int atSecond = ordersAtTheCa("pebble-eab.log");
    publish(domain, issuedAt(api, domain));
    requireAllActive({domain}, 40s);
    CHECK(certificateCa(domain) == fallbackCa());
    CHECK(ordersAtTheCa() == atFirst);
    CHECK(ordersAtTheCa("pebble-eab.log") == atSecond + 1);
}

TEST_CASE("several CAs: none can take the order: 502 no_ca_available naming each, domain unchanged") {
    Leftovers leftovers;
    TempDir dir;
    // A wrong EAB key (right length, other bytes): the fallback refuses our account.
    const std::string file = caFile(dir, "bm90LXRoZS1rZXktdGhlLWNhLWdhdmUtdXMtYXQtYWxs");
    const TestDomain domain = verifiedDomain("twoca-none", leftovers);
    const ApiServer api("several-cas-none", severalCas(file));
    // The second CA restarted: it forgets our account, which is registered again, with this key.
    StoppableService second("pebble-eab");
    second.stop();
    second.start();

    StoppableService first("pebble");
    first.stop();
    const HttpResult refused = issueAt(api, domain);
    INFO("body: " << refused.body);
    CHECK(refused.status == 502);
    CHECK(refused.jsonString("error_code") == "no_ca_available");
    CHECK(refused.retryAfterSeconds() >= 1);
    const std::string error = refused.jsonString("error");
    CHECK(error.find(primaryCa() + ": ca_unreachable") != std::string::npos);
    CHECK(error.find(fallbackCa() + ": ca_account") != std::string::npos);
    CHECK(error.find("External Account Binding key id " + requireEnv("DNSH_TEST_EAB_KID")) !=
          std::string::npos);
    CHECK(error.find("bm90LXRoZS1rZXkt") == std::string::npos);  // the key is never shown
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "verified");
    CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + quoted(domain.id)) == 0);
}

TEST_CASE("several CAs: one CA that requires EAB and has none configured: a clear error naming it") {
    Leftovers leftovers;
    TempDir dir;
    const std::string file = dir.write(
        "cas.env", "ACME_CAS=eab_only\n"
                   "ACME_CA_EAB_ONLY_DIRECTORY=" + fallbackCa() + "\n"
                   "ACME_CA_EAB_ONLY_CA_BUNDLE=" + requireEnv("ACME_CA_BUNDLE") + "\n");
    const TestDomain domain = verifiedDomain("eab-missing", leftovers);
    const ApiServer api("eab-missing", severalCas(file));
    StoppableService restarted("pebble-eab");  // forgets our account: registered again, no key
    restarted.stop();
    restarted.start();
    const HttpResult refused = issueAt(api, domain);
    INFO("body: " << refused.body);
    CHECK(refused.status == 502);
    CHECK(refused.jsonString("error_code") == "ca_account");
    CHECK(refused.jsonString("error").find(fallbackCa() + " requires External Account Binding") !=
          std::string::npos);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) == "verified");
}
