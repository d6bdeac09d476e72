#pragma once
// A program run with its stdout a pipe nobody reads any more: `dnsh-admin ... | head -1` once
// head has exited. The read end is closed before the program starts, so its first write to
// stdout fails (EPIPE, or SIGPIPE where that is not ignored) whatever the timing.
#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace dnsh::test {

// SIGPIPE as the program starts: at its default, as a shell starts each command of a pipeline
// (a write to the closed pipe kills it unless it ignores SIGPIPE itself), or ignored, as
// inherited from a parent that ignores it (the write fails with EPIPE, for the program to see).
enum class StartingSigpipe { Default, Ignored };

struct ReaderGoneRun {
    int exitCode = -1;   // 128 + N when signal N ended it; -1 when killed at the timeout
    std::string errors;  // its stderr
};

// `program` with `arguments` and the test's environment plus `env`, waited for; killed
// (SIGKILL) when it has not exited within `timeout`.
ReaderGoneRun runWithReaderGone(const std::string& program,
                                const std::vector<std::string>& arguments,
                                const std::map<std::string, std::string>& env,
                                StartingSigpipe sigpipe, std::chrono::seconds timeout);

}  // namespace dnsh::test
