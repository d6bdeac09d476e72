#include "support/trickle_relay.hpp"

#include <doctest/doctest.h>

#include <map>
#include <regex>
#include <sstream>
#include <vector>

#include "support/domain_flows.hpp"

namespace dnsh::test {

TrickleRelay::TrickleRelay(int targetPort, int chunkBytes, std::chrono::milliseconds interval) {
    const std::vector<std::string> arguments = {
        std::string(DNSH_SOURCE_DIR) + "/tests/support/trickle_relay.py",
        "--target", std::to_string(targetPort),
        "--chunk-bytes", std::to_string(chunkBytes),
        "--interval", std::to_string(std::chrono::duration<double>(interval).count())};
    process_ = std::make_unique<ChildProcess>("/usr/bin/python3", arguments,
                                              std::map<std::string, std::string>{},
                                              "trickle-relay");
    REQUIRE_MESSAGE(waitFor(std::chrono::seconds(10),
                            [&] {
                                static const std::regex listening(R"(listening (\d+))");
                                std::smatch match;
                                const std::string log = process_->log();
                                if (!std::regex_search(log, match, listening)) return false;
                                port_ = std::stoi(match[1]);
                                return true;
                            }),
                    describe(*process_));
}

std::string TrickleRelay::httpsUrl(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(port_) + path;
}

int TrickleRelay::connections() const {
    std::istringstream lines(process_->log());
    int count = 0;
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("CONNECT ", 0) == 0) ++count;
    return count;
}

std::optional<long> TrickleRelay::relayedWhenClientLeft() const {
    std::istringstream lines(process_->log());
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("CUT relayed=", 0) == 0) return std::stol(line.substr(12));
    return std::nullopt;
}

}  // namespace dnsh::test
