#include "admin/host_check.hpp"

#include <fstream>
#include <sstream>

#include <Poco/String.h>

namespace dnsh {

namespace {
constexpr const char* kSessionGroupsFile = "/proc/sys/kernel/sched_autogroup_enabled";
}  // namespace

std::optional<std::string> sessionGroupsSetting() {
    std::ifstream file(kSessionGroupsFile);
    if (!file) return std::nullopt;
    std::ostringstream text;
    text << file.rdbuf();  // sets failbit on an empty read rather than throwing
    return text.str();
}

std::vector<std::string> hostWarnings(bool databaseOnThisHost,
                                      const std::optional<std::string>& sessionGroupsSetting) {
    std::vector<std::string> warnings;
    if (databaseOnThisHost && sessionGroupsSetting &&
        Poco::trim(*sessionGroupsSetting) == "1") {
        warnings.emplace_back(
            "kernel.sched_autogroup_enabled=1 and PostgreSQL runs on this host: each PostgreSQL "
            "backend is then a scheduling group of its own, and under load a request can wait "
            "100 ms or more for its backend to get a core; set kernel.sched_autogroup_enabled=0 "
            "(/etc/sysctl.d/) and restart PostgreSQL and the API (README \"Running in "
            "production\")");
    }
    return warnings;
}

}  // namespace dnsh
