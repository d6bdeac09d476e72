#include "support/webhook_stack.hpp"

#include <cstdlib>

#include "support/database.hpp"

namespace dnsh::test {

namespace {

std::map<std::string, std::string> withWebhook(std::map<std::string, std::string> env,
                                               const std::string& url,
                                               const std::string& secret) {
    env["WEBHOOK_URL"] = url;
    env["WEBHOOK_SECRET"] = secret;
    return env;
}

// `url` with "userInfo@" after its scheme's "://" (none when `userInfo` is empty).
std::string withUserInfo(std::string url, const std::string& userInfo) {
    if (!userInfo.empty()) url.insert(url.find("://") + 3, userInfo + "@");
    return url;
}

// Events another case left undelivered would go to this case's receiver: none is left.
void discardPending() {
    execute(
        "UPDATE webhook_events SET state = 'dead', last_error = 'discarded by the tests' "
        "WHERE state = 'pending'");
}

}  // namespace

WebhookStack::WebhookStack(const std::map<std::string, std::string>& apiEnv,
                           const std::string& userInfo)
    : secret(newWebhookSecret()),
      receiver(secret),
      url(withUserInfo(receiver.url(), userInfo)),
      api("webhooks", withWebhook(apiEnv, url, secret)) {
    discardPending();
    ::setenv("BASE_URL", api.baseUrl().c_str(), 1);
}

WebhookStack::~WebhookStack() {
    discardPending();
}

std::map<std::string, std::string> WebhookStack::schedulerEnv(
    const std::map<std::string, std::string>& extra) const {
    auto env =
        withWebhook({{"WEBHOOK_BACKOFF", "200ms"}, {"WEBHOOK_TIMEOUT", "3s"}}, url, secret);
    for (const auto& [name, value] : extra) env[name] = value;
    return env;
}

}  // namespace dnsh::test
