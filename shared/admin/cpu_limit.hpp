#pragma once
// The CPU time a cgroup allows this process, counted in CPUs: the limit a container runtime
// (`docker --cpus`, a Kubernetes CPU limit) or systemd (`CPUQuota=`) sets, which the CPUs a
// process may run on (sched_getaffinity(2), nproc(1)) do not show. usableCores() takes the
// smaller of the two, so the read-only handlers' default follows a container's limit.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dnsh {

// The tightest limit of this process's cgroup and its ancestors, under the `cpu` controller of
// cgroup v2 (cpu.max) or v1 (cpu.cfs_quota_us / cpu.cfs_period_us): 1.5 means 150 ms of CPU
// every 100 ms. nullopt when no limit is set or the files cannot be read.
std::optional<double> cgroupCpuLimit();

// The parts, each from the text of the file it names (the kernel's
// Documentation/admin-guide/cgroup-v2.rst and cgroup-v1/ files, "CPU bandwidth").
// cpu.max: "<quota> <period>", or "max <period>" for none.
std::optional<double> cpuLimitFromCpuMax(std::string_view cpuMax);
// cpu.cfs_quota_us ("-1" for none) and cpu.cfs_period_us.
std::optional<double> cpuLimitFromCfs(std::string_view quota, std::string_view period);

// A cgroup directory of this process where the `cpu` controller's files are, and the mount point
// of its hierarchy (the limits of the directories between them apply as well).
enum class CgroupVersion { v1, v2 };

struct CpuCgroup {
    CgroupVersion version = CgroupVersion::v2;
    std::string mountPoint;
    std::string directory;
};

// From the texts of /proc/self/cgroup and /proc/self/mountinfo (proc(5)): the v1 `cpu`
// hierarchy's directory and the v2 one's, where each is mounted.
std::vector<CpuCgroup> cpuCgroups(std::string_view procSelfCgroup,
                                  std::string_view procSelfMountinfo);

// cpuCgroups of this process, read from its /proc files (none when they cannot be read).
std::vector<CpuCgroup> thisProcessCpuCgroups();

}  // namespace dnsh
