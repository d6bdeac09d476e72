// An authorization two domains' orders share (README "Orders nobody finishes are given back").
// A CA reuses a valid authorization in any order of the same account for the same name (Let's
// Encrypt for 30 days; ACME_DIRECTORY_REUSE is a Pebble that always does), and our one account
// per CA orders for every domain: the base-name authorization of "*.x"'s order is what the order
// of the domain "x" then relies on, without listing it (it needs no value). Ending "*.x"'s order
// must leave that authorization valid, and still give back the one nobody else needs
// (RFC 8555 §7.5.2). A failed order of a domain still registered gives back only its pending
// authorizations: the valid ones are for the domain's own next order, and deleting the domain
// gives those back too.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <string>

#include "acme/client.hpp"
#include "acme/status.hpp"
#include "acme/transport.hpp"
#include "crypto/key_encryption.hpp"
#include "crypto/keys.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/sandbox_dns.hpp"
#include "support/scheduler_process.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

using Env = std::map<std::string, std::string>;

Env reusingCa() { return Env{{"ACME_DIRECTORY", requireEnv("ACME_DIRECTORY_REUSE")}}; }

// Registered under `name` ("*.x" or "x") and verified through the API; `base` is x.
TestDomain verifiedNamed(const std::string& name, const std::string& base, Leftovers& leftovers) {
    const HttpResult created = postJson("/domains", "{\"domain_name\": \"" + name + "\"}");
    REQUIRE_MESSAGE(created.status == 201, created.body);
    TestDomain domain{created.jsonString("id"), base, created.jsonString("verification_token")};
    leftovers.add(domain);
    setTxt(domain.challengeName(), domain.token);
    const HttpResult verified = postJson("/domains/" + domain.id + "/verify", "");
    clearTxt(domain.challengeName());
    REQUIRE_MESSAGE(verified.status == 200, verified.body);
    return domain;
}

// An issue order the scheduler places itself, at the CA it was started with.
void queueIssueOrder(const TestDomain& domain) {
    execute("UPDATE domains SET status = 'certificate_pending' WHERE id = " + quoted(domain.id) +
            "; INSERT INTO acme_orders (id, domain_id, kind, step, next_attempt_at) VALUES "
            "(replace(gen_random_uuid()::text, '-', ''), " +
            quoted(domain.id) + ", 'issue', 'place_order', now())");
}

std::string storedChallengesOf(const TestDomain& domain) {
    return "FROM acme_challenges c JOIN acme_orders o ON o.id = c.order_id WHERE o.domain_id = " +
           quoted(domain.id);
}

// The wildcard's order placed: two authorizations, one value each at _acme-challenge.<base>.
void requirePlaced(const TestDomain& wildcard) {
    REQUIRE_MESSAGE(
        waitFor(15s, [&] { return count("SELECT count(*) " + storedChallengesOf(wildcard)) == 2; }),
        statusSummary({wildcard}));
}

// The service's own account at the reusing CA, read from the database: the test answers one
// challenge with it and asks the CA about authorizations (POST-as-GET, RFC 8555 §7.5).
struct ServiceAccount {
    ServiceAccount()
        : directory(requireEnv("ACME_DIRECTORY_REUSE")),
          transport(requireEnv("ACME_CA_BUNDLE"), 10s),
          client(transport, directory) {
        const std::string where = " FROM acme_accounts WHERE directory_url = " + quoted(directory);
        const dnsh::KeyEncryptor kek =
            dnsh::KeyEncryptor::fromFile(requireEnv("KEY_ENCRYPTION_KEY_FILE"));
        key = dnsh::privateKeyFromPem(kek.decrypt(scalar("SELECT key_ciphertext" + where)));
        client.useAccount(key.get(), scalar("SELECT account_url" + where));
    }

    std::string status(const std::string& authorizationUrl) {
        return std::string(dnsh::acme::toString(client.getAuthorization(authorizationUrl).status));
    }

