#pragma once
// The orders' counters and step histogram, counted by issuance/order_runner.cpp.
#include <chrono>
#include <string>

#include "issuance/order_step.hpp"

namespace dnsh {

// dnsh_orders_total{kind="issuance|renewal",outcome="valid|failed",ca}: an order that finished
// (`ca`: the directory URL of the CA it was placed at; no label when it never was), and for a
// valid one dnsh_certificates_issued_total{kind,ca}.
void countOrderFinished(OrderKind kind, bool valid, const std::string& ca);

// dnsh_order_step_duration_seconds{step}: one scheduler step of an order.
void observeOrderStep(OrderStep step, std::chrono::steady_clock::time_point started);

}  // namespace dnsh
