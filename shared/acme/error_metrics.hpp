#pragma once
// dnsh_acme_errors_total, counted by acme/transport_errors.cpp where the CA's answer (an error
// status, an answer it cannot use) or its silence becomes an error; not for errors the code raises
// itself.
// Its label stays in a small fixed set, whatever the CA sends (README "Metrics").
#include <string>

#include "acme/problem.hpp"

namespace dnsh {

// dnsh_acme_errors_total{type}: the problem type's URN suffix (RFC 8555 §6.7) when it is one of
// the RFC's, "unreachable" when the CA was not reached, else "other".
void countAcmeError(const acme::Problem& problem);

// The label value above, exposed for the tests.
std::string acmeErrorTypeLabel(const acme::Problem& problem);

}  // namespace dnsh
