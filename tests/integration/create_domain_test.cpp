// POST /domains through the create_domain handler (CGI) against the real PostgreSQL.
#include <algorithm>
#include <cctype>
#include <functional>
#include <string>
#include <vector>

#include "integration_support.hpp"

namespace dnsh::test {

namespace {

std::string upper(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return text;
}

// Labels of "x" in front of `base` until the whole name is exactly `total` characters.
std::string padToLength(const std::string& base, std::size_t total) {
    std::string name = base;
    while (name.size() < total) {
        const std::size_t room = total - name.size() - 1;  // one for the dot
        name = std::string(std::min<std::size_t>(room, 63), 'x') + "." + name;
    }
    return name;
}

// The 201 body of a registration of `expectedName`, and the row it left in the database.
void checkRegistration(const HttpResult& result, const std::string& expectedName) {
    INFO("body: " << result.body);
    REQUIRE(result.status == 201);
    checkEnvelope(result);
    const std::string id = result.jsonString("id");
    const std::string token = result.jsonString("verification_token");
    CHECK(isLowerHex(id, 32));
    CHECK(result.jsonString("domain_name") == expectedName);
    CHECK(isLowerHex(token, 64));
    CHECK(result.jsonString("status") == "pending");
    CHECK(result.jsonString("challenge_domain") == "_acme-challenge." + expectedName);
    // The TXT way first; with DELEGATION_ZONE the CNAME way follows.
    CHECK(result.jsonString("instructions")
              .rfind("Create a TXT record for _acme-challenge." + expectedName +
                         " with value: " + token,
                     0) == 0);

    const std::string where = " FROM domains WHERE id = " + quoted(id);
    CHECK(scalar("SELECT domain_name" + where) == expectedName);
    CHECK(scalar("SELECT verification_token" + where) == token);
    CHECK(scalar("SELECT status" + where) == "pending");
    CHECK(scalar("SELECT verified_at" + where).empty());
}

// A rejected request: the error, and not a single row more in domains.
void checkRejected(const std::function<HttpResult()>& send, int status,
                   const std::string& fragment) {
    checkError(sendExpectingNoNewRow(send), status, fragment);
}

}  // namespace

TEST_CASE("create_domain: registers a domain with a normalised name, a token and instructions") {
    struct Case {
        std::string description;
        std::string requested;
        std::string expected;
    };
    const std::string plain = uniqueDomainName("create");
    const std::string mixed = uniqueDomainName("create");
    const std::string idn1 = uniqueDomainName("idn");
    const std::string idn2 = uniqueDomainName("idn");
    const std::string idn3 = uniqueDomainName("idn");
    const std::string fullStop = uniqueDomainName("fullstop");
    const std::string longLabel = std::string(63, 'a') + "." + uniqueDomainName("label63");
    // The longest: _acme-challenge.<name> and _validation-persist.<name> fit in 253.
    const std::string longName = padToLength(uniqueDomainName("len233"), 233);
    const std::vector<Case> cases = {
        {"lower-case name as is", plain, plain},
        {"upper case and a trailing dot are normalised away", upper(mixed) + ".", mixed},
        {"an IDN U-label becomes its A-label", "bücher." + idn1, "xn--bcher-kva." + idn1},
        {"an upper-case U-label is case-folded first", "BÜCHER." + idn2, "xn--bcher-kva." + idn2},
        {"an A-label is kept", "xn--bcher-kva." + idn3, "xn--bcher-kva." + idn3},
        {"a trailing ideographic full stop is the root, like a dot", fullStop + "\xe3\x80\x82",
         fullStop},
        {"a 63-character label is allowed", longLabel, longLabel},
        {"a 233-character name is allowed", longName, longName},
    };
    for (const Case& c : cases) {
        INFO(c.description << ": " << c.requested);
        const long long before = domainRows();
        checkRegistration(createDomain(c.requested), c.expected);
        CHECK(domainRowsNamed(c.expected) == 1);
        CHECK(domainRows() >= before + 1);
    }
}

TEST_CASE("create_domain: ids and tokens differ between registrations") {
    const HttpResult first = createDomain(uniqueDomainName("distinct"));
    const HttpResult second = createDomain(uniqueDomainName("distinct"));
    REQUIRE(first.status == 201);
    REQUIRE(second.status == 201);
    CHECK(first.jsonString("id") != second.jsonString("id"));
    CHECK(first.jsonString("verification_token") != second.jsonString("verification_token"));
}

TEST_CASE("create_domain: JSON content types with parameters or other case are accepted") {
    for (const std::string type : {"application/json; charset=utf-8", "Application/JSON",
                                   "application/json;charset=UTF-8"}) {
        INFO("Content-Type: " << type);
        const std::string name = uniqueDomainName("ctype");
        checkRegistration(createDomainRaw(domainNameBody(name), type), name);
    }
}

TEST_CASE("create_domain: X-Request-Id is echoed when sane, replaced otherwise") {
    struct Case {
        std::string description;
        bool send;
        std::string sent;
        bool echoed;
    };
    const std::vector<Case> cases = {
        {"none sent: a fresh one", false, "", false},
        {"letters, digits and ._:- are echoed", true, "req-42.abc:DEF_9", true},
        {"128 characters are echoed", true, std::string(128, 'r'), true},
        {"empty: a fresh one", true, "", false},
        {"spaces: replaced", true, "has spaces in it", false},
        {"129 characters: replaced", true, std::string(129, 'r'), false},
        {"a header injection attempt: replaced", true, "abc\r\nX-Injected: 1", false},
        {"non-ASCII: replaced", true, "id-\xc3\xa4", false},
    };
    for (const Case& c : cases) {
        INFO(c.description);
        std::map<std::string, std::string> env;
        if (c.send) env["HTTP_X_REQUEST_ID"] = c.sent;
        const HttpResult result =
            createDomainRaw(domainNameBody(uniqueDomainName("reqid")), "application/json", env);
        CHECK(result.status == 201);
        const std::string id = result.header("X-Request-Id");
        if (c.echoed) {
            CHECK(id == c.sent);
        } else {
            CHECK(id != c.sent);
            CHECK(isLowerHex(id, 32));
        }
        CHECK(result.header("X-Injected").empty());
    }
    // Error responses carry the client's id too.
    const HttpResult rejected =
        createDomainRaw("{", "application/json", {{"HTTP_X_REQUEST_ID", "err-id-1"}});
    CHECK(rejected.status == 400);
    CHECK(rejected.header("X-Request-Id") == "err-id-1");
}

TEST_CASE("create_domain: a name already registered is 409, whatever its spelling") {
    struct Case {
        std::string description;
        std::string registered;
        std::string again;
        std::string normalised;
    };
    const std::string name = uniqueDomainName("dup");
    const std::string idn = uniqueDomainName("dupidn");
    const std::vector<Case> cases = {
        {"the same name", name, name, name},
        {"differs only in case", name, upper(name), name},
        {"differs only by a trailing dot", name, name + ".", name},
        {"upper case and trailing dot", name, upper(name) + ".", name},
        {"A-label of a registered U-label", "bücher." + idn, "xn--bcher-kva." + idn,
         "xn--bcher-kva." + idn},
        {"U-label of a registered A-label", "xn--bcher-kva." + idn, "BÜCHER." + idn,
         "xn--bcher-kva." + idn},
    };
    for (const Case& c : cases) {
        INFO(c.description << ": " << c.again);
        if (domainRowsNamed(c.normalised) == 0) REQUIRE(createDomain(c.registered).status == 201);
        const std::string firstId =
            scalar("SELECT id FROM domains WHERE domain_name = " + quoted(c.normalised));
        const HttpResult result = sendExpectingNoNewRow([&] { return createDomain(c.again); });
        // error_code: a client tells "registered already" from any other 409 without reading
        // the message (README "API").
        checkError(result, 409, "already registered", "already_registered");
        CHECK(result.jsonString("error").find(c.normalised) != std::string::npos);
        CHECK(domainRowsNamed(c.normalised) == 1);
        CHECK(scalar("SELECT id FROM domains WHERE domain_name = " + quoted(c.normalised)) ==
              firstId);
    }
}

TEST_CASE("create_domain: bodies that are not {\"domain_name\": string} are 400") {
    struct Case {
        std::string description;
        std::string body;
        std::string fragment;
    };
    // Names in the bodies are fresh, so "no row with that name" is a check of its own.
    const std::string a = uniqueDomainName("body");
    const std::string b = uniqueDomainName("body");
    const std::vector<Case> cases = {
        {"empty body", "", "empty"},
        {"truncated JSON", "{\"domain_name\": \"" + a + "\"", "not valid JSON"},
        {"not JSON at all", "domain_name=example.com", "not valid JSON"},
        {"trailing garbage after the object", "{\"domain_name\": \"" + a + "\"} x",
         "not valid JSON"},
        {"single quotes", "{'domain_name': '" + a + "'}", "not valid JSON"},
        {"a JSON array", "[\"" + a + "\"]", "must be a JSON object"},
        {"a JSON string", "\"" + a + "\"", "must be a JSON object"},
        {"a JSON number", "42", "must be a JSON object"},
        {"JSON null", "null", "must be a JSON object"},
        {"an empty object", "{}", "missing field: domain_name"},
        {"the field misspelt", "{\"domainName\": \"" + a + "\"}", "missing field: domain_name"},
        {"a number", "{\"domain_name\": 42}", "domain_name must be a string"},
        {"null", "{\"domain_name\": null}", "domain_name must be a string"},
        {"a boolean", "{\"domain_name\": true}", "domain_name must be a string"},
        {"an array", "{\"domain_name\": [\"" + a + "\"]}", "domain_name must be a string"},
        {"an object", "{\"domain_name\": {\"name\": \"" + a + "\"}}",
         "domain_name must be a string"},
        {"the key twice", "{\"domain_name\": \"" + a + "\", \"domain_name\": \"" + b + "\"}",
         "duplicate key"},
    };
    for (const Case& c : cases) {
        INFO(c.description << ": " << c.body);
        checkRejected([&] { return createDomainRaw(c.body); }, 400, c.fragment);
        CHECK(domainRowsNamed(a) == 0);
        CHECK(domainRowsNamed(b) == 0);
    }
}

TEST_CASE("create_domain: invalid domain names are 400 and say why") {
    struct Case {
        std::string description;
        std::string name;
        std::string fragment;
    };
    const std::string base = uniqueDomainName("invalid");
    const std::vector<Case> cases = {
        {"empty", "", "must not be empty"},
        {"only a dot", ".", "just a dot"},
        {"one label", "localhost", "at least two labels"},
        {"one label with a trailing dot", "example.", "at least two labels"},
        {"two dots in a row", "a.." + base, "empty label"},
        {"a leading dot", "." + base, "empty label"},
        {"two trailing dots", base + "..", "empty label"},
        {"an IDN with two trailing dots",
         "b\xc3\xbc"
         "cher." +
             base + "..",
         "empty label"},
        {"a dot and an ideographic full stop at the end", base + ".\xe3\x80\x82", "empty label"},
        {"a label starting with a hyphen", "-a." + base, "hyphen"},
        {"a label ending with a hyphen", "a-." + base, "hyphen"},
        {"an underscore", "a_b." + base, "letters, digits and hyphens"},
        {"a comma", "a,b." + base, "letters, digits and hyphens"},
        {"a space", "a b." + base, "spaces"},
        {"a tab", "a\tb." + base, "spaces"},
        {"a URL", "https://" + base + "/", "URL characters"},
        {"a path", base + "/path", "URL characters"},
        {"user@host", "user@" + base, "URL characters"},
        {"host:port", base + ":443", "URL characters"},
        {"a wildcard of a single label", "*.com", "two labels"},
        {"a wildcard label inside the name", "a.*." + base, "wildcard is allowed only"},
        {"two wildcard labels", "*.*." + base, "wildcard is allowed only"},
        {"an IPv4 address", "192.0.2.1", "IP address"},
        {"an IPv4 address with a trailing dot", "192.0.2.1.", "IP address"},
        {"an IPv6 address", "2001:db8::1", "invalid domain_name"},
        {"an all-digit top-level label", "example.123", "all digits"},
        {"a 64-character label", std::string(64, 'a') + "." + base, "limit is 63"},
        {"a 234-character name (its challenge names over 253)", padToLength(base, 234),
         "is 234 characters; the limit is 233"},
        {"a wildcard of 234 characters after *.", "*." + padToLength(base, 234),
         "_validation-persist.<name>"},
        {"a 253-character name", padToLength(base, 253), "limit is 233"},
        {"a 254-character name", padToLength(base, 254), "limit is 233"},
        {"2000 characters", std::string(2000, 'a'), "limit is 233"},
        {"hyphens in the third and fourth positions", "ab--cd." + base, "third and fourth"},
        {"bad punycode", "xn--zz." + base, "internationalised"},
        {"a NUL byte", std::string("a\0b.", 4) + base, "NUL"},
        {"a symbol IDNA 2008 forbids", "\xe2\x98\x83." + base, "internationalised"},
    };
    for (const Case& c : cases) {
        INFO(c.description << ": " << c.name.substr(0, 80));
        const HttpResult result = sendExpectingNoNewRow([&] { return createDomain(c.name); });
        checkError(result, 400, c.fragment);
        CHECK(result.jsonString("error").rfind("invalid domain_name", 0) == 0);
    }
}

TEST_CASE("create_domain: a non-JSON or missing Content-Type is 415") {
    for (const std::string type : {"text/plain", "", "application/x-www-form-urlencoded",
                                   "application/jsonp", "text/json", "multipart/form-data"}) {
        INFO("Content-Type: '" << type << "'");
        const std::string name = uniqueDomainName("media");
        checkRejected([&] { return createDomainRaw(domainNameBody(name), type); }, 415,
                      "Content-Type must be application/json");
        CHECK(domainRowsNamed(name) == 0);
    }
}

TEST_CASE("create_domain: a body over 64 KiB is 413") {
    for (const std::string length : {"70000", "65537", "99999999999"}) {
        INFO("CONTENT_LENGTH=" << length);
        const std::string name = uniqueDomainName("large");
        checkRejected(
            [&] {
                return createDomainRaw(domainNameBody(name), "application/json",
                                       {{"CONTENT_LENGTH", length}});
            },
            413, "larger than 64 KiB");
        CHECK(domainRowsNamed(name) == 0);
    }
}

TEST_CASE("create_domain: other methods on /domains are 405 with Allow: GET, HEAD, POST") {
    // GET and HEAD /domains are list_domains' (lighttpd routes them there); as CGI this handler
    // says so (a HEAD answer has no body to check: tests/e2e/api_test.cpp).
    for (const std::string method : {"GET", "PUT", "DELETE", "PATCH"}) {
        INFO("method " << method);
        CgiRequest request;
        request.method = method;
        request.path = "/domains";
        request.contentType = method == "PUT" || method == "PATCH" ? "application/json" : "";
        if (!request.contentType.empty()) request.body = domainNameBody(uniqueDomainName("m"));
        const HttpResult result =
            sendExpectingNoNewRow([&] { return runCgi("create_domain", request); });
        checkError(result, 405, "use GET, HEAD, POST");
        CHECK(result.header("Allow") == "GET, HEAD, POST");
    }
}

}  // namespace dnsh::test
