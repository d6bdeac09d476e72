// Request helpers: route matching, X-Request-Id choice, JSON content type.
#include "http/request.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.hpp"

using namespace dnsh;

namespace {

bool isLowerHex(const std::string& text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

TEST_CASE("matchRoute matches segments and fills parameters") {
    using Params = std::map<std::string, std::string>;
    struct Case {
        std::string description;
        std::string pattern;
        std::string path;
        bool matches;
        Params params;
    };
    const std::vector<Case> cases{
        {"literal route", "/domains", "/domains", true, {}},
        {"id parameter", "/domains/{id}", "/domains/abc123", true, {{"id", "abc123"}}},
        {"id then literal", "/domains/{id}/verify", "/domains/abc/verify", true, {{"id", "abc"}}},
        {"two parameters",
         "/domains/{id}/orders/{order}",
         "/domains/a/orders/b",
         true,
         {{"id", "a"}, {"order", "b"}}},
        {"literal differs", "/domains", "/domain", false, {}},
        {"literal is case-sensitive", "/domains", "/Domains", false, {}},
        {"literal after id differs", "/domains/{id}/verify", "/domains/abc/verity", false, {}},
        {"extra segment", "/domains/{id}", "/domains/abc/verify", false, {}},
        {"missing segment", "/domains/{id}/verify", "/domains/abc", false, {}},
        {"missing parameter", "/domains/{id}", "/domains", false, {}},
        {"empty parameter segment", "/domains/{id}", "/domains/", false, {}},
        {"empty parameter in the middle", "/domains/{id}/verify", "/domains//verify", false, {}},
        {"trailing slash on literal route", "/domains", "/domains/", false, {}},
        {"trailing slash after parameter", "/domains/{id}", "/domains/abc/", false, {}},
        {"double slash", "/domains/{id}", "//domains/abc", false, {}},
        {"empty path", "/domains", "", false, {}},
        {"root path", "/domains", "/", false, {}},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CAPTURE(c.path);
        Params params;
        CHECK(matchRoute(c.pattern, c.path, params) == c.matches);
        if (c.matches) CHECK(params == c.params);
    }
}

TEST_CASE("parseQueryString decodes names and values") {
    using Query = std::map<std::string, std::string>;
    CHECK(parseQueryString("") == Query{});
    CHECK(parseQueryString("a=1&b=x%20y") == Query{{"a", "1"}, {"b", "x y"}});
    CHECK(parseQueryString("status=&limit=2") == Query{{"status", ""}, {"limit", "2"}});
    CHECK(parseQueryString("flag&&b=c") == Query{{"flag", ""}, {"b", "c"}});
    CHECK(parseQueryString("a=1=2") == Query{{"a", "1=2"}});
    CHECK_THROWS_AS(parseQueryString("a=%zz"), Error);
}

TEST_CASE("parseQueryString refuses a parameter given more than once, naming it") {
    struct Case {
        std::string description;
        std::string text;
        std::string named;
    };
    // Before, the last one won: `status=bogus&status=pending` passed the 400 for bogus, and
    // `status=pending&status=verified` listed only the verified domains.
    const std::vector<Case> cases{
        {"the same value twice", "a=1&a=1", "a"},
        {"two values", "a=1&a=2", "a"},
        {"an invalid value first", "status=bogus&status=pending", "status"},
        {"an empty value first", "status=&status=active", "status"},
        {"apart", "limit=0&cursor=x&limit=2", "limit"},
        {"without values", "a&a", "a"},
        {"one encoded", "a=1&%61=2", "a"},
        {"a long name, cut", std::string(300, 'n') + "=1&" + std::string(300, 'n') + "=2",
         std::string(40, 'n')},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        try {
            parseQueryString(c.text);
            FAIL_CHECK("no error");
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::BadRequest);
            CHECK(std::string(e.what()) ==
                  "query parameter " + c.named + " given more than once");
        }
    }
}

TEST_CASE("Request::param returns route parameters and throws for unknown names") {
    Request request;
    REQUIRE(matchRoute("/domains/{id}", "/domains/0123", request.params));
    CHECK(request.param("id") == "0123");
    CHECK_THROWS_AS(request.param("order"), std::logic_error);
}

TEST_CASE("chooseRequestId keeps a sane client id and replaces anything else") {
    struct Case {
        std::string description;
        std::string fromClient;
        bool kept;
    };
    const std::vector<Case> cases{
        {"simple", "abc123", true},
        {"all allowed punctuation", "req-1.2_3:4", true},
        {"UUID", "3f2504e0-4f89-11d3-9a0c-0305e82c3301", true},
        {"one character", "x", true},
        {"128 characters", std::string(128, 'a'), true},
        {"empty", "", false},
        {"129 characters", std::string(129, 'a'), false},
        {"space", "abc def", false},
        {"double quote", "abc\"def", false},
        {"single quote", "abc'def", false},
        {"newline (header injection)", "abc\r\nSet-Cookie: x=y", false},
        {"only newline", "\n", false},
        {"slash", "a/b", false},
        {"NUL", std::string("ab\0c", 4), false},
        {"non-ASCII", "r\xC3\xA9q", false},
        {"HTML", "<script>", false},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        const std::string chosen = chooseRequestId(c.fromClient);
        if (c.kept) {
            CHECK(chosen == c.fromClient);
        } else {
            CHECK(chosen != c.fromClient);
            CHECK(chosen.size() == 32);
            CHECK(isLowerHex(chosen));
        }
    }
}

TEST_CASE("chooseRequestId makes a different fresh id each time") {
    CHECK(chooseRequestId("") != chooseRequestId(""));
}

TEST_CASE("a fresh request id is the process's prefix, then a counter in 16 hex digits") {
    const std::string first = newRequestId();
    const std::string second = newRequestId();
    REQUIRE(first.size() == 32);
    CHECK(isLowerHex(first));
    CHECK(first.substr(0, 16) == second.substr(0, 16));
    CHECK(std::stoull(second.substr(16), nullptr, 16) ==
          std::stoull(first.substr(16), nullptr, 16) + 1);
}

TEST_CASE("isJsonContentType") {
    struct Case {
        std::string description;
        std::string contentType;
        bool json;
    };
    const std::vector<Case> cases{
        {"plain", "application/json", true},
        {"mixed case with charset", "Application/JSON; charset=utf-8", true},
        {"surrounding spaces", " application/json ", true},
        {"charset without space", "application/json;charset=utf-8", true},
        {"space before semicolon", "application/json ; charset=utf-8", true},
        {"upper case", "APPLICATION/JSON", true},
        {"text/plain", "text/plain", false},
        {"suffix on subtype", "application/jsonx", false},
        {"empty", "", false},
        {"multipart", "multipart/form-data", false},
        {"form", "application/x-www-form-urlencoded", false},
        {"prefix only", "application/", false},
        {"json type without application", "json", false},
        {"text/json", "text/json", false},
        {"json-seq", "application/json-seq", false},
        {"vendor +json", "application/problem+json", false},
        {"charset first", "charset=utf-8; application/json", false},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CAPTURE(c.contentType);
        CHECK(isJsonContentType(c.contentType) == c.json);
    }
}
