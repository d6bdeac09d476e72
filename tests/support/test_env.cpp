#include "support/test_env.hpp"

#include <cstdlib>
#include <stdexcept>

#include "crypto/random.hpp"

namespace dnsh::test {

std::string requireEnv(const std::string& name) {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0')
        throw std::runtime_error(name + " is not set: run the tests through deploy/test");
    return value;
}

std::string baseUrl() {
    return requireEnv("BASE_URL");
}
std::string databaseUrl() {
    return requireEnv("DATABASE_URL");
}
std::string dnsResolver() {
    return requireEnv("DNS_RESOLVER");
}
std::string sandboxDnsApi() {
    return requireEnv("SANDBOX_DNS_API");
}
std::string handlerPath(const std::string& name) {
    return requireEnv("DNSH_HANDLER_DIR") + "/" + name;
}

std::string uniqueDomainName(const std::string& prefix) {
    return prefix + "-" + randomHex(6) + ".test-dnsh.example";
}

}  // namespace dnsh::test
