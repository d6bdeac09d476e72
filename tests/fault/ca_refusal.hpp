#pragma once
// What the CA-answer shape tests (ca_order_shape_test, ca_directory_shape_test) share: a transport
// trusting the stand-in's certificate, and how they read a refusal's detail.
#include <chrono>
#include <cstddef>
#include <string>

#include "acme/problem.hpp"
#include "acme/transport.hpp"
#include "support/test_env.hpp"

namespace dnsh::test {

// A refusal's detail names the CA's value cut to kMaxProblemInstanceBytes, never whole.
inline constexpr std::size_t kMaxRefusalDetailBytes = 600;

inline acme::Transport makeStandInTransport() {
    return acme::Transport(requireEnv("ACME_CA_BUNDLE"), std::chrono::seconds(10));
}

// Whether the refusal's detail holds `text`.
inline bool names(const acme::AcmeError& error, const std::string& text) {
    return error.problem().detail.find(text) != std::string::npos;
}

}  // namespace dnsh::test
