// Domain status names and the lifecycle (README "API", statuses): pending -> verified ->
// certificate_pending -> active, certificate_pending -> failed. Nothing else.
#include "domain/status.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace dnsh;

namespace {

const std::vector<DomainStatus> kAllStatuses{DomainStatus::Pending, DomainStatus::Verified,
                                             DomainStatus::CertificatePending, DomainStatus::Active,
                                             DomainStatus::Failed};

}  // namespace

TEST_CASE("status names as in the API and round trip") {
    struct Case {
        std::string description;
        DomainStatus status;
        std::string name;
    };
    const std::vector<Case> cases{
        {"pending", DomainStatus::Pending, "pending"},
        {"verified", DomainStatus::Verified, "verified"},
        {"certificate pending", DomainStatus::CertificatePending, "certificate_pending"},
        {"active", DomainStatus::Active, "active"},
        {"failed", DomainStatus::Failed, "failed"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK(std::string(toString(c.status)) == c.name);
        const auto parsed = parseDomainStatus(c.name);
        REQUIRE(parsed.has_value());
        // Compared outside CHECK: doctest would stringify through dnsh::toString (a string_view).
        const bool sameStatus = *parsed == c.status;
        CHECK(sameStatus);
    }
}

TEST_CASE("parseDomainStatus rejects unknown names") {
    struct Case {
        std::string description;
        std::string text;
    };
    const std::vector<Case> cases{
        {"empty", ""},
        {"capitalised", "Pending"},
        {"upper case", "ACTIVE"},
        {"hyphen instead of underscore", "certificate-pending"},
        {"enum spelling", "CertificatePending"},
        {"trailing space", "verified "},
        {"unknown", "unknown"},
        {"prefix", "pend"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        CHECK_FALSE(parseDomainStatus(c.text).has_value());
    }
}

TEST_CASE("canTransition allows exactly the five lifecycle steps") {
    using S = DomainStatus;
    const std::set<std::pair<S, S>> allowed{
        {S::Pending, S::Verified},          {S::Verified, S::CertificatePending},
        {S::CertificatePending, S::Active}, {S::CertificatePending, S::Failed},
        {S::Failed, S::CertificatePending},
    };
    int allowedSeen = 0;
    for (const S from : kAllStatuses) {
        for (const S to : kAllStatuses) {
            const std::string description =
                std::string(toString(from)) + " -> " + std::string(toString(to));
            CAPTURE(description);
            const bool expected = allowed.count({from, to}) == 1;
            CHECK(canTransition(from, to) == expected);
            if (canTransition(from, to)) ++allowedSeen;
        }
    }
    CHECK(allowedSeen == 5);
}
