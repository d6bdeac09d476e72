#include "support/own_resolv_conf.hpp"

#include <doctest/doctest.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace dnsh::test {

void useOwnResolvConf(const std::string& content) {
    REQUIRE_MESSAGE(::geteuid() == 0, "cannot run: needs root for a mount namespace");
    REQUIRE_MESSAGE(::unshare(CLONE_NEWNS) == 0, "unshare: " << std::strerror(errno));
    REQUIRE(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0);
    char path[] = "/tmp/dnsh-resolv-XXXXXX";
    const int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    ::close(fd);
    std::ofstream(path) << content;
    REQUIRE_MESSAGE(::mount(path, "/etc/resolv.conf", nullptr, MS_BIND, nullptr) == 0,
                    "bind mount: " << std::strerror(errno));
    ::unlink(path);  // the mount keeps the file
}

}  // namespace dnsh::test