    std::string directory;
    dnsh::acme::Transport transport;
    dnsh::acme::Client client;
    dnsh::Pkey key;
};

// The two authorizations of a wildcard domain's placed order, and the base name's challenge.
struct WildcardOrder {
    std::string baseAuthorization, wildcardAuthorization, baseChallenge, baseValue;
};

WildcardOrder wildcardOrderOf(const TestDomain& wildcard, ServiceAccount& account) {
    WildcardOrder order;
    for (const std::string& url :
         {scalar("SELECT min(c.authorization_url) " + storedChallengesOf(wildcard)),
          scalar("SELECT max(c.authorization_url) " + storedChallengesOf(wildcard))}) {
        if (account.client.getAuthorization(url).wildcard) {
            order.wildcardAuthorization = url;
            continue;
        }
        order.baseAuthorization = url;
        const std::string row = storedChallengesOf(wildcard) +
                                " AND c.authorization_url = " + quoted(url);
        order.baseChallenge = scalar("SELECT c.challenge_url " + row);
        order.baseValue = scalar("SELECT c.txt_value " + row);
    }
    REQUIRE_FALSE(order.baseAuthorization.empty());
    REQUIRE_FALSE(order.wildcardAuthorization.empty());
    return order;
}

// Only the base name's value is published and answered: that authorization turns valid, the
// wildcard's stays pending, and so the order stays live (the scheduler waits for both values).
void validateBaseOnly(const TestDomain& wildcard, const WildcardOrder& order,
                      ServiceAccount& account) {
    setTxt(wildcard.challengeName(), order.baseValue);
    account.client.respondChallenge(order.baseChallenge);
    REQUIRE(waitFor(15s, [&] { return account.status(order.baseAuthorization) == "valid"; }));
    CHECK(account.status(order.wildcardAuthorization) == "pending");
}

// The wildcard domain's order fails holding its base-name authorization valid: only that value
// published and answered, never the wildcard's; with the step's clock set back past
// POLL_TIMEOUT, the next lookup fails the order ("TXT values not visible within ..."). Returns
// once the scheduler settled the failure (authorizations given back) and exited.
WildcardOrder failWithBaseValid(const TestDomain& wildcard) {
    const auto scheduler = startScheduler(reusingCa());
    queueIssueOrder(wildcard);
    requirePlaced(wildcard);
    ServiceAccount account;  // registered by the scheduler by now
    const WildcardOrder order = wildcardOrderOf(wildcard, account);
    validateBaseOnly(wildcard, order, account);
    execute("UPDATE acme_orders SET step_started_at = now() - interval '1 day' WHERE domain_id = " +
            quoted(wildcard.id));
    REQUIRE_MESSAGE(waitFor(15s,
                            [&] {
                                return scalar("SELECT status FROM domains WHERE id = " +
                                              quoted(wildcard.id)) == "failed";
                            }),
                    statusSummary({wildcard}));
    CHECK(scheduler->terminate() == 0);
    return order;
}

// dnsh-admin delete (what DELETE /domains/{id} does), at the CA the domain's orders went to.
void deleteThroughAdmin(const TestDomain& domain) {
    std::string command;
    for (const auto& [name, value] : reusingCa()) command += name + "='" + value + "' ";
    const CommandResult deleted =
        runCommand(command + requireEnv("DNSH_ADMIN_BIN") + " delete " + domain.id);
    REQUIRE_MESSAGE(deleted.exitCode == 0, deleted.output);
}

}  // namespace

