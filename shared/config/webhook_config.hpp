#pragma once
// WEBHOOK_* settings (README "Webhooks", "Configuration"): where events go, the Standard Webhooks
// signing secret, how long and how often delivery is retried, and how long finished events stay.
#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace dnsh {

struct WebhookSettings {
    std::string url;     // empty: webhooks off, nothing is written to the outbox
    std::string secret;  // "whsec_<base64>", as given; never logged
    std::chrono::milliseconds retryWindow{72LL * 3600 * 1000};  // WEBHOOK_RETRY_WINDOW
    std::chrono::milliseconds initialBackoff{5'000};            // WEBHOOK_BACKOFF, doubled per try
    std::chrono::milliseconds timeout{10'000};                  // WEBHOOK_TIMEOUT, per request
    int workers = 4;  // WEBHOOK_WORKERS: domains delivered to concurrently per scheduler
    // WEBHOOK_RETENTION: how long a delivered or dead event is kept (from its delivery or its
    // last attempt) before the scheduler deletes it; pending ones are kept however old while
    // webhooks are on (a scheduler with them off gives up as dead those past retryWindow).
    std::chrono::milliseconds retention{30LL * 24 * 3600 * 1000};
    bool enabled() const { return !url.empty(); }
};

// Throws ConfigError naming the variable, never quoting the secret nor WEBHOOK_URL (a credential
// may sit in its user info, path or query). WEBHOOK_SECRET may be absent with WEBHOOK_URL set:
// the handlers only write events to the outbox and never see the secret.
WebhookSettings loadWebhookSettings(
    const std::function<std::optional<std::string>(const std::string&)>& lookup);

// WEBHOOK_URL's user info (https://user:password@host/), which the delivery sends as
// `Authorization: Basic` as HTTP clients do (RFC 7617 §2): split at the first ':' (none: the
// password is empty), each part percent-decoded. Both are secrets: never logged.
struct WebhookUserInfo {
    std::string user;
    std::string password;
};

// Nothing when `url` has no user info. Throws std::invalid_argument saying what is wrong, never
// quoting the URL: an '@' not written %40, a bad %-escape, a ':' in the user, a control
// character (RFC 7617 §2).
std::optional<WebhookUserInfo> webhookUserInfo(const std::string& url);

// The scheduler, which signs and sends the events: with WEBHOOK_URL set, WEBHOOK_SECRET is
// required (ConfigError naming it otherwise).
void requireWebhookSigningSecret(const WebhookSettings& settings);

// "whsec_<base64>" -> the key bytes. Throws std::invalid_argument saying what is wrong.
std::string decodeWebhookSecret(const std::string& secret);

}  // namespace dnsh
