// The tests' /proc readers (tests/support/processes.cpp) run while other processes come and go:
// lighttpd's handlers scanned on every ApiServer's stop, from its destructor, where an exception
// ends the whole test run.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "support/processes.hpp"

using namespace dnsh::test;

TEST_CASE("test support: a process reaped between opening its /proc stat and reading it reads as gone") {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::pause();
        ::_exit(0);
    }
    std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
    REQUIRE(stat.is_open());
    ::kill(child, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    // proc(5): reading a task's file after the task is gone fails with ESRCH.
    std::vector<std::string> fields{"not read"};
    CHECK_NOTHROW(fields = statFrom(stat));
    CHECK(fields.empty());
    CHECK(parentOf(child) == 0);
    CHECK(childrenOf(::getpid()).empty());
}
