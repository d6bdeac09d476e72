#include "http/termination.hpp"

#include <fcgiapp.h>

#include <csignal>

namespace dnsh {

namespace {

extern "C" void onTermination(int) {
    FCGX_ShutdownPending();  // only sets fcgi's flag: FCGX_Accept_r then returns -1
}

}  // namespace

void stopAcceptingOnTermination() {
    struct sigaction action {};
    action.sa_handler = onTermination;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: the blocked accept() must return EINTR
    sigaction(SIGTERM, &action, nullptr);
}

}  // namespace dnsh
