// Webhooks end to end (README "Webhooks"): a lighttpd of the case's own and
// dns-scheduler children with WEBHOOK_URL set, delivering to tests/node/webhook_receiver.mjs,
// which checks every request with the Standard Webhooks reference implementation. Windows and
// backoffs are shortened through WEBHOOK_RETRY_WINDOW / WEBHOOK_BACKOFF.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/sandbox_dns.hpp"
#include "support/scheduler_process.hpp"
#include "support/test_env.hpp"
#include "support/webhook_receiver.hpp"
#include "support/webhook_stack.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

namespace {

// What a case's events must never carry (README "Webhooks": no key, PEM or verification token).
void checkNothingSecret(const ReceivedEvent& event, const TestDomain& domain) {
    INFO("body: " << event.body);
    CHECK(event.body.find(domain.token) == std::string::npos);
    CHECK(event.body.find("verification_token") == std::string::npos);
    CHECK(event.body.find("-----BEGIN") == std::string::npos);
    CHECK(event.body.find("PRIVATE KEY") == std::string::npos);
}

Poco::JSON::Object::Ptr payloadOf(const ReceivedEvent& event) {
    return Poco::JSON::Parser().parse(event.body).extract<Poco::JSON::Object::Ptr>();
}

// A domain's events never overlap: none is sent before the previous one was delivered (or given
// up). In arrival order, every attempt at the earlier event comes before the later one's first.
void checkInOrder(const std::vector<ReceivedEvent>& events) {
    std::set<std::string> finished;
    std::string current;
    for (const auto& event : events) {
        INFO("seq " << event.seq << " " << event.type << " " << event.webhookId);
        if (event.webhookId != current) {
            CHECK(finished.count(event.webhookId) == 0);  // an older event, again
            if (!current.empty()) finished.insert(current);
            current = event.webhookId;
        }
    }
}

HttpResult deleteDomain(const TestDomain& domain) {
    return send(baseUrl(), HttpRequest{"DELETE", "/domains/" + domain.id, "", "", {}});
}

std::string outboxState(const std::string& webhookId) {
    return scalar("SELECT state FROM webhook_events WHERE event_id = " + quoted(webhookId));
}

}  // namespace

TEST_CASE("webhooks: none are written while WEBHOOK_URL is empty") {
    // The shared lighttpd of deploy/test runs without WEBHOOK_URL.
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("hook-off", leftovers);
    CHECK(count("SELECT count(*) FROM webhook_events WHERE domain_id = " + quoted(domain.id)) == 0);
}

