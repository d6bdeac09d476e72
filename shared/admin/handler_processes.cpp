#include "admin/handler_processes.hpp"

#include <sched.h>

#include <algorithm>

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
    if (sched_getaffinity(0, sizeof cpus, &cpus) != 0) return 1;
    return std::max(1, CPU_COUNT(&cpus));
}

int readHandlerProcesses(bool databaseOnThisHost, int cores) {
    return databaseOnThisHost ? std::max(2, cores) : kDefaultHandlerProcs;
}

}  // namespace dnsh
