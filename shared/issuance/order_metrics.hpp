#pragma once
// The orders' counters and step histogram, counted by issuance/order_runner.cpp.
#include <chrono>

#include "issuance/order_step.hpp"

namespace dnsh {

// dnsh_orders_total{kind="issuance|renewal",outcome="valid|failed"}: an order that finished.
void countOrderFinished(OrderKind kind, bool valid);

// dnsh_order_step_duration_seconds{step}: one scheduler step of an order.
void observeOrderStep(OrderStep step, std::chrono::steady_clock::time_point started);

}  // namespace dnsh