TEST_CASE(
    "webhooks: register, verify, issue: domain.verified then certificate.issued, signed as "
    "Standard Webhooks says, with the domain view and nothing secret, and a wrong secret fails "
    "verification") {
    WebhookStack stack;
    Leftovers leftovers;
    const auto scheduler = startScheduler(stack.schedulerEnv());
    const TestDomain domain = verifiedDomain("hook-flow", leftovers);
    publish(domain, startIssuance(domain));
    requireAllActive({domain}, 20s);
    REQUIRE_MESSAGE(waitDelivered(stack.receiver, domain.id, 2, 10s),
                    "received: " << stack.receiver.receivedFor(domain.id).size());

    const auto events = stack.receiver.receivedFor(domain.id);
    CHECK(deliveredTypes(events) ==
          std::vector<std::string>{"domain.verified", "certificate.issued"});
    std::set<std::string> ids;
    for (const auto& event : events) {
        CHECK_MESSAGE(event.verified, event.error);
        CHECK(event.webhookId.rfind("evt_", 0) == 0);
        ids.insert(event.webhookId);
        checkNothingSecret(event, domain);
        const auto payload = payloadOf(event);
        CHECK(payload->getValue<std::string>("type") == event.type);
        CHECK_FALSE(payload->getValue<std::string>("timestamp").empty());
        const auto data = payload->getObject("data");
        REQUIRE(data);
        CHECK(data->getValue<std::string>("id") == domain.id);
        CHECK(data->getValue<std::string>("domain_name") == domain.name);
        // The view as it was right after the change it reports.
        if (event.type == "domain.verified") {
            CHECK(data->getValue<std::string>("status") == "verified");
            CHECK(data->has("verified_at"));
        } else {
            CHECK(data->getValue<std::string>("status") == "active");
            CHECK(data->getObject("certificate"));
            CHECK(data->getObject("renewal"));
        }
    }
    CHECK(ids.size() == 2);
    // The receiver has it before the scheduler records the 2xx: give that a moment.
    for (const auto& id : ids)
        CHECK(waitFor(5s, [&] { return outboxState(id) == "delivered"; }));
    // Every attempt is logged, the secret never.
    const std::string schedulerLog = readFile(scheduler->logFile());
    CHECK(schedulerLog.find("\"webhook attempt\"") != std::string::npos);
    const std::string key = stack.secret.substr(std::string("whsec_").size());
    CHECK(schedulerLog.find(key) == std::string::npos);
    CHECK(readFile(stack.api.handlersLog().string()).find(key) == std::string::npos);

    // The same events, sent again to a receiver that knows another secret: the reference
    // implementation refuses every one of them, so the checks above can fail.
    REQUIRE(scheduler->terminate() == 0);
    WebhookReceiver wrong(newWebhookSecret());
    execute(
        "UPDATE webhook_events SET state = 'pending', next_attempt_at = now() "
        "WHERE domain_id = " +
        quoted(domain.id));
    const auto second = startScheduler(stack.schedulerEnv({{"WEBHOOK_URL", wrong.url()}}));
    // The first event, refused, is tried again and again; the second waits behind it.
    REQUIRE(waitFor(10s, [&] { return wrong.received().size() >= 2; }));
    for (const auto& event : wrong.received()) {
        CHECK(event.webhookId == events.front().webhookId);
        CHECK_FALSE(event.verified);
        CHECK(event.answered == 401);
        CHECK(event.error.find("signature") != std::string::npos);
    }
    CHECK(outboxState(events.front().webhookId) == "pending");
}

TEST_CASE(
    "webhooks: through 500s and an outage of the receiver, events arrive once it is back, with "
    "the same webhook-id, in order per domain, and domain.deleted on DELETE") {
    WebhookStack stack;
    Leftovers leftovers;
    stack.receiver.answer(500);
    const auto scheduler = startScheduler(stack.schedulerEnv());
    const TestDomain first = verifiedDomain("hook-outage-a", leftovers);
    const TestDomain second = verifiedDomain("hook-outage-b", leftovers);
    CHECK(deleteDomain(first).status == 204);
    CHECK(deleteDomain(second).status == 204);

    // Refused with 500 a few times, then down altogether (connection refused).
    REQUIRE(waitFor(10s, [&] { return stack.receiver.receivedFor(first.id).size() >= 3; }));
    stack.receiver.stop();
    const std::string firstId = stack.receiver.receivedFor(first.id).front().webhookId;
    REQUIRE(waitFor(10s, [&] {
        return scalar("SELECT last_error FROM webhook_events WHERE event_id = " + quoted(firstId))
                   .find("refused") != std::string::npos;
    }));
    CHECK(outboxState(firstId) == "pending");
    stack.receiver.start();  // answers 204 again

    for (const TestDomain* domain : {&first, &second}) {
        CAPTURE(domain->name);
        REQUIRE(waitDelivered(stack.receiver, domain->id, 2, 20s));
        const auto events = stack.receiver.receivedFor(domain->id);
        CHECK(deliveredTypes(events) ==
              std::vector<std::string>{"domain.verified", "domain.deleted"});
        checkInOrder(events);
        for (const auto& event : events) {
            CHECK(event.verified);
            checkNothingSecret(event, *domain);
        }
        // The deleted domain's last view.
        const auto deleted = payloadOf(events.back())->getObject("data");
        CHECK(deleted->getValue<std::string>("id") == domain->id);
        CHECK(deleted->getValue<std::string>("status") == "verified");
    }
    // The first event was refused (500) before it was delivered, under one webhook-id.
    const auto events = stack.receiver.receivedFor(first.id);
    int refused = 0;
    for (const auto& event : events)
        if (event.webhookId == firstId && event.answered == 500) ++refused;
    CHECK(refused >= 3);
    CHECK(events.front().type == "domain.verified");
    CHECK(outboxState(firstId) == "delivered");
    CHECK(count("SELECT attempts FROM webhook_events WHERE event_id = " + quoted(firstId)) > 3);
}

