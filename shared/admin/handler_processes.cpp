#include "admin/handler_processes.hpp"

#include <sched.h>

#include <algorithm>

namespace dnsh {

int usableCores() {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    if (sched_getaffinity(0, sizeof cpus, &cpus) != 0) return 1;
    return std::max(1, CPU_COUNT(&cpus));
}

int readHandlerProcesses(bool databaseOnThisHost, int cores) {
    constexpr int kWhenWaitingOnTheNetwork = 4;
    return databaseOnThisHost ? std::max(2, cores) : kWhenWaitingOnTheNetwork;
}

}  // namespace dnsh
