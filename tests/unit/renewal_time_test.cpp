// When a certificate renews (README "How issuance and renewal work", renewal): RENEW_BEFORE as a
// duration or a fraction of the lifetime, a jitter of up to 2% of the lifetime, never more than
// 90% and never less than a tenth plus a margin of 2% of the lifetime.
#include "issuance/renewal_time.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace dnsh;
using namespace std::chrono_literals;

TEST_CASE("renewBeforeExpiry: duration or fraction, jitter, bounded by the lifetime") {
    const std::chrono::milliseconds days90 = 90 * 24h;
    const std::chrono::milliseconds days45 = 45 * 24h;
    struct Case {
        std::string description;
        RenewBefore renewBefore;
        std::chrono::milliseconds lifetime;
        double uniform01;
        std::chrono::milliseconds expected;
    };
    const std::vector<Case> cases{
        {"default: a third of 90 days, no jitter", {}, days90, 0.0, 30 * 24h},
        {"default: a third of 45 days", {}, days45, 0.0, 15 * 24h},
        {"jitter at its largest adds 2% of the lifetime",
         {},
         days90,
         1.0,
         30 * 24h + std::chrono::milliseconds(days90.count() / 50)},
        {"half the jitter",
         {},
         days90,
         0.5,
         30 * 24h + std::chrono::milliseconds(days90.count() / 100)},
        {"fraction 0.5", {std::nullopt, 0.5}, days90, 0.0, 45 * 24h},
        {"duration 720h", {720h, 0}, days90, 0.0, 720h},
        {"duration longer than a short certificate: 90% of it", {720h, 0}, 10min, 0.0, 9min},
        {"fraction 0.99 capped at 90%", {std::nullopt, 0.99}, 100s, 0.0, 90s},
        {"uniform01 out of range is clamped",
         {},
         days90,
         7.0,
         30 * 24h + std::chrono::milliseconds(days90.count() / 50)},
        // Not in the last tenth, which dnsh_renewals_overdue counts as overdue, nor just before
        // it: raised to a tenth plus 2% of the lifetime (43.2 hours of 90 days, 3.2 of 160), the
        // jitter still spread on top.
        {"fraction 0.05 raised to a tenth plus 2%",
         {std::nullopt, 0.05},
         days90,
         0.0,
         9 * 24h + days90 / 50},
        {"duration 7d of 90 days raised to a tenth plus 2%", {168h, 0}, days90, 0.0,
         9 * 24h + days90 / 50},
        {"fraction 0.1 raised too", {std::nullopt, 0.1}, days90, 0.0, 9 * 24h + days90 / 50},
        {"duration 12h of 160 hours raised to a tenth plus 2%", {12h, 0}, 160h, 0.0, 16h + 192min},
        {"raised, then the jitter",
         {168h, 0},
         days90,
         1.0,
         9 * 24h + days90 / 50 + std::chrono::milliseconds(days90.count() / 50)},
        {"a short lifetime: the same shares", {1h, 0}, 48h, 0.0, 288min + 57min + 36s},
        {"a lifetime of an hour: the default third is above the floor", {}, 1h, 0.0, 20min},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(renewBeforeExpiry(c.renewBefore, c.lifetime, c.uniform01) == c.expected);
    }
}

TEST_CASE("renewBeforeUnderTheFloor: only a fraction under 0.12, which the start warns about") {
    CHECK(renewBeforeUnderTheFloor({std::nullopt, 0.05}));
    CHECK(renewBeforeUnderTheFloor({std::nullopt, 0.11}));
    CHECK_FALSE(renewBeforeUnderTheFloor({std::nullopt, 0.12}));
    CHECK_FALSE(renewBeforeUnderTheFloor({}));
    CHECK_FALSE(renewBeforeUnderTheFloor({1h, 0}));  // a duration's share depends on the lifetime
}

TEST_CASE("latestRenewal: a tenth plus the 2% margin before expiry, as RENEW_BEFORE's floor") {
    const auto notAfter = std::chrono::system_clock::time_point(1'900'000'000s);
    // 90 days: 9 days and 43.2 hours before expiry, not when the last tenth begins (overdue_at,
    // from which dnsh_renewals_overdue counts the certificate).
    CHECK(latestRenewal(notAfter, std::chrono::seconds(90 * 24h)) ==
          notAfter - 9 * 24h - 43h - 12min);
    // The stand-in CA's day-long certificates: 2.4 hours and 28.8 minutes before.
    CHECK(latestRenewal(notAfter, std::chrono::seconds(24h)) == notAfter - 144min - 28min - 48s);
    // No later than what renewBeforeExpiry raises the shortest RENEW_BEFORE to.
    const std::chrono::milliseconds lifetime = 160h;
    CHECK(latestRenewal(notAfter, std::chrono::duration_cast<std::chrono::seconds>(lifetime)) ==
          notAfter - renewBeforeExpiry({std::nullopt, 0.0}, lifetime, 0.0));
}
