#include "admin/operator_stop.hpp"

#include <csignal>
#include <initializer_list>

namespace dnsh {

namespace {

volatile std::sig_atomic_t stopSignal = 0;

extern "C" void onOperatorStop(int number) {
    stopSignal = number;
}

}  // namespace

void catchOperatorStop() {
    struct sigaction action {};
    action.sa_handler = onOperatorStop;
    sigemptyset(&action.sa_mask);
    // SA_RESTART: the request in hand (a CA's answer, a statement) goes on to its own end, bounded
    // by its timeout, and is reported. SA_RESETHAND: a second signal does not wait for it.
    action.sa_flags = SA_RESTART | SA_RESETHAND;
    for (const int number : {SIGINT, SIGTERM, SIGHUP}) sigaction(number, &action, nullptr);
}

int operatorStopSignal() {
    return stopSignal;
}

}  // namespace dnsh
