// The RFC 8555 client against the real Pebble of deploy/test: one method per resource, and CA
// errors arriving as typed problems.
#include <Poco/URI.h>
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "acme/client.hpp"
#include "acme/jws.hpp"
#include "crypto/keys.hpp"
#include "support/test_env.hpp"

using namespace dnsh;
using dnsh::test::requireEnv;

namespace {

acme::Transport makeTransport() {
    return acme::Transport(requireEnv("ACME_CA_BUNDLE"), std::chrono::seconds(10));
}

}  // namespace

TEST_CASE("acme client: directory, account, order, authorization and dns-01 challenge") {
    acme::Transport transport = makeTransport();
    acme::Client client(transport, requireEnv("ACME_DIRECTORY"));
    CHECK(client.directory().newOrder.rfind("https://", 0) == 0);

    const Pkey key = generateEcdsaP256Key();
    const std::string accountUrl = client.newAccount(key.get(), "ops@example.com");
    CHECK(accountUrl.rfind("https://", 0) == 0);
    // RFC 8555 §7.3.1: the same key finds the same account.
    acme::Client again(transport, requireEnv("ACME_DIRECTORY"));
    CHECK(again.newAccount(key.get(), "") == accountUrl);

    const acme::Order order = client.newOrder({"client-test.example"});
    CHECK(std::string(acme::toString(order.status)) == "pending");
    REQUIRE(order.authorizations.size() == 1);
    CHECK(!order.finalize.empty());
    CHECK(std::string(acme::toString(client.getOrder(order.url).status)) == "pending");

    const acme::Authorization authorization = client.getAuthorization(order.authorizations[0]);
    CHECK(authorization.identifier == "client-test.example");
    CHECK(std::string(acme::toString(authorization.status)) == "pending");
    bool hasDns01 = false;
    for (const auto& challenge : authorization.challenges)
        if (challenge.type == "dns-01") {
            hasDns01 = true;
            CHECK(challenge.token.size() >= 22);  // RFC 8555 §8.1: at least 128 bits, base64url
            CHECK(!challenge.url.empty());
        }
    CHECK(hasDns01);
}

TEST_CASE("acme client: problem documents become typed errors") {
    acme::Transport transport = makeTransport();
    acme::Client client(transport, requireEnv("ACME_DIRECTORY"));
    const Pkey key = generateEcdsaP256Key();
    const std::string accountUrl = client.newAccount(key.get(), "");

    SUBCASE("an identifier the CA refuses") {
        try {
            client.newOrder({"not a valid name!"});
            FAIL("newOrder accepted an invalid identifier");
        } catch (const acme::AcmeError& e) {
            CHECK(e.problem().status >= 400);
            CHECK(e.problem().status < 500);
            CHECK(e.problem().type.rfind("urn:ietf:params:acme:error:", 0) == 0);
            CHECK_FALSE(e.retryable());
            CHECK_FALSE(e.unreachable());
        }
    }
    SUBCASE("an account the CA does not know") {
        // A kid where this CA keeps its accounts, naming none of them (a kid outside that
        // prefix is merely malformed).
        const std::string unknownUrl =
            accountUrl.substr(0, accountUrl.rfind('/') + 1) + "does-not-exist";
        REQUIRE(unknownUrl != accountUrl);
        const Pkey stranger = generateEcdsaP256Key();
        client.useAccount(stranger.get(), unknownUrl);
        try {
            client.newOrder({"stranger.example"});
            FAIL("newOrder worked for an unknown account");
        } catch (const acme::AcmeError& e) {
            INFO("problem: " << e.problem().type << " (" << e.problem().status << ") "
                             << e.problem().detail);
            // RFC 8555 §7.3.1 / §6.7: what makes the issuer register the same key again.
            CHECK(e.is(acme::ProblemType::kAccountDoesNotExist));
            CHECK(e.problem().type == "urn:ietf:params:acme:error:accountDoesNotExist");
            CHECK(e.problem().status >= 400);
            CHECK(e.problem().status < 500);
            CHECK_FALSE(e.retryable());
            CHECK_FALSE(e.unreachable());
        }
    }
    SUBCASE("an unreachable CA") {
        acme::Client nowhere(transport, "https://127.0.0.1:9/dir");
        try {
            nowhere.directory();
            FAIL("reached a CA on the discard port");
        } catch (const acme::AcmeError& e) {
            CHECK(e.unreachable());
            CHECK(e.retryable());
        }
    }
}

TEST_CASE("acme client: badNonce is retried until a nonce is accepted") {
    // That Pebble (PEBBLE_WFE_NONCEREJECT=50) logs every request it gets, "POST /order-plz ->
    // calling handler()", rejected or not: the newOrder POSTs beyond one per order are the
    // rejections the client got over. Only what it logs during this case counts.
    const std::string log = requireEnv("DNSH_TEST_LOG_DIR") + "/pebble-nonce.log";
    REQUIRE_MESSAGE(std::filesystem::is_regular_file(log), log << " is missing");
    const auto logged = std::filesystem::file_size(log);

    acme::Transport transport = makeTransport();
    acme::Client client(transport, requireEnv("ACME_DIRECTORY_NONCEREJECT"));
    const Pkey key = generateEcdsaP256Key();
    client.newAccount(key.get(), "");
    // Half of all nonces rejected: about as many rejections as orders, and none may surface as
    // an error.
    constexpr int kOrders = 50;
    for (int i = 0; i < kOrders; ++i)
        CHECK(std::string(acme::toString(
                  client.newOrder({"nonce-" + std::to_string(i) + ".example"}).status)) ==
              "pending");

    std::ifstream in(log);
    in.seekg(static_cast<std::streamoff>(logged));
    const std::string newOrderLine =
        "POST " + Poco::URI(client.directory().newOrder).getPath() + " -> calling handler()";
    int posts = 0;
    for (std::string line; std::getline(in, line);)
        if (line.find(newOrderLine) != std::string::npos) ++posts;
    MESSAGE(posts << " newOrder POST(s) for " << kOrders << " orders");
    // Fewer than 15 rejections in 50 orders: once in 280,000 runs at 50%, yet what Pebble's
    // default 5% gives in all but one run in two million, so this tells the two apart.
    CHECK(posts - kOrders >= 15);
    // Each order is retried in place a bounded number of times (16 badNonce retries at most).
    CHECK(posts <= kOrders * 17);
}
