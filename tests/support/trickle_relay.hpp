#pragma once
// tests/support/trickle_relay.py on a free loopback port, in front of 127.0.0.1:<target>: what
// the client sends goes on at once, what the target sends one small chunk at a time (a CA, or a
// middlebox, that stalls its TLS handshake without ever going quiet long enough for a timeout per
// wait to fire).
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "support/child_process.hpp"

namespace dnsh::test {

class TrickleRelay {
public:
    TrickleRelay(int targetPort, int chunkBytes, std::chrono::milliseconds interval);

    // https://127.0.0.1:<its port><path>: the stand-in CA's and Pebble's certificates name
    // 127.0.0.1, so the relay's address is what the client checks them against.
    std::string httpsUrl(const std::string& path) const;

    // How many connections clients opened through it.
    int connections() const;
    // The bytes of the target's a client had been sent when it went away with more of them
    // still to come; nothing while none did.
    std::optional<long> relayedWhenClientLeft() const;

    const ChildProcess& process() const { return *process_; }

private:
    std::unique_ptr<ChildProcess> process_;
    int port_ = 0;
};

}  // namespace dnsh::test
