#pragma once
// The one function that writes a domain's status. It refuses moves the lifecycle does not allow
// (domain/status.hpp) and compare-and-sets in SQL, so of racing writers exactly one wins.
#include <Poco/Data/Session.h>

#include <optional>
#include <string>

#include "core/failure_code.hpp"
#include "domain/status.hpp"

namespace dnsh {

struct StatusChange {
    DomainStatus from;
    DomainStatus to;
    std::string error;                     // why, for `failed` (empty otherwise)
    std::optional<FailureCode> errorCode;  // the API's error_code (README "API"), for `failed`
};

// UPDATE domains ... WHERE id = $1 AND status = <from>. True when this call made the change.
// Throws Error(Internal) for a move the lifecycle does not allow.
bool transitionDomain(Poco::Data::Session& session, const std::string& domainId,
                      const StatusChange& change);

// The same, returning when the change was made (RFC 3339, the row's new updated_at and, for
// `verified`, verified_at), so a caller can answer with the new state without reading it back.
// nullopt when another writer won.
std::optional<std::string> transitionDomainAt(Poco::Data::Session& session,
                                              const std::string& domainId,
                                              const StatusChange& change);

}  // namespace dnsh
