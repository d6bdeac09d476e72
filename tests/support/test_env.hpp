#pragma once
// Where the services under test are: the variables deploy/test exports (the same names as
// var/stack.env, so `source var/stack.env; ctest` runs against a local deploy/up stack too).
#include <string>

namespace dnsh::test {

// The variable's value; fails the test with a clear message when it is unset.
std::string requireEnv(const std::string& name);

std::string baseUrl();        // BASE_URL, e.g. http://127.0.0.1:8080
std::string databaseUrl();    // DATABASE_URL
std::string dnsResolver();    // DNS_RESOLVER, the sandbox DNS (pebble-challtestsrv)
std::string sandboxDnsApi();  // SANDBOX_DNS_API, its management API
std::string handlerPath(const std::string& name);  // DNSH_HANDLER_DIR/<name>

// A name no other test (or earlier run) uses: "<prefix>-<random>.test-dnsh.example".
std::string uniqueDomainName(const std::string& prefix);

}  // namespace dnsh::test
