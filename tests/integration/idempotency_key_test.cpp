// POST /domains with an Idempotency-Key (draft-ietf-httpapi-idempotency-key-header-06, README
// "API") through the create_domain handler (CGI) against the real PostgreSQL: the retry of a
// request gets its registration back, token included; the key reused with another request is
// 422; a name registered under another key (or none) is 409 already_registered; a malformed key
// is 400 and stores nothing.
#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "integration_support.hpp"

namespace dnsh::test {

namespace {

HttpResult createWithKey(const std::string& name, const std::string& field) {
    return createDomainRaw(domainNameBody(name), "application/json",
                           {{"HTTP_IDEMPOTENCY_KEY", field}});
}

// A key no other test (or earlier run) uses, as the draft recommends: random (§2.2).
std::string uniqueKey(const std::string& prefix) {
    const std::string name = uniqueDomainName(prefix);
    return name.substr(0, name.find('.'));
}

std::string upper(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return text;
}

std::string storedKey(const std::string& id) {
    return scalar("SELECT coalesce(idempotency_key, '(none)') FROM domains WHERE id = " +
                  quoted(id));
}

}  // namespace

TEST_CASE("idempotency: a retry with the same key gets the same registration, one row") {
    const std::string name = uniqueDomainName("idem-retry");
    const std::string key = uniqueKey("key");
    const HttpResult first = createWithKey(name, "\"" + key + "\"");
    INFO("first: " << first.body);
    REQUIRE(first.status == 201);
    const std::string id = first.jsonString("id");
    CHECK(storedKey(id) == key);

    struct Case {
        std::string description;
        std::string name;
        std::string field;
    };
    const std::vector<Case> cases{
        {"the very same request", name, "\"" + key + "\""},
        {"SP around the String (RFC 8941 §4.2)", name, "  \"" + key + "\" "},
        {"the name in upper case with a trailing dot: the same normalised name",
         upper(name) + ".", "\"" + key + "\""},
    };
    for (const Case& c : cases) {
        INFO(c.description);
        const HttpResult again = createWithKey(c.name, c.field);
        INFO("again: " << again.body);
        CHECK(again.status == 201);
        checkEnvelope(again);
        // The whole answer again: id, token, instructions, created_at.
        CHECK(again.body == first.body);
        CHECK(domainRowsNamed(name) == 1);
    }
}

TEST_CASE("idempotency: an escaped character is part of the key") {
    const std::string name = uniqueDomainName("idem-escape");
    const std::string key = uniqueKey("key");
    const HttpResult first = createWithKey(name, "\"" + key + "\\\"q\\\\\"");
    INFO("first: " << first.body);
    REQUIRE(first.status == 201);
    CHECK(storedKey(first.jsonString("id")) == key + "\"q\\");
    CHECK(createWithKey(name, "\"" + key + "\\\"q\\\\\"").body == first.body);
    // Without the escaped characters it is another key: the name is taken, 409.
    checkError(createWithKey(name, "\"" + key + "q\""), 409, "already registered",
               "already_registered");
}

TEST_CASE("idempotency: the key reused with another name is 422 and shows nothing of the first") {
    const std::string name = uniqueDomainName("idem-first");
    const std::string key = uniqueKey("key");
    const HttpResult first = createWithKey(name, "\"" + key + "\"");
    REQUIRE(first.status == 201);
    const std::string other = uniqueDomainName("idem-other");
    const HttpResult reused =
        sendExpectingNoNewRow([&] { return createWithKey(other, "\"" + key + "\""); });
    // {"error", "error_code"} only: neither domain's id nor token.
    checkError(reused, 422, "Idempotency-Key was used with another request",
               "idempotency_key_reused");
    CHECK(reused.body.find(name) == std::string::npos);
    CHECK(reused.header("Status").rfind("422 Unprocessable Content", 0) == 0);
    CHECK(domainRowsNamed(other) == 0);
}

TEST_CASE("idempotency: a name registered under another key, or none, is 409 already_registered") {
    const std::string name = uniqueDomainName("idem-taken");
    const HttpResult first = createWithKey(name, "\"" + uniqueKey("key") + "\"");
    REQUIRE(first.status == 201);
    const HttpResult otherKey = sendExpectingNoNewRow(
        [&] { return createWithKey(name, "\"" + uniqueKey("key") + "\""); });
    checkError(otherKey, 409, "another Idempotency-Key", "already_registered");
    checkError(sendExpectingNoNewRow([&] { return createDomain(name); }), 409,
               "already registered", "already_registered");

    // Registered without a key: a retry with one finds no row holding it.
    const std::string plain = uniqueDomainName("idem-plain");
    REQUIRE(createDomain(plain).status == 201);
    checkError(sendExpectingNoNewRow(
                   [&] { return createWithKey(plain, "\"" + uniqueKey("key") + "\""); }),
               409, "already registered", "already_registered");
}

TEST_CASE("idempotency: the key lives as long as the domain") {
    const std::string name = uniqueDomainName("idem-deleted");
    const std::string key = uniqueKey("key");
    const HttpResult first = createWithKey(name, "\"" + key + "\"");
    REQUIRE(first.status == 201);
    execute("DELETE FROM domains WHERE id = " + quoted(first.jsonString("id")));
    // Its row gone, the key and the name are free: a new registration, not the old one.
    const HttpResult again = createWithKey(name, "\"" + key + "\"");
    REQUIRE(again.status == 201);
    CHECK(again.jsonString("id") != first.jsonString("id"));
    CHECK(again.jsonString("verification_token") != first.jsonString("verification_token"));
    CHECK(storedKey(again.jsonString("id")) == key);
}

TEST_CASE("idempotency: an empty field is no key") {
    // lighttpd drops an empty field; a CGI caller's empty variable is taken the same way.
    const std::string name = uniqueDomainName("idem-empty");
    const HttpResult created = createWithKey(name, "");
    REQUIRE(created.status == 201);
    CHECK(storedKey(created.jsonString("id")) == "(none)");
}

TEST_CASE("idempotency: a malformed key is 400 before anything is stored") {
    struct Case {
        std::string description;
        std::string field;
        std::string fragment;
    };
    const std::vector<Case> cases{
        {"no double quotes", "8e03978e-40d5-43e8-bc93-6894a57f9324", "not a String"},
        {"an empty String", "\"\"", "is empty"},
        {"256 characters", "\"" + std::string(256, 'k') + "\"", "longer than 255"},
        {"not ASCII", "\"cl\xc3\xa9\"", "not printable ASCII"},
        {"parameters", "\"k\";v=1", "takes no parameters"},
        {"two fields, as lighttpd joins them", "\"a\", \"b\"", "must be one String"},
    };
    for (const Case& c : cases) {
        INFO(c.description);
        const std::string name = uniqueDomainName("idem-bad");
        checkError(sendExpectingNoNewRow([&] { return createWithKey(name, c.field); }), 400,
                   c.fragment);
        CHECK(domainRowsNamed(name) == 0);
    }
}

}  // namespace dnsh::test
