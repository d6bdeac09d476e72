#pragma once
// The event types of DESIGN.md "Events (webhooks)", as they appear in a payload's "type".
#include <string_view>

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

constexpr std::string_view toString(EventType type) {
    switch (type) {
        case EventType::DomainVerified:
            return "domain.verified";
        case EventType::CertificateIssued:
            return "certificate.issued";
        case EventType::CertificateRenewed:
            return "certificate.renewed";
        case EventType::CertificateFailed:
            return "certificate.failed";
        case EventType::RenewalActionRequired:
            return "renewal.action_required";
        case EventType::RenewalFailed:
            return "renewal.failed";
        case EventType::DelegationLost:
            return "delegation.lost";
        case EventType::DomainDeleted:
            return "domain.deleted";
    }
    return "unknown";
}

}  // namespace dnsh
