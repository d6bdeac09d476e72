#include "support/postgres_pair.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <sstream>

#include "support/domain_flows.hpp"

namespace dnsh::test {

namespace {

CommandResult runScript(const std::string& action, const std::string& dir) {
    return runCommand(std::string(DNSH_SOURCE_DIR) + "/tests/support/postgres_pair " + action +
                      " " + dir);
}

}  // namespace

PostgresPair::PostgresPair() {
    std::string pattern = "/tmp/dnsh-postgres-pair.XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
    control("start");
    std::istringstream env(readFile(dir_ + "/pair.env"));
    for (std::string line; std::getline(env, line);) {
        const auto equals = line.find('=');
        if (equals != std::string::npos) values_[line.substr(0, equals)] = line.substr(equals + 1);
    }
    REQUIRE(!values_["PRIMARY_PORT"].empty());
    REQUIRE(!values_["STANDBY_PORT"].empty());
}

PostgresPair::~PostgresPair() {
    runScript("teardown", dir_);
}

std::string PostgresPair::serviceUrl() const {
    return "postgresql://postgres:" + values_.at("PASSWORD") + "@127.0.0.1:" +
           values_.at("PRIMARY_PORT") + ",127.0.0.1:" + values_.at("STANDBY_PORT") +
           "/dnsh?target_session_attrs=read-write";
}

std::string PostgresPair::nodeUrl(const std::string& portKey) const {
    return "postgresql://postgres:" + values_.at("PASSWORD") + "@127.0.0.1:" +
           values_.at(portKey) + "/dnsh";
}

void PostgresPair::stopPrimary() {
    control("stop-primary");
}

void PostgresPair::promoteStandby() {
    control("promote");
}

void PostgresPair::stopStandby() {
    control("stop-standby");
}

void PostgresPair::startStandby() {
    control("start-standby");
}

void PostgresPair::control(const std::string& action) const {
    const CommandResult result = runScript(action, dir_);
    REQUIRE_MESSAGE(result.exitCode == 0, "postgres_pair " << action << ": " << result.output);
}

}  // namespace dnsh::test
