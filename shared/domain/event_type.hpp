#pragma once
// The webhook event types (README "Webhooks"), as they appear in a payload's "type".
#include <string_view>

#include "core/enum_names.hpp"

namespace dnsh {

enum class EventType {
    DomainVerified,         // pending -> verified
    CertificateIssued,      // the first certificate stored: certificate_pending -> active
    CertificateRenewed,     // a renewal's certificate stored (the domain stays active)
    CertificateFailed,      // certificate_pending -> failed
    RenewalActionRequired,  // a renewal waits for the customer to publish values
    RenewalFailed,          // a renewal order failed; it is retried until expiry
    DelegationLost,         // a delegated domain's CNAME is gone
    DomainDeleted,          // DELETE /domains/{id}
};

// The payload's "type", from the one table (core/enum_names.hpp).
inline constexpr EnumNames<EventType, 8> kEventTypeNames{{{
    {EventType::DomainVerified, "domain.verified"},
    {EventType::CertificateIssued, "certificate.issued"},
    {EventType::CertificateRenewed, "certificate.renewed"},
    {EventType::CertificateFailed, "certificate.failed"},
    {EventType::RenewalActionRequired, "renewal.action_required"},
    {EventType::RenewalFailed, "renewal.failed"},
    {EventType::DelegationLost, "delegation.lost"},
    {EventType::DomainDeleted, "domain.deleted"},
}}};

constexpr std::string_view toString(EventType type) {
    return kEventTypeNames.toString(type);
}

}  // namespace dnsh