TEST_CASE(
    "authorizations: deleting a wildcard domain keeps the valid base-name authorization another "
    "domain's order reuses, and deactivates its own wildcard authorization") {
    Leftovers leftovers;
    const std::string base = uniqueDomainName("shared-authz");
    const TestDomain wildcard = verifiedNamed("*." + base, base, leftovers);
    const TestDomain plain = verifiedNamed(base, base, leftovers);
    const auto scheduler = startScheduler(reusingCa());

    queueIssueOrder(wildcard);
    requirePlaced(wildcard);
    ServiceAccount account;
    const WildcardOrder order = wildcardOrderOf(wildcard, account);
    validateBaseOnly(wildcard, order, account);

    // The domain <base>: the CA reuses that valid authorization, the order needs no value and
    // is issued at once, relying on an authorization only the wildcard's order lists.
    queueIssueOrder(plain);
    requireAllActive({plain}, 20s);
    CHECK(count("SELECT count(*) " + storedChallengesOf(plain)) == 0);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(wildcard.id)) ==
          "certificate_pending");
    CHECK(scheduler->terminate() == 0);

    // The wildcard domain is deleted (dnsh-admin delete is DELETE /domains/{id}), at the CA its
    // order went to.
    deleteThroughAdmin(wildcard);

    // <base> is still a customer's name: its authorization stays valid for the orders that rely
    // on it. Nobody else has *.<base>: that one is given back.
    CHECK(account.status(order.baseAuthorization) == "valid");
    CHECK(account.status(order.wildcardAuthorization) == "deactivated");
}

TEST_CASE(
    "authorizations: a failed wildcard order keeps the valid base-name authorization its own "
    "domain's next order reuses, and deactivates the pending wildcard authorization") {
    Leftovers leftovers;
    const std::string base = uniqueDomainName("failed-authz");
    const TestDomain wildcard = verifiedNamed("*." + base, base, leftovers);
    const WildcardOrder order = failWithBaseValid(wildcard);
    ServiceAccount account;

    // "*.<base>" is still registered and needs <base>: that authorization stays valid. Before,
    // it was deactivated (no other domain needs <base>). The pending one is given back (RFC 8555
    // §7.5.2).
    CHECK(account.status(order.baseAuthorization) == "valid");
    CHECK(account.status(order.wildcardAuthorization) == "deactivated");

    // The retry, at the same CA, reuses it (RFC 8555 §7.1.4): one value to publish, the
    // wildcard's. Before, a value for <base> too.
    queueIssueOrder(wildcard);
    const auto retrying = startScheduler(reusingCa());
    const std::string retryOrder = " AND o.status <> 'invalid'";
    REQUIRE_MESSAGE(waitFor(15s,
                            [&] {
                                return count("SELECT count(*) FROM acme_orders o WHERE "
                                             "o.order_url IS NOT NULL AND o.domain_id = " +
                                             quoted(wildcard.id) + retryOrder) == 1;
                            }),
                    statusSummary({wildcard}) << "\n" << describe(*retrying));
    CHECK(scalar("SELECT string_agg(c.identifier, ',') " + storedChallengesOf(wildcard) +
                 retryOrder) == "*." + base);
    CHECK(retrying->terminate() == 0);
}

TEST_CASE(
    "authorizations: deleting a domain whose wildcard order failed deactivates the valid "
    "base-name authorization the failure kept") {
    Leftovers leftovers;
    const std::string base = uniqueDomainName("deleted-authz");
    const TestDomain wildcard = verifiedNamed("*." + base, base, leftovers);
    const WildcardOrder order = failWithBaseValid(wildcard);
    ServiceAccount account;
    REQUIRE(account.status(order.baseAuthorization) == "valid");  // kept for its next order

    // The domain is deleted: it has no live order, only the failed one. Nobody else on the
    // platform has <base>, so the valid authorization is given back (RFC 8555 §7.5.2) and our
    // account keeps no authority for the name. Before, the delete read the live order's
    // authorizations only, none, and it stayed valid until the CA expired it.
    deleteThroughAdmin(wildcard);
    CHECK(account.status(order.baseAuthorization) == "deactivated");
    CHECK(account.status(order.wildcardAuthorization) == "deactivated");
}
