#pragma once
// Pebble's management API (PEBBLE_MANAGEMENT): the root that signs what it issues.
#include <string>

namespace dnsh::test {

std::string pebbleRootPem();

}  // namespace dnsh::test
