#pragma once
// Settings of this host that hurt the service, said once when the API starts (`dnsh-admin
// host-check`, which start-api runs), as a server warns at start of a kernel setting it does not
// want: a warning in the journal, not a refusal to start.
#include <string>
#include <string_view>
#include <vector>

namespace dnsh {

// /proc/sys/kernel/sched_autogroup_enabled: "1" or "0"; empty when the kernel has no such file
// (built without session groups) or it cannot be read.
std::string sessionGroupsSetting();

// One line for each finding, none when all is well. The kernel's session groups
// (sched_autogroup_enabled "1", sched(7)) with PostgreSQL on this host: PostgreSQL makes every
// process of its own a session, so each backend is scheduled as a group of its own, and under
// load a backend has been seen runnable but held off a core for 50-140 ms while other groups ran
// (README "Benchmark", "Where the last large stalls come from").
std::vector<std::string> hostWarnings(bool databaseOnThisHost,
                                      std::string_view sessionGroupsSetting);

}  // namespace dnsh
