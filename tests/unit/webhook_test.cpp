// Webhook settings and Standard Webhooks signing: the WEBHOOK_* variables (a bad one stops the
// program naming it, never quoting the secret) and the signature against the specification's
// own example.
#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "events/webhook_delivery.hpp"
#include "events/webhook_signature.hpp"
#include "unit/environment_lookup.hpp"

using namespace dnsh;
using dnsh::test::lookupIn;
using std::chrono::milliseconds;

namespace {

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

}  // namespace

TEST_CASE("webhookSignature matches the Standard Webhooks example (and changes with the body)") {
    // The example of the specification's reference libraries; tests/node's standardwebhooks
    // 1.1.1 signs it to the same value.
    const std::string key = decodeWebhookSecret(kSecret);
    CHECK(webhookSignature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                           R"({"test": 2432232314})") ==
          "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    CHECK(webhookSignature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                           R"({"test": 2432232315})") !=
          "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST_CASE("webhooks are off by default, with a 3-day retry window") {
    const Config config = loadConfig(lookupIn({}));
    CHECK_FALSE(config.webhook.enabled());
    CHECK(config.webhook.retryWindow == milliseconds(3LL * 24 * 3600 * 1000));
    CHECK(config.webhook.workers == 4);
    CHECK(config.webhook.retention == milliseconds(30LL * 24 * 3600 * 1000));
}

