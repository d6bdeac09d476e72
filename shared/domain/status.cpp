#include "domain/status.hpp"

#include "core/enum_names.hpp"

namespace dnsh {

namespace {

constexpr EnumNames<DomainStatus, 5> kNames{{{
    {DomainStatus::Pending, "pending"},
    {DomainStatus::Verified, "verified"},
    {DomainStatus::CertificatePending, "certificate_pending"},
    {DomainStatus::Active, "active"},
    {DomainStatus::Failed, "failed"},
}}};

}  // namespace

std::string_view toString(DomainStatus status) {
    return kNames.toString(status);
}

std::optional<DomainStatus> parseDomainStatus(std::string_view text) {
    return kNames.parse(text);
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
        case S::Failed:
            return to == S::CertificatePending;  // issue-certificate on a failed domain: the retry
        case S::Active:
            return false;  // renewal never moves an active domain
    }
    return false;
}

}  // namespace dnsh
