// dnsh-admin host-check: the warnings start-api logs of settings of this host that hurt the
// service.
#include "admin/host_check.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <string>

using namespace dnsh;

TEST_CASE("hostWarnings: the kernel's session groups are said only with PostgreSQL on this host") {
    const auto warnings = hostWarnings(true, "1");
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("kernel.sched_autogroup_enabled=1") != std::string::npos);
    CHECK(warnings[0].find("Running in production") != std::string::npos);

    CHECK(hostWarnings(true, "0").empty());   // turned off
    CHECK(hostWarnings(false, "1").empty());  // PostgreSQL elsewhere
    CHECK(hostWarnings(true, "").empty());    // a kernel without them, or the file unreadable
}

TEST_CASE("sessionGroupsSetting: this kernel's value, 0 or 1, when it has the file") {
    // The test reads the file itself, so a sessionGroupsSetting() that returns nothing (or the
    // wrong file) fails here instead of skipping the check.
    const char* const settingFile = "/proc/sys/kernel/sched_autogroup_enabled";
    std::ifstream kernelFile(settingFile);
    std::string kernelValue;
    if (!std::getline(kernelFile, kernelValue)) {
        MESSAGE("no readable " << settingFile << " here");
        CHECK(sessionGroupsSetting().empty());
        return;
    }
    CHECK((kernelValue == "0" || kernelValue == "1"));
    CHECK(sessionGroupsSetting() == kernelValue);
}
