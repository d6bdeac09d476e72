#pragma once
// A resolv.conf this process alone sees, for the cases that point the system's resolver (glibc's,
// ldns's) at nameservers of their own: fault/host_lookup_test.cpp, resolv_conf_deadline_test.cpp.
#include <string>

namespace dnsh::test {

// /etc/resolv.conf holding `content`, in a mount namespace of this process's own whose mounts
// are private, so that nothing reaches the machine's. Needs root. The case runs in a process of
// its own (one per ctest), and calls this before it starts any thread: unshare(CLONE_NEWNS)
// refuses a process with threads.
void useOwnResolvConf(const std::string& content);

}  // namespace dnsh::test
