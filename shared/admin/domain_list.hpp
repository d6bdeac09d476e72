#pragma once
// dnsh-admin list (tools/dnsh_admin_domain_commands.cpp).
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "db/database.hpp"

namespace dnsh {

// dnsh-admin list: a domain with its newest certificate's dates (RFC 3339; "" when none), and
// the error and error_code of the renewal that last failed to replace that certificate, as
// stored (bounded where they came in; nullopt when none).
struct DomainSummary {
    std::string id;
    std::string domainName;
    std::string status;
    std::string expiresAt;
    std::string renewAt;
    std::optional<std::string> renewalError;
    std::optional<std::string> renewalErrorCode;
};

// Which domains the list holds: every one when nothing is set.
struct DomainListFilter {
    std::string status;  // of this status ("": any)
    // A current certificate expiring within this (those without one left out).
    std::optional<std::chrono::milliseconds> expiringWithin;
    // A current certificate whose lifetime is over 21 days: renewed before its last 7 days, as
    // dnsh_certificates_long_lived counts them (alert DnshCertificateExpiringWithin7Days).
    bool longLived = false;
    // A current certificate that a renewal failed to replace (renewal_failures > 0), as
    // dnsh_certificates_renewal_failing counts them. Listed by domain id, not by expiry: the
    // walk follows certificates_newest_failing_idx, however many certificates there are.
    bool renewalFailing = false;
};

// Every domain the filter keeps by soonest expiry of its current certificate (ties by
// registration, then id; those without a certificate last), or by id with renewalFailing, each
// handed to `each` as it comes. Read in pages walked by key, so memory stays bounded however
// many domains there are; a domain changed while the walk runs may be seen at its old place,
// its new one, or both.
void forEachDomainSummary(Database& database, const DomainListFilter& filter,
                          const std::function<void(const DomainSummary&)>& each);

}  // namespace dnsh
