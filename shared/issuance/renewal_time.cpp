#include "issuance/renewal_time.hpp"

#include <algorithm>

namespace dnsh {

std::chrono::milliseconds renewBeforeExpiry(const RenewBefore& renewBefore,
                                            std::chrono::milliseconds lifetime, double uniform01) {
    using std::chrono::milliseconds;
    const double life = static_cast<double>(lifetime.count());
    const double base = renewBefore.duration ? static_cast<double>(renewBefore.duration->count())
                                             : life * renewBefore.fraction;
    // From overdue_at (the last tenth) the metrics and DnshRenewalsOverdue (for: 30m) count a
    // renewal that should have started. The margin lets a first attempt fail (the CA's 5xx or
    // rate limit, then the renewal backoff) or a step be slow without counting there.
    // 2% of the lifetime, the jitter's range: 43.2 hours of 90 days, 3.2 of 160 hours.
    const double margin = life / 50;
    const double earliest = life / 10 + margin;
    const double jitter = life * 0.02 * std::clamp(uniform01, 0.0, 1.0);
    const double before = std::min(std::max(base, earliest) + jitter, life * 0.9);
    return milliseconds(static_cast<milliseconds::rep>(std::max(before, 0.0)));
}

bool renewBeforeUnderTheFloor(const RenewBefore& renewBefore) {
    return !renewBefore.duration && renewBefore.fraction < 0.12;
}

std::chrono::system_clock::time_point latestRenewal(std::chrono::system_clock::time_point notAfter,
                                                    std::chrono::seconds lifetime) {
    // Whole milliseconds, as PostgreSQL computes overdue_at from the stored dates.
    return notAfter - std::chrono::milliseconds(lifetime) / 10;
}

}  // namespace dnsh