TEST_CASE("WEBHOOK_* overrides") {
    const Config config = loadConfig(lookupIn({{"WEBHOOK_URL", "https://hooks.example.com/in?x=1"},
                                               {"WEBHOOK_SECRET", kSecret},
                                               {"WEBHOOK_RETRY_WINDOW", "10s"},
                                               {"WEBHOOK_BACKOFF", "200ms"},
                                               {"WEBHOOK_TIMEOUT", "1s"},
                                               {"WEBHOOK_WORKERS", "2"},
                                               {"WEBHOOK_RETENTION", "48h"}}));
    CHECK(config.webhook.enabled());
    CHECK(config.webhook.secret == kSecret);
    CHECK(config.webhook.retryWindow == milliseconds(10'000));
    CHECK(config.webhook.initialBackoff == milliseconds(200));
    CHECK(config.webhook.timeout == milliseconds(1'000));
    CHECK(config.webhook.workers == 2);
    CHECK(config.webhook.retention == milliseconds(48LL * 3600 * 1000));
}

TEST_CASE("bad WEBHOOK_* values stop the program naming the variable, not the secret") {
    struct Case {
        const char* description;
        std::map<std::string, std::string> environment;
        const char* named;
    };
    const std::string url = "http://127.0.0.1:9/hooks";
    const Case cases[] = {
        {"no whsec_ prefix",
         {{"WEBHOOK_URL", url}, {"WEBHOOK_SECRET", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
         "WEBHOOK_SECRET"},
        {"not base64",
         {{"WEBHOOK_URL", url}, {"WEBHOOK_SECRET", "whsec_not*base64!!"}},
         "WEBHOOK_SECRET"},
        {"too short a key",
         {{"WEBHOOK_URL", url}, {"WEBHOOK_SECRET", "whsec_c2VjcmV0"}},
         "WEBHOOK_SECRET"},
        {"not an http URL",
         {{"WEBHOOK_URL", "ftp://example.com/"}, {"WEBHOOK_SECRET", kSecret}},
         "WEBHOOK_URL"},
        {"URL without a host",
         {{"WEBHOOK_URL", "http:///x"}, {"WEBHOOK_SECRET", kSecret}},
         "WEBHOOK_URL"},
        // Slack-style: the path is the credential; others carry it in the query.
        {"a typo in a URL whose path is a credential",
         {{"WEBHOOK_URL", "htps://hooks.example.test/services/T0/B0/s3cr3t-path?token=s3cr3t-q"},
          {"WEBHOOK_SECRET", kSecret}},
         "WEBHOOK_URL"},
        {"a URL that does not parse",
         {{"WEBHOOK_URL", "https://hooks.example.test:99999/s3cr3t-path"},
          {"WEBHOOK_SECRET", kSecret}},
         "WEBHOOK_URL"},
        {"bad retry window", {{"WEBHOOK_RETRY_WINDOW", "3 days"}}, "WEBHOOK_RETRY_WINDOW"},
        {"bad backoff", {{"WEBHOOK_BACKOFF", "-1s"}}, "WEBHOOK_BACKOFF"},
        {"bad timeout", {{"WEBHOOK_TIMEOUT", "soon"}}, "WEBHOOK_TIMEOUT"},
        {"no workers", {{"WEBHOOK_WORKERS", "0"}}, "WEBHOOK_WORKERS"},
        {"bad retention", {{"WEBHOOK_RETENTION", "30d"}}, "WEBHOOK_RETENTION"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        try {
            loadConfig(lookupIn(c.environment));
            FAIL("accepted");
        } catch (const ConfigError& e) {
            const std::string message = e.what();
            CHECK(message.find(c.named) != std::string::npos);
            const auto secret = c.environment.find("WEBHOOK_SECRET");
            if (secret != c.environment.end())
                CHECK(message.find(secret->second) == std::string::npos);
            CHECK(message.find("s3cr3t") == std::string::npos);
        }
    }
}

TEST_CASE("WEBHOOK_URL with user info is accepted, read as Basic credentials (RFC 7617)") {
    // Sent as `Authorization: Basic`, as curl and browsers do: user and password split at the
    // first ':' and percent-decoded ('+' stays '+'); without ':' the password is empty.
    struct Case {
        const char* url;
        const char* user;
        const char* password;
    };
    const Case cases[] = {
        {"https://hook-user:s3cr3t%40pass@hooks.example.test/in", "hook-user", "s3cr3t@pass"},
        {"http://s3cr3t-token@127.0.0.1:9/hooks", "s3cr3t-token", ""},
        {"http://u%C3%A9:a%3Ab:c+d@127.0.0.1:9/hooks", "u\xC3\xA9", "a:b:c+d"},
        {"http://:only-password@127.0.0.1:9/hooks", "", "only-password"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.url);
        const Config config =
            loadConfig(lookupIn({{"WEBHOOK_URL", c.url}, {"WEBHOOK_SECRET", kSecret}}));
        CHECK(config.webhook.url == c.url);  // as given: the delivery reads it again
        const auto userInfo = webhookUserInfo(config.webhook.url);
        REQUIRE(userInfo);
        CHECK(userInfo->user == c.user);
        CHECK(userInfo->password == c.password);
    }
    // An '@' in the path or query is no user info.
    const Config config = loadConfig(lookupIn(
        {{"WEBHOOK_URL", "https://hooks.example.test/to/a@b.example?cc=c@d.example"},
         {"WEBHOOK_SECRET", kSecret}}));
    CHECK(config.webhook.url == "https://hooks.example.test/to/a@b.example?cc=c@d.example");
    CHECK_FALSE(webhookUserInfo(config.webhook.url));
}

TEST_CASE("WEBHOOK_URL user info that cannot be sent as meant is refused, without quoting it") {
    // Poco would keep "pass" of the first as the user; Poco's own text for a bad
    // %-escape quotes the user info.
    for (const std::string url : {"https://hook-user:s3cr3t@pass@hooks.example.test/in",
                                  "https://hook-user:s3cr3t%zzpass@hooks.example.test/in",
                                  "https://hook-user:s3cr3t%4@hooks.example.test/in",
                                  "https://hook%3Auser:s3cr3t@hooks.example.test/in",
                                  "https://hook-user:s3cr3t%0D%0A@hooks.example.test/in"}) {
        CAPTURE(url);
        try {
            loadConfig(lookupIn({{"WEBHOOK_URL", url}, {"WEBHOOK_SECRET", kSecret}}));
            FAIL("accepted");
        } catch (const ConfigError& e) {
            const std::string message = e.what();
            CHECK(message.find("WEBHOOK_URL") != std::string::npos);
            CHECK(message.find("user") != std::string::npos);
            CHECK(message.find("s3cr3t") == std::string::npos);
            CHECK(message.find("hook") == std::string::npos);
            CHECK(message.find("example.test") == std::string::npos);
        }
    }
}

TEST_CASE("WEBHOOK_URL without WEBHOOK_SECRET: a handler's settings, refused by the scheduler") {
    // Handlers write outbox events (WEBHOOK_URL says whether) and never get the secret.
    const Config config = loadConfig(lookupIn({{"WEBHOOK_URL", "http://127.0.0.1:9/hooks"}}));
    CHECK(config.webhook.enabled());
    CHECK(config.webhook.secret.empty());
    CHECK_THROWS_WITH_AS(requireWebhookSigningSecret(config.webhook),
                         doctest::Contains("WEBHOOK_SECRET"), ConfigError);
    const Config signing = loadConfig(
        lookupIn({{"WEBHOOK_URL", "http://127.0.0.1:9/hooks"}, {"WEBHOOK_SECRET", kSecret}}));
    CHECK_NOTHROW(requireWebhookSigningSecret(signing.webhook));
    CHECK_NOTHROW(requireWebhookSigningSecret(loadConfig(lookupIn({})).webhook));
}

TEST_CASE("webhookBackoff doubles from the initial delay up to an hour") {
    struct Case {
        const char* description;
        int failedAttempts;
        milliseconds initial;
        milliseconds expected;
    };
    const Case cases[] = {
        {"first failure: the initial delay", 1, milliseconds(5'000), milliseconds(5'000)},
        {"second: doubled", 2, milliseconds(5'000), milliseconds(10'000)},
        {"fifth: 16 times", 5, milliseconds(200), milliseconds(3'200)},
        {"capped at an hour", 30, milliseconds(5'000), milliseconds(3'600'000)},
        {"a longer initial delay is its own cap", 3, milliseconds(7'200'000),
         milliseconds(7'200'000)},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(webhookBackoff(c.failedAttempts, c.initial) == c.expected);
    }
}
