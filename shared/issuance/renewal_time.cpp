#include "issuance/renewal_time.hpp"

#include <algorithm>

namespace dnsh {

namespace {

// A renewal's margin before the last tenth of a `life`: 2% of it, the jitter's range (43.2 hours
// of 90 days, 3.2 of 160 hours). It lets a first attempt fail (the CA's 5xx or rate limit, then
// the renewal backoff) or a step be slow before overdue_at, from which the metrics and
// DnshRenewalsOverdue (for: 30m) count a renewal that should have started.
double overdueMargin(double life) { return life / 50; }

}  // namespace

std::chrono::milliseconds renewBeforeExpiry(const RenewBefore& renewBefore,
                                            std::chrono::milliseconds lifetime, double uniform01) {
    using std::chrono::milliseconds;
    const double life = static_cast<double>(lifetime.count());
    const double base = renewBefore.duration ? static_cast<double>(renewBefore.duration->count())
                                             : life * renewBefore.fraction;
    const double earliest = life / 10 + overdueMargin(life);
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
    const auto life = std::chrono::milliseconds(lifetime);
    const auto margin = std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(
        overdueMargin(static_cast<double>(life.count()))));
    return notAfter - life / 10 - margin;
}

}  // namespace dnsh
