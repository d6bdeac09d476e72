#include "admin/handler_processes.hpp"

#include <sched.h>

#include <algorithm>
#include <cmath>

#include "admin/cpu_limit.hpp"
#include "db/database_host.hpp"

namespace dnsh {

int readHandlerProcessesToStart(const Config& config) {
    if (config.readHandlerProcs) return *config.readHandlerProcs;
    if (config.handlerProcs) return *config.handlerProcs;
    return readHandlerProcesses(databaseOnThisHost(config.databaseUrl), usableCores());
}

int usableCores() {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    const int allowed = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
    // 1.5 CPUs of time keep two processes busy part of the time: rounded up.
    const auto limit = cgroupCpuLimit();
    const int limited = limit ? static_cast<int>(std::ceil(*limit)) : allowed;
    return std::max(1, std::min(allowed, limited));
}

int readHandlerProcesses(bool databaseOnThisHost, int cores) {
    return databaseOnThisHost ? std::max(2, cores) : kDefaultHandlerProcs;
}

}  // namespace dnsh
