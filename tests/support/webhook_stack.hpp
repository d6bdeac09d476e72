#pragma once
// What a webhook end-to-end case runs against: a receiver (support/webhook_receiver.hpp) and a
// lighttpd of the case's own with WEBHOOK_URL set (the shared lighttpd of deploy/test runs
// without it). BASE_URL is pointed at that lighttpd, so the domain_flows helpers go through it:
// each case runs in a process of its own, and nothing has started threads when it is set.
#include <map>
#include <string>

#include "support/api_server.hpp"
#include "support/webhook_receiver.hpp"

namespace dnsh::test {

struct WebhookStack {
    // `apiEnv`: more settings for the handlers (DELEGATION_ZONE, say). `userInfo`, when given
    // ("user:password", percent-encoded), goes into the WEBHOOK_URL of handlers and schedulers:
    // http://user:password@127.0.0.1:port/hooks.
    explicit WebhookStack(const std::map<std::string, std::string>& apiEnv = {},
                          const std::string& userInfo = "");
    ~WebhookStack();
    WebhookStack(const WebhookStack&) = delete;
    WebhookStack& operator=(const WebhookStack&) = delete;

    // For dns-scheduler children delivering to the receiver, with a short backoff.
    std::map<std::string, std::string> schedulerEnv(
        const std::map<std::string, std::string>& extra = {}) const;

    std::string secret;
    WebhookReceiver receiver;
    std::string url;  // the WEBHOOK_URL given to the service: the receiver's, with `userInfo`
    ApiServer api;
};

}  // namespace dnsh::test
