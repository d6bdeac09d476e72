#include "domain/outbox.hpp"

#include <mutex>
#include <optional>

#include "core/json_text.hpp"
#include "crypto/random.hpp"
#include "db/sql.hpp"
#include "db/sql_time.hpp"
#include "dns/txt_check.hpp"
#include "domain/domain_json.hpp"
#include "domain/domain_repository.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

struct OutboxSettings {
    bool enabled = false;
    std::string delegationZone;  // for the view's delegation object
};

std::mutex settingsMutex;
OutboxSettings configured;  // off until configureOutbox

OutboxSettings settings() {
    std::lock_guard<std::mutex> lock(settingsMutex);
    return configured;
}

}  // namespace

void configureOutbox(const Config& config) {
    std::lock_guard<std::mutex> lock(settingsMutex);
    configured = OutboxSettings{config.webhook.enabled(), config.delegationZone};
}

void recordDomainEvent(Poco::Data::Session& session, EventType type, const std::string& domainId) {
    const OutboxSettings current = settings();
    if (!current.enabled) return;
    // The row lock orders this domain's events: whoever numbers the next event holds the lock
    // until it commits.
    if (runSql(session, "SELECT id FROM domains WHERE id = $1 FOR UPDATE", {domainId}).empty())
        return;
    if (type == EventType::DelegationLost) {
        // Checked again daily while it stays lost: one event when it is lost, not one a day. A
        // dead one never reached the customer, so it does not count: the next look tells again.
        const SqlRows last = runSql(session,
                                    "SELECT type FROM webhook_events WHERE domain_id = $1 "
                                    "AND state <> 'dead' ORDER BY id DESC LIMIT 1",
                                    {domainId});
        if (!last.empty() && last.text(0, "type") == toString(EventType::DelegationLost)) return;
    }
    const auto domain = DomainRepository(session).findById(domainId);
    if (!domain) return;
    const std::string typeName(toString(type));
    // {"type":…,"timestamp":…,"data":…}, its "timestamp" written by the INSERT: when the event
    // happened is this transaction's now(), the time the change's updated_at holds, not the
    // clock of whichever host wrote it (a replica minutes off put a domain's events out of order
    // with each other and with its rows).
    const std::string head =
        JsonText().beginObject().member("type", typeName).take() + ",\"timestamp\":\"";
    // No `persist`: what to publish once is set-up, not an event. The view already masks its
    // checks; any place a future field might repeat the token is masked here too.
    const std::string data = withoutToken(
        domainJson(*domain, ViewSettings{current.delegationZone, {}}), domain->verificationToken);
    // webhook-id: stable across retries, so the receiver can drop a repeat.
    const std::string eventId = "evt_" + randomHex(16);
    runSql(session,
           "INSERT INTO webhook_events (event_id, domain_id, type, payload) VALUES ($1, $2, $3, "
           "$4 || " DNSH_RFC3339_MS("now()") " || '\",\"data\":' || $5 || '}')",
           {eventId, domainId, typeName, head, data});
    logEvent(LogLevel::Info, "event recorded",
             {{"event_id", eventId}, {"type", typeName}, {"domain_id", domainId}});
}

void recordRenewalActionRequired(Poco::Data::Session& session, const std::string& orderId) {
    if (!settings().enabled) return;
    const SqlRows orders =
        runSql(session,
               "SELECT o.domain_id FROM acme_orders o WHERE o.id = $1 AND o.kind = 'renewal' "
               "AND NOT o.delegated AND o.step = 'await_dns' "
               "AND EXISTS (SELECT 1 FROM acme_challenges c WHERE c.order_id = o.id "
               "AND c.method = 'dns-01')",
               {orderId});
    if (!orders.empty())
        recordDomainEvent(session, EventType::RenewalActionRequired, orders.text(0, "domain_id"));
}

EventType renewalFailureEvent(FailureCode code) {
    return code == FailureCode::DelegationLost ? EventType::DelegationLost
                                               : EventType::RenewalFailed;
}

}  // namespace dnsh
