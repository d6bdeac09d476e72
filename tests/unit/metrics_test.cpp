// metrics/: the in-process counters (summed, cumulative buckets, taken once), the bounded label
// values, and the exposition text of stored counters.
#include <doctest/doctest.h>

#include <string>

#include "acme/error_metrics.hpp"
#include "core/metric_registry.hpp"
#include "dns/lookup_metrics.hpp"
#include "http/request_metrics.hpp"
#include "issuance/order_metrics.hpp"
#include "metrics/exposition.hpp"

using namespace dnsh;

namespace {

double deltaOf(const std::vector<CounterDelta>& deltas, const std::string& name,
               const std::string& labels) {
    for (const auto& delta : deltas)
        if (delta.name == name && delta.labels == labels) return delta.value;
    return -1;
}

}  // namespace

TEST_CASE("metrics: events add up in memory until taken, and a failed flush puts them back") {
    takeCounterDeltas();  // whatever other cases counted
    countEvent("dnsh_test_total", {{"outcome", "a"}});
    countEvent("dnsh_test_total", {{"outcome", "a"}}, 2);
    countEvent("dnsh_test_total", {{"outcome", "b"}});
    CHECK(pendingCounterEvents() == 3);
    auto deltas = takeCounterDeltas();
    CHECK(deltaOf(deltas, "dnsh_test_total", "outcome=\"a\"") == 3);
    CHECK(deltaOf(deltas, "dnsh_test_total", "outcome=\"b\"") == 1);
    CHECK(takeCounterDeltas().empty());
    restoreCounterDeltas(deltas);
    countEvent("dnsh_test_total", {{"outcome", "a"}});
    deltas = takeCounterDeltas();
    CHECK(deltaOf(deltas, "dnsh_test_total", "outcome=\"a\"") == 4);
}

TEST_CASE("metrics: a histogram observation fills every bucket at or above it, sum and count") {
    takeCounterDeltas();
    observeSeconds("dnsh_test_seconds", {{"step", "x"}}, 0.3);
    observeSeconds("dnsh_test_seconds", {{"step", "x"}}, 0.01);
    const auto deltas = takeCounterDeltas();
    struct Case {
        std::string le;
        double count;
    };
    for (const auto& c : std::vector<Case>{
             {"0.005", -1}, {"0.01", 1}, {"0.25", 1}, {"0.5", 2}, {"60", 2}, {"+Inf", 2}}) {
        CAPTURE(c.le);
        CHECK(deltaOf(deltas, "dnsh_test_seconds_bucket", "step=\"x\",le=\"" + c.le + "\"") ==
              c.count);
    }
    CHECK(deltaOf(deltas, "dnsh_test_seconds_sum", "step=\"x\"") == doctest::Approx(0.31));
    CHECK(deltaOf(deltas, "dnsh_test_seconds_count", "step=\"x\"") == 2);
}

TEST_CASE("metrics: each request is counted under its own route, method and status") {
    takeCounterDeltas();
    recordHttpRequest("GET", "/domains/{id}", 200, 0.001);
    recordHttpRequest("GET", "/domains/{id}", 200, 0.001);
    recordHttpRequest("GET", "/domains/{id}", 404, 0.001);
    recordHttpRequest("POST", "/domains/{id}", 404, 0.001);
    recordHttpRequest("BREW", "/domains/{id}", 404, 0.001);
    recordHttpRequest("BREW", "/domains", 404, 0.02);
    recordHttpRequest("GET", "/domains/{id}", 200, 0.001);
    const auto deltas = takeCounterDeltas();
    const std::string total = "dnsh_http_requests_total";
    CHECK(deltaOf(deltas, total, R"(route="/domains/{id}",method="GET",status="200")") == 3);
    CHECK(deltaOf(deltas, total, R"(route="/domains/{id}",method="GET",status="404")") == 1);
    CHECK(deltaOf(deltas, total, R"(route="/domains/{id}",method="POST",status="404")") == 1);
    CHECK(deltaOf(deltas, total, R"(route="/domains/{id}",method="other",status="404")") == 1);
    CHECK(deltaOf(deltas, total, R"(route="/domains",method="other",status="404")") == 1);
    const std::string count = "dnsh_http_request_duration_seconds_count";
    CHECK(deltaOf(deltas, count, R"(route="/domains/{id}",method="GET")") == 4);
    CHECK(deltaOf(deltas, count, R"(route="/domains",method="other")") == 1);
    CHECK(deltaOf(deltas, "dnsh_http_request_duration_seconds_bucket",
                  R"(route="/domains",method="other",le="0.025")") == 1);
}

