// The dns-persist-01 issuer kept on our account's row (acme_accounts.persist_issuer), which
// POST /domains and the domain view tell customers to name (domain/persist_offers.hpp): the
// directory's first meta.caaIdentities entry at a scheduler's start (AcmeAccount::
// recordPersistIssuer) stands in only until a challenge named the CA's issuer-domain-names
// (draft-ietf-acme-dns-persist-00 §4 item 2), and a restart keeps that one. Against the test
// stack's Pebble, with a database of its own. And whether the CA offers the method
// (acme_accounts.persist_offered, AcmeAccount::persistMayBeOffered): a wildcard's authorization
// without it, from the stand-in CA (tests/support/stalled_ca.py), does not switch it off.
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "config/ca_settings.hpp"
#include "config/config.hpp"
#include "crypto/key_encryption.hpp"
#include "crypto/secret_string.hpp"
#include "dns/caa_check.hpp"
#include "domain/persist_offers.hpp"
#include "issuance/acme_account.hpp"
#include "issuance/challenge_method.hpp"
#include "issuance/order_store.hpp"
#include "issuance/profiles.hpp"
#include "support/scratch_database.hpp"
#include "support/stalled_ca.hpp"
#include "support/test_env.hpp"

using namespace dnsh;
using namespace dnsh::test;

namespace {

// What AcmeAccount::notePersistOffer stores for an authorization whose dns-persist-01
// challenge (offered or not) named `issuer` first.
void storeChallengeIssuer(ScratchDatabase& scratch, const std::string& directoryUrl,
                          const std::string& issuer, bool offered) {
    scratch.database().withSession([&](Poco::Data::Session& session) {
        OrderStore orders(session);
        const auto account = orders.findAccount(directoryUrl);
        REQUIRE(account);
        orders.setPersistIssuer(account->id, issuer, offered);
        return true;
    });
}

}  // namespace

TEST_CASE("persist issuer: one a dns-persist-01 challenge named survives a scheduler restart, the "
          "directory's stands in until then") {
    ScratchDatabase scratch("dnsh_persist_issuer");
    scratch.migrate();
    const Config config;
    CaSettings settings;
    settings.name = "default";
    settings.directoryUrl = requireEnv("ACME_DIRECTORY");
    settings.caBundle = requireEnv("ACME_CA_BUNDLE");
    const KeyEncryptor kek(SecretString(std::string(32, 'k')));
    const auto restart = [&] {
        // A new process: nothing of the last one's account object is left.
        AcmeAccount account(scratch.database(), config, settings, kek, CaCaller::Scheduler);
        REQUIRE(account.recordPersistIssuer());
        return account.client().directory().caaIdentities.front();
    };
    const auto stored = [&] {
        return scratch.text("SELECT coalesce(persist_issuer, '') FROM acme_accounts");
    };
    const std::string learned = "persist-issuer.pebble.test";

    // The first start registers our account; no authorization seen: the directory's identity.
    const std::string directoryIssuer = restart();
    REQUIRE(directoryIssuer != learned);
    CHECK(stored() == directoryIssuer);
    const std::string accountUrl = scratch.text("SELECT account_url FROM acme_accounts");
    REQUIRE_FALSE(accountUrl.empty());

    // An authorization offered dns-persist-01 with another issuer first (§4 item 2: the record
    // must name one of the challenge's issuer-domain-names).
    storeChallengeIssuer(scratch, settings.directoryUrl, learned, true);
    for (int start = 1; start <= 2; ++start) {
        CAPTURE(start);
        restart();
        // Before: every start wrote the directory's identity back, so customers were told to
        // publish a record naming an issuer the CA's challenges do not list.
        CHECK(stored() == learned);
        CHECK(scratch.text("SELECT persist_offered::text FROM acme_accounts") == "true");
    }
    CHECK(scratch.text("SELECT account_url FROM acme_accounts") == accountUrl);

    // The CA's last authorization offered no dns-persist-01 (no record is shown meanwhile): the
    // directory's identity stands in again until a challenge names one.
    storeChallengeIssuer(scratch, settings.directoryUrl, learned, false);
    restart();
    CHECK(stored() == directoryIssuer);
    storeChallengeIssuer(scratch, settings.directoryUrl, learned, true);
    restart();
    CHECK(stored() == learned);
}

