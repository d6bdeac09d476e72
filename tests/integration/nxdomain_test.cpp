// NXDOMAIN from a real authoritative server (Knot, zone nxdomain.test, started by deploy/test):
// pebble-challtestsrv answers NOERROR for unknown names and cannot produce it.
#include <doctest/doctest.h>

#include "crypto/random.hpp"
#include "support/cgi.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;

TEST_CASE("verify: NXDOMAIN from an authoritative server is a 424 that names it") {
    const std::string name = "missing-" + dnsh::randomHex(6) + ".nxdomain.test";
    CgiRequest create;
    create.method = "POST";
    create.path = "/domains";
    create.body = R"({"domain_name":")" + name + "\"}";
    const HttpResult created = runCgi("create_domain", create);
    REQUIRE(created.status == 201);
    const std::string id = created.jsonString("id");

    CgiRequest verify;
    verify.method = "POST";
    verify.path = "/domains/" + id + "/verify";
    verify.env = {{"DNS_RESOLVER", requireEnv("DNSH_TEST_AUTHORITATIVE_DNS")}};
    const HttpResult result = runCgi("verify_domain", verify);
    CHECK(result.status == 424);
    const std::string error = result.jsonString("error");
    CHECK(error.find("NXDOMAIN") != std::string::npos);
    CHECK(error.find("_acme-challenge." + name) != std::string::npos);

    CgiRequest get;
    get.path = "/domains/" + id;
    CHECK(runCgi("get_domain", get).jsonString("status") == "pending");
}