TEST_CASE(
    "webhooks: a WEBHOOK_URL with user info: handlers and scheduler start, every attempt carries "
    "Authorization: Basic with the decoded user and password and a verified signature, and the "
    "password is in no log, last_error or metric") {
    // hook-user:p@ss, its '@' written %40 (RFC 3986 §3.2.1); RFC 7617 §2: "Basic " and the
    // base64 of "hook-user:p@ss" (printf 'hook-user:p@ss' | base64).
    const std::string expected = "Basic aG9vay11c2VyOnBAc3M=";
    WebhookStack stack({}, "hook-user:p%40ss");  // the handlers start with it
    Leftovers leftovers;
    stack.receiver.answer(500);  // refused first: last_error gets "HTTP 500"
    const auto scheduler = startScheduler(stack.schedulerEnv());
    const TestDomain domain = verifiedDomain("hook-basic", leftovers);
    const std::string row = " FROM webhook_events WHERE domain_id = " + quoted(domain.id);
    REQUIRE(waitFor(10s, [&] { return !stack.receiver.receivedFor(domain.id).empty(); }));
    // Then down: last_error gets Poco's text for the refused connection.
    stack.receiver.stop();
    REQUIRE(waitFor(10s, [&] {
        return scalar("SELECT last_error" + row).find("refused") != std::string::npos;
    }));
    const std::string refused = scalar("SELECT last_error" + row);
    stack.receiver.start();  // answers 204 again
    CHECK(deleteDomain(domain).status == 204);
    REQUIRE(waitDelivered(stack.receiver, domain.id, 2, 20s));

    const auto events = stack.receiver.receivedFor(domain.id);
    CHECK(deliveredTypes(events) == std::vector<std::string>{"domain.verified", "domain.deleted"});
    for (const auto& event : events) {
        INFO("seq " << event.seq << " " << event.type << " answered " << event.answered);
        CHECK(event.authorization == expected);
        CHECK_MESSAGE(event.verified, event.error);
    }
    CHECK(events.front().answered == 500);
    for (const auto& event : events)
        CHECK(waitFor(5s, [&] { return outboxState(event.webhookId) == "delivered"; }));

    // Never shown: not the password (as given or decoded), nor the header's value.
    const std::string lastErrors = scalar(
        "SELECT coalesce(string_agg(last_error, ' | '), '')" + row) + " | " + refused;
    const std::string metrics = get("/metrics").body;
    const std::string schedulerLog = readFile(scheduler->logFile());
    const std::string handlersLog = readFile(stack.api.handlersLog().string());
    CHECK(schedulerLog.find("\"webhook attempt\"") != std::string::npos);
    for (const std::string secret : {"p@ss", "p%40ss", "aG9vay11c2VyOnBAc3M="}) {
        CAPTURE(secret);
        CHECK(lastErrors.find(secret) == std::string::npos);
        CHECK(schedulerLog.find(secret) == std::string::npos);
        CHECK(handlersLog.find(secret) == std::string::npos);
        CHECK(metrics.find(secret) == std::string::npos);
    }
}

TEST_CASE("webhooks: a slow receiver for one domain does not hold up another domain's events") {
    WebhookStack stack;
    Leftovers leftovers;
    const auto scheduler = startScheduler(stack.schedulerEnv({{"WEBHOOK_TIMEOUT", "20s"}}));
    const TestDomain slow = registerDomain("hook-slow", leftovers);
    // 10 s: the quick domain's verification and delivery must come within it, on a loaded
    // machine too (4 s left it about 3 s).
    stack.receiver.answer(204, 10000, slow.id);
    setTxt(slow.challengeName(), slow.token);
    CHECK(postJson("/domains/" + slow.id + "/verify", "").status == 200);
    const TestDomain quick = verifiedDomain("hook-quick", leftovers);

    REQUIRE(waitDelivered(stack.receiver, quick.id, 1, 8s));
    CHECK(stack.receiver.receivedFor(slow.id).empty());  // still being answered
    REQUIRE(waitDelivered(stack.receiver, slow.id, 1, 20s));
}

