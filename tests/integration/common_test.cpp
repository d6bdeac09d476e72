// What every handler shares (shared/http/serve.cpp): database failures, unknown paths.
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "crypto/random.hpp"
#include "integration_support.hpp"

namespace dnsh::test {

namespace {

struct HandlerCall {
    std::string handler;
    std::string method;
    std::string path;
    std::string body;
    std::string contentType;
};

// One request each handler serves only with the database (well-formed ids, a valid body).
std::vector<HandlerCall> callsNeedingTheDatabase() {
    const std::string id = randomHex(16);
    return {
        {"create_domain", "POST", "/domains", domainNameBody(uniqueDomainName("dbdown")),
         "application/json"},
        {"get_domain", "GET", "/domains/" + id, "", ""},
        {"verify_domain", "POST", "/domains/" + id + "/verify", "", ""},
        {"get_certificate", "GET", "/domains/" + id + "/certificate", "", ""},
        {"issue_certificate", "POST", "/domains/" + id + "/issue-certificate", "", ""},
        {"check_domain", "POST", "/domains/" + id + "/check", "", ""},
        {"list_domains", "GET", "/domains", "", ""},
        {"delete_domain", "DELETE", "/domains/" + id, "", ""},
        {"health", "GET", "/readyz", "", ""},
        {"metrics", "GET", "/metrics", "", ""},
    };
}

HttpResult call(const HandlerCall& c, const std::map<std::string, std::string>& env) {
    CgiRequest request;
    request.method = c.method;
    request.path = c.path;
    request.body = c.body;
    request.contentType = c.contentType;
    request.env = env;
    return runCgi(c.handler, request);
}

}  // namespace

TEST_CASE("every handler answers 503 database unavailable when PostgreSQL cannot be reached") {
    struct Database {
        std::string description;
        std::string url;
    };
    const std::vector<Database> databases = {
        {"a socket directory with no server", "host=/nonexistent port=5432 dbname=x user=postgres"},
        {"a TCP port nobody listens on", "host=127.0.0.1 port=1 dbname=x user=postgres"},
        {"a URI to a socket directory with no server",
         "postgresql:///x?host=/nonexistent&user=postgres"},
    };
    // Every handler executable the build made is among the calls (a new one must be added).
    std::set<std::string> built, called;
    for (const auto& entry : std::filesystem::directory_iterator(handlerPath(""))) {
        using std::filesystem::perms;
        if (entry.is_regular_file() &&
            (entry.status().permissions() & perms::owner_exec) != perms::none)
            built.insert(entry.path().filename().string());
    }
    for (const HandlerCall& c : callsNeedingTheDatabase()) called.insert(c.handler);
    CHECK(built == called);
    for (const Database& database : databases) {
        for (const HandlerCall& c : callsNeedingTheDatabase()) {
            INFO(database.description << "; " << c.handler);
            const HttpResult result =
                call(c, {{"DATABASE_URL", database.url}, {"HTTP_X_REQUEST_ID", "db-down-1"}});
            checkError(result, 503, "database unavailable");
            CHECK(result.body == R"({"error":"database unavailable"})");
            CHECK(result.header("X-Request-Id") == "db-down-1");
        }
    }
}

TEST_CASE("the database-down create_domain request left nothing behind once it is back") {
    const std::string name = uniqueDomainName("dbdown-retry");
    const HttpResult down =
        createDomainRaw(domainNameBody(name), "application/json",
                        {{"DATABASE_URL", "host=/nonexistent port=5432 dbname=x user=postgres"}});
    CHECK(down.status == 503);
    CHECK(domainRowsNamed(name) == 0);
    // The same request against the real database works: nothing half-registered blocks it.
    CHECK(createDomain(name).status == 201);
    CHECK(domainRowsNamed(name) == 1);
}

TEST_CASE("paths a handler does not serve are 404 JSON") {
    struct Case {
        std::string handler;
        std::string method;
        std::string path;
    };
    const std::string id = randomHex(16);
    const std::vector<Case> cases = {
        {"create_domain", "POST", "/domain"},
        {"create_domain", "POST", "/domains/extra"},
        {"get_domain", "GET", "/domains/" + id + "/extra"},
        {"get_domain", "GET", "/domains/"},
        {"verify_domain", "POST", "/domains/" + id + "/verification"},
        {"get_certificate", "GET", "/domains/" + id + "/certificates"},
    };
    for (const Case& c : cases) {
        INFO(c.handler << " " << c.method << " " << c.path);
        CgiRequest request;
        request.method = c.method;
        request.path = c.path;
        request.contentType = c.method == "POST" ? "application/json" : "";
        if (c.method == "POST") request.body = domainNameBody(uniqueDomainName("nopath"));
        checkError(sendExpectingNoNewRow([&] { return runCgi(c.handler, request); }), 404,
                   "no such endpoint");
    }
}

}  // namespace dnsh::test

namespace dnsh::test {

TEST_CASE("a Content-Length that is not a number of bytes is 400, never a crash") {
    struct Case {
        std::string description, contentLength;
    };
    const std::vector<Case> cases{
        {"negative", "-1"},       {"very negative", "-9223372036854775808"},
        {"signed", "+5"},         {"with a space", " 5"},
        {"not a number", "five"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CgiRequest request;
        request.method = "POST";
        request.path = "/domains";
        request.body = R"({"domain_name":"cl.example"})";
        request.env = {{"CONTENT_LENGTH", c.contentLength}};
        const HttpResult result = runCgi("create_domain", request);
        checkError(result, 400, "Content-Length");
    }
    CHECK(scalar("SELECT count(*) FROM domains WHERE domain_name = 'cl.example'") == "0");
}

}  // namespace dnsh::test
