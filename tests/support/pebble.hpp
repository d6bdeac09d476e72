#pragma once
// Pebble's management API (PEBBLE_MANAGEMENT and the other CAs' *_MANAGEMENT_* of the test
// stack): the root that signs what it issues, and the renewalInfo it answers for a certificate.
#include <chrono>
#include <string>

namespace dnsh::test {

std::string pebbleRootPem();

// Orders the test stack's Pebble (ACME_DIRECTORY) has created so far: one "Added order" line in
// its log (DNSH_TEST_LOG_DIR/pebble.log) each; another of its Pebbles by its log's name
// ("pebble-eab.log": the second CA of the multi-CA tests).
int ordersAtTheCa(const std::string& logName = "pebble.log");

// POST /set-renewal-info/ (Pebble 2.10): from now on Pebble answers `ariResponse` as the
// renewalInfo (RFC 9773 §4.2) of the certificate in `leafPem`, with its usual Retry-After (6 h).
void setPebbleRenewalInfo(const std::string& managementUrl, const std::string& leafPem,
                          const std::string& ariResponse);

// A RenewalInfo body whose suggestedWindow is [start, end), RFC 3339 UTC.
std::string renewalInfoBody(std::chrono::system_clock::time_point start,
                            std::chrono::system_clock::time_point end);

}  // namespace dnsh::test
