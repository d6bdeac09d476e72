#pragma once
#include <optional>
#include <string>
#include <vector>

#include "domain/status.hpp"
#include "domain/validation_method.hpp"

namespace dnsh {

// A dns-01 TXT value the CA waits for (RFC 8555 §8.4).
struct PendingChallenge {
    std::string txtName;
    std::string txtValue;
};

// Metadata only: PEM and key never leave the database through the API.
struct CertificateInfo {
    std::string id;
    std::string domainId;
    std::string issuedAt;
    std::string expiresAt;
    std::string createdAt;
    std::optional<std::string> profile;  // the CA profile it was issued under; none: the CA's default
    std::optional<std::string> ca;       // the directory URL of the CA that issued it
};

// The domain view's "renewal" (README "API"): renewal of an active domain's certificate.
struct RenewalState {
    std::string status;  // scheduled, awaiting_dns, in_progress, failed
    std::optional<std::string> renewAt;
    std::vector<PendingChallenge> challenges;  // awaiting_dns: what the customer must publish
    std::optional<std::string> error;
    std::optional<std::string> errorCode;
};

struct Domain {
    std::string id;
    std::string domainName;
    std::string verificationToken;
    DomainStatus status = DomainStatus::Pending;
    std::optional<std::string> error;
    std::optional<std::string> errorCode;
    std::optional<std::string> verifiedAt;  // RFC 3339 UTC, as all timestamps here
    std::string createdAt;
    std::string updatedAt;
    std::vector<PendingChallenge> challenges;    // while certificate_pending
    std::optional<CertificateInfo> certificate;  // the newest
    std::optional<RenewalState> renewal;         // once active
    std::optional<std::string> lastCheck;        // JSON object: the last DNS lookup
    std::optional<std::string> caaCheck;         // JSON object: the last CAA check (checks.caa)
    // JSON object: the last dns-persist-01 record check (checks.persist)
    std::optional<std::string> persistCheck;
    // How the latest order proved control; none before the first order
    std::optional<ValidationMethod> validationMethod;
    std::string delegationStatus = "not_seen";   // not_seen, active, lost
    // The CA profile chosen at registration (draft-ietf-acme-profiles) for every order of the
    // domain; none: ACME_PROFILE at each order.
    std::optional<std::string> profile;
    // The delegation CNAME's label (delegationLabel), stored at registration; none for a domain
    // registered before migration 022 (computed when shown).
    std::optional<std::string> delegationLabel;
};

}  // namespace dnsh
