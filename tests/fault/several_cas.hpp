#pragma once
// An ACME_CAS_FILE of several CAs for a case's own lighttpd and scheduler (README "Several CAs"):
// several_cas_test.cpp, ca_pass_over_test.cpp.
#include <map>
#include <string>

#include "support/domain_flows.hpp"
#include "support/test_env.hpp"

namespace dnsh::test {

// The CA file in `dir`: "first" at the directory URL `first`, then "second" at `second`, both
// with the profile "default" and trusted through the test stack's bundle (Pebble's certificate,
// which the stand-in CAs present too).
inline std::string twoCaFile(const TempDir& dir, const std::string& first,
                             const std::string& second) {
    const std::string bundle = requireEnv("ACME_CA_BUNDLE");
    return dir.write("cas.env", "ACME_CAS=first,second\n"
                                "ACME_CA_FIRST_DIRECTORY=" + first + "\n"
                                "ACME_CA_FIRST_CA_BUNDLE=" + bundle + "\n"
                                "ACME_CA_FIRST_PROFILE=default\n"
                                "ACME_CA_SECOND_DIRECTORY=" + second + "\n"
                                "ACME_CA_SECOND_CA_BUNDLE=" + bundle + "\n"
                                "ACME_CA_SECOND_PROFILE=default\n");
}

// What a case's own lighttpd and scheduler run with: the CA file instead of ACME_DIRECTORY.
inline std::map<std::string, std::string> severalCas(const std::string& file) {
    return {{"ACME_DIRECTORY", ""}, {"ACME_PROFILE", ""}, {"ACME_CAS_FILE", file}};
}

}  // namespace dnsh::test
