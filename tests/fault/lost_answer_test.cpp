// A write whose answer is lost after PostgreSQL committed it (issue 10): the handler must not run
// it again on a fresh connection and report its own row as somebody else's (409), nor succeed
// twice. It answers 503, and the one row is there. The client may retry (README "Database
// access"): with the same Idempotency-Key it gets that row's registration, token included.
#include <doctest/doctest.h>

#include <string>

#include "support/cgi.hpp"
#include "support/database.hpp"
#include "support/pg_proxy.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;

TEST_CASE("fault: the answer to a committed insert is lost: 503, one row, never a 409 for the "
          "client's own domain") {
    PgProxy proxy("INSERT 0 1");
    const std::string name = uniqueDomainName("lost-answer");
    CgiRequest request;
    request.method = "POST";
    request.path = "/domains";
    request.body = R"({"domain_name":")" + name + R"("})";
    request.env["DATABASE_URL"] = proxy.databaseUrl();

    const HttpResult result = runCgi("create_domain", request);

    REQUIRE(proxy.droppedReplies() == 1);
    CHECK_MESSAGE(result.status == 503, result.body);
    CHECK(result.body.find("database unavailable") != std::string::npos);
    CHECK(count("SELECT count(*) FROM domains WHERE domain_name = " + quoted(name)) == 1);
    execute("DELETE FROM domains WHERE domain_name = " + quoted(name));
}

TEST_CASE("fault: after a lost answer, the retry with the same Idempotency-Key gets 201 with the "
          "id the database holds and its token") {
    PgProxy proxy("INSERT 0 1");
    const std::string name = uniqueDomainName("lost-key");
    // A UUID's shape, its last group the name's random label (12 hex digits): unique per run.
    const std::string key =
        "8e03978e-40d5-43e8-bc93-" + name.substr(std::string("lost-key-").size(), 12);
    CgiRequest request;
    request.method = "POST";
    request.path = "/domains";
    request.body = R"({"domain_name":")" + name + R"("})";
    request.env["HTTP_IDEMPOTENCY_KEY"] = "\"" + key + "\"";
    request.env["DATABASE_URL"] = proxy.databaseUrl();

    const HttpResult lost = runCgi("create_domain", request);
    REQUIRE(proxy.droppedReplies() == 1);
    REQUIRE_MESSAGE(lost.status == 503, lost.body);

    // The retry, as the 503 invites, on a connection that works. Before the key it was 409 with
    // no id and no token: the domain could never be verified.
    request.env.erase("DATABASE_URL");
    const HttpResult retry = runCgi("create_domain", request);
    INFO("retry: " << retry.body);
    CHECK(retry.status == 201);
    const std::string where = " FROM domains WHERE domain_name = " + quoted(name);
    CHECK(count("SELECT count(*)" + where) == 1);
    CHECK(retry.jsonString("id") == scalar("SELECT id" + where));
    CHECK(retry.jsonString("verification_token") == scalar("SELECT verification_token" + where));
    CHECK(retry.jsonString("domain_name") == name);
    CHECK(retry.jsonString("status") == "pending");
    CHECK(scalar("SELECT idempotency_key" + where) == key);
    execute("DELETE" + where);
}
