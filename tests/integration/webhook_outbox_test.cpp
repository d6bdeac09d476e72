// The outbox (domain/outbox.hpp) against the real PostgreSQL, on a scratch database of the test
// server: which events recordDomainEvent writes when the same thing is reported again.
#include "domain/outbox.hpp"

#include <doctest/doctest.h>

#include <string>

#include "config/config.hpp"
#include "db/database.hpp"
#include "support/scratch_database.hpp"

using namespace dnsh;
using namespace dnsh::test;

namespace {

const std::string kDomainId(32, 'a');

void recordLost(ScratchDatabase& scratch) {
    scratch.database().withSession([](Poco::Data::Session& session) {
        recordDomainEvent(session, EventType::DelegationLost, kDomainId);
    });
}

std::string lostEvents(ScratchDatabase& scratch, const std::string& state) {
    return scratch.text("SELECT count(*) FROM webhook_events WHERE type = 'delegation.lost' "
                        "AND state = '" + state + "'");
}

}  // namespace

TEST_CASE("webhook outbox: delegation.lost once while the CNAME stays gone, again when the last "
          "one went dead undelivered") {
    ScratchDatabase scratch("dnsh_outbox_lost");
    scratch.migrate();
    scratch.run("INSERT INTO domains (id, domain_name, verification_token, status, verified_at) "
                "VALUES ('" + kDomainId + "', 'lost.example', '" + std::string(64, '0') +
                "', 'verified', now())");
    Config config;
    config.webhook.url = "http://127.0.0.1:9/hooks";
    configureOutbox(config);

    // The renewal fails with DelegationLost each day the CNAME stays gone.
    recordLost(scratch);
    REQUIRE(lostEvents(scratch, "pending") == "1");
    recordLost(scratch);  // the next day, the first one still being tried: not again
    CHECK(lostEvents(scratch, "pending") == "1");
    scratch.run("UPDATE webhook_events SET state = 'delivered', delivered_at = now()");
    recordLost(scratch);  // the customer was told: not again
    CHECK(scratch.text("SELECT count(*) FROM webhook_events") == "1");

    // The receiver refused it for the whole retry window: the customer never heard of it.
    scratch.run("UPDATE webhook_events SET state = 'dead', delivered_at = NULL, "
                "last_error = 'HTTP 500'");
    recordLost(scratch);
    CHECK(lostEvents(scratch, "dead") == "1");
    CHECK(lostEvents(scratch, "pending") == "1");
    recordLost(scratch);  // and that new one counts again while it is being tried
    CHECK(scratch.text("SELECT count(*) FROM webhook_events") == "2");
}
