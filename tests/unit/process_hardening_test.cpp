// disableCoreDumps(): in a child process (it cannot be undone), RLIMIT_CORE is 0, soft and hard,
// and the process is no longer dumpable (no core file, no ptrace or /proc/<pid>/mem by other
// processes of its user). The fault tests see the limit on the running programs; the dumpable
// flag only the process itself can read.
#include "core/process_hardening.hpp"

#include <doctest/doctest.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

TEST_CASE("disableCoreDumps: RLIMIT_CORE 0 (soft and hard) and not dumpable, also after fork") {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // Exit status bits: 1 still dumpable before (nothing to show), 2 soft limit, 4 hard
        // limit, 8 dumpable, 16 a forked grandchild dumpable or with a core limit.
        int failures = ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1 ? 0 : 1;
        try {
            dnsh::disableCoreDumps();
        } catch (...) {
            ::_exit(64);
        }
        rlimit core{};
        ::getrlimit(RLIMIT_CORE, &core);
        if (core.rlim_cur != 0) failures |= 2;
        if (core.rlim_max != 0) failures |= 4;
        if (::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) failures |= 8;
        const pid_t grandchild = ::fork();  // the scheduler's --daemon forks after it
        if (grandchild == 0) {
            rlimit inherited{};
            ::getrlimit(RLIMIT_CORE, &inherited);
            ::_exit(::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 && inherited.rlim_max == 0 ? 0 : 1);
        }
        int status = 0;
        ::waitpid(grandchild, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failures |= 16;
        ::_exit(failures);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
