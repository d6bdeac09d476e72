#include "admin/host_check.hpp"

#include "admin/proc_file.hpp"

namespace dnsh {

std::string sessionGroupsSetting() {
    return readFirstLine("/proc/sys/kernel/sched_autogroup_enabled");
}

std::vector<std::string> hostWarnings(bool databaseOnThisHost,
                                      std::string_view sessionGroupsSetting) {
    std::vector<std::string> warnings;
    if (databaseOnThisHost && sessionGroupsSetting == "1") {
        warnings.emplace_back(
            "kernel.sched_autogroup_enabled=1 and PostgreSQL runs on this host: each PostgreSQL "
            "backend is then a scheduling group of its own, and under load a request can wait "
            "50-140 ms for its backend to get a core; set kernel.sched_autogroup_enabled=0 "
            "(/etc/sysctl.d/) and restart PostgreSQL and the API (README \"Running in "
            "production\")");
    }
    return warnings;
}

}  // namespace dnsh
