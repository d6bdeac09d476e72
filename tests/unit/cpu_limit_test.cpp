// A cgroup's CPU limit as usableCores() reads it (admin/cpu_limit.hpp): the files' formats, and
// where the `cpu` controller's directory of this process is, from /proc/self/cgroup and
// /proc/self/mountinfo as the kernel writes them (proc(5)). tests/fault/cpu_limit_test.cpp
// reads real cgroups.
#include "admin/cpu_limit.hpp"

#include <doctest/doctest.h>

using namespace dnsh;

TEST_CASE("cpu limit: cgroup v2 cpu.max and v1 cfs quota and period") {
    CHECK_FALSE(cpuLimitFromCpuMax("max 100000"));
    CHECK(cpuLimitFromCpuMax("150000 100000") == doctest::Approx(1.5));
    CHECK(cpuLimitFromCpuMax("50000 100000\n") == doctest::Approx(0.5));
    CHECK(cpuLimitFromCpuMax("400000 100000") == doctest::Approx(4.0));
    CHECK_FALSE(cpuLimitFromCpuMax(""));  // no such file: read as empty
    CHECK_FALSE(cpuLimitFromCpuMax("100000"));
    CHECK_FALSE(cpuLimitFromCpuMax("lots 100000"));
    CHECK_FALSE(cpuLimitFromCpuMax("0 100000"));

    CHECK_FALSE(cpuLimitFromCfs("-1", "100000"));
    CHECK(cpuLimitFromCfs("200000", "100000") == doctest::Approx(2.0));
    CHECK(cpuLimitFromCfs("25000\n", " 50000") == doctest::Approx(0.5));
    CHECK_FALSE(cpuLimitFromCfs("", ""));
    CHECK_FALSE(cpuLimitFromCfs("100000", "0"));
}

TEST_CASE("cpu limit: the cpu controller's directories from /proc/self/cgroup and mountinfo") {
    // cgroup v1 beside v2 ("hybrid", as on the machines the tests run on): cpu on its own
    // hierarchy, the unified one without it (its cpu.max is then absent, and not read as a limit).
    const std::string hybridMounts =
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
        "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
    const auto hybrid = cpuCgroups("4:memory:/api/x\n2:cpuacct:/\n1:cpu:/dnsh/api\n0::/\n",
                                   hybridMounts);
    REQUIRE(hybrid.size() == 2);
    CHECK(hybrid[0].version == CgroupVersion::v1);
    CHECK(hybrid[0].mountPoint == "/sys/fs/cgroup/cpu");
    CHECK(hybrid[0].directory == "/sys/fs/cgroup/cpu/dnsh/api");
    CHECK(hybrid[1].version == CgroupVersion::v2);
    CHECK(hybrid[1].directory == "/sys/fs/cgroup/unified");

    // cgroup v2 only, a systemd service (CPUQuota= writes its cpu.max); optional fields before "-".
    const auto unit = cpuCgroups(
        "0::/system.slice/dnsh-api.service\n",
        "30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n");
    REQUIRE(unit.size() == 1);
    CHECK(unit[0].version == CgroupVersion::v2);
    CHECK(unit[0].mountPoint == "/sys/fs/cgroup");
    CHECK(unit[0].directory == "/sys/fs/cgroup/system.slice/dnsh-api.service");

    // A v1 container without a cgroup namespace: the mount shows the container's subtree, whose
    // root is the path's prefix; cpu shares its hierarchy with cpuacct.
    const auto container = cpuCgroups(
        "3:cpu,cpuacct:/docker/4f2a\n",
        "700 690 0:29 /docker/4f2a /sys/fs/cgroup/cpu,cpuacct ro,nosuid - cgroup cgroup "
        "rw,cpu,cpuacct\n");
    REQUIRE(container.size() == 1);
    CHECK(container[0].directory == "/sys/fs/cgroup/cpu,cpuacct");

    // A mount point with a space (written \040); a cgroup outside this namespace is skipped.
    const auto escaped = cpuCgroups(
        "1:cpu:/a\n", "32 31 0:29 / /cg\\040cpu rw - cgroup cgroup rw,cpu\n");
    REQUIRE(escaped.size() == 1);
    CHECK(escaped[0].directory == "/cg cpu/a");
    CHECK(cpuCgroups("0::/../../user.slice\n",
                     "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
              .empty());

    // cpuacct alone is not cpu; no cgroup file read at all: nothing.
    CHECK(cpuCgroups("2:cpuacct:/x\n", hybridMounts).empty());
    CHECK(cpuCgroups("", "").empty());
}
