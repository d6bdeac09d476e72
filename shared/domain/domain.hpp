#pragma once
#include <optional>
#include <string>

#include "domain/status.hpp"

namespace dnsh {

// The dns-01 challenge a certificate_pending domain waits for (RFC 8555 §8.4).
struct PendingChallenge {
    std::string txtName;
    std::string txtValue;
};

struct Domain {
    std::string id;
    std::string domainName;
    std::string verificationToken;
    DomainStatus status = DomainStatus::Pending;
    std::optional<std::string> error;
    std::optional<std::string> verifiedAt;  // RFC 3339 UTC, as all timestamps here
    std::string createdAt;
    std::string updatedAt;
    std::optional<PendingChallenge> challenge;  // while certificate_pending
};

// Metadata only: PEM and key never leave the database through the API.
struct CertificateInfo {
    std::string id;
    std::string domainId;
    std::string issuedAt;
    std::string expiresAt;
    std::string createdAt;
};

}  // namespace dnsh
