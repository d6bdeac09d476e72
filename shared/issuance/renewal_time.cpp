#include "issuance/renewal_time.hpp"

#include <algorithm>

namespace dnsh {

std::chrono::milliseconds renewBeforeExpiry(const RenewBefore& renewBefore,
                                            std::chrono::milliseconds lifetime, double uniform01) {
    using std::chrono::milliseconds;
    const double life = static_cast<double>(lifetime.count());
    const double base = renewBefore.duration ? static_cast<double>(renewBefore.duration->count())
                                             : life * renewBefore.fraction;
    // Rounded up, so renew_at is never after overdue_at (notAfter minus a tenth, computed by
    // PostgreSQL), which the metrics and alerts count as a renewal that should have started.
    const double lastTenth = static_cast<double>((lifetime.count() + 9) / 10);
    const double jitter = life * 0.02 * std::clamp(uniform01, 0.0, 1.0);
    const double before = std::min(std::max(base, lastTenth) + jitter, life * 0.9);
    return milliseconds(static_cast<milliseconds::rep>(std::max(before, 0.0)));
}

bool renewBeforeUnderATenth(const RenewBefore& renewBefore) {
    return !renewBefore.duration && renewBefore.fraction < 0.1;
}

std::chrono::system_clock::time_point latestRenewal(std::chrono::system_clock::time_point notAfter,
                                                    std::chrono::seconds lifetime) {
    // Whole milliseconds, as PostgreSQL computes overdue_at from the stored dates.
    return notAfter - std::chrono::milliseconds(lifetime) / 10;
}

}  // namespace dnsh
