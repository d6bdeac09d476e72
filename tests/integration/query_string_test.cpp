// Which endpoints read the query string (shared/http/serve.cpp, handlers/list_domains.cpp): only
// GET /domains, the one with query parameters. The handlers run as CGI here, so QUERY_STRING is
// exactly what the case sets: lighttpd re-encodes a lone '%' as "%25" before a handler sees it
// (url-normalize, on by default), so a malformed percent-encoding only reaches one this way.
#include <string>
#include <vector>

#include "integration_support.hpp"
#include "support/http_client.hpp"

namespace dnsh::test {

namespace {

HttpResult getWithQuery(const std::string& handler, const std::string& path,
                        const std::string& query) {
    CgiRequest request;
    request.path = path;
    request.contentType = "";
    request.env = {{"QUERY_STRING", query}};
    const HttpResult result = runCgi(handler, request);
    holdToDocument("GET", path + "?" + query, result);
    return result;
}

}  // namespace

TEST_CASE("the probes and /metrics ignore their query string, even a malformed one") {
    // Before, every endpoint parsed its query first: these were 400s the document does not
    // declare for the probes and /metrics, so a probe URL carrying such a query marked a
    // healthy node down, and a Prometheus job with a repeated param failed every scrape.
    struct Case {
        std::string handler, path, query;
    };
    const std::vector<Case> cases{
        {"health", "/healthz", "a&a"},
        {"health", "/healthz", "%zz"},
        {"health", "/readyz", "check=db&check=db"},
        {"health", "/readyz", "%zz"},
        {"metrics", "/metrics", "x=1&x=2"},
        {"metrics", "/metrics", "%"},
    };
    for (const Case& c : cases) {
        INFO(c.path << "?" << c.query);
        const HttpResult result = getWithQuery(c.handler, c.path, c.query);
        INFO("body: " << result.body);
        CHECK(result.status == 200);
    }
}

TEST_CASE("GET /domains still refuses a repeated or malformed query parameter") {
    checkError(getWithQuery("list_domains", "/domains", "limit=1&limit=2"), 400,
               "query parameter limit given more than once");
    checkError(getWithQuery("list_domains", "/domains", "a&a"), 400,
               "query parameter a given more than once");
    checkError(getWithQuery("list_domains", "/domains", "limit=%zz"), 400,
               "malformed query string");
}

}  // namespace dnsh::test
