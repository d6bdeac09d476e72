#pragma once
// Domain status lifecycle (README "API", statuses): pending -> verified -> certificate_pending ->
// active, certificate_pending -> failed, failed -> certificate_pending (the retry).
#include <optional>
#include <string>
#include <string_view>

namespace dnsh {

enum class DomainStatus { Pending, Verified, CertificatePending, Active, Failed };

std::string_view toString(DomainStatus status);
std::optional<DomainStatus> parseDomainStatus(std::string_view text);

// Whether the lifecycle allows moving from `from` to `to` in one step.
bool canTransition(DomainStatus from, DomainStatus to);

}  // namespace dnsh
