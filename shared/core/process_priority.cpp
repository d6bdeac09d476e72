#include "core/process_priority.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <system_error>

namespace dnsh {

void leaveInheritedPriority() {
    // getpriority may legitimately return -1: errno tells an error from that value.
    errno = 0;
    const int nice = ::getpriority(PRIO_PROCESS, 0);
    if (nice == -1 && errno != 0)
        throw std::system_error(errno, std::generic_category(), "getpriority");
    if (nice >= 0) return;
    if (::setpriority(PRIO_PROCESS, 0, 0) != 0)
        throw std::system_error(errno, std::generic_category(), "setpriority(0)");
}

}  // namespace dnsh
