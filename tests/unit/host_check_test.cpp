// dnsh-admin host-check: the warnings start-api logs of settings of this host that hurt the
// service.
#include "admin/host_check.hpp"

#include <doctest/doctest.h>

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
    const std::string setting = sessionGroupsSetting();
    if (setting.empty()) {
        MESSAGE("no readable /proc/sys/kernel/sched_autogroup_enabled here");
        return;
    }
    CHECK((setting == "0" || setting == "1"));
}
