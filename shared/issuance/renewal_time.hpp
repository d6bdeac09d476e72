#pragma once
// When to renew a certificate (README "How issuance and renewal work"), as a pure function.
#include <chrono>

#include "config/config.hpp"

namespace dnsh {

// How long before notAfter to renew a certificate of `lifetime`: RENEW_BEFORE (a duration, or
// a fraction of the lifetime), plus a jitter of up to 2% of the lifetime (`uniform01` in [0,1),
// drawn by the caller) so that a burst of issuances does not renew in one burst. Never more
// than 90% of the lifetime, so a RENEW_BEFORE longer than a short certificate's life cannot
// renew it the moment it is issued, again and again. Never less (before the jitter) than a
// tenth plus a margin of 2% of the lifetime: a renewal due in
// the last tenth would count as overdue (dnsh_renewals_overdue, its alert) before it is even
// due, and one due just before it would after a single failed attempt or a slow step.
std::chrono::milliseconds renewBeforeExpiry(const RenewBefore& renewBefore,
                                            std::chrono::milliseconds lifetime, double uniform01);

// A RENEW_BEFORE fraction under 0.12, which renewBeforeExpiry raises for every lifetime (to a
// tenth plus 2%): warned about at the scheduler's start. (A duration's share depends on each
// certificate's lifetime.)
bool renewBeforeUnderTheFloor(const RenewBefore& renewBefore);

// The latest a certificate expiring at `notAfter` is renewed whatever a CA's renewalInfo window
// says: 2% of its `lifetime` before its last tenth begins (certificates.overdue_at, migration
// 007, from which dnsh_renewals_overdue counts it), the margin RENEW_BEFORE's floor keeps too
// (RENEW_BEFORE's default renews at a third).
std::chrono::system_clock::time_point latestRenewal(std::chrono::system_clock::time_point notAfter,
                                                    std::chrono::seconds lifetime);

}  // namespace dnsh
