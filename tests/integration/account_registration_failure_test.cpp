// A registration whose account URL cannot be stored (AcmeAccount::ensure's catch): the client is
// left holding no account, not the CA's URL with a pointer to the key ensure freed, and
// Client::postAsAccount refuses to sign with no key at all. The stand-in CA
// (tests/support/stalled_ca.py) answers newAccount; a trigger on a scratch database refuses the
// URL's UPDATE, as a database error or timeout would in service.
#include <doctest/doctest.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "acme/client.hpp"
#include "acme/transport.hpp"
#include "config/ca_settings.hpp"
#include "config/config.hpp"
#include "crypto/key_encryption.hpp"
#include "crypto/keys.hpp"
#include "crypto/secret_string.hpp"
#include "db/sql.hpp"
#include "issuance/acme_account.hpp"
#include "support/scratch_database.hpp"
#include "support/stalled_ca.hpp"
#include "support/test_env.hpp"

using namespace dnsh;
using namespace dnsh::test;

TEST_CASE("acme client: a request as an account with no account key is refused before it is "
          "sent") {
    // Nothing listens on port 1: without the guard in Client::postAsAccount the directory read
    // would be tried first and fail, an acme::AcmeError (unreachable, status 0) rather than
    // std::logic_error.
    acme::Transport transport("", std::chrono::seconds(2));
    acme::Client client(transport, "https://127.0.0.1:1/dir");
    CHECK_THROWS_AS(client.getOrder("https://127.0.0.1:1/order/1"), std::logic_error);
    // Cleared as AcmeAccount::ensure clears it after a failed registration.
    const Pkey key = generateEcdsaP256Key();
    client.useAccount(key.get(), "https://127.0.0.1:1/account/1");
    client.useAccount(nullptr, "");
    CHECK_THROWS_AS(client.getOrder("https://127.0.0.1:1/order/1"), std::logic_error);
    CHECK(transport.requestCount() == 0);
}

TEST_CASE("acme account: a registration whose URL is not stored leaves the client without the "
          "account, and the next call registers") {
    StalledCa ca({"--stall", "none"});
    ScratchDatabase scratch("dnsh_account_url");
    scratch.migrate();
    scratch.run("CREATE FUNCTION refuse_account_url() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN RAISE EXCEPTION 'account_url refused'; END $$;"
                "CREATE TRIGGER refuse_account_url BEFORE UPDATE OF account_url ON acme_accounts "
                "FOR EACH ROW EXECUTE FUNCTION refuse_account_url();");
    const Config config;
    CaSettings settings;
    settings.name = "default";
    settings.directoryUrl = ca.directory();
    settings.caBundle = requireEnv("ACME_CA_BUNDLE");
    const KeyEncryptor kek(SecretString(std::string(32, 'k')));
    AcmeAccount account(scratch.database(), config, settings, kek, CaCaller::Scheduler);

    CHECK_THROWS_AS(account.call([] { return true; }), SqlError);
    // newAccount was answered, so the client had been given the key and the URL.
    REQUIRE(ca.requests("POST", "/account") == 1);
    // Before (no useAccount(nullptr, "") in ensure's catch): the stand-in's account URL, held
    // with the key ensure had just freed.
    CHECK(account.client().accountUrl().empty());
    CHECK(scratch.text("SELECT count(*) FROM acme_accounts WHERE account_url IS NULL") == "1");

    scratch.run("DROP TRIGGER refuse_account_url ON acme_accounts");
    CHECK(account.call([] { return true; }));
    CHECK(ca.requests("POST", "/account") == 2);
    CHECK(!account.client().accountUrl().empty());
    CHECK(scratch.text("SELECT account_url FROM acme_accounts") == account.client().accountUrl());
}