TEST_CASE("persist offer: a wildcard's authorization without dns-persist-01 leaves the CA's offer "
          "on, for the CAA precheck and every domain's persist record") {
    // A CA that offers the method for names and a wildcard's authorization dns-01 alone (a CA may
    // offer wildcards fewer methods: Let's Encrypt offers them no http-01 or tls-alpn-01).
    StalledCa ca({"--stall", "none", "--dns01-only-for-wildcards"});
    ScratchDatabase scratch("dnsh_persist_offer");
    scratch.migrate();
    const Config config;
    CaSettings settings;
    settings.name = "default";
    settings.directoryUrl = ca.directory();
    settings.caBundle = requireEnv("ACME_CA_BUNDLE");
    const KeyEncryptor kek(SecretString(std::string(32, 'k')));
    AcmeAccount account(scratch.database(), config, settings, kek, CaCaller::Scheduler);
    // The customer's record names the CA's issuer and our account: usable wherever offered.
    std::vector<std::string> issuersAsked;
    const PersistRecordUsable usable = [&](const std::string&,
                                           const std::vector<std::string>& issuers,
                                           const std::string&) {
        issuersAsked.insert(issuersAsked.end(), issuers.begin(), issuers.end());
        return true;
    };
    const CaaCheck noCaa;  // Skipped: every method allowed
    // The method chosen for the order's one authorization.
    const auto methodOfOrder = [&](const std::string& domainName) {
        const PlacedOrder placed =
            account.placeOrder(domainName, "", OrderProfile{}, [] {}, usable, noCaa);
        REQUIRE(placed.challenges.size() == 1);
        return std::string(toString(placed.challenges.front().method));
    };
    const auto storedOffer = [&] {
        return scratch.text("SELECT coalesce(persist_offered::text, 'null') FROM acme_accounts");
    };

    // An order for a name: the authorization offers the method, which is kept as offered.
    CHECK(methodOfOrder("persist-offer.example") == "dns-persist-01");
    CHECK(issuersAsked == std::vector<std::string>{"stand-in.test"});
    CHECK(storedOffer() == "true");
    CHECK(account.persistMayBeOffered());

    // A wildcard's order: its authorization offers dns-01 alone, which the order uses.
    CHECK(methodOfOrder("*.persist-offer-wildcard.example") == "dns-01");
    CHECK(ca.requests("POST", "/order-plz") == 2);
    // Before: the CA's offer was stored as off (persist_offered false), so the CAA precheck
    // of every later order in this process asked no _validation-persist record (a name whose
    // CAA allows dns-persist-01 alone: caa_forbidden) and the views showed no record to publish.
    CHECK(account.persistMayBeOffered());
    CHECK(storedOffer() == "true");
    PersistAccountRow row{settings.directoryUrl,
                          scratch.text("SELECT account_url FROM acme_accounts"),
                          scratch.text("SELECT persist_issuer FROM acme_accounts"), std::nullopt};
    if (storedOffer() != "null") row.offered = storedOffer() == "true";
    const std::vector<PersistOffer> offers = persistOffersOf({settings}, {row});
    REQUIRE(offers.size() == 1);
    CHECK(offers.front().issuerDomain == "stand-in.test");
    CHECK(offers.front().accountUrl == account.client().accountUrl());

    // The next order for a name uses the record, as every one did (only the precheck and the
    // views read the offer).
    CHECK(methodOfOrder("persist-offer-next.example") == "dns-persist-01");
}
