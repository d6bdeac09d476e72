// The dns-persist-01 issuer kept on our account's row (acme_accounts.persist_issuer), which
// POST /domains and the domain view tell customers to name (domain/persist_offers.hpp): the
// directory's first meta.caaIdentities entry at a scheduler's start (AcmeAccount::
// recordPersistIssuer) stands in only until a challenge named the CA's issuer-domain-names
// (draft-ietf-acme-dns-persist-00 §4 item 2), and a restart keeps that one. Against the test
// stack's Pebble, with a database of its own.
#include <doctest/doctest.h>

#include <string>

#include "config/ca_settings.hpp"
#include "config/config.hpp"
#include "crypto/key_encryption.hpp"
#include "crypto/secret_string.hpp"
#include "issuance/acme_account.hpp"
#include "issuance/order_store.hpp"
#include "support/scratch_database.hpp"
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