TEST_CASE(
    "webhooks: a receiver slower than WEBHOOK_TIMEOUT: the attempt times out and is retried") {
    WebhookStack stack;
    Leftovers leftovers;
    const TestDomain domain = registerDomain("hook-timeout", leftovers);
    stack.receiver.answer(204, 2500, domain.id);
    const auto scheduler = startScheduler(stack.schedulerEnv({{"WEBHOOK_TIMEOUT", "1s"}}));
    setTxt(domain.challengeName(), domain.token);
    CHECK(postJson("/domains/" + domain.id + "/verify", "").status == 200);
    const std::string sql = "FROM webhook_events WHERE domain_id = " + quoted(domain.id);
    REQUIRE(
        waitFor(10s, [&] { return scalar("SELECT last_error " + sql).rfind("timeout", 0) == 0; }));
    CHECK(scalar("SELECT state " + sql) == "pending");
    stack.receiver.answer(204, 0, domain.id);
    REQUIRE(waitFor(10s, [&] { return scalar("SELECT state " + sql) == "delivered"; }));
    CHECK(count("SELECT attempts " + sql) >= 2);
    std::set<std::string> ids;
    for (const auto& event : stack.receiver.receivedFor(domain.id)) ids.insert(event.webhookId);
    CHECK(ids.size() == 1);  // every attempt under the one webhook-id
}

