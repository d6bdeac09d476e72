#include "domain/status.hpp"

#include <array>
#include <utility>

namespace dnsh {

namespace {

constexpr std::array<std::pair<DomainStatus, std::string_view>, 5> kNames{{
    {DomainStatus::Pending, "pending"},
    {DomainStatus::Verified, "verified"},
    {DomainStatus::CertificatePending, "certificate_pending"},
    {DomainStatus::Active, "active"},
    {DomainStatus::Failed, "failed"},
}};

}  // namespace

std::string_view toString(DomainStatus status) {
    for (const auto& [value, name] : kNames)
        if (value == status) return name;
    return "unknown";
}

std::optional<DomainStatus> parseDomainStatus(std::string_view text) {
    for (const auto& [value, name] : kNames)
        if (name == text) return value;
    return std::nullopt;
}

bool canTransition(DomainStatus from, DomainStatus to) {
    using S = DomainStatus;
    switch (from) {
        case S::Pending:
            return to == S::Verified;
        case S::Verified:
            return to == S::CertificatePending;
        case S::CertificatePending:
            return to == S::Active || to == S::Failed;
        case S::Active:
        case S::Failed:
            return false;
    }
    return false;
}

}  // namespace dnsh
