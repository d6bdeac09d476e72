#pragma once
// One webhook delivery worker of the scheduler: claims the next event (events/webhook_store.hpp),
// POSTs it to WEBHOOK_URL signed as Standard Webhooks says, and records the outcome: 2xx
// delivered; anything else (5xx, timeout, refused connection) tried again with exponential
// backoff until WEBHOOK_RETRY_WINDOW has passed, then dead with the last error. The scheduler
// runs WEBHOOK_WORKERS of them, so one slow receiver holds up one domain, not all of them.
#include <chrono>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "core/idle_polling.hpp"
#include "db/database.hpp"
#include "db/unreachable_backoff.hpp"

namespace dnsh {

// The delay after the `failedAttempts`-th failure: initial, 2x, 4x ... capped at an hour (or at
// the initial delay, when that is longer).
std::chrono::milliseconds webhookBackoff(int failedAttempts, std::chrono::milliseconds initial);

class WebhookDeliverer {
public:
    // `polling`, when given, hears when this deliverer claims an event.
    WebhookDeliverer(const Config& config, std::string owner, IdlePolling* polling = nullptr);

    // Delivers (or tries) at most one event; false when none was due. PostgreSQL unreachable:
    // false, and the following calls return false at once for 100 ms, then twice as long after
    // each failure, at most 2 s (as an issuance worker's looks). A receiver's failures keep
    // their own schedule (webhookBackoff).
    bool runOnce();
    // Nothing of its own to come back to: idle, it waits while another deliverer watches.
    bool keepsLooking() const { return false; }

private:
    struct Attempt {
        bool delivered = false;
        std::string outcome;  // "HTTP 200", "timeout: ...", for the log and last_error
    };
    Attempt post(const std::string& eventId, const std::string& body) const;

    const WebhookSettings& settings_;
    std::string key_;  // decoded from WEBHOOK_SECRET; never logged
    std::optional<WebhookUserInfo> userInfo_;  // WEBHOOK_URL's, sent as Basic; never logged
    std::string owner_;
    Database database_;
    IdlePolling* polling_;
    // PostgreSQL could not be reached: runOnce claims nothing for a while, longer each time.
    UnreachableBackoff unreachable_{kWorkerUnreachableRetryFirst, kWorkerUnreachableRetryMax};
};

}  // namespace dnsh