TEST_CASE(
    "webhooks: a receiver trickling its answer: headers not all in by WEBHOOK_TIMEOUT are a "
    "timeout, retried, never sent twice at once, then delivered, and a 2xx status line with a "
    "trickled body is delivered at once, the body not waited for") {
    WebhookStack stack;
    Leftovers leftovers;
    // One byte every 300 ms: no read waits as long as WEBHOOK_TIMEOUT, and the answer never ends
    // (40 s, past the lease of 3 x 1 s + 30 s).
    const TestDomain slowHeaders = registerDomain("hook-trickle-head", leftovers);
    const TestDomain slowBody = registerDomain("hook-trickle-body", leftovers);
    stack.receiver.trickle(TricklePart::Headers, 200, 300, slowHeaders.id);
    stack.receiver.trickle(TricklePart::Body, 200, 300, slowBody.id);
    const auto scheduler = startScheduler(stack.schedulerEnv({{"WEBHOOK_TIMEOUT", "1s"}}));
    for (const TestDomain* domain : {&slowHeaders, &slowBody}) {
        setTxt(domain->challengeName(), domain->token);
        CHECK(postJson("/domains/" + domain->id + "/verify", "").status == 200);
    }
    const auto row = [](const TestDomain& domain) {
        return " FROM webhook_events WHERE domain_id = " + quoted(domain.id);
    };

    // Each attempt ends at its deadline, recorded as a timeout (it used to go on for as long as
    // the receiver trickled, past the lease, with nothing recorded, and be sent again meanwhile).
    REQUIRE(waitFor(6s, [&] {
        return scalar("SELECT last_error" + row(slowHeaders)).rfind("timeout", 0) == 0;
    }));
    CHECK(count("SELECT attempts" + row(slowHeaders)) >= 1);
    CHECK(scalar("SELECT state" + row(slowHeaders)) == "pending");
    // The status line said 200: delivered, on the first attempt.
    REQUIRE(waitFor(3s, [&] { return scalar("SELECT state" + row(slowBody)) == "delivered"; }));
    CHECK(count("SELECT attempts" + row(slowBody)) == 1);

    stack.receiver.answer(204, 0, slowHeaders.id);
    REQUIRE(waitFor(15s, [&] { return scalar("SELECT state" + row(slowHeaders)) == "delivered"; }));
    REQUIRE(waitDelivered(stack.receiver, slowHeaders.id, 1, 5s));
    CHECK(deliveredTypes(stack.receiver.receivedFor(slowHeaders.id)) ==
          std::vector<std::string>{"domain.verified"});
    // The trickled body's one request, closed by the scheduler once it had the status.
    REQUIRE(waitFor(5s, [&] { return !stack.receiver.receivedFor(slowBody.id).empty(); }));

    for (const TestDomain* domain : {&slowHeaders, &slowBody}) {
        CAPTURE(domain->name);
        auto events = stack.receiver.receivedFor(domain->id);
        std::sort(events.begin(), events.end(), [](const auto& a, const auto& b) {
            return a.startedMs < b.startedMs;
        });
        int cut = 0;
        long long lastEnded = 0;
        for (const auto& event : events) {
            INFO("seq " << event.seq << " " << event.webhookId << " answered " << event.answered
                        << " from " << event.startedMs << " to " << event.endedMs);
            CHECK(event.webhookId == events.front().webhookId);  // the one event, domain.verified
            // The receiver never had two requests with the webhook-id at the same time.
            CHECK(event.startedMs >= lastEnded);
            lastEnded = std::max(lastEnded, event.endedMs);
            if (event.cut) {
                ++cut;
                // Given up by WEBHOOK_TIMEOUT (1 s), far from the receiver's 40 s of trickling,
                // with room for a loaded machine.
                CHECK(event.endedMs - event.startedMs < 10'000);
            }
        }
        CHECK(cut >= 1);
        if (domain == &slowBody) CHECK(events.size() == 1);
    }
}

TEST_CASE(
    "webhooks: two scheduler replicas deliver every event exactly once, in order per domain") {
    WebhookStack stack;
    Leftovers leftovers;
    std::vector<TestDomain> domains;
    for (int i = 0; i < 8; ++i) domains.push_back(verifiedDomain("hook-replica", leftovers));
    for (const auto& domain : domains) CHECK(deleteDomain(domain).status == 204);
    // Slow answers widen the window in which both replicas could take the same event, and
    // keep the first replica's 4 workers busy for 2 s a round (4 rounds for the 16 events):
    // with answers of 300 ms it once could have delivered all 16 before the second had started
    // (as the issuance replicas case did). WEBHOOK_TIMEOUT well past the answer's 2 s: a
    // timed-out attempt would be sent again, a duplicate.
    stack.receiver.answer(204, 2000);
    auto env = stack.schedulerEnv();
    env["WEBHOOK_TIMEOUT"] = "10s";
    const auto one = startScheduler(env);
    const auto two = startScheduler(env);

    for (const auto& domain : domains) {
        CAPTURE(domain.name);
        REQUIRE(waitDelivered(stack.receiver, domain.id, 2, 30s));
    }
    std::this_thread::sleep_for(1s);  // any duplicate still on its way
    std::map<std::string, int> deliveries;
    for (const auto& event : stack.receiver.received()) {
        CHECK(event.verified);
        ++deliveries[event.webhookId];
    }
    for (const auto& domain : domains) {
        const auto events = stack.receiver.receivedFor(domain.id);
        CHECK(deliveredTypes(events) ==
              std::vector<std::string>{"domain.verified", "domain.deleted"});
        checkInOrder(events);
        for (const auto& event : events)
            CHECK_MESSAGE(deliveries[event.webhookId] == 1, event.webhookId);
    }
    // Both replicas took part.
    CHECK(readFile(one->logFile()).find("\"webhook attempt\"") != std::string::npos);
    CHECK(readFile(two->logFile()).find("\"webhook attempt\"") != std::string::npos);
}

TEST_CASE(
    "webhooks: an event refused for the whole retry window is dead with the last error, and the "
    "domain's next event follows it") {
    WebhookStack stack;
    Leftovers leftovers;
    const TestDomain domain = registerDomain("hook-dead", leftovers);
    stack.receiver.answer(500, 0, domain.id);
    const auto scheduler = startScheduler(stack.schedulerEnv({{"WEBHOOK_RETRY_WINDOW", "3s"}}));
    setTxt(domain.challengeName(), domain.token);
    CHECK(postJson("/domains/" + domain.id + "/verify", "").status == 200);
    REQUIRE(waitFor(5s, [&] { return !stack.receiver.receivedFor(domain.id).empty(); }));
    const std::string verifiedId = stack.receiver.receivedFor(domain.id).front().webhookId;
    CHECK(deleteDomain(domain).status == 204);

    REQUIRE(waitFor(10s, [&] { return outboxState(verifiedId) == "dead"; }));
    stack.receiver.answer(204, 0, domain.id);
    CHECK(scalar("SELECT last_error FROM webhook_events WHERE event_id = " + quoted(verifiedId)) ==
          "HTTP 500");
    // Tried through the window, not after it: about 3 s with backoff from 200 ms.
    const long long attempts =
        count("SELECT attempts FROM webhook_events WHERE event_id = " + quoted(verifiedId));
    CHECK(attempts >= 3);
    CHECK(attempts <= 8);
    CHECK(count("SELECT count(*) FROM webhook_events WHERE event_id = " + quoted(verifiedId) +
                " AND delivered_at IS NULL AND now() >= first_attempt_at + interval '3 s'") == 1);

    // domain.deleted was held back while domain.verified was being tried; now it goes out.
    REQUIRE(waitDelivered(stack.receiver, domain.id, 1, 10s));
    const auto events = stack.receiver.receivedFor(domain.id);
    CHECK(deliveredTypes(events) == std::vector<std::string>{"domain.deleted"});
    checkInOrder(events);
    for (const auto& event : events)
        if (event.webhookId == verifiedId) CHECK(event.answered == 500);
}

TEST_CASE(
    "webhooks: a renewal that needs the customer sends renewal.action_required with the values, "
    "then certificate.renewed, and an issuance that times out sends certificate.failed") {
    WebhookStack stack;
    Leftovers leftovers;
    const auto scheduler = startScheduler(stack.schedulerEnv({{"POLL_TIMEOUT", "4s"}}));
    const TestDomain renewed = verifiedDomain("hook-renew", leftovers);
    publish(renewed, startIssuance(renewed));
    const TestDomain failed = verifiedDomain("hook-fail", leftovers);
    startIssuance(failed);  // its value is never published
    requireAllActive({renewed}, 20s);

    execute("UPDATE certificates SET renew_at = now() WHERE domain_id = " + quoted(renewed.id));
    REQUIRE(waitDelivered(stack.receiver, renewed.id, 3, 15s));
    const auto asked = stack.receiver.receivedFor(renewed.id).back();
    REQUIRE(asked.type == "renewal.action_required");
    const auto renewal = payloadOf(asked)->getObject("data")->getObject("renewal");
    REQUIRE(renewal);
    CHECK(renewal->getValue<std::string>("status") == "awaiting_dns");
    const auto value =
        renewal->getArray("challenges")->getObject(0)->getValue<std::string>("expected_txt_value");
    CHECK(std::regex_match(value, kTxtValue));
    publish(renewed, value);
    CHECK(postJson("/domains/" + renewed.id + "/check", "").status == 202);

    REQUIRE(waitDelivered(stack.receiver, renewed.id, 4, 20s));
    const auto events = stack.receiver.receivedFor(renewed.id);
    CHECK(deliveredTypes(events) ==
          std::vector<std::string>{"domain.verified", "certificate.issued",
                                   "renewal.action_required", "certificate.renewed"});
    CHECK(payloadOf(events.back())->getObject("data")->getValue<std::string>("status") == "active");
    for (const auto& event : events) {
        CHECK(event.verified);
        checkNothingSecret(event, renewed);
    }

    REQUIRE(waitDelivered(stack.receiver, failed.id, 2, 20s));
    const auto failures = stack.receiver.receivedFor(failed.id);
    CHECK(deliveredTypes(failures) ==
          std::vector<std::string>{"domain.verified", "certificate.failed"});
    const auto data = payloadOf(failures.back())->getObject("data");
    CHECK(data->getValue<std::string>("status") == "failed");
    // Its TXT record still holds the verification token, not the ACME value.
    CHECK(data->getValue<std::string>("error_code") == "txt_mismatch");
    CHECK(data->getValue<std::string>("error").find("not visible within") != std::string::npos);
}
