#pragma once
// How many FastCGI processes the handlers that only read PostgreSQL (get_domain, list_domains,
// get_certificate) run: `dnsh-admin handler-procs` prints it for start-api and deploy/up
// (README "Configuration").
#include "config/config.hpp"

namespace dnsh {

// DNSH_READ_HANDLER_PROCS when set; else DNSH_HANDLER_PROCS when set (it sized every handler
// before the read-only ones had their own); else readHandlerProcesses for where DATABASE_URL
// points and the cores here.
int readHandlerProcessesToStart(const Config& config);

// The CPUs this process may run on (sched_getaffinity(2), as nproc(1) counts them), or fewer when
// its cgroup's CPU limit is lower (admin/cpu_limit.hpp; rounded up), at least 1.
int usableCores();

// PostgreSQL on this host: as many processes as cores, at least 2. A read is CPU in the handler
// and then in its backend, on the same cores, with nothing to wait for in between; a process
// more than the cores only adds a runnable task, and the kernel then leaves backends waiting for
// a CPU for tens to hundreds of ms (README "Benchmark", "Fewer processes for reads": same
// throughput, the tail flat). PostgreSQL elsewhere: 4, the other handlers' default, so that
// processes waiting on the network keep the cores busy. Writers keep 4 either way: a commit
// waits, idle, for its WAL to reach the disk (synchronous_commit), and POST /domains with a
// profile for the CA's directory; with the flush off (tests/bench/api) 2 and 4 processes gave
// about as many POSTs a second.
int readHandlerProcesses(bool databaseOnThisHost, int cores);

}  // namespace dnsh
