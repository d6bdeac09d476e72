#include <iostream>

#include "config/config.hpp"
#include "core/process_hardening.hpp"
#include "scheduler_app.hpp"

int main(int argc, char** argv) {
    try {
        // Before any thread exists: each inherits the mask, so a stop signal or SIGHUP is taken
        // by the scheduler's sigwait and never ends the process in a worker (scheduler_app.hpp).
        dnsh::SchedulerApp::blockWaitedSignals();
        // Before anything reads the KEK; --daemon's fork keeps it.
        dnsh::disableCoreDumps();
        dnsh::SchedulerApp app;
        return app.run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "dns-scheduler: " << e.what() << std::endl;
        return 1;
    }
}
