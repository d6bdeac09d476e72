// dnsh-admin host-check: the warnings start-api logs of settings of this host that hurt the
// service.
#include "admin/host_check.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace dnsh;

TEST_CASE("hostWarnings: the kernel's session groups are said only with PostgreSQL on this host") {
    const auto warnings = hostWarnings(true, std::string("1\n"));
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("kernel.sched_autogroup_enabled=1") != std::string::npos);
    CHECK(warnings[0].find("Running in production") != std::string::npos);

    CHECK(hostWarnings(true, std::string("0\n")).empty());   // turned off
    CHECK(hostWarnings(false, std::string("1\n")).empty());  // PostgreSQL elsewhere
    CHECK(hostWarnings(true, std::nullopt).empty());         // a kernel without them
    CHECK(hostWarnings(true, std::string("")).empty());
}

TEST_CASE("sessionGroupsSetting: this kernel's value, 0 or 1, when it has the file") {
    const auto setting = sessionGroupsSetting();
    if (!setting) {
        MESSAGE("no /proc/sys/kernel/sched_autogroup_enabled here");
        return;
    }
    CHECK((*setting == "0\n" || *setting == "1\n"));
}
