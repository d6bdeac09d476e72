#pragma once
// Settings of this host that hurt the service, said once when the API starts (`dnsh-admin
// host-check`, which start-api runs), as a server warns at start of a kernel setting it does not
// want: a warning in the journal, not a refusal to start.
#include <optional>
#include <string>
#include <vector>

namespace dnsh {

// The text of /proc/sys/kernel/sched_autogroup_enabled; nullopt when the kernel has no such file
// (built without session groups) or it cannot be read.
std::optional<std::string> sessionGroupsSetting();

// One line for each finding, none when all is well. The kernel's session groups
// (sched_autogroup_enabled "1", sched(7)) with PostgreSQL on this host: PostgreSQL makes every
// process of its own a session, so each backend is scheduled as a group of its own, and under
// load a woken backend has been seen held off a core for 50-140 ms while other groups ran
// (README "Benchmark", "Where the last large stalls come from").
std::vector<std::string> hostWarnings(bool databaseOnThisHost,
                                      const std::optional<std::string>& sessionGroupsSetting);

}  // namespace dnsh
