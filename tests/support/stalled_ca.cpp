#include "support/stalled_ca.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>

#include "support/domain_flows.hpp"
#include "support/test_env.hpp"

namespace dnsh::test {

StalledCa::StalledCa(const std::vector<std::string>& arguments) {
    const std::filesystem::path cert = requireEnv("ACME_CA_BUNDLE");
    std::vector<std::string> all = {std::string(DNSH_SOURCE_DIR) + "/tests/support/stalled_ca.py",
                                    "--cert", cert.string(), "--key",
                                    (cert.parent_path() / "key.pem").string()};
    all.insert(all.end(), arguments.begin(), arguments.end());
    process_ = std::make_unique<ChildProcess>("/usr/bin/python3", all,
                                              std::map<std::string, std::string>{}, "stalled-ca");
    std::smatch match;
    REQUIRE_MESSAGE(waitFor(std::chrono::seconds(10),
                            [&] {
                                const std::string log = process_->log();
                                static const std::regex listening(R"(listening (\d+))");
                                if (!std::regex_search(log, match, listening)) return false;
                                port_ = std::stoi(match[1]);
                                return true;
                            }),
                    describe(*process_));
}

int StalledCa::requests(const std::string& method, const std::string& pathPrefix) const {
    return static_cast<int>(requestTimes(method, pathPrefix).size());
}

std::vector<double> StalledCa::requestTimes(const std::string& method,
                                            const std::string& pathPrefix) const {
    std::istringstream lines(process_->log());
    std::vector<double> times;
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(method + " " + pathPrefix, 0) != 0) continue;
        const std::size_t at = line.rfind(" t=");
        times.push_back(at == std::string::npos ? 0 : std::stod(line.substr(at + 3)));
    }
    return times;
}

}  // namespace dnsh::test
