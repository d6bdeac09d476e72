#pragma once
// Every process that may hold a key-encryption key or a decrypted private key (the handlers, the
// scheduler, dnsh-admin, the edge agent) calls this first thing: no core file can carry those
// keys to disk, and no other process of the same user may ptrace it or read its memory through
// /proc (PR_SET_DUMPABLE 0 also makes its /proc files root's).
namespace dnsh {

// RLIMIT_CORE 0 (soft and hard, so nothing later raises it) and PR_SET_DUMPABLE 0; both are
// inherited by fork, so a daemonized child keeps them. Throws std::system_error if either fails.
void disableCoreDumps();

}  // namespace dnsh
