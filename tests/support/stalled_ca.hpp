#pragma once
// The stand-in ACME CA tests/support/stalled_ca.py on a free loopback port, with the test
// Pebble's TLS certificate (so the service trusts it through ACME_CA_BUNDLE): for what Pebble
// cannot be made to do (stall, answer with chosen Retry-After values, finalize without Location).
// Its stdout is one line per request that reached it: "METHOD PATH t=<seconds>".
#include <memory>
#include <string>
#include <vector>

#include "support/child_process.hpp"

namespace dnsh::test {

class StalledCa {
public:
    // `arguments`: --stall ..., --delay ..., --retry-after ..., ... (stalled_ca.py's usage).
    explicit StalledCa(const std::vector<std::string>& arguments);

    std::string directory() const { return "https://127.0.0.1:" + std::to_string(port_) + "/dir"; }
    int port() const { return port_; }

    // How many requests "METHOD PATH-PREFIX..." reached it.
    int requests(const std::string& method, const std::string& pathPrefix) const;

    // When each request "METHOD PATH-PREFIX..." came, in seconds on the stand-in's clock.
    std::vector<double> requestTimes(const std::string& method, const std::string& pathPrefix) const;

    const ChildProcess& process() const { return *process_; }

private:
    std::unique_ptr<ChildProcess> process_;
    int port_ = 0;
};

}  // namespace dnsh::test
