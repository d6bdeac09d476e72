#include "issuance/order_metrics.hpp"

#include <string>

#include "core/metric_registry.hpp"

namespace dnsh {

void countOrderFinished(OrderKind kind, bool valid, const std::string& ca) {
    MetricLabels labels{{"kind", kind == OrderKind::Renewal ? "renewal" : "issuance"},
                        {"outcome", valid ? "valid" : "failed"}};
    if (!ca.empty()) labels.push_back({"ca", ca});
    countEvent("dnsh_orders_total", labels);
    if (valid)
        countEvent("dnsh_certificates_issued_total",
                   {{"kind", kind == OrderKind::Renewal ? "renewal" : "issuance"}, {"ca", ca}});
}

void observeOrderStep(OrderStep step, std::chrono::steady_clock::time_point started) {
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
    observeSeconds("dnsh_order_step_duration_seconds", {{"step", std::string(toString(step))}},
                   elapsed.count());
}

}  // namespace dnsh
