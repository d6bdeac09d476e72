#include "support/webhook_stack.hpp"

#include <cstdlib>

#include "support/database.hpp"

namespace dnsh::test {

namespace {

std::map<std::string, std::string> withWebhook(std::map<std::string, std::string> env,
                                               const WebhookReceiver& receiver,
                                               const std::string& secret) {
    env["WEBHOOK_URL"] = receiver.url();
    env["WEBHOOK_SECRET"] = secret;
    return env;
}

// Events another case left undelivered would go to this case's receiver: none is left.
void discardPending() {
    execute(
        "UPDATE webhook_events SET state = 'dead', last_error = 'discarded by the tests' "
        "WHERE state = 'pending'");
}

}  // namespace

WebhookStack::WebhookStack(const std::map<std::string, std::string>& apiEnv)
    : secret(newWebhookSecret()),
      receiver(secret),
      api("webhooks", withWebhook(apiEnv, receiver, secret)) {
    discardPending();
    ::setenv("BASE_URL", api.baseUrl().c_str(), 1);
}

WebhookStack::~WebhookStack() {
    discardPending();
}

std::map<std::string, std::string> WebhookStack::schedulerEnv(
    const std::map<std::string, std::string>& extra) const {
    auto env =
        withWebhook({{"WEBHOOK_BACKOFF", "200ms"}, {"WEBHOOK_TIMEOUT", "3s"}}, receiver, secret);
    for (const auto& [name, value] : extra) env[name] = value;
    return env;
}

}  // namespace dnsh::test
