// A write whose answer is lost after PostgreSQL committed it (issue 10): the handler must not run
// it again on a fresh connection and report its own row as somebody else's (409), nor succeed
// twice. It answers 503, and the one row is there.
#include <doctest/doctest.h>

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
