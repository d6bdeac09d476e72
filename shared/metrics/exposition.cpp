#include "metrics/exposition.hpp"

#include <map>
#include <string_view>

#include "db/sql.hpp"
#include "events/webhook_store.hpp"
#include "issuance/order_budget.hpp"
#include "metrics/counter_store.hpp"
#include "metrics/exposition_lines.hpp"

namespace dnsh {

namespace {

using exposition_lines::header;
using exposition_lines::sample;

// Row counts kept by triggers (007_metrics.sql): a few rows per counter, whatever the table size,
// plus the registrations not yet folded into them (025_registration_deltas.sql: at most a few
// seconds' worth while dns-scheduler runs), summed by the view metric_row_totals.
std::map<std::string, double> rowCounts(Poco::Data::Session& session) {
    const SqlRows rows = runSql(session, "SELECT counter, value FROM metric_row_totals", {});
    std::map<std::string, double> counts;
    for (int row = 0; row < rows.size(); ++row)
        counts[rows.text(row, "counter")] = static_cast<double>(rows.integer(row, "value"));
    return counts;
}

void renderDomains(std::string& out, const std::map<std::string, double>& counts) {
    header(out, "dnsh_domains", "gauge", "Registered domains by status (the API's status values).");
    for (const char* status : {"pending", "verified", "certificate_pending", "active", "failed"}) {
        const auto found = counts.find(std::string("domains:") + status);
        sample(out, "dnsh_domains", formatLabels({{"status", status}}),
               found == counts.end() ? 0 : found->second);
    }
}

// The newest certificate of each domain (superseded_at IS NULL): range scans over partial
// indexes, so the cost follows the certificates near expiry, not the table.
void renderCertificates(std::string& out, Poco::Data::Session& session,
                        const std::map<std::string, double>& counts) {
    const std::string newest = " FROM certificates WHERE superseded_at IS NULL";
    // Lifetime over 21 days: renewed (a third of the lifetime before expiry, RENEW_BEFORE's
    // default) before its last 7 days. Word for word the predicate of
    // certificates_newest_long_lived_expiry_idx (029), so the count is a range scan over it.
    const std::string longLived = " AND expires_at - issued_at > interval '21 days'";
    auto within = [&](const char* interval) {
        return "(SELECT count(*)" + newest + " AND expires_at <= now() + interval '" + interval +
               "')";
    };
    const SqlRows row = runSql(
        session,
        "SELECT " + within("1 day") + " AS d1, " + within("7 days") + " AS d7, " +
                  within("14 days") + " AS d14, " + within("30 days") +
                  " AS d30,"
                  " (SELECT coalesce(extract(epoch FROM min(expires_at)), 0)::double precision" +
                  newest +
                  ") AS soonest,"
                  " (SELECT count(*)" +
                  newest +
                  " AND overdue_at <= now()) AS overdue,"
                  " (SELECT count(*)" +
                  newest + " AND renewal_failures > 0) AS failing,"
                  " (SELECT count(*)" +
                  newest + " AND expires_at <= now()) AS expired,"
                  " (SELECT count(*)" +
                  newest + longLived +
                  " AND expires_at <= now() + interval '7 days') AS d7_long_lived",
        {});
    auto number = [&](const char* column) { return std::stod(row.text(0, column)); };
    const auto all = counts.find("certificates:newest");

    header(out, "dnsh_certificates", "gauge",
           "Newest certificate of each domain by time to expiry, cumulative (an expired one counts "
           "in every bucket).");
    for (const auto& [bound, column] : std::vector<std::pair<std::string, const char*>>{
             {"1d", "d1"}, {"7d", "d7"}, {"14d", "d14"}, {"30d", "d30"}})
        sample(out, "dnsh_certificates", formatLabels({{"expires_within", bound}}), number(column));
    sample(out, "dnsh_certificates", formatLabels({{"expires_within", "+Inf"}}),
           all == counts.end() ? 0 : all->second);
    header(out, "dnsh_certificates_long_lived", "gauge",
           "Newest certificates with a lifetime over 21 days that expire within 7 days (an "
           "expired one included): renewed a third of their lifetime before expiry, they get "
           "here only when renewal is stuck. Short-lived ones (160 hours) live there, left out.");
    sample(out, "dnsh_certificates_long_lived", formatLabels({{"expires_within", "7d"}}),
           number("d7_long_lived"));
    header(out, "dnsh_certificate_soonest_expiry_timestamp_seconds", "gauge",
           "Unix time when the first of the domains' newest certificates expires (0: none).");
    sample(out, "dnsh_certificate_soonest_expiry_timestamp_seconds", "", number("soonest"));
    header(out, "dnsh_renewals_overdue", "gauge",
           "Domains whose newest certificate is within the last tenth of its lifetime (or "
           "expired): its renewal should have produced a new certificate by now.");
    sample(out, "dnsh_renewals_overdue", "", number("overdue"));
    header(out, "dnsh_certificates_renewal_failing", "gauge",
           "Domains whose newest certificate has had a renewal order fail (retried with backoff "
           "until it expires).");
    sample(out, "dnsh_certificates_renewal_failing", "", number("failing"));
    header(out, "dnsh_certificates_expired", "gauge",
           "Domains whose newest certificate has expired: their TLS is broken; renewal keeps "
           "being retried.");
    sample(out, "dnsh_certificates_expired", "", number("expired"));
}

void renderRenewalsDue(std::string& out, Poco::Data::Session& session) {
    // certificates_renew_at_idx: a range scan over what is due, not the table. The scheduler
    // clears renew_at in the statement that creates the renewal order.
    const long long due =
        runSql(session, "SELECT count(*) AS due FROM certificates WHERE renew_at <= now()", {})
            .integer(0, "due");
    header(out, "dnsh_renewals_due", "gauge",
           "Certificates whose renewal time (renew_at) has passed and that have no renewal order "
           "yet.");
    sample(out, "dnsh_renewals_due", "", static_cast<double>(due));
}

void renderSchedulers(std::string& out, Poco::Data::Session& session) {
    const SqlRows row = runSql(
        session,
        "SELECT count(*) FILTER (WHERE last_seen_at > now() - interval '60 seconds') AS alive,"
        " coalesce(extract(epoch FROM max(last_seen_at)), 0)::double precision AS last"
        " FROM scheduler_heartbeats",
        {});
    const long long alive = row.integer(0, "alive");
    const double last = std::stod(row.text(0, "last"));
    header(out, "dnsh_scheduler_replicas_alive", "gauge",
           "dns-scheduler replicas that wrote a heartbeat in the last 60 seconds.");
    sample(out, "dnsh_scheduler_replicas_alive", "", static_cast<double>(alive));
    header(out, "dnsh_scheduler_last_heartbeat_timestamp_seconds", "gauge",
           "Unix time of the newest heartbeat of any dns-scheduler replica (0: none yet).");
    sample(out, "dnsh_scheduler_last_heartbeat_timestamp_seconds", "", last);
}

void renderWebhookOutbox(std::string& out, Poco::Data::Session& session, Webhooks webhooks) {
    double backlog = 0;
    double oldest = 0;
    // Turned off on purpose, the events left pending raise no DnshWebhookBacklog: a scheduler
    // gives them up once past WEBHOOK_RETRY_WINDOW. With webhooks on here the real backlog
    // shows, so a scheduler started without WEBHOOK_URL by mistake is noticed; off here but on
    // for a live scheduler (this handler lost WEBHOOK_URL), it shows too: events are delivered
    // and a receiver's outage must still raise DnshWebhookBacklog.
    // A replica's own flag, not recent attempts: webhook_events records only the first attempt,
    // and in a long outage of the receiver the retried heads' first attempts are hours old.
    if (webhooks == Webhooks::On || WebhookStore(session).liveReplicaDelivers()) {
        // webhook_events_pending_due_idx covers the pending events only: the cost follows the
        // backlog, not the history of delivered events.
        const SqlRows rows = runSql(
            session,
            "SELECT count(*) AS backlog, coalesce(extract(epoch FROM now() - min(created_at)), 0)"
            "::double precision AS oldest FROM webhook_events WHERE state = 'pending'");
        backlog = static_cast<double>(rows.integer(0, "backlog"));
        oldest = std::stod(rows.text(0, "oldest"));
    }
    header(out, "dnsh_webhook_outbox_backlog", "gauge",
           "Webhook events written and not yet delivered (dead ones excluded; 0 while webhooks "
           "are off here and for every live scheduler).");
    sample(out, "dnsh_webhook_outbox_backlog", "", backlog);
    header(out, "dnsh_webhook_oldest_pending_age_seconds", "gauge",
           "Age of the oldest undelivered webhook event (0: none, or webhooks off here and for "
           "every live scheduler).");
    sample(out, "dnsh_webhook_oldest_pending_age_seconds", "", oldest);
}

void renderEdgeAgents(std::string& out, Poco::Data::Session& session) {
    // An agent heartbeats every 15 s; two minutes of silence is a dead one. The undelivered age
    // is one probe of certificates_newest_created_idx past the laggiest live agent's
    // applied_through (none yet: every certificate counts as undelivered).
    const SqlRows rows = runSql(
        session,
        "WITH live AS (SELECT applied_through FROM edge_agents"
        "               WHERE heartbeat_at > now() - interval '2 minutes')"
        " SELECT (SELECT count(*) FROM live) AS live,"
        "        (SELECT count(*) FROM edge_agents) AS known,"
        "        coalesce((SELECT extract(epoch FROM now() - min(c.created_at)) FROM certificates c"
        "                   WHERE c.superseded_at IS NULL AND c.created_at >"
        "                         (SELECT min(coalesce(applied_through, '-infinity')) FROM live)),"
        "                 0)::double precision AS oldest");
    header(out, "dnsh_edge_agents_live", "gauge",
           "Edge agents (dnsh-edge-sync) that wrote a heartbeat in the last 2 minutes.");
    sample(out, "dnsh_edge_agents_live", "", static_cast<double>(rows.integer(0, "live")));
    header(out, "dnsh_edge_agents_known", "gauge",
           "Edge agents that ever wrote a heartbeat (rows of edge_agents).");
    sample(out, "dnsh_edge_agents_known", "", static_cast<double>(rows.integer(0, "known")));
    header(out, "dnsh_edge_undelivered_oldest_age_seconds", "gauge",
           "Age of the oldest newest-certificate that some live edge agent has not applied yet "
           "(0: every live agent has every certificate).");
    sample(out, "dnsh_edge_undelivered_oldest_age_seconds", "", std::stod(rows.text(0, "oldest")));
}

// Commits of the service left waiting for a synchronous standby (db/commit_wait.hpp): past
// DB_STATEMENT_TIMEOUT the process answers 503 and holds its writes back while the server's wait
// goes on, which /readyz (a read) does not see. pg_stat_activity is the backends' status in
// shared memory, no table: its cost follows max_connections, not the data. Without
// pg_read_all_stats a role sees wait_event only for its own role's sessions (NULL for others'),
// so the count is of this role's sessions, in this database, however privileged the role is.
// IPC/SyncRep is the wait for the standby; an LWLock is named SyncRep too. A standby confirms
// in milliseconds, yet under steady writes some commit is in that wait at many instants: only
// waits over a second count (query_start: the COMMIT, or the statement committing implicitly),
// so that a busy healthy pair reads 0 and DnshCommitsAwaitingStandby stays quiet.
void renderStandbyWaits(std::string& out, Poco::Data::Session& session) {
    const long long waiting =
        runSql(session,
               "SELECT count(*) AS waiting FROM pg_stat_activity"
               " WHERE wait_event_type = 'IPC' AND wait_event = 'SyncRep'"
               " AND usename = current_user AND datname = current_database()"
               " AND query_start < now() - interval '1 second'",
               {})
            .integer(0, "waiting");
    header(out, "dnsh_database_commits_awaiting_standby", "gauge",
           "Sessions of the service's database role, in its database, whose commit has waited "
           "over a second for a synchronous standby to confirm it. Past DB_STATEMENT_TIMEOUT "
           "the process answers 503 and holds its writes back; the wait goes on until the "
           "standby confirms it.");
    sample(out, "dnsh_database_commits_awaiting_standby", "", static_cast<double>(waiting));
}

// One series per CA with a budget row (issuance/order_budget.hpp): a handful of rows, the refill
// applied as they are read. No row, no family: a CA without a budget has nothing to report.
void renderOrderBudgets(std::string& out, Poco::Data::Session& session) {
    const std::vector<BudgetLevel> levels = budgetLevels(session);
    if (levels.empty()) return;
    auto gauge = [&](const std::string& name, std::string_view help, double BudgetLevel::*value) {
        header(out, name, "gauge", help);
        for (const auto& level : levels)
            sample(out, name, formatLabels({{"ca", level.directoryUrl}}), level.*value);
    };
    gauge("dnsh_ca_order_budget_remaining",
          "New orders the CA account may still place now (its order budget, refilled "
          "continuously), by ACME directory URL.",
          &BudgetLevel::remaining);
    gauge("dnsh_ca_order_budget_empty_seconds",
          "How long since the CA account's order budget went under one order left with none "
          "granted since (0: not empty), by ACME directory URL. Every order granted restarts "
          "it: under steady demand it stays under the refill interval (36 s for 300/3h); the "
          "average of dnsh_ca_order_budget_remaining shows how long orders have waited.",
          &BudgetLevel::emptySeconds);
}

}  // namespace

std::string renderMetrics(Poco::Data::Session& session,
                          const std::vector<std::string>& caDirectories, Webhooks webhooks) {
    std::string out;
    const auto counts = rowCounts(session);
    renderDomains(out, counts);
    renderCertificates(out, session, counts);
    renderRenewalsDue(out, session);
    renderSchedulers(out, session);
    renderWebhookOutbox(out, session, webhooks);
    renderEdgeAgents(out, session);
    renderOrderBudgets(out, session);
    renderStandbyWaits(out, session);
    out += renderCounterFamilies(readStoredCounters(session), caDirectories);
    return out;
}

}  // namespace dnsh
