#pragma once
// What the tests read of other processes from /proc (proc(5)): their parent, state, nice value,
// executable and children, e.g. lighttpd's FastCGI handlers.
#include <sys/types.h>

#include <fstream>
#include <string>
#include <vector>

namespace dnsh::test {

// The fields of /proc/<pid>/stat after the command (which may hold spaces and parentheses):
// [0] the state, [1] the parent, [16] the nice value (proc(5) fields 3, 4 and 19). Empty when
// the process is gone.
std::vector<std::string> statOf(pid_t pid);
// The same from a /proc/<pid>/stat opened earlier: empty when the process has gone since (its
// read fails with ESRCH).
std::vector<std::string> statFrom(std::ifstream& file);

pid_t parentOf(pid_t pid);  // 0 when the process is gone
int niceOf(pid_t pid);      // throws when the process is gone

// The path of its executable; empty when the process is gone or not ours to read.
std::string executableOf(pid_t pid);

// The children of `parent` (lighttpd's FastCGI handlers), zombies included.
std::vector<pid_t> childrenOf(pid_t parent);

}  // namespace dnsh::test