TEST_CASE("metrics: label values stay in small fixed sets, escaped as the format wants") {
    struct Case {
        std::string description, got, expected;
    };
    const std::vector<Case> cases{
        {"a domain path is its pattern", routeLabel("/domains/0123456789abcdef0123456789abcdef"),
         "/domains/{id}"},
        {"a sub-resource", routeLabel("/domains/x/verify"), "/domains/{id}/verify"},
        {"the scrape itself", routeLabel("/metrics"), "/metrics"},
        {"any other path", routeLabel("/secret/customer.example"), "unmatched"},
        {"an RFC 8555 type", acmeErrorTypeLabel({"urn:ietf:params:acme:error:badNonce", "", 400}),
         "badNonce"},
        {"a rate limit", acmeErrorTypeLabel({"urn:ietf:params:acme:error:rateLimited", "", 429}),
         "rateLimited"},
        {"a made-up type",
         acmeErrorTypeLabel({"urn:ietf:params:acme:error:x" + std::string(300, 'y'), "", 400}),
         "other"},
        {"no problem document", acmeErrorTypeLabel({"", "HTTP 500", 500}), "other"},
        {"not reached", acmeErrorTypeLabel({"", "connection refused", 0}), "unreachable"},
        {"NXDOMAIN", std::string(toString(LookupOutcome::NxDomain)), "nxdomain"},
        {"escaping", formatLabels({{"a", "q\"b\\s\nx"}}), "a=\"q\\\"b\\\\s\\nx\""},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(c.got == c.expected);
    }
}

TEST_CASE("metrics: stored rows render as families, buckets in order, known series at zero") {
    const std::vector<CounterDelta> rows{
        {"dnsh_order_step_duration_seconds_bucket", "step=\"finalize\",le=\"+Inf\"", 3},
        {"dnsh_order_step_duration_seconds_bucket", "step=\"finalize\",le=\"10\"", 3},
        {"dnsh_order_step_duration_seconds_bucket", "step=\"finalize\",le=\"2.5\"", 2},
        {"dnsh_order_step_duration_seconds_count", "step=\"finalize\"", 3},
        {"dnsh_order_step_duration_seconds_sum", "step=\"finalize\"", 7.5},
        {"dnsh_orders_total", "kind=\"issuance\",outcome=\"valid\"", 5},
        {"dnsh_orders_total",
         "kind=\"issuance\",outcome=\"valid\",ca=\"https://a.example/dir\"", 4},
    };
    const std::string text =
        renderCounterFamilies(rows, {"https://a.example/dir", "https://b.example/dir"});
    INFO(text);
    const auto at = [&](const std::string& part) { return text.find(part); };
    CHECK(at("# TYPE dnsh_order_step_duration_seconds histogram\n") != std::string::npos);
    CHECK(at("le=\"2.5\"} 2\n") < at("le=\"10\"} 3\n"));
    CHECK(at("le=\"10\"} 3\n") < at("le=\"+Inf\"} 3\n"));
    CHECK(at("le=\"+Inf\"} 3\n") <
          at("dnsh_order_step_duration_seconds_sum{step=\"finalize\"} 7.5\n"));
    CHECK(at("dnsh_orders_total{kind=\"issuance\",outcome=\"valid\"} 5\n") != std::string::npos);
    CHECK(at("dnsh_orders_total{kind=\"renewal\",outcome=\"failed\"} 0\n") != std::string::npos);
    CHECK(at("dnsh_dns_lookups_total{result=\"timeout\"} 0\n") != std::string::npos);
    CHECK(at("# TYPE dnsh_orders_total counter\n") != std::string::npos);
    // Each configured CA's series: a stored one keeps its value (no second series at 0), the
    // others are there at 0, so increase() sees the first failed renewal at a CA.
    const std::string a = "ca=\"https://a.example/dir\"", b = "ca=\"https://b.example/dir\"";
    CHECK(at("dnsh_orders_total{kind=\"issuance\",outcome=\"valid\"," + a + "} 4\n") !=
          std::string::npos);
    CHECK(at("dnsh_orders_total{kind=\"issuance\",outcome=\"valid\"," + a + "} 0\n") ==
          std::string::npos);
    for (const std::string& ca : {a, b}) {
        CAPTURE(ca);
        CHECK(at("dnsh_orders_total{kind=\"renewal\",outcome=\"failed\"," + ca + "} 0\n") !=
              std::string::npos);
        CHECK(at("dnsh_orders_total{kind=\"issuance\",outcome=\"failed\"," + ca + "} 0\n") !=
              std::string::npos);
        CHECK(at("dnsh_certificates_issued_total{kind=\"renewal\"," + ca + "} 0\n") !=
              std::string::npos);
    }
    // Every delivery outcome (events/webhook_delivery.cpp), so the first dead one fires
    // DnshWebhookDeliveriesDead.
    for (const char* outcome : {"delivered", "failed", "dead"}) {
        CAPTURE(outcome);
        CHECK(at("dnsh_webhook_deliveries_total{outcome=\"" + std::string(outcome) + "\"} 0\n") !=
              std::string::npos);
    }
    CHECK(at("# TYPE dnsh_webhook_deliveries_total counter\n") != std::string::npos);
}

TEST_CASE("metrics: the zero series of an order's counters are the ones its counting writes") {
    // Label order matters: a zero series spelled otherwise is a series of its own, and the
    // counted one still starts at 1, invisible to increase().
    const std::string ca = "https://a.example/dir";
    takeCounterDeltas();
    countOrderFinished(OrderKind::Renewal, false, ca);
    countOrderFinished(OrderKind::Issue, true, ca);
    const auto deltas = takeCounterDeltas();
    REQUIRE(deltas.size() == 3);
    const std::string zeros = renderCounterFamilies({}, {ca});
    INFO(zeros);
    for (const auto& delta : deltas) {
        CAPTURE(delta.name);
        CAPTURE(delta.labels);
        CHECK(zeros.find(delta.name + "{" + delta.labels + "} 0\n") != std::string::npos);
    }
}
