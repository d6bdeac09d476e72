// usableCores() (admin/handler_processes.hpp) under a real cgroup CPU limit, as a container
// runtime or systemd's CPUQuota= sets one: a child process is moved into a cgroup of the v1 `cpu`
// controller made for the case, with a quota, and counts its cores there. Needs root and a
// writable v1 `cpu` hierarchy (the project's machines and CI have both); without them it fails
// saying which is missing, since a case that returns early would report a pass it never earned.
#include <doctest/doctest.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "admin/cpu_limit.hpp"
#include "admin/handler_processes.hpp"

using namespace dnsh;
namespace fs = std::filesystem;

namespace {

// This process's directory in the v1 `cpu` hierarchy, if there is one.
std::optional<std::string> cpuV1Directory() {
    for (const CpuCgroup& found : thisProcessCpuCgroups())
        if (found.version == CgroupVersion::v1) return found.directory;
    return std::nullopt;
}

// The kernel refuses a child's quota above its parent's (EINVAL): parents are set first.
void setQuota(const std::string& cgroup, long quotaUs) {
    std::ofstream quota(cgroup + "/cpu.cfs_quota_us");
    quota << quotaUs;
    quota.close();
    REQUIRE_MESSAGE(!quota.fail(), cgroup << ": quota " << quotaUs << " refused");
}

// Cgroups made under a directory (no quota until one is set), removed innermost first when the
// case ends.
class ScratchCgroups {
public:
    ~ScratchCgroups() {
        for (auto it = made_.rbegin(); it != made_.rend(); ++it) ::rmdir(it->c_str());
    }
    bool make(const std::string& path) {
        if (::mkdir(path.c_str(), 0755) != 0) return false;
        made_.push_back(path);
        return true;
    }

private:
    std::vector<std::string> made_;
};

// usableCores() as a child process in `cgroup` counts it (-1 when the move failed).
int usableCoresIn(const std::string& cgroup) {
    int pipeEnds[2];
    REQUIRE(::pipe(pipeEnds) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        std::ofstream(cgroup + "/cgroup.procs") << ::getpid() << std::flush;
        const int cores = cpuV1Directory() == cgroup ? usableCores() : -1;
        (void)!::write(pipeEnds[1], &cores, sizeof cores);
        ::_exit(0);
    }
    ::close(pipeEnds[1]);
    int cores = -1;
    const bool read = ::read(pipeEnds[0], &cores, sizeof cores) == sizeof cores;
    ::close(pipeEnds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(read);
    return cores;
}

int affinityCores() {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    REQUIRE(sched_getaffinity(0, sizeof cpus, &cpus) == 0);
    return CPU_COUNT(&cpus);
}

}  // namespace

TEST_CASE("cpu limit: usableCores counts a cgroup's CPU quota and its parent's, rounded up") {
    const auto here = cpuV1Directory();
    const std::string outer =
        (here ? *here : std::string()) + "/dnsh-cpu-limit-" + std::to_string(::getpid());
    ScratchCgroups cgroups;
    REQUIRE_MESSAGE(::geteuid() == 0, "cannot run: needs root to make cgroups");
    REQUIRE_MESSAGE(here.has_value(), "cannot run: this process is in no cgroup v1 cpu hierarchy");
    const bool made = cgroups.make(outer);
    const int makeError = errno;  // the message is built later, after other calls
    REQUIRE_MESSAGE(made, "cannot run: mkdir " << outer << ": " << std::strerror(makeError));
    const int cores = affinityCores();
    REQUIRE(cores >= 2);  // a limit of 1 must show as fewer cores than the CPUs

    // No quota anywhere: the CPUs the process may run on.
    CHECK(usableCoresIn(outer) == cores);

    // Half a CPU of time every period: rounded up to one core.
    setQuota(outer, 50000);
    CHECK(usableCoresIn(outer) == 1);

    // A cgroup without a quota of its own under one with: the parent's bounds it.
    const std::string inner = outer + "/handlers";
    REQUIRE(cgroups.make(inner));
    CHECK(usableCoresIn(inner) == 1);

    // A parent's quota above the CPUs: the CPUs.
    setQuota(outer, 100000L * (cores + 1));
    CHECK(usableCoresIn(inner) == cores);
    // The inner one's own, below its parent's.
    setQuota(inner, 100000);
    CHECK(usableCoresIn(inner) == 1);
    setQuota(inner, 150000);
    CHECK(usableCoresIn(inner) == 2);  // 1.5 rounded up
}
